package app_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/kaigi/kaigi/internal/app/apptest"
	"github.com/kaigi/kaigi/internal/identity"
	"github.com/kaigi/kaigi/internal/principal"
)

// benchWorld is a node with one tenant whose admin signs in with a password
// alone (MFA off), for measuring the cost of signing in and of a session.
func benchWorld(b *testing.B) (*apptest.Server, identity.SignInRequest) {
	b.Helper()
	s := apptest.Start(b, apptest.Options{})
	ctx := b.Context()
	_, link, err := s.Identity.CreateTenant(ctx, principal.Job("bench", ""), identity.NewTenant{Name: "Bench", Domain: "bench.example", AdminEmail: "a@bench.example"})
	if err != nil {
		b.Fatal(err)
	}
	acct, err := s.Identity.AcceptInvitation(ctx, fragment(link, "token"), "Bea", goodPassword, "127.0.0.1")
	if err != nil {
		b.Fatal(err)
	}
	admin := principal.Principal{Kind: principal.Member, Tenant: acct.Tenant, User: acct.ID, Roles: acct.Roles, Source: "127.0.0.1", Client: "browser"}
	pol := identity.DefaultPolicy()
	pol.MFA = identity.MFAOff
	if err := s.Identity.SetPolicy(ctx, admin, pol, false); err != nil {
		b.Fatal(err)
	}
	return s, identity.SignInRequest{Email: "a@bench.example", Password: goodPassword, Source: "127.0.0.1", UserAgent: "bench"}
}

// BenchmarkSignIn is one password sign-in: throttle check, argon2id verify
// (m=19 MiB, t=2), conditional access, and the session, sign-in log and
// audit writes.
func BenchmarkSignIn(b *testing.B) {
	s, req := benchWorld(b)
	b.ReportAllocs()
	for b.Loop() {
		res, err := s.Identity.SignIn(b.Context(), req)
		if err != nil || res.State != identity.SessionActive {
			b.Fatalf("%v %+v", err, res)
		}
	}
}

// BenchmarkSessionValidation is what every request with a session cookie
// pays to become a principal: the session and account lookups and the
// expiry checks (the last-seen write happens at most once a minute).
func BenchmarkSessionValidation(b *testing.B) {
	s, req := benchWorld(b)
	res, err := s.Identity.SignIn(b.Context(), req)
	if err != nil {
		b.Fatal(err)
	}
	creds := identity.Credentials{SessionToken: res.Token, Source: "127.0.0.1"}
	b.ReportAllocs()
	for b.Loop() {
		p, err := s.Identity.Authenticate(b.Context(), creds)
		if err != nil || p.Kind != principal.Member {
			b.Fatalf("%v %+v", err, p)
		}
	}
}

// BenchmarkSessionRequest is a whole authenticated HTTP request (GET
// /api/v1/me/sessions) over loopback, for scale.
func BenchmarkSessionRequest(b *testing.B) {
	s, req := benchWorld(b)
	res, err := s.Identity.SignIn(b.Context(), req)
	if err != nil {
		b.Fatal(err)
	}
	client := &http.Client{}
	b.ReportAllocs()
	for b.Loop() {
		r, _ := http.NewRequestWithContext(b.Context(), "GET", s.URL+"/api/v1/me/sessions", nil)
		r.AddCookie(&http.Cookie{Name: "kaigi_session", Value: res.Token})
		resp, err := client.Do(r)
		if err != nil {
			b.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatalf("status %d", resp.StatusCode)
		}
	}
}

func fragment(link, name string) string {
	_, frag, _ := strings.Cut(link, "#")
	for _, kv := range strings.Split(frag, "&") {
		if k, v, ok := strings.Cut(kv, "="); ok && k == name {
			return v
		}
	}
	return ""
}
