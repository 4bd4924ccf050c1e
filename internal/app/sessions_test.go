package app_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/kaigi/kaigi/internal/httpapi"
	"github.com/kaigi/kaigi/internal/identity"
	"github.com/kaigi/kaigi/internal/identity/access"
	"github.com/kaigi/kaigi/internal/principal"
)

// bearer sends a request with a personal access token and no cookies.
func bearer(t *testing.T, w *world, method, path, token, from string) response {
	t.Helper()
	c := newClient(t, w.s.URL)
	c.from = from
	req, _ := http.NewRequestWithContext(t.Context(), method, w.s.URL+path, strings.NewReader("{}"))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	if from != "" {
		req.Header.Set("X-Forwarded-For", from)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b [4096]byte
	n, _ := resp.Body.Read(b[:])
	return response{status: resp.StatusCode, header: resp.Header, body: b[:n]}
}

func createToken(t *testing.T, c *client, scopes []string, days int) string {
	t.Helper()
	var tc httpapi.TokenCreated
	r := c.do("POST", "/api/v1/me/tokens", map[string]any{"name": "ci", "scopes": scopes, "days": days})
	if r.status != 201 {
		t.Fatalf("create token: %d %s", r.status, r.body)
	}
	r.json(t, &tc)
	if !strings.HasPrefix(tc.Secret, identity.TokenPrefix) {
		t.Fatalf("token secret %q", tc.Secret)
	}
	return tc.Secret
}

func TestAccessTokensAreScopedExpiringAndRevocable(t *testing.T) {
	w := startWorld(t)
	read := createToken(t, w.admin, []string{"read"}, 30)
	if r := bearer(t, w, "GET", "/api/v1/me/tokens", read, ""); r.status != 200 {
		t.Fatalf("read with a read token: %d %s", r.status, r.body)
	}
	if r := bearer(t, w, "POST", "/api/v1/me/recovery-codes", read, ""); r.status != 403 {
		t.Fatalf("write with a read token: %d %s", r.status, r.body)
	}
	if r := bearer(t, w, "GET", "/api/v1/admin/accounts", read, ""); r.status != 403 {
		t.Fatalf("admin route with a token without the admin scope: %d %s", r.status, r.body)
	}
	admin := createToken(t, w.admin, []string{"read", "admin"}, 30)
	if r := bearer(t, w, "GET", "/api/v1/admin/accounts", admin, ""); r.status != 200 {
		t.Fatalf("admin route with an admin token: %d %s", r.status, r.body)
	}
	if r := bearer(t, w, "GET", "/api/v1/me/tokens", read[:len(read)-2]+"xx", ""); r.status != 401 {
		t.Fatalf("a forged secret: %d", r.status)
	}
	if r := bearer(t, w, "POST", "/api/v1/me/tokens", admin, ""); r.status != 403 {
		t.Fatalf("a token minting tokens: %d %s", r.status, r.body)
	}

	// Revoked: refused at once.
	var list []identity.Token
	w.admin.do("GET", "/api/v1/me/tokens", nil).json(t, &list)
	for _, tok := range list {
		if strings.Contains(admin, tok.ID) {
			if r := w.admin.do("DELETE", "/api/v1/me/tokens/"+tok.ID, nil); r.status != 204 {
				t.Fatalf("revoke: %d %s", r.status, r.body)
			}
		}
	}
	if r := bearer(t, w, "GET", "/api/v1/admin/accounts", admin, ""); r.status != 401 {
		t.Fatalf("a revoked token: %d", r.status)
	}
	if r := w.admin.do("POST", "/api/v1/me/tokens", map[string]any{"name": "forever", "scopes": []string{"read"}, "days": 5000}); r.status != 400 {
		t.Fatalf("a token for 5000 days: %d", r.status)
	}
	// Expired: refused once its time is up.
	w.s.Clock.Advance(31 * 24 * time.Hour)
	if r := bearer(t, w, "GET", "/api/v1/me/tokens", read, ""); r.status != 401 {
		t.Fatalf("an expired token: %d", r.status)
	}
}

func TestSessionsEndByIdleAndAbsoluteLimits(t *testing.T) {
	w := startWorld(t)
	pol := identity.DefaultPolicy()
	pol.SessionIdleMinutes, pol.SessionAbsoluteHours = 30, 2
	if r := w.admin.do("PUT", "/api/v1/admin/policy", map[string]any{"policy": pol}); r.status != 204 {
		t.Fatalf("policy: %d %s", r.status, r.body)
	}
	idle := inviteAndSignIn(t, w, "ida@acme.example")
	busy := inviteAndSignIn(t, w, "abe@acme.example")
	var mine []identity.Session
	idle.do("GET", "/api/v1/me/sessions", nil).json(t, &mine)
	if len(mine) != 1 || !mine[0].Current {
		t.Fatalf("the listing should mark the current session: %+v", mine)
	}
	step := func(d time.Duration) {
		w.s.Clock.Advance(d)
		if r := busy.do("GET", "/api/v1/me/sessions", nil); r.status != 200 && w.s.Clock.Now().Sub(worldStart) < 2*time.Hour {
			t.Fatalf("the busy session at %s: %d", w.s.Clock.Now().Sub(worldStart), r.status)
		}
	}
	step(25 * time.Minute)
	if r := idle.do("GET", "/api/v1/me/sessions", nil); r.status != 200 {
		t.Fatalf("within the idle limit: %d", r.status)
	}
	step(25 * time.Minute)
	step(6 * time.Minute)
	if r := idle.do("GET", "/api/v1/me/sessions", nil); r.status != 401 || !strings.Contains(string(r.body), "session has ended") {
		t.Fatalf("after 31 idle minutes: %d %s", r.status, r.body)
	}
	for w.s.Clock.Now().Sub(worldStart) < 2*time.Hour+5*time.Minute {
		step(20 * time.Minute) // busy, never idle...
	}
	if r := busy.do("GET", "/api/v1/me/sessions", nil); r.status != 401 {
		t.Fatalf("...but past the absolute limit of 2 hours: %d", r.status)
	}
}

// worldStart is when apptest's fake clock starts.
var worldStart = time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)

