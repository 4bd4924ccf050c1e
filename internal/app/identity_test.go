package app_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/netip"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/kaigi/kaigi/internal/app/apptest"
	"github.com/kaigi/kaigi/internal/config"
	"github.com/kaigi/kaigi/internal/httpapi"
	"github.com/kaigi/kaigi/internal/identity"
	"github.com/kaigi/kaigi/internal/identity/access"
	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/principal"
)

const goodPassword = "Vivid-Lantern-Orbit-73-Quill"

// client is a browser-like API client: a cookie jar, the anti-forgery token
// of its session, and an optional X-Forwarded-For address.
type client struct {
	t    *testing.T
	base string
	http *http.Client
	csrf string
	from string
}

func newClient(t *testing.T, base string) *client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	return &client{t: t, base: base, http: &http.Client{Jar: jar, Timeout: 20 * time.Second}}
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

func (r response) errorCode() string {
	var eb struct {
		Error struct{ Code string } `json:"error"`
	}
	json.Unmarshal(r.body, &eb)
	return eb.Error.Code
}

func (c *client) do(method, path string, body any) response {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(c.t.Context(), method, c.base+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.csrf != "" {
		req.Header.Set("X-CSRF-Token", c.csrf)
	}
	if c.from != "" {
		req.Header.Set("X-Forwarded-For", c.from)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	out := response{status: resp.StatusCode, header: resp.Header, body: b}
	var sb struct {
		CSRF string `json:"csrf"`
	}
	if json.Unmarshal(b, &sb) == nil && sb.CSRF != "" {
		c.csrf = sb.CSRF
	}
	return out
}

func (c *client) signIn(email, pw string) (httpapi.SessionBody, response) {
	c.t.Helper()
	r := c.do("POST", "/api/v1/auth/signin", map[string]string{"email": email, "password": pw})
	var sb httpapi.SessionBody
	if r.status == 200 {
		r.json(c.t, &sb)
	}
	return sb, r
}

func fragmentParam(t *testing.T, link, name string) string {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	q, err := url.ParseQuery(u.Fragment)
	if err != nil {
		t.Fatal(err)
	}
	return q.Get(name)
}

// world is a node with a tenant whose admin accepted the invitation.
type world struct {
	s      *apptest.Server
	tenant identity.Tenant
	admin  *client // signed in, second factor enrolled
	secret string  // the admin's TOTP secret (base32)
}

func startWorld(t *testing.T) *world {
	t.Helper()
	return startWorldWith(t, nil)
}

// startWorldWith is startWorld with the configuration adjusted by adjust.
func startWorldWith(t *testing.T, adjust func(*config.Config)) *world {
	t.Helper()
	s := apptest.Start(t, apptest.Options{Config: func(c *config.Config) {
		c.TrustedProxies = "127.0.0.1/32"
		if adjust != nil {
			adjust(c)
		}
	}})
	tenant, link, err := s.Identity.CreateTenant(t.Context(), principal.Job("test", ""), identity.NewTenant{Name: "Acme Corp", Domain: "acme.example", AdminEmail: "admin@acme.example"})
	if err != nil {
		t.Fatal(err)
	}
	c := newClient(t, s.URL)
	if r := c.do("POST", "/api/v1/invitations/accept", map[string]string{"token": fragmentParam(t, link, "token"), "display_name": "Ada Admin", "password": goodPassword}); r.status != 201 {
		t.Fatalf("accept: %d %s", r.status, r.body)
	}
	w := &world{s: s, tenant: tenant, admin: c}
	w.secret = enrolTOTP(t, s, c, "admin@acme.example")
	return w
}

// enrolTOTP signs in a user whose tenant requires a second factor and
// enrols an authenticator app, using codes from oathtool.
func enrolTOTP(t *testing.T, s *apptest.Server, c *client, email string) string {
	t.Helper()
	sb, r := c.signIn(email, goodPassword)
	if r.status != 200 || sb.State != identity.SessionEnrolMFA {
		t.Fatalf("first sign-in: %d %s", r.status, r.body)
	}
	var e identity.TOTPEnrolment
	r = c.do("POST", "/api/v1/me/factors/totp", nil)
	if r.status != 200 {
		t.Fatalf("begin totp: %d %s", r.status, r.body)
	}
	r.json(t, &e)
	code := oathtool(t, e.ManualKey, s.Clock.Now())
	if r := c.do("POST", "/api/v1/me/factors/totp/confirm", map[string]string{"pending": e.Pending, "code": code}); r.status != 201 {
		t.Fatalf("confirm totp: %d %s", r.status, r.body)
	}
	c.do("GET", "/api/v1/session", nil) // the session token changed: fetch its CSRF token
	return e.ManualKey
}

// oathtool computes a TOTP code with an implementation independent of Kaigi's.
func oathtool(t *testing.T, base32 string, at time.Time) string {
	t.Helper()
	path, err := exec.LookPath("oathtool")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("oathtool is not installed: CI must run the TOTP tests (apt-get install oathtool)")
		}
		t.Skip("SKIPPING: oathtool is not installed (apt-get install oathtool)")
	}
	out, err := exec.CommandContext(t.Context(), path, "--totp", "--base32", "--now", at.UTC().Format("2006-01-02 15:04:05 UTC"), strings.ReplaceAll(base32, " ", "")).Output()
	if err != nil {
		t.Fatalf("oathtool: %v", err)
	}
	return strings.TrimSpace(string(out))
}

