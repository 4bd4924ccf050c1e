package app_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kaigi/kaigi/internal/app/apptest"
	"github.com/kaigi/kaigi/internal/audit"
	"github.com/kaigi/kaigi/internal/config"
	"github.com/kaigi/kaigi/internal/httpapi"
	"github.com/kaigi/kaigi/internal/identity"
	"github.com/kaigi/kaigi/internal/identity/access"
	"github.com/kaigi/kaigi/internal/identity/mfa/passkey/passkeytest"
	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/principal"
)

// startPasskeyNode starts a node (on PostgreSQL when pg is set) whose
// public URL is http://localhost:<port>, a URL WebAuthn accepts (an IP
// address cannot be an RP ID); clients reach it at 127.0.0.1:<port>, s.URL.
func startPasskeyNode(t *testing.T, pg bool, adjust ...func(*config.Config)) *apptest.Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	ln.Close()
	return apptest.Start(t, apptest.Options{Postgres: pg, Config: func(c *config.Config) {
		c.Addr = "127.0.0.1:" + port
		c.PublicURL = "http://localhost:" + port
		c.TrustedProxies = "127.0.0.1/32"
		for _, f := range adjust {
			f(c)
		}
	}})
}

// startPasskeyWorld is a passkey node with a tenant whose admin accepted the
// invitation (with a password) but has not signed in.
func startPasskeyWorld(t *testing.T) *world {
	t.Helper()
	return startPasskeyWorldOn(t, false)
}

func startPasskeyWorldOn(t *testing.T, pg bool, adjust ...func(*config.Config)) *world {
	t.Helper()
	s := startPasskeyNode(t, pg, adjust...)
	tenant, link, err := s.Identity.CreateTenant(t.Context(), principal.Job("test", ""), identity.NewTenant{Name: "Acme Corp", Domain: "acme.example", AdminEmail: "admin@acme.example"})
	if err != nil {
		t.Fatal(err)
	}
	c := newClient(t, s.URL)
	if r := c.do("POST", "/api/v1/invitations/accept", map[string]string{"token": fragmentParam(t, link, "token"), "display_name": "Ada Admin", "password": goodPassword}); r.status != 201 {
		t.Fatalf("accept: %d %s", r.status, r.body)
	}
	return &world{s: s, tenant: tenant, admin: c}
}

func newAuthenticator(t *testing.T, s *apptest.Server) *passkeytest.Authenticator {
	t.Helper()
	return passkeytest.New(t, s.Config.URL())
}

type passkeyCeremony struct {
	Ceremony string          `json:"ceremony"`
	Options  json.RawMessage `json:"options"`
}

func (c *client) beginPasskey(path string, body any) passkeyCeremony {
	c.t.Helper()
	r := c.do("POST", path, body)
	if r.status != 200 {
		c.t.Fatalf("%s: %d %s", path, r.status, r.body)
	}
	var pc passkeyCeremony
	r.json(c.t, &pc)
	return pc
}

// enrolPasskey registers a's passkey for the client's account, with proof
// when given, and refreshes the anti-forgery token of the (new) session.
func (c *client) enrolPasskey(a *passkeytest.Authenticator, k passkeytest.Knobs, proof any) response {
	c.t.Helper()
	pc := c.beginPasskey("/api/v1/me/passkeys/begin", nil)
	body := map[string]any{"ceremony": pc.Ceremony, "name": "Laptop", "credential": json.RawMessage(a.Create(c.t, pc.Options, k))}
	if proof != nil {
		body["proof"] = proof
	}
	r := c.do("POST", "/api/v1/me/passkeys/finish", body)
	if r.status == 201 {
		c.do("GET", "/api/v1/session", nil)
	}
	return r
}

// passkeySignIn signs in (or completes a pending sign-in) with a's passkey.
func (c *client) passkeySignIn(a *passkeytest.Authenticator, k passkeytest.Knobs) (httpapi.SessionBody, response) {
	c.t.Helper()
	pc := c.beginPasskey("/api/v1/auth/passkey/begin", nil)
	r := c.do("POST", "/api/v1/auth/passkey/finish", map[string]any{"ceremony": pc.Ceremony, "credential": json.RawMessage(a.Get(c.t, pc.Options, k))})
	var sb httpapi.SessionBody
	if r.status == 200 {
		r.json(c.t, &sb)
	}
	return sb, r
}