// inviteAndSignIn invites a member, accepts and signs in.
func inviteAndSignIn(t *testing.T, w *world, email string) *client {
	t.Helper()
	var inv httpapi.InviteCreated
	r := w.admin.do("POST", "/api/v1/admin/invitations", map[string]string{"email": email, "kind": "member"})
	if r.status != 201 {
		t.Fatalf("invite: %d %s", r.status, r.body)
	}
	r.json(t, &inv)
	c := newClient(t, w.s.URL)
	if r := c.do("POST", "/api/v1/invitations/accept", map[string]string{"token": fragmentParam(t, inv.Link, "token"), "display_name": "Someone", "password": goodPassword}); r.status != 201 {
		t.Fatalf("accept: %d %s", r.status, r.body)
	}
	if sb, r := c.signIn(email, goodPassword); sb.State != identity.SessionActive {
		t.Fatalf("sign in: %d %s", r.status, r.body)
	}
	return c
}

func TestDeactivationEndsSessionsAndTokensAtOnce(t *testing.T) {
	w := startWorld(t)
	m := inviteAndSignIn(t, w, "leaver@acme.example")
	tok := createToken(t, m, []string{"read"}, 10)
	other := newClient(t, w.s.URL)
	other.signIn("leaver@acme.example", goodPassword)
	id := mustAccount(t, w, "leaver@acme.example")
	if r := w.admin.do("POST", "/api/v1/admin/accounts/"+string(id)+"/deactivate", nil); r.status != 204 {
		t.Fatalf("deactivate: %d %s", r.status, r.body)
	}
	for name, c := range map[string]*client{"first session": m, "second session": other} {
		if r := c.do("GET", "/api/v1/me/sessions", nil); r.status != 401 {
			t.Errorf("%s after deactivation: %d", name, r.status)
		}
	}
	if r := bearer(t, w, "GET", "/api/v1/me/tokens", tok, ""); r.status != 401 {
		t.Errorf("token after deactivation: %d", r.status)
	}
	if _, r := newClient(t, w.s.URL).signIn("leaver@acme.example", goodPassword); r.status != 401 {
		t.Errorf("sign-in after deactivation: %d", r.status)
	}
	// The last admin cannot be deactivated, not even by themselves.
	admin := mustAccount(t, w, "admin@acme.example")
	if r := w.admin.do("POST", "/api/v1/admin/accounts/"+string(admin)+"/deactivate", nil); r.status != 409 || !strings.Contains(string(r.body), "last active admin") {
		t.Fatalf("deactivating the last admin: %d %s", r.status, r.body)
	}
}