func TestSignInWithTOTPAndReplayRefused(t *testing.T) {
	w := startWorld(t)
	c := w.admin
	if r := c.do("GET", "/api/v1/admin/accounts", nil); r.status != 200 {
		t.Fatalf("full session after enrolment: %d %s", r.status, r.body)
	}
	if r := c.do("POST", "/api/v1/auth/signout", nil); r.status != 204 {
		t.Fatalf("sign out: %d %s", r.status, r.body)
	}
	if r := c.do("GET", "/api/v1/admin/accounts", nil); r.status != 401 {
		t.Fatalf("after sign-out: %d", r.status)
	}

	w.s.Clock.Advance(30 * time.Second) // a new time step: the enrolment's code is spent
	sb, r := c.signIn("admin@acme.example", goodPassword)
	if r.status != 200 || sb.State != identity.SessionPendingMFA || len(sb.Factors) == 0 {
		t.Fatalf("second sign-in: %d %s", r.status, r.body)
	}
	if r := c.do("GET", "/api/v1/admin/accounts", nil); r.status != 401 {
		t.Fatalf("a session waiting for its second factor reached an admin route: %d", r.status)
	}
	var pending httpapi.SessionBody
	c.do("GET", "/api/v1/session", nil).json(t, &pending)
	if pending.State != identity.SessionPendingMFA || len(pending.Factors) != 1 || pending.Factors[0] != "totp" {
		t.Fatalf("the waiting session should name its factors: %+v", pending)
	}
	code := oathtool(t, w.secret, w.s.Clock.Now())
	if r := c.do("POST", "/api/v1/auth/second-factor", map[string]string{"kind": "totp", "code": code}); r.status != 200 {
		t.Fatalf("second factor: %d %s", r.status, r.body)
	}
	if r := c.do("GET", "/api/v1/admin/accounts", nil); r.status != 200 {
		t.Fatalf("after the second factor: %d %s", r.status, r.body)
	}

	// The same code again, from a fresh sign-in: refused.
	c2 := newClient(t, w.s.URL)
	if sb, r := c2.signIn("admin@acme.example", goodPassword); sb.State != identity.SessionPendingMFA {
		t.Fatalf("third sign-in: %d %s", r.status, r.body)
	}
	r = c2.do("POST", "/api/v1/auth/second-factor", map[string]string{"kind": "totp", "code": code})
	if r.status != 401 || !strings.Contains(string(r.body), "already been used") {
		t.Fatalf("replayed code: %d %s", r.status, r.body)
	}
	// A code from two steps away is refused; the next step's is accepted.
	far := oathtool(t, w.secret, w.s.Clock.Now().Add(90*time.Second))
	if r := c2.do("POST", "/api/v1/auth/second-factor", map[string]string{"kind": "totp", "code": far}); r.status != 401 {
		t.Fatalf("code three steps ahead: %d %s", r.status, r.body)
	}
	next := oathtool(t, w.secret, w.s.Clock.Now().Add(30*time.Second))
	if r := c2.do("POST", "/api/v1/auth/second-factor", map[string]string{"kind": "totp", "code": next}); r.status != 200 {
		t.Fatalf("next step's code: %d %s", r.status, r.body)
	}
	// The completed session has the tenant's idle limit (hours), not the
	// ten minutes of a sign-in in progress.
	w.s.Clock.Advance(20 * time.Minute)
	if r := c2.do("GET", "/api/v1/admin/accounts", nil); r.status != 200 {
		t.Fatalf("20 idle minutes after a completed sign-in: %d %s", r.status, r.body)
	}
}

