package httpapi_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/kaigi/kaigi/internal/errs"
	"github.com/kaigi/kaigi/internal/httpapi"
	"github.com/kaigi/kaigi/internal/principal"
)

type echoReq struct {
	Name  string `json:"name"`
	Count int    `json:"count"`
}

func newServer(t *testing.T, tls bool) *httptest.Server {
	t.Helper()
	s := httpapi.New(httpapi.Options{Logger: slog.New(slog.DiscardHandler), MaxBodyBytes: 1024, TLS: tls})
	s.Handle(httpapi.Route{Method: http.MethodPost, Pattern: "/api/v1/echo", Policy: principal.Public,
		Doc: httpapi.Doc{Summary: "echo", Request: echoReq{}, Response: echoReq{}},
		Handler: func(w http.ResponseWriter, r *http.Request, _ principal.Principal) error {
			var req echoReq
			if err := httpapi.DecodeJSON(r, &req); err != nil {
				return err
			}
			httpapi.WriteJSON(w, http.StatusOK, req)
			return nil
		}})
	s.Handle(httpapi.Route{Method: http.MethodGet, Pattern: "/api/v1/panic", Policy: principal.Public, Doc: httpapi.Doc{Summary: "panics"},
		Handler: func(w http.ResponseWriter, r *http.Request, _ principal.Principal) error {
			panic("secret internal detail")
		}})
	s.Handle(httpapi.Route{Method: http.MethodGet, Pattern: "/api/v1/fail", Policy: principal.Public, Doc: httpapi.Doc{Summary: "fails"},
		Handler: func(w http.ResponseWriter, r *http.Request, _ principal.Principal) error {
			return errs.Wrap(errs.Internal, io.ErrUnexpectedEOF, "Something broke.")
		}})
	s.Handle(httpapi.Route{Method: http.MethodGet, Pattern: "/api/v1/members-only", Policy: principal.TenantMember, Doc: httpapi.Doc{Summary: "members"},
		Handler: func(w http.ResponseWriter, r *http.Request, p principal.Principal) error {
			httpapi.WriteJSON(w, http.StatusOK, map[string]string{"tenant": string(p.Tenant)})
			return nil
		}})
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return srv
}

func do(t *testing.T, method, url, ctype, body string) (*http.Response, httpapi.ErrorBody) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var eb httpapi.ErrorBody
	b, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(b, &eb)
	return resp, eb
}

func TestBadInputGetsAClear4xx(t *testing.T) {
	srv := newServer(t, false)
	tests := []struct {
		name, method, path, ctype, body string
		status                          int
		code                            errs.Code
		mentions                        string
	}{
		{"not JSON", "POST", "/api/v1/echo", "application/json", "{nope", 400, errs.Invalid, "not valid JSON"},
		{"wrong type", "POST", "/api/v1/echo", "application/json", `{"count":"x"}`, 400, errs.Invalid, `"count"`},
		{"unknown field", "POST", "/api/v1/echo", "application/json", `{"nam":"x"}`, 400, errs.Invalid, "does not know"},
		{"two values", "POST", "/api/v1/echo", "application/json", `{} {}`, 400, errs.Invalid, "exactly one"},
		{"empty", "POST", "/api/v1/echo", "application/json", ``, 400, errs.Invalid, "empty"},
		{"truncated", "POST", "/api/v1/echo", "application/json", `{"name":"x`, 400, errs.Invalid, "middle"},
		{"too large", "POST", "/api/v1/echo", "application/json", `{"name":"` + strings.Repeat("x", 5000) + `"}`, 413, errs.TooLarge, "1024 bytes"},
		{"not json content type", "POST", "/api/v1/echo", "text/plain", `{}`, 415, errs.Unsupported, "JSON"},
		{"wrong method", "DELETE", "/api/v1/echo", "", ``, 405, errs.NotAllowed, "POST"},
		{"unknown endpoint", "GET", "/api/v1/nothing-here", "", ``, 404, errs.NotFound, "no such API endpoint"},
		{"needs sign-in", "GET", "/api/v1/members-only", "", ``, 401, errs.Unauthenticated, "sign in"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, eb := do(t, tt.method, srv.URL+tt.path, tt.ctype, tt.body)
			if resp.StatusCode != tt.status || eb.Error.Code != tt.code {
				t.Fatalf("got %d %q, want %d %q", resp.StatusCode, eb.Error.Code, tt.status, tt.code)
			}
			if !strings.Contains(eb.Error.Message, tt.mentions) {
				t.Errorf("message %q should mention %q", eb.Error.Message, tt.mentions)
			}
			if eb.Error.RequestID == "" || eb.Error.RequestID != resp.Header.Get("X-Request-Id") {
				t.Errorf("request id %q vs header %q", eb.Error.RequestID, resp.Header.Get("X-Request-Id"))
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("content type %q", ct)
			}
		})
	}
	t.Run("a good request still works", func(t *testing.T) {
		resp, _ := do(t, "POST", srv.URL+"/api/v1/echo", "application/json", `{"name":"a","count":2}`)
		if resp.StatusCode != 200 {
			t.Fatalf("status %d", resp.StatusCode)
		}
	})
}