func TestANewAddressIsCheckedAgainstConditionalAccess(t *testing.T) {
	w := startWorld(t)
	w.admin.from = "10.1.2.3"
	m := inviteAndSignIn(t, w, "traveller@acme.example")
	m.from = "10.4.4.4"
	tok := createToken(t, w.admin, []string{"read", "admin"}, 10)
	pol := identity.DefaultPolicy()
	pol.Locations = []access.NamedLocation{{Name: "Office", Ranges: mustPrefixes(t, "10.0.0.0/8")}}
	pol.Access = []access.Policy{{ID: "p1", Name: "Office only", State: access.Enabled,
		Conditions: access.Conditions{Users: &access.UserCondition{IncludeRoles: []principal.Role{access.AllUsers}},
			Locations: &access.LocationCondition{Include: []string{access.AnyLocation}, Exclude: []string{"Office"}}},
		Controls: access.Controls{Block: true}}}
	if r := w.admin.do("PUT", "/api/v1/admin/policy", map[string]any{"policy": pol}); r.status != 204 {
		t.Fatalf("policy: %d %s", r.status, r.body)
	}
	if r := m.do("GET", "/api/v1/me/sessions", nil); r.status != 200 {
		t.Fatalf("from the office: %d %s", r.status, r.body)
	}
	m.from = "198.51.100.20" // the same session, now from a café
	if r := m.do("GET", "/api/v1/me/sessions", nil); r.status != 403 || !strings.Contains(string(r.body), "Office only") {
		t.Fatalf("from outside: %d %s", r.status, r.body)
	}
	m.from = "10.4.4.4" // and the session is gone, even back in the office
	if r := m.do("GET", "/api/v1/me/sessions", nil); r.status != 401 {
		t.Fatalf("back in the office with the ended session: %d", r.status)
	}
	if r := bearer(t, w, "GET", "/api/v1/admin/accounts", tok, "10.9.9.9"); r.status != 200 {
		t.Fatalf("token from the office: %d %s", r.status, r.body)
	}
	if r := bearer(t, w, "GET", "/api/v1/admin/accounts", tok, "192.0.2.77"); r.status != 403 {
		t.Fatalf("token from outside: %d %s", r.status, r.body)
	}
	var log []identity.SignInEvent
	w.admin.do("GET", "/api/v1/admin/signins", nil).json(t, &log)
	found := 0
	for _, e := range log {
		if e.Result == "blocked" && (e.Source == "198.51.100.20" || e.Source == "192.0.2.77") && strings.Contains(e.Reason, "Office only") {
			found++
		}
	}
	if found != 2 {
		t.Fatalf("the sign-in log should record both refusals, found %d: %+v", found, log)
	}
}