func TestStateChangesNeedTheCSRFToken(t *testing.T) {
	w := startWorld(t)
	c := w.admin
	saved := c.csrf
	c.csrf = ""
	r := c.do("POST", "/api/v1/admin/invitations", map[string]string{"email": "x@acme.example", "kind": "member"})
	if r.status != 403 || !strings.Contains(string(r.body), "anti-forgery") {
		t.Fatalf("without CSRF token: %d %s", r.status, r.body)
	}
	c.csrf = "forged"
	if r := c.do("POST", "/api/v1/admin/invitations", map[string]string{"email": "x@acme.example", "kind": "member"}); r.status != 403 {
		t.Fatalf("with a forged CSRF token: %d", r.status)
	}
	c.csrf = saved
	if r := c.do("POST", "/api/v1/admin/invitations", map[string]string{"email": "x@acme.example", "kind": "member"}); r.status != 201 {
		t.Fatalf("with the CSRF token: %d %s", r.status, r.body)
	}
}

func TestWeakPasswordsAreRefused(t *testing.T) {
	w := startWorld(t)
	for _, pw := range []string{"password123", "qwertyuiop123", "short", "acmecorp2026!"} {
		var inv struct {
			Link string `json:"link"`
		}
		r := w.admin.do("POST", "/api/v1/admin/invitations", map[string]string{"email": "weak-" + strings.Trim(pw, "!") + "@acme.example", "kind": "member"})
		if r.status != 201 {
			t.Fatalf("invite: %d %s", r.status, r.body)
		}
		r.json(t, &inv)
		anon := newClient(t, w.s.URL)
		r = anon.do("POST", "/api/v1/invitations/accept", map[string]string{"token": fragmentParam(t, inv.Link, "token"), "display_name": "Weak", "password": pw})
		if r.status != 400 || r.errorCode() != "invalid" {
			t.Errorf("password %q: %d %s", pw, r.status, r.body)
		}
		// The invitation was not used up by the refused attempt.
		r = anon.do("POST", "/api/v1/invitations/accept", map[string]string{"token": fragmentParam(t, inv.Link, "token"), "display_name": "Weak", "password": goodPassword})
		if r.status != 201 {
			t.Errorf("retry with a good password: %d %s", r.status, r.body)
		}
		// An accepted invitation cannot be used again.
		r = anon.do("POST", "/api/v1/invitations/accept", map[string]string{"token": fragmentParam(t, inv.Link, "token"), "display_name": "Again", "password": goodPassword})
		if r.status != 400 || !strings.Contains(string(r.body), "not valid") {
			t.Errorf("replayed invitation: %d %s", r.status, r.body)
		}
	}
}

func TestRepeatedWrongPasswordsAreThrottledAndLocked(t *testing.T) {
	w := startWorld(t)
	c := newClient(t, w.s.URL)
	for attempt := 1; attempt <= 11; attempt++ {
		_, r := c.signIn("admin@acme.example", "wrong-password-"+string(rune('a'+attempt)))
		switch {
		case attempt < 10:
			if r.status != 401 {
				t.Fatalf("attempt %d: %d %s", attempt, r.status, r.body)
			}
			// Retrying at once after the free attempts is throttled...
			if attempt >= 4 { // three free failures, then delays that double
				_, early := c.signIn("admin@acme.example", "wrong-again")
				if early.status != 429 || early.header.Get("Retry-After") == "" {
					t.Fatalf("attempt %d, retried at once: %d %s", attempt, early.status, early.body)
				}
				wait, _ := time.ParseDuration(early.header.Get("Retry-After") + "s")
				w.s.Clock.Advance(wait) // ...so wait as told.
			}
		default:
			if r.status != 429 || !strings.Contains(string(r.body), "locked") {
				t.Fatalf("attempt %d: %d %s, want locked", attempt, r.status, r.body)
			}
		}
	}
	// The right password does not get in while locked.
	if _, r := c.signIn("admin@acme.example", goodPassword); r.status != 429 {
		t.Fatalf("right password while locked: %d", r.status)
	}
	// The sign-in log shows the failures and the throttling.
	var log []identity.SignInEvent
	r := w.admin.do("GET", "/api/v1/admin/signins", nil)
	r.json(t, &log)
	results := map[string]int{}
	for _, e := range log {
		results[e.Result]++
	}
	if results["failure"] < 9 || results["throttled"] < 2 {
		t.Fatalf("sign-in log: %v", results)
	}
	// After the lockout period the account opens again.
	w.s.Clock.Advance(16 * time.Minute)
	if sb, r := c.signIn("admin@acme.example", goodPassword); r.status != 200 || sb.State != identity.SessionPendingMFA {
		t.Fatalf("after the lockout: %d %s", r.status, r.body)
	}
}