// passkeyProof is a passkey assertion as proof for a sensitive change.
func (c *client) passkeyProof(a *passkeytest.Authenticator) map[string]any {
	c.t.Helper()
	pc := c.beginPasskey("/api/v1/auth/passkey/begin", nil)
	return map[string]any{"kind": "passkey", "ceremony": pc.Ceremony, "credential": json.RawMessage(a.Get(c.t, pc.Options, passkeytest.Knobs{}))}
}

func auditActions(t *testing.T, s *apptest.Server, tenant ids.TenantID) []audit.Record {
	t.Helper()
	recs, err := s.DB.AuditRecords(t.Context(), tenant, 0, 10000)
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

func hasAudit(recs []audit.Record, action string, result audit.Result) bool {
	return slices.ContainsFunc(recs, func(r audit.Record) bool { return r.Action == action && (result == "" || r.Result == result) })
}

// onEachEngine runs fn on SQLite and on PostgreSQL (skipped without
// KAIGI_TEST_POSTGRES_URL, failed without it in CI).
func onEachEngine(t *testing.T, fn func(t *testing.T, pg bool)) {
	for _, e := range []struct {
		name string
		pg   bool
	}{{"sqlite", false}, {"postgres", true}} {
		t.Run(e.name, func(t *testing.T) { fn(t, e.pg) })
	}
}

func TestPasskeyEnrolmentThenPasswordlessSignIn(t *testing.T) {
	onEachEngine(t, testPasskeyEnrolmentThenPasswordlessSignIn)
}

func testPasskeyEnrolmentThenPasswordlessSignIn(t *testing.T, pg bool) {
	w := startPasskeyWorldOn(t, pg)
	c, a := w.admin, newAuthenticator(t, w.s)
	sb, r := c.signIn("admin@acme.example", goodPassword)
	if r.status != 200 || sb.State != identity.SessionEnrolMFA {
		t.Fatalf("first sign-in: %d %s, want enrol_mfa", r.status, r.body)
	}
	if r := c.do("GET", "/api/v1/admin/accounts", nil); r.status != 401 {
		t.Fatalf("an enrolment-only session reached an admin route: %d", r.status)
	}

	// The user handle is random, not the email or the account id, and
	// stays the same from one ceremony to the next.
	handleOf := func(pc passkeyCeremony) []byte {
		var o struct {
			PublicKey struct {
				User struct {
					ID string `json:"id"`
				} `json:"user"`
				AuthenticatorSelection struct {
					UserVerification string `json:"userVerification"`
				} `json:"authenticatorSelection"`
			} `json:"publicKey"`
		}
		if err := json.Unmarshal(pc.Options, &o); err != nil {
			t.Fatal(err)
		}
		if o.PublicKey.AuthenticatorSelection.UserVerification != "required" {
			t.Fatalf("user verification %q, want required", o.PublicKey.AuthenticatorSelection.UserVerification)
		}
		h, err := base64.RawURLEncoding.DecodeString(o.PublicKey.User.ID)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	h1 := handleOf(c.beginPasskey("/api/v1/me/passkeys/begin", nil))
	h2 := handleOf(c.beginPasskey("/api/v1/me/passkeys/begin", nil))
	acct := mustAccount(t, w, "admin@acme.example")
	if !bytes.Equal(h1, h2) || len(h1) < 16 || bytes.Contains(h1, []byte("admin")) || bytes.Equal(h1, []byte(acct)) {
		t.Fatalf("user handles %x and %x: want one stable random handle", h1, h2)
	}

	if r := c.enrolPasskey(a, passkeytest.Knobs{}, nil); r.status != 201 {
		t.Fatalf("enrol passkey: %d %s", r.status, r.body)
	}
	if r := c.do("GET", "/api/v1/admin/accounts", nil); r.status != 200 {
		t.Fatalf("the enrolment did not make the session full: %d %s", r.status, r.body)
	}
	var factors []identity.Factor
	c.do("GET", "/api/v1/me/factors", nil).json(t, &factors)
	if len(factors) != 1 || factors[0].Kind != identity.FactorPasskey || factors[0].Name != "Laptop" {
		t.Fatalf("factors: %+v", factors)
	}
	if !hasAudit(auditActions(t, w.s, w.tenant.ID), "mfa.enrol", audit.Success) {
		t.Fatal("the enrolment was not audited")
	}

	// A passkey proves a sensitive change; without proof it is refused.
	if r := c.do("POST", "/api/v1/me/recovery-codes", map[string]any{}); r.status != 403 {
		t.Fatalf("recovery codes without proof: %d %s", r.status, r.body)
	}
	if r := c.do("POST", "/api/v1/me/recovery-codes", map[string]any{"proof": c.passkeyProof(a)}); r.status != 200 {
		t.Fatalf("recovery codes with a passkey proof: %d %s", r.status, r.body)
	}
	// Another account's passkey is no proof.
	other := newAuthenticator(t, w.s)
	mia := invitePasskeyMember(t, w, "mia@acme.example")
	if r := mia.enrolPasskey(other, passkeytest.Knobs{}, nil); r.status != 201 {
		t.Fatalf("mia enrols: %d %s", r.status, r.body)
	}
	if r := c.do("POST", "/api/v1/me/recovery-codes", map[string]any{"proof": c.passkeyProof(other)}); r.status != 401 {
		t.Fatalf("proof with someone else's passkey: %d %s", r.status, r.body)
	}

	// Passwordless sign-in, from a fresh browser.
	c.do("POST", "/api/v1/auth/signout", nil)
	fresh := newClient(t, w.s.URL)
	sb, r = fresh.passkeySignIn(a, passkeytest.Knobs{})
	if r.status != 200 || sb.State != identity.SessionActive || sb.Tenant != string(w.tenant.ID) || sb.User != string(acct) {
		t.Fatalf("passkey sign-in: %d %s", r.status, r.body)
	}
	if r := fresh.do("GET", "/api/v1/admin/accounts", nil); r.status != 200 {
		t.Fatalf("after passkey sign-in: %d %s", r.status, r.body)
	}
	// The stored signature counter follows the authenticator's.
	fs, err := w.s.DB.Factors(t.Context(), acct)
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(fs, func(f identity.Factor) bool { return f.Kind == identity.FactorPasskey })
	if i < 0 || fs[i].Counter != int64(a.Counter) || fs[i].LastUsed.IsZero() {
		t.Fatalf("stored passkey counter %d (last used %v), authenticator at %d", fs[i].Counter, fs[i].LastUsed, a.Counter)
	}
	var log []identity.SignInEvent
	fresh.do("GET", "/api/v1/admin/signins", nil).json(t, &log)
	if !slices.ContainsFunc(log, func(e identity.SignInEvent) bool {
		return e.Result == "success" && e.Reason == "signed in with passkey" && e.Account == acct
	}) {
		t.Fatalf("the passkey sign-in is not in the sign-in log: %+v", log)
	}

	// A deactivated account's passkey signs nobody in.
	if sb, r := newClient(t, w.s.URL).passkeySignIn(other, passkeytest.Knobs{}); r.status != 200 || sb.State != identity.SessionActive {
		t.Fatalf("mia's passkey sign-in: %d %s", r.status, r.body)
	}
	if r := fresh.do("POST", "/api/v1/admin/accounts/"+string(mustAccount(t, w, "mia@acme.example"))+"/deactivate", nil); r.status != 204 {
		t.Fatalf("deactivate: %d %s", r.status, r.body)
	}
	if _, r := newClient(t, w.s.URL).passkeySignIn(other, passkeytest.Knobs{}); r.status != 401 {
		t.Fatalf("a deactivated account's passkey: %d %s", r.status, r.body)
	}
}

// invitePasskeyMember invites a member, who accepts and signs in with a
// password into a session limited to enrolling a second factor (MFA for
// everyone is set for them).
func invitePasskeyMember(t *testing.T, w *world, email string) *client {
	t.Helper()
	pol := identity.DefaultPolicy()
	pol.MFA = identity.MFAEveryone
	if r := w.admin.do("PUT", "/api/v1/admin/policy", map[string]any{"policy": pol}); r.status != 204 {
		t.Fatalf("set policy: %d %s", r.status, r.body)
	}
	var inv struct {
		Link string `json:"link"`
	}
	r := w.admin.do("POST", "/api/v1/admin/invitations", map[string]string{"email": email, "kind": "member"})
	if r.status != 201 {
		t.Fatalf("invite: %d %s", r.status, r.body)
	}
	r.json(t, &inv)
	m := newClient(t, w.s.URL)
	if r := m.do("POST", "/api/v1/invitations/accept", map[string]string{"token": fragmentParam(t, inv.Link, "token"), "display_name": "Mia Member", "password": goodPassword}); r.status != 201 {
		t.Fatalf("accept: %d %s", r.status, r.body)
	}
	if sb, r := m.signIn(email, goodPassword); sb.State != identity.SessionEnrolMFA {
		t.Fatalf("member sign-in: %d %s", r.status, r.body)
	}
	return m
}

func TestPasskeyCompletesASignInWaitingForASecondFactor(t *testing.T) {
	w := startPasskeyWorld(t)
	c, a := w.admin, newAuthenticator(t, w.s)
	c.signIn("admin@acme.example", goodPassword)
	if r := c.enrolPasskey(a, passkeytest.Knobs{}, nil); r.status != 201 {
		t.Fatalf("enrol passkey: %d %s", r.status, r.body)
	}
	c.do("POST", "/api/v1/auth/signout", nil)

	sb, r := c.signIn("admin@acme.example", goodPassword)
	if r.status != 200 || sb.State != identity.SessionPendingMFA || !slices.Equal(sb.Factors, []string{identity.FactorPasskey}) {
		t.Fatalf("password sign-in: %d %s, want pending_mfa with a passkey", r.status, r.body)
	}
	sb, r = c.passkeySignIn(a, passkeytest.Knobs{})
	if r.status != 200 || sb.State != identity.SessionActive {
		t.Fatalf("passkey after the password: %d %s", r.status, r.body)
	}
	// The waiting session was completed, not a second one started.
	var sessions []identity.Session
	c.do("GET", "/api/v1/me/sessions", nil).json(t, &sessions)
	if len(sessions) != 1 || !slices.Equal(sessions[0].Methods, []string{"password", "passkey"}) {
		t.Fatalf("sessions after completing the sign-in: %+v", sessions)
	}
	var log []identity.SignInEvent
	c.do("GET", "/api/v1/admin/signins", nil).json(t, &log)
	if !slices.ContainsFunc(log, func(e identity.SignInEvent) bool {
		return e.Result == "success" && e.Reason == "signed in with password and passkey"
	}) {
		t.Fatalf("the completed sign-in is not in the sign-in log: %+v", log)
	}
}

func TestPhishingResistantPolicyNeedsAPasskey(t *testing.T) {
	w := startPasskeyWorld(t)
	c, a := w.admin, newAuthenticator(t, w.s)
	secret := enrolTOTP(t, w.s, c, "admin@acme.example")

	// Adding a passkey to an account with a second factor needs proof of
	// it; a refused attempt does not use up anything.
	if r := c.enrolPasskey(a, passkeytest.Knobs{}, nil); r.status != 403 {
		t.Fatalf("passkey without proof: %d %s", r.status, r.body)
	}
	if r := c.enrolPasskey(a, passkeytest.Knobs{}, map[string]string{"kind": "totp", "code": "000000"}); r.status != 401 && r.status != 400 {
		t.Fatalf("passkey with a wrong code: %d %s", r.status, r.body)
	}
	w.s.Clock.Advance(30 * time.Second)
	if r := c.enrolPasskey(a, passkeytest.Knobs{}, map[string]string{"kind": "totp", "code": oathtool(t, secret, w.s.Clock.Now())}); r.status != 201 {
		t.Fatalf("passkey with a TOTP proof: %d %s", r.status, r.body)
	}

	pol := identity.DefaultPolicy()
	pol.Access = []access.Policy{{ID: "pk", Name: "Passkeys only", State: access.Enabled,
		Conditions: access.Conditions{Users: &access.UserCondition{IncludeRoles: []principal.Role{access.AllUsers}}},
		Controls:   access.Controls{RequirePhishingResistantMFA: true}}}
	if r := c.do("PUT", "/api/v1/admin/policy", map[string]any{"policy": pol}); r.status != 204 {
		t.Fatalf("set policy: %d %s", r.status, r.body)
	}

	b := newClient(t, w.s.URL)
	sb, r := b.signIn("admin@acme.example", goodPassword)
	if r.status != 200 || sb.State != identity.SessionPendingMFA || !slices.Equal(sb.Factors, []string{identity.FactorPasskey}) {
		t.Fatalf("password sign-in under the policy: %d %s, want pending_mfa asking for a passkey", r.status, r.body)
	}
	w.s.Clock.Advance(30 * time.Second)
	r = b.do("POST", "/api/v1/auth/second-factor", map[string]string{"kind": "totp", "code": oathtool(t, secret, w.s.Clock.Now())})
	if r.status != 403 || !strings.Contains(string(r.body), "passkey") {
		t.Fatalf("TOTP under a passkey policy: %d %s", r.status, r.body)
	}
	if r := b.do("GET", "/api/v1/admin/accounts", nil); r.status != 401 {
		t.Fatalf("TOTP got past a passkey policy: %d", r.status)
	}
	if sb, r := b.passkeySignIn(a, passkeytest.Knobs{}); r.status != 200 || sb.State != identity.SessionActive {
		t.Fatalf("passkey under a passkey policy: %d %s", r.status, r.body)
	}
	if r := b.do("GET", "/api/v1/admin/accounts", nil); r.status != 200 {
		t.Fatalf("after the passkey: %d %s", r.status, r.body)
	}
	// Passwordless, the passkey satisfies the policy on its own.
	if sb, r := newClient(t, w.s.URL).passkeySignIn(a, passkeytest.Knobs{}); r.status != 200 || sb.State != identity.SessionActive {
		t.Fatalf("passwordless under a passkey policy: %d %s", r.status, r.body)
	}
}

// passkeyAdmin is a world whose admin signed in and enrolled a passkey.
func passkeyAdmin(t *testing.T, adjust ...func(*config.Config)) (*world, *passkeytest.Authenticator) {
	t.Helper()
	w := startPasskeyWorldOn(t, false, adjust...)
	a := newAuthenticator(t, w.s)
	w.admin.signIn("admin@acme.example", goodPassword)
	if r := w.admin.enrolPasskey(a, passkeytest.Knobs{}, nil); r.status != 201 {
		t.Fatalf("enrol passkey: %d %s", r.status, r.body)
	}
	return w, a
}

func TestPasskeyResponsesForAnotherOriginAreRefused(t *testing.T) {
	w, a := passkeyAdmin(t)
	evil := passkeytest.Knobs{Origin: "https://kaigi-login.example"}
	c := newClient(t, w.s.URL)
	if _, r := c.passkeySignIn(a, evil); r.status != 401 || !strings.Contains(string(r.body), "different website") {
		t.Fatalf("assertion for another origin: %d %s", r.status, r.body)
	}
	if r := c.do("GET", "/api/v1/session", nil); strings.Contains(string(r.body), `"state":"active"`) {
		t.Fatalf("a refused assertion signed in: %s", r.body)
	}
	// A registration collected by another page is refused too.
	mia, other := invitePasskeyMember(t, w, "mia@acme.example"), newAuthenticator(t, w.s)
	if r := mia.enrolPasskey(other, evil, nil); r.status != 401 || !strings.Contains(string(r.body), "different website") {
		t.Fatalf("registration for another origin: %d %s", r.status, r.body)
	}
	if r := mia.enrolPasskey(other, passkeytest.Knobs{}, nil); r.status != 201 {
		t.Fatalf("honest registration after the refused one: %d %s", r.status, r.body)
	}
	var log []identity.SignInEvent
	w.admin.do("GET", "/api/v1/admin/signins", nil).json(t, &log)
	if !slices.ContainsFunc(log, func(e identity.SignInEvent) bool {
		return e.Result == "failure" && strings.Contains(e.Reason, "different website") && e.Account == mustAccount(t, w, "admin@acme.example")
	}) {
		t.Fatalf("the refused assertion is not in the sign-in log: %+v", log)
	}
}

func TestReplayedPasskeyCeremoniesAreRefused(t *testing.T) {
	w, a := passkeyAdmin(t)
	c := newClient(t, w.s.URL)
	pc := c.beginPasskey("/api/v1/auth/passkey/begin", nil)
	resp := json.RawMessage(a.Get(t, pc.Options, passkeytest.Knobs{}))
	if r := c.do("POST", "/api/v1/auth/passkey/finish", map[string]any{"ceremony": pc.Ceremony, "credential": resp}); r.status != 200 {
		t.Fatalf("first finish: %d %s", r.status, r.body)
	}
	// The same ceremony again, from another browser: it was used up.
	replay := newClient(t, w.s.URL)
	if r := replay.do("POST", "/api/v1/auth/passkey/finish", map[string]any{"ceremony": pc.Ceremony, "credential": resp}); r.status != 400 || !strings.Contains(string(r.body), "already used") {
		t.Fatalf("replayed ceremony: %d %s", r.status, r.body)
	}
	// The same response against a new ceremony answers the wrong challenge.
	fresh := replay.beginPasskey("/api/v1/auth/passkey/begin", nil)
	if r := replay.do("POST", "/api/v1/auth/passkey/finish", map[string]any{"ceremony": fresh.Ceremony, "credential": resp}); r.status != 401 {
		t.Fatalf("replayed response: %d %s", r.status, r.body)
	}
	// A forged ceremony id is refused too.
	if r := replay.do("POST", "/api/v1/auth/passkey/finish", map[string]any{"ceremony": "forged", "credential": resp}); r.status != 400 {
		t.Fatalf("forged ceremony: %d %s", r.status, r.body)
	}
}

func TestPasskeyCloneIsRefusedAndAudited(t *testing.T) {
	w, a := passkeyAdmin(t)
	c := newClient(t, w.s.URL)
	if _, r := c.passkeySignIn(a, passkeytest.Knobs{}); r.status != 200 {
		t.Fatalf("sign-in: %d %s", r.status, r.body)
	}
	// A copy of the key that signs with an older counter.
	old := a.Counter - 1
	if _, r := newClient(t, w.s.URL).passkeySignIn(a, passkeytest.Knobs{Counter: &old}); r.status != 401 || !strings.Contains(string(r.body), "copied") {
		t.Fatalf("counter gone back: %d %s", r.status, r.body)
	}
	if !hasAudit(auditActions(t, w.s, w.tenant.ID), "mfa.passkey_clone_suspected", audit.Denied) {
		t.Fatal("the suspected clone was not audited")
	}
	// The genuine authenticator, moving on, still works.
	if _, r := newClient(t, w.s.URL).passkeySignIn(a, passkeytest.Knobs{}); r.status != 200 {
		t.Fatalf("genuine authenticator after the refusal: %d %s", r.status, r.body)
	}
}

func TestPasskeySignInFailuresAreThrottledPerSource(t *testing.T) {
	w, a := passkeyAdmin(t)
	c := newClient(t, w.s.URL)
	c.from = "198.51.100.7"
	var r response
	for i := range 30 {
		r = c.do("POST", "/api/v1/auth/passkey/finish", map[string]any{"ceremony": "no-such-ceremony", "credential": map[string]any{}})
		if r.status == 429 {
			if i < 20 {
				t.Fatalf("throttled after only %d failures", i)
			}
			break
		}
	}
	if r.status != 429 || r.header.Get("Retry-After") == "" {
		t.Fatalf("after 30 failures from one address: %d %s", r.status, r.body)
	}
	// Even a good passkey waits, from that address; another address does not.
	if _, r := c.passkeySignIn(a, passkeytest.Knobs{}); r.status != 429 {
		t.Fatalf("good passkey from the throttled address: %d", r.status)
	}
	if _, r := newClient(t, w.s.URL).passkeySignIn(a, passkeytest.Knobs{}); r.status != 200 {
		t.Fatalf("good passkey from another address: %d %s", r.status, r.body)
	}
}

func TestOperatorSetupThroughTheLinkThenTenants(t *testing.T) {
	onEachEngine(t, testOperatorSetupThroughTheLinkThenTenants)
}

func testOperatorSetupThroughTheLinkThenTenants(t *testing.T, pg bool) {
	s := startPasskeyNode(t, pg)
	link, _, err := s.NewSetupLink(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	spare, _, err := s.NewSetupLink(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	token, spareToken := fragmentParam(t, link, "token"), fragmentParam(t, spare, "token")
	op, a := newClient(t, s.URL), newAuthenticator(t, s)

	pc := op.beginPasskey("/api/v1/setup/operator/begin", map[string]string{"token": token, "email": "Olga@Ops.example", "display_name": "Olga Operator"})
	cred := json.RawMessage(a.Create(t, pc.Options, passkeytest.Knobs{}))
	// The ceremony is bound to its setup link.
	if r := op.do("POST", "/api/v1/setup/operator/finish", map[string]any{"token": spareToken, "ceremony": pc.Ceremony, "credential": cred}); r.status != 400 {
		t.Fatalf("finish with another link's token: %d %s", r.status, r.body)
	}
	pc = op.beginPasskey("/api/v1/setup/operator/begin", map[string]string{"token": token, "email": "Olga@Ops.example", "display_name": "Olga Operator"})
	r := op.do("POST", "/api/v1/setup/operator/finish", map[string]any{"token": token, "ceremony": pc.Ceremony, "credential": json.RawMessage(a.Create(t, pc.Options, passkeytest.Knobs{}))})
	if r.status != 201 {
		t.Fatalf("finish setup: %d %s", r.status, r.body)
	}
	var me httpapi.SessionBody
	op.do("GET", "/api/v1/session", nil).json(t, &me)
	if me.State != identity.SessionActive || me.Kind != string(principal.Operator) || me.Tenant != "" || me.Email != "olga@ops.example" {
		t.Fatalf("operator session: %+v", me)
	}

	// Set-up is over: this link, the spare one and new ones are refused.
	for _, tok := range []string{token, spareToken} {
		if r := op.do("POST", "/api/v1/setup/verify", map[string]string{"token": tok}); r.status < 400 {
			t.Fatalf("setup link after set-up: %d %s", r.status, r.body)
		}
		if r := newClient(t, s.URL).do("POST", "/api/v1/setup/operator/begin", map[string]string{"token": tok, "email": "eve@evil.example", "display_name": "Eve"}); r.status < 400 {
			t.Fatalf("second operator through a setup link: %d %s", r.status, r.body)
		}
	}
	if _, _, err := s.NewSetupLink(t.Context()); !errors.Is(err, identity.ErrAlreadySetUp) {
		t.Fatalf("new setup link after set-up: %v", err)
	}
	ops, err := s.DB.Accounts(t.Context(), identity.OperatorRealm, ids.ServiceTenant)
	if err != nil || len(ops) != 1 || ops[0].PasswordHash != "" || ops[0].Kind != principal.Operator {
		t.Fatalf("operators: %+v, %v", ops, err)
	}

	// The operator creates a tenant; its admin's invitation works.
	r = op.do("POST", "/api/v1/operator/tenants", map[string]string{"name": "Globex", "domain": "globex.example", "admin_email": "hank@globex.example"})
	if r.status != 201 {
		t.Fatalf("create tenant: %d %s", r.status, r.body)
	}
	var created httpapi.TenantCreated
	r.json(t, &created)
	var tenants []identity.Tenant
	op.do("GET", "/api/v1/operator/tenants", nil).json(t, &tenants)
	if len(tenants) != 1 || tenants[0].ID != created.Tenant.ID || tenants[0].Slug != "globex" {
		t.Fatalf("tenants: %+v", tenants)
	}
	// A second verified domain: its addresses find the tenant at sign-in.
	var withDomain identity.Tenant
	r = op.do("POST", "/api/v1/operator/tenants/"+string(created.Tenant.ID)+"/domains", map[string]string{"domain": "Globex-Europe.example"})
	if r.status != 200 {
		t.Fatalf("add domain: %d %s", r.status, r.body)
	}
	r.json(t, &withDomain)
	if strings.Join(withDomain.Domains, ",") != "globex-europe.example,globex.example" {
		t.Fatalf("domains: %v", withDomain.Domains)
	}
	if r := op.do("POST", "/api/v1/operator/tenants/"+string(created.Tenant.ID)+"/domains", map[string]string{"domain": "not a domain"}); r.status != 400 {
		t.Fatalf("a malformed domain: %d", r.status)
	}
	admin := newClient(t, s.URL)
	if r := admin.do("POST", "/api/v1/invitations/accept", map[string]string{"token": fragmentParam(t, created.Link, "token"), "display_name": "Hank", "password": goodPassword}); r.status != 201 {
		t.Fatalf("accept the first admin's invitation: %d %s", r.status, r.body)
	}
	if sb, r := admin.signIn("hank@globex.example", goodPassword); r.status != 200 || sb.State != identity.SessionEnrolMFA {
		t.Fatalf("admin sign-in: %d %s", r.status, r.body)
	}
	if r := admin.enrolPasskey(newAuthenticator(t, s), passkeytest.Knobs{}, nil); r.status != 201 {
		t.Fatalf("admin enrols a passkey: %d %s", r.status, r.body)
	}

	// Separation, both ways.
	for _, path := range []string{"/api/v1/admin/accounts", "/api/v1/me/tokens", "/api/v1/admin/policy"} {
		if r := op.do("GET", path, nil); r.status != 403 {
			t.Errorf("operator GET %s: %d, want 403", path, r.status)
		}
	}
	if r := admin.do("GET", "/api/v1/operator/tenants", nil); r.status != 403 {
		t.Errorf("tenant admin lists tenants: %d, want 403", r.status)
	}
	if r := admin.do("POST", "/api/v1/operator/tenants/"+string(created.Tenant.ID)+"/domains", map[string]string{"domain": "mine.example"}); r.status != 403 {
		t.Errorf("tenant admin adds a domain: %d, want 403", r.status)
	}
	if r := admin.do("POST", "/api/v1/operator/tenants", map[string]string{"name": "Evil", "domain": "evil.example", "admin_email": "e@evil.example"}); r.status != 403 {
		t.Errorf("tenant admin creates a tenant: %d, want 403", r.status)
	}

	// An operator keeps at least one passkey: the only one cannot go; with
	// a second (added with a passkey as proof), the first can.
	var factors []identity.Factor
	op.do("GET", "/api/v1/me/factors", nil).json(t, &factors)
	if len(factors) != 1 || factors[0].Kind != identity.FactorPasskey {
		t.Fatalf("operator factors: %+v", factors)
	}
	first := factors[0].ID
	if r := op.do("POST", "/api/v1/me/factors/"+first+"/remove", map[string]any{"proof": op.passkeyProof(a)}); r.status != 409 {
		t.Fatalf("remove the operator's only passkey: %d %s", r.status, r.body)
	}
	a2 := newAuthenticator(t, s)
	if r := op.enrolPasskey(a2, passkeytest.Knobs{}, op.passkeyProof(a)); r.status != 201 {
		t.Fatalf("operator adds a second passkey: %d %s", r.status, r.body)
	}
	if r := op.do("POST", "/api/v1/me/factors/"+first+"/remove", map[string]any{"proof": op.passkeyProof(a2)}); r.status != 204 {
		t.Fatalf("remove the first passkey: %d %s", r.status, r.body)
	}
	if _, r := newClient(t, s.URL).passkeySignIn(a, passkeytest.Knobs{}); r.status != 401 {
		t.Fatalf("sign-in with a removed passkey: %d %s", r.status, r.body)
	}
	a = a2

	// Operators sign in with their passkey only: no password works.
	op.do("POST", "/api/v1/auth/signout", nil)
	if _, r := newClient(t, s.URL).signIn("olga@ops.example", goodPassword); r.status != 401 {
		t.Fatalf("operator password sign-in: %d %s", r.status, r.body)
	}
	again := newClient(t, s.URL)
	if sb, r := again.passkeySignIn(a, passkeytest.Knobs{}); r.status != 200 || sb.State != identity.SessionActive || sb.Tenant != "" {
		t.Fatalf("operator passkey sign-in: %d %s", r.status, r.body)
	}
	if r := again.do("GET", "/api/v1/operator/tenants", nil); r.status != 200 {
		t.Fatalf("operator after passkey sign-in: %d %s", r.status, r.body)
	}

	recs := auditActions(t, s, ids.ServiceTenant)
	for _, action := range []string{"operator.create", "tenant.create", "signin.success", "mfa.enrol", "mfa.remove"} {
		if !hasAudit(recs, action, audit.Success) {
			t.Errorf("the service log lacks %s", action)
		}
	}
}