func TestInternalErrorsHideTheirCause(t *testing.T) {
	srv := newServer(t, false)
	for _, path := range []string{"/api/v1/panic", "/api/v1/fail"} {
		resp, eb := do(t, "GET", srv.URL+path, "", "")
		if resp.StatusCode != 500 || eb.Error.Code != errs.Internal {
			t.Fatalf("%s: %d %q", path, resp.StatusCode, eb.Error.Code)
		}
		if strings.Contains(eb.Error.Message, "secret") || strings.Contains(eb.Error.Message, "EOF") {
			t.Fatalf("%s leaks its cause: %q", path, eb.Error.Message)
		}
	}
}

func TestSecurityHeaders(t *testing.T) {
	for _, tls := range []bool{false, true} {
		srv := newServer(t, tls)
		resp, _ := do(t, "GET", srv.URL+"/api/v1/nothing", "", "")
		want := map[string]string{
			"X-Content-Type-Options": "nosniff",
			"Referrer-Policy":        "no-referrer",
			"X-Frame-Options":        "DENY",
		}
		for k, v := range want {
			if got := resp.Header.Get(k); got != v {
				t.Errorf("%s = %q, want %q", k, got, v)
			}
		}
		csp := resp.Header.Get("Content-Security-Policy")
		if !strings.Contains(csp, "frame-ancestors 'none'") || strings.Contains(csp, "unsafe-inline") {
			t.Errorf("CSP %q", csp)
		}
		if hsts := resp.Header.Get("Strict-Transport-Security"); (hsts != "") != tls {
			t.Errorf("tls=%v: HSTS %q", tls, hsts)
		}
	}
}

func TestRouteWithoutPolicyCannotBeRegistered(t *testing.T) {
	s := httpapi.New(httpapi.Options{})
	h := func(w http.ResponseWriter, r *http.Request, _ principal.Principal) error { return nil }
	tests := []struct {
		name string
		rt   httpapi.Route
	}{
		{"no policy", httpapi.Route{Method: "GET", Pattern: "/a", Doc: httpapi.Doc{Summary: "a"}, Handler: h}},
		{"policy without decision", httpapi.Route{Method: "GET", Pattern: "/b", Policy: principal.Policy{Name: "x"}, Doc: httpapi.Doc{Summary: "b"}, Handler: h}},
		{"no summary", httpapi.Route{Method: "GET", Pattern: "/c", Policy: principal.Public, Handler: h}},
		{"no handler", httpapi.Route{Method: "GET", Pattern: "/d", Policy: principal.Public, Doc: httpapi.Doc{Summary: "d"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Fatal("registered without panicking")
				}
			}()
			s.Handle(tt.rt)
		})
	}
}

func TestClientAddr(t *testing.T) {
	nets := func(cidrs ...string) []*net.IPNet { return parse(t, cidrs...) }
	tests := []struct {
		name, remote, xff string
		trusted           []*net.IPNet
		want              string
	}{
		{"no proxy", "192.0.2.1:5555", "203.0.113.9", nil, "192.0.2.1"},
		{"untrusted peer's header ignored", "192.0.2.1:5555", "203.0.113.9", nets("10.0.0.0/8"), "192.0.2.1"},
		{"trusted proxy", "10.0.0.2:5555", "203.0.113.9", nets("10.0.0.0/8"), "203.0.113.9"},
		{"spoofed left part ignored", "10.0.0.2:5555", "198.51.100.7, 203.0.113.9", nets("10.0.0.0/8"), "203.0.113.9"},
		{"chain of proxies", "10.0.0.2:5555", "203.0.113.9, 10.0.0.3", nets("10.0.0.0/8"), "203.0.113.9"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tt.remote
			r.Header.Set("X-Forwarded-For", tt.xff)
			if got := httpapi.ClientAddr(r, tt.trusted); got != tt.want {
				t.Fatalf("got %s, want %s", got, tt.want)
			}
		})
	}
}