func TestMissingAndExistingAccountsAnswerAlike(t *testing.T) {
	w := startWorld(t)
	body := func(email string) (int, string) {
		c := newClient(t, w.s.URL)
		_, r := c.signIn(email, "not-the-password")
		var eb map[string]map[string]string
		json.Unmarshal(r.body, &eb)
		delete(eb["error"], "request_id")
		b, _ := json.Marshal(eb)
		return r.status, string(b)
	}
	s1, b1 := body("admin@acme.example")
	s2, b2 := body("nobody@acme.example")
	s3, b3 := body("someone@unknown-tenant.example")
	if s1 != 401 || s1 != s2 || s2 != s3 || b1 != b2 || b2 != b3 {
		t.Fatalf("responses differ:\n existing %d %s\n missing  %d %s\n no tenant %d %s", s1, b1, s2, b2, s3, b3)
	}
}

func TestGuestMFAPolicyForcesEnrolment(t *testing.T) {
	w := startWorld(t)
	pol := identity.DefaultPolicy()
	pol.MFA = identity.MFAGuests
	if r := w.admin.do("PUT", "/api/v1/admin/policy", map[string]any{"policy": pol}); r.status != 204 {
		t.Fatalf("set policy: %d %s", r.status, r.body)
	}
	var inv struct {
		Link string `json:"link"`
	}
	r := w.admin.do("POST", "/api/v1/admin/invitations", map[string]string{"email": "guest@partner.example", "kind": "guest"})
	r.json(t, &inv)
	g := newClient(t, w.s.URL)
	if r := g.do("POST", "/api/v1/invitations/accept", map[string]string{"token": fragmentParam(t, inv.Link, "token"), "display_name": "Gil Guest", "password": goodPassword}); r.status != 201 {
		t.Fatalf("guest accepts: %d %s", r.status, r.body)
	}
	r = g.do("POST", "/api/v1/auth/signin", map[string]string{"organisation": w.tenant.Slug, "email": "guest@partner.example", "password": goodPassword})
	var sb httpapi.SessionBody
	r.json(t, &sb)
	if r.status != 200 || sb.State != identity.SessionEnrolMFA {
		t.Fatalf("guest sign-in: %d %s, want enrol_mfa", r.status, r.body)
	}
	if r := g.do("GET", "/api/v1/me/tokens", nil); r.status != 401 {
		t.Fatalf("a guest who must enrol reached a member route: %d", r.status)
	}
	if r := g.do("GET", "/api/v1/me/factors", nil); r.status != 200 {
		t.Fatalf("the enrolment routes: %d %s", r.status, r.body)
	}
	// A member, under the same policy, signs straight in.
	r = w.admin.do("POST", "/api/v1/admin/invitations", map[string]string{"email": "mia@acme.example", "kind": "member"})
	r.json(t, &inv)
	m := newClient(t, w.s.URL)
	m.do("POST", "/api/v1/invitations/accept", map[string]string{"token": fragmentParam(t, inv.Link, "token"), "display_name": "Mia Member", "password": goodPassword})
	if sb, r := m.signIn("mia@acme.example", goodPassword); sb.State != identity.SessionActive {
		t.Fatalf("member sign-in: %d %s", r.status, r.body)
	}
}