func TestRoleChangeEndsSessionsAndResetLinkWorksOnce(t *testing.T) {
	w := startWorld(t)
	m := inviteAndSignIn(t, w, "rita@acme.example")
	id := mustAccount(t, w, "rita@acme.example")
	if r := w.admin.do("PUT", "/api/v1/admin/accounts/"+string(id)+"/roles", map[string]any{"roles": []string{"compliance_officer"}}); r.status != 204 {
		t.Fatalf("set roles: %d %s", r.status, r.body)
	}
	if r := m.do("GET", "/api/v1/me/sessions", nil); r.status != 401 {
		t.Fatalf("a session from before the privilege change: %d", r.status)
	}
	admin := mustAccount(t, w, "admin@acme.example")
	if r := w.admin.do("PUT", "/api/v1/admin/accounts/"+string(admin)+"/roles", map[string]any{"roles": []string{}}); r.status != 409 {
		t.Fatalf("the last admin dropping the role: %d %s", r.status, r.body)
	}
	var lb httpapi.LinkBody
	r := w.admin.do("POST", "/api/v1/admin/accounts/"+string(id)+"/reset-link", nil)
	if r.status != 201 {
		t.Fatalf("reset link: %d %s", r.status, r.body)
	}
	r.json(t, &lb)
	anon := newClient(t, w.s.URL)
	tok := fragmentParam(t, lb.Link, "token")
	if r := anon.do("POST", "/api/v1/password/reset", map[string]string{"token": tok, "password": "123456"}); r.status != 400 {
		t.Fatalf("a weak new password: %d %s", r.status, r.body)
	}
	const next = "Granite-Meadow-Violin-58-Ember"
	if r := anon.do("POST", "/api/v1/password/reset", map[string]string{"token": tok, "password": next}); r.status != 204 {
		t.Fatalf("reset: %d %s", r.status, r.body)
	}
	if r := anon.do("POST", "/api/v1/password/reset", map[string]string{"token": tok, "password": next + "x"}); r.status != 400 {
		t.Fatalf("the link used twice: %d %s", r.status, r.body)
	}
	if _, r := newClient(t, w.s.URL).signIn("rita@acme.example", goodPassword); r.status != 401 {
		t.Fatalf("the old password: %d", r.status)
	}
	w.s.Clock.Advance(time.Minute)
	if sb, r := newClient(t, w.s.URL).signIn("rita@acme.example", next); r.status != 200 || sb.State != identity.SessionEnrolMFA {
		t.Fatalf("the new password (a compliance officer must enrol a second factor): %d %s", r.status, r.body)
	}
}

func TestExpiredInvitationsAndResetLinksAreRefused(t *testing.T) {
	w := startWorld(t)
	var inv httpapi.InviteCreated
	w.admin.do("POST", "/api/v1/admin/invitations", map[string]string{"email": "late@acme.example", "kind": "member"}).json(t, &inv)
	inviteAndSignIn(t, w, "reset@acme.example")
	var lb httpapi.LinkBody
	w.admin.do("POST", "/api/v1/admin/accounts/"+string(mustAccount(t, w, "reset@acme.example"))+"/reset-link", nil).json(t, &lb)

	w.s.Clock.Advance(2 * time.Hour) // past the reset link's hour
	anon := newClient(t, w.s.URL)
	if r := anon.do("POST", "/api/v1/password/reset", map[string]string{"token": fragmentParam(t, lb.Link, "token"), "password": "Granite-Meadow-Violin-58-Ember"}); r.status != 400 || !strings.Contains(string(r.body), "not valid") {
		t.Fatalf("an expired reset link: %d %s", r.status, r.body)
	}
	w.s.Clock.Advance(7 * 24 * time.Hour) // past the invitation's week
	if r := anon.do("POST", "/api/v1/invitations/accept", map[string]string{"token": fragmentParam(t, inv.Link, "token"), "display_name": "Late", "password": goodPassword}); r.status != 400 || !strings.Contains(string(r.body), "not valid") {
		t.Fatalf("an expired invitation: %d %s", r.status, r.body)
	}
}