func TestLocationPolicyBlocksAndTheLogSaysWhy(t *testing.T) {
	w := startWorld(t)
	w.admin.from = "10.1.2.3" // the admin works from the office
	pol := identity.DefaultPolicy()
	pol.Locations = []access.NamedLocation{{Name: "Tokyo office", Trusted: true, Ranges: mustPrefixes(t, "10.0.0.0/8")}}
	pol.Access = []access.Policy{{ID: "p1", Name: "Block outside office", State: access.Enabled,
		Conditions: access.Conditions{Users: &access.UserCondition{IncludeRoles: []principal.Role{access.AllUsers}},
			Locations: &access.LocationCondition{Include: []string{access.AnyLocation}, Exclude: []string{"Tokyo office"}}},
		Controls: access.Controls{Block: true}}}

	// Saved from outside the office, it would lock the admin out: refused.
	w.admin.from = "203.0.113.9"
	if r := w.admin.do("PUT", "/api/v1/admin/policy", map[string]any{"policy": pol}); r.status != 409 || !strings.Contains(string(r.body), "block your own sign-in") {
		t.Fatalf("self-lockout: %d %s", r.status, r.body)
	}
	w.admin.from = "10.1.2.3"
	if r := w.admin.do("PUT", "/api/v1/admin/policy", map[string]any{"policy": pol}); r.status != 204 {
		t.Fatalf("set policy: %d %s", r.status, r.body)
	}

	outside := newClient(t, w.s.URL)
	outside.from = "203.0.113.9"
	_, r := outside.signIn("admin@acme.example", goodPassword)
	if r.status != 403 || !strings.Contains(string(r.body), "Block outside office") {
		t.Fatalf("sign-in from outside: %d %s", r.status, r.body)
	}
	inside := newClient(t, w.s.URL)
	inside.from = "10.9.8.7"
	if sb, r := inside.signIn("admin@acme.example", goodPassword); r.status != 200 || sb.State != identity.SessionPendingMFA {
		t.Fatalf("sign-in from the office: %d %s", r.status, r.body)
	}

	var log []identity.SignInEvent
	w.admin.do("GET", "/api/v1/admin/signins", nil).json(t, &log)
	var blocked *identity.SignInEvent
	for i := range log {
		if log[i].Result == "blocked" {
			blocked = &log[i]
			break
		}
	}
	if blocked == nil || blocked.Source != "203.0.113.9" || !strings.Contains(blocked.Reason, "Block outside office") ||
		!strings.Contains(blocked.Policies, "not_in_included_location") && !strings.Contains(blocked.Policies, "in_excluded_location") {
		t.Fatalf("the sign-in log does not say which policy blocked and why: %+v", blocked)
	}

	// What-if: the same question, answered without signing in.
	var d access.Decision
	r = w.admin.do("POST", "/api/v1/admin/policy/what-if", map[string]any{"user": string(mustAccount(t, w, "admin@acme.example")), "address": "198.51.100.1"})
	r.json(t, &d)
	if d.Outcome != access.Block {
		t.Fatalf("what-if: %s", r.body)
	}
}

func mustPrefixes(t *testing.T, cidrs ...string) []netip.Prefix {
	t.Helper()
	var out []netip.Prefix
	for _, c := range cidrs {
		out = append(out, netip.MustParsePrefix(c))
	}
	return out
}

func mustAccount(t *testing.T, w *world, email string) ids.UserID {
	t.Helper()
	a, err := w.s.DB.AccountByEmail(t.Context(), identity.TenantRealm, w.tenant.ID, email)
	if err != nil {
		t.Fatal(err)
	}
	return a.ID
}

// TestRecoveryCodesWorkOnceAndNewOnesReplaceTheOld signs in with a recovery
// code, fails to use it again, and finds the earlier codes dead once new
// ones are made.
func TestRecoveryCodesWorkOnceAndNewOnesReplaceTheOld(t *testing.T) {
	w := startWorld(t)
	w.s.Clock.Advance(30 * time.Second)
	var rc httpapi.RecoveryCodes
	r := w.admin.do("POST", "/api/v1/me/recovery-codes", map[string]any{"proof": map[string]string{"kind": "totp", "code": oathtool(t, w.secret, w.s.Clock.Now())}})
	if r.status != 200 {
		t.Fatalf("recovery codes: %d %s", r.status, r.body)
	}
	r.json(t, &rc)
	if len(rc.Codes) != 10 {
		t.Fatalf("%d codes", len(rc.Codes))
	}
	useCode := func(code string) response {
		c := newClient(t, w.s.URL)
		if sb, r := c.signIn("admin@acme.example", goodPassword); sb.State != identity.SessionPendingMFA {
			t.Fatalf("sign-in: %d %s", r.status, r.body)
		}
		return c.do("POST", "/api/v1/auth/second-factor", map[string]string{"kind": "recovery", "code": code})
	}
	if r := useCode(rc.Codes[0]); r.status != 200 {
		t.Fatalf("a recovery code: %d %s", r.status, r.body)
	}
	if r := useCode(rc.Codes[0]); r.status != 401 {
		t.Fatalf("the same recovery code again: %d %s", r.status, r.body)
	}
	w.s.Clock.Advance(30 * time.Second)
	if r := w.admin.do("POST", "/api/v1/me/recovery-codes", map[string]any{"proof": map[string]string{"kind": "totp", "code": oathtool(t, w.secret, w.s.Clock.Now())}}); r.status != 200 {
		t.Fatalf("new recovery codes: %d %s", r.status, r.body)
	}
	if r := useCode(rc.Codes[1]); r.status != 401 {
		t.Fatalf("an unused code of the replaced set: %d %s", r.status, r.body)
	}
}
