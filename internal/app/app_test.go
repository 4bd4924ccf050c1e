package app_test

import (
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/kaigi/kaigi/internal/app/apptest"
	"github.com/kaigi/kaigi/internal/config"
	"github.com/kaigi/kaigi/internal/httpapi"
	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/principal"
)

var update = flag.Bool("update", false, "rewrite docs/openapi.json")

func get(t *testing.T, url string, hdr ...string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

// TestNodeServes runs a whole node on each engine and checks the service
// endpoints end to end.
func TestNodeServes(t *testing.T) {
	engines := []struct {
		name string
		opts func(t *testing.T) apptest.Options
	}{
		{"sqlite+inproc", func(t *testing.T) apptest.Options { return apptest.Options{} }},
		{"postgres+nats", func(t *testing.T) apptest.Options {
			return apptest.Options{Postgres: true, NATSURL: natsURL(t)}
		}},
	}
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			s := apptest.Start(t, e.opts(t))
			status, body := get(t, s.URL+"/readyz")
			var h httpapi.Health
			if err := json.Unmarshal(body, &h); err != nil || status != 200 || h.Checks["database"] != "ok" || h.Checks["bus"] != "ok" {
				t.Fatalf("readyz: %d %s", status, body)
			}
			if status, body := get(t, s.URL+"/"); status != 200 || !strings.Contains(string(body), "<html") {
				t.Fatalf("the shell: %d", status)
			}
			if status, body := get(t, s.URL+"/metrics"); status != 200 || !strings.Contains(string(body), "kaigi_http_requests_total") {
				t.Fatalf("metrics: %d %.200s", status, body)
			}
			var info httpapi.ServiceInfo
			if status, body := get(t, s.URL+"/api/v1/service"); status != 200 || json.Unmarshal(body, &info) != nil || !strings.Contains(info.PublicKeyPEM, "PUBLIC KEY") {
				t.Fatalf("service info: %d %s", status, body)
			}
		})
	}
}

func natsURL(t *testing.T) string {
	t.Helper()
	u := os.Getenv("KAIGI_TEST_NATS_URL")
	if u == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("KAIGI_TEST_NATS_URL is not set: CI must run the NATS tests")
		}
		t.Skip("SKIPPING NATS NODE TEST: set KAIGI_TEST_NATS_URL=nats://127.0.0.1:4222 to run it")
	}
	return u
}

func TestMetricsTokenIsRequiredWhenSet(t *testing.T) {
	s := apptest.Start(t, apptest.Options{Config: func(c *config.Config) { c.MetricsToken = "scrape-secret" }})
	if status, _ := get(t, s.URL+"/metrics"); status != http.StatusUnauthorized {
		t.Fatalf("without token: %d", status)
	}
	if status, _ := get(t, s.URL+"/metrics", "Authorization", "Bearer wrong"); status != http.StatusUnauthorized {
		t.Fatalf("wrong token: %d", status)
	}
	if status, _ := get(t, s.URL+"/metrics", "Authorization", "Bearer scrape-secret"); status != http.StatusOK {
		t.Fatalf("right token: %d", status)
	}
}

// TestEveryRouteIsDescribed fails when a registered route is missing from
// the OpenAPI document, lacks a summary or a path parameter, and when the
// committed docs/openapi.json is out of date.
func TestEveryRouteIsDescribed(t *testing.T) {
	s := apptest.Start(t, apptest.Options{})
	status, body := get(t, s.URL+"/api/openapi.json")
	if status != 200 {
		t.Fatalf("openapi: %d", status)
	}
	var doc struct {
		OpenAPI string `json:"openapi"`
		Paths   map[string]map[string]struct {
			Summary    string `json:"summary"`
			Authz      string `json:"x-kaigi-authorization"`
			Parameters []struct {
				Name string `json:"name"`
			} `json:"parameters"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.OpenAPI != "3.1.0" {
		t.Fatalf("openapi version %q", doc.OpenAPI)
	}
	routes := s.HTTP.Routes()
	if len(routes) < 7 {
		t.Fatalf("only %d routes registered", len(routes))
	}
	for _, rt := range routes {
		op, ok := doc.Paths[rt.Pattern][strings.ToLower(rt.Method)]
		if !ok {
			t.Errorf("%s %s is missing from /api/openapi.json", rt.Method, rt.Pattern)
			continue
		}
		if op.Summary == "" || op.Authz == "" {
			t.Errorf("%s %s lacks a summary or its authorization decision", rt.Method, rt.Pattern)
		}
		for _, p := range httpapi.PathParams(rt.Pattern) {
			if !slices.ContainsFunc(op.Parameters, func(q struct {
				Name string `json:"name"`
			}) bool {
				return q.Name == p
			}) {
				t.Errorf("%s %s: path parameter %s undescribed", rt.Method, rt.Pattern, p)
			}
		}
	}
	var pretty map[string]any
	json.Unmarshal(body, &pretty)
	want, _ := json.MarshalIndent(pretty, "", "  ")
	want = append(want, '\n')
	path := filepath.Join("..", "..", "docs", "openapi.json")
	got, _ := os.ReadFile(path)
	if string(got) != string(want) {
		if *update {
			if err := os.WriteFile(path, want, 0o644); err != nil {
				t.Fatal(err)
			}
			return
		}
		t.Fatalf("%s is out of date; run go test ./internal/app -run TestEveryRouteIsDescribed -update", path)
	}
}

// actors are every kind of principal a request can act as.
var actors = map[string]principal.Principal{
	"anonymous":          {Kind: principal.Anonymous},
	"member":             {Kind: principal.Member, Tenant: "t1", User: "u1", Session: "s", Client: "browser"},
	"member_api_token":   {Kind: principal.Member, Tenant: "t1", User: "u1", Session: "tok", Client: "api_token", Scopes: []string{"read", "write"}},
	"guest":              {Kind: principal.Guest, Tenant: "t1", User: "g1", Session: "s", Client: "browser"},
	"tenant_admin":       {Kind: principal.Member, Tenant: "t1", User: "a1", Roles: []principal.Role{principal.TenantAdmin}, Session: "s", Client: "browser"},
	"compliance_officer": {Kind: principal.Member, Tenant: "t1", User: "c1", Roles: []principal.Role{principal.ComplianceOfficer}, Session: "s", Client: "browser"},
	"lockbox_approver":   {Kind: principal.Member, Tenant: "t1", User: "l1", Roles: []principal.Role{principal.LockboxApprover}, Session: "s", Client: "browser"},
	"operator":           {Kind: principal.Operator, User: "o1", Session: "s", Client: "browser"},
	"operator_grant":     {Kind: principal.Operator, User: "o1", Session: "s", Client: "browser", Grant: &principal.Grant{ID: "g", Tenant: "t1"}},
	"system":             {Kind: principal.System, User: "job", Tenant: "t1"},
	"pending_mfa":        {Kind: principal.Anonymous, User: "u1", Session: "s", Pending: "pending_mfa"},
	"enrol_mfa":          {Kind: principal.Anonymous, User: "u1", Session: "s", Pending: "enrol_mfa"},
}

var (
	tenantUsers    = []string{"member", "member_api_token", "guest", "tenant_admin", "compliance_officer", "lockbox_approver"}
	tenantBrowsers = []string{"member", "guest", "tenant_admin", "compliance_officer", "lockbox_approver"}
	selfService    = []string{"member", "guest", "tenant_admin", "compliance_officer", "lockbox_approver", "operator", "operator_grant", "enrol_mfa"}
	sessions       = []string{"member", "guest", "tenant_admin", "compliance_officer", "lockbox_approver", "operator", "operator_grant", "pending_mfa", "enrol_mfa"}
)

// allowed says, for every route, which actors may use it. A route missing
// here fails the test: each new route must state its decision.
var allowed = map[string][]string{
	"GET /healthz":                                all(),
	"GET /readyz":                                 all(),
	"GET /metrics":                                all(),
	"GET /api/openapi.json":                       all(),
	"GET /api/v1/service":                         all(),
	"GET /api/v1/audit/verification":              {"compliance_officer"},
	"POST /api/v1/setup/verify":                   all(),
	"GET /":                                       all(),
	"GET /api/v1/session":                         all(),
	"POST /api/v1/auth/signin":                    all(),
	"POST /api/v1/auth/second-factor":             {"pending_mfa"},
	"POST /api/v1/auth/signout":                   sessions,
	"POST /api/v1/invitations/accept":             all(),
	"POST /api/v1/password/reset":                 all(),
	"POST /api/v1/me/password":                    tenantBrowsers,
	"GET /api/v1/me/sessions":                     selfService,
	"DELETE /api/v1/me/sessions/{id}":             selfService,
	"GET /api/v1/me/factors":                      selfService,
	"POST /api/v1/me/factors/totp":                selfService,
	"POST /api/v1/me/factors/totp/confirm":        selfService,
	"POST /api/v1/me/recovery-codes":              selfService,
	"POST /api/v1/me/factors/{id}/remove":         selfService,
	"GET /api/v1/me/tokens":                       tenantUsers,
	"POST /api/v1/me/tokens":                      tenantBrowsers,
	"DELETE /api/v1/me/tokens/{id}":               tenantUsers,
	"GET /api/v1/admin/accounts":                  {"tenant_admin"},
	"POST /api/v1/admin/accounts/{id}/deactivate": {"tenant_admin"},
	"PUT /api/v1/admin/accounts/{id}/roles":       {"tenant_admin"},
	"POST /api/v1/admin/accounts/{id}/reset-link": {"tenant_admin"},
	"POST /api/v1/admin/invitations":              {"tenant_admin"},
	"GET /api/v1/admin/policy":                    {"tenant_admin"},
	"PUT /api/v1/admin/policy":                    {"tenant_admin"},
	"POST /api/v1/admin/policy/what-if":           {"tenant_admin"},
	"POST /api/v1/accounts/{id}/renew":            {"member", "member_api_token", "tenant_admin", "compliance_officer", "lockbox_approver"},
	"GET /api/v1/admin/invitations":               {"tenant_admin"},
	"GET /api/v1/admin/signins":                   {"tenant_admin"},
	// Passkeys: enrolment is self-service; sign-in and the first operator's
	// set-up are public (the ceremony, the passkey and the setup token decide).
	"POST /api/v1/me/passkeys/begin":     selfService,
	"POST /api/v1/me/passkeys/finish":    selfService,
	"POST /api/v1/auth/passkey/begin":    all(),
	"POST /api/v1/auth/passkey/finish":   all(),
	"POST /api/v1/setup/operator/begin":  all(),
	"POST /api/v1/setup/operator/finish": all(),
	// The operator realm: operators only, never a tenant's admin.
	"GET /api/v1/operator/tenants":               {"operator", "operator_grant"},
	"POST /api/v1/operator/tenants":              {"operator", "operator_grant"},
	"POST /api/v1/operator/tenants/{id}/domains": {"operator", "operator_grant"},
	// Chat: any member or guest; the chat service decides on team and channel membership.
	"POST /api/v1/channels/{id}/files":               tenantUsers,
	"GET /api/v1/search":                             tenantUsers,
	"GET /api/v1/people":                             tenantUsers,
	"POST /api/v1/external-chats":                    tenantUsers,
	"GET /api/v1/notifications":                      tenantUsers,
	"POST /api/v1/notifications/read":                tenantUsers,
	"GET /api/v1/files/{id}":                         tenantUsers,
	"GET /api/v1/teams":                              tenantUsers,
	"POST /api/v1/teams":                             {"member", "member_api_token", "tenant_admin", "compliance_officer", "lockbox_approver"},
	"GET /api/v1/teams/{id}/members":                 tenantUsers,
	"PUT /api/v1/teams/{id}/members/{account}":       tenantUsers,
	"DELETE /api/v1/teams/{id}/members/{account}":    tenantUsers,
	"POST /api/v1/teams/{id}/channels":               tenantUsers,
	"GET /api/v1/channels":                           tenantUsers,
	"POST /api/v1/channels/{id}/members":             tenantUsers,
	"POST /api/v1/channels/{id}/archive":             tenantUsers,
	"POST /api/v1/channels/{id}/restore":             tenantUsers,
	"POST /api/v1/chats":                             tenantUsers,
	"GET /api/v1/channels/{id}/messages":             tenantUsers,
	"POST /api/v1/channels/{id}/messages":            tenantUsers,
	"GET /api/v1/channels/{id}/events":               tenantUsers,
	"POST /api/v1/channels/{id}/read":                tenantUsers,
	"PATCH /api/v1/messages/{id}":                    tenantUsers,
	"DELETE /api/v1/messages/{id}":                   tenantUsers,
	"PUT /api/v1/messages/{id}/reactions/{emoji}":    tenantUsers,
	"DELETE /api/v1/messages/{id}/reactions/{emoji}": tenantUsers,
	// Realtime: a browser socket opened with the session cookie, which the
	// gateway re-checks while it is open; API tokens poll the events route.
	"GET /api/v1/realtime": tenantBrowsers,
	// Meetings: members and guests schedule (the meeting service applies the
	// guest switch and decides who sees which meeting); a join link's title
	// is public, as the link itself is what gets one in the lobby.
	"POST /api/v1/meetings":                tenantUsers,
	"POST /api/v1/meetings/instant":        tenantUsers,
	"GET /api/v1/meetings":                 tenantUsers,
	"GET /api/v1/meetings/{id}":            tenantUsers,
	"PUT /api/v1/meetings/{id}/options":    tenantUsers,
	"GET /api/v1/meetings/{id}/invite.ics": tenantUsers,
	"GET /api/v1/meetings/{id}/recordings": tenantUsers,
	"GET /api/v1/recordings/{id}":          tenantUsers,
	"GET /api/v1/meeting-links/{code}":     all(),
	// The meeting-only socket is public: the link's code and the lobby decide.
	"GET /api/v1/meetings/live": all(),
	// The lockbox: operators file, use and end their requests; the
	// tenant's approvers decide; approvers, admins and compliance officers
	// watch. Reads under a grant are the operator's (the lockbox service
	// then checks the grant).
	"POST /api/v1/operator/lockbox":                                 {"operator", "operator_grant"},
	"GET /api/v1/operator/lockbox":                                  {"operator", "operator_grant"},
	"POST /api/v1/operator/lockbox/{id}/activate":                   {"operator", "operator_grant"},
	"POST /api/v1/operator/lockbox/{id}/end":                        {"operator", "operator_grant"},
	"GET /api/v1/operator/lockbox/{id}/channels/{channel}/messages": {"operator", "operator_grant"},
	"GET /api/v1/operator/lockbox/{id}/users/{user}/messages":       {"operator", "operator_grant"},
	"GET /api/v1/operator/lockbox/{id}/recordings/{recording}":      {"operator", "operator_grant"},
	"GET /api/v1/operator/lockbox/{id}/tenant-config":               {"operator", "operator_grant"},
	"GET /api/v1/lockbox/requests":                                  {"tenant_admin", "compliance_officer", "lockbox_approver"},
	"POST /api/v1/lockbox/requests/{id}/approve":                    {"lockbox_approver"},
	"POST /api/v1/lockbox/requests/{id}/deny":                       {"lockbox_approver"},
	"POST /api/v1/lockbox/requests/{id}/revoke":                     {"lockbox_approver"},
	// The law-enforcement request ledger is the operators'; the
	// transparency report computed from it is public.
	"POST /api/v1/operator/legal-requests":            {"operator", "operator_grant"},
	"GET /api/v1/operator/legal-requests":             {"operator", "operator_grant"},
	"GET /api/v1/operator/legal-requests/{id}":        {"operator", "operator_grant"},
	"POST /api/v1/operator/legal-requests/{id}/steps": {"operator", "operator_grant"},
	"GET /api/v1/operator/legal-ledger/verification":  {"operator", "operator_grant"},
	"PUT /api/v1/operator/tenants/{id}/contract":      {"operator", "operator_grant"},
	"GET /api/v1/operator/tenants/{id}/health":        {"operator", "operator_grant"},
	"GET /api/v1/operator/contracts":                  {"operator", "operator_grant"},
	"GET /api/v1/admin/contract":                      {"tenant_admin"},
	// A disclosure's package: operators only (a lockbox grant adds nothing;
	// the ledger's request and its reviewed disclose step decide). It is
	// content outside the lockbox: see contentOutsideTheLockbox.
	"GET /api/v1/operator/legal-requests/{id}/disclosure": {"operator", "operator_grant"},
	// Deletion: a tenant's admins ask, confirm and cancel; operators list
	// every deletion; the certificates are public.
	"POST /api/v1/admin/deletion":                    {"tenant_admin"},
	"POST /api/v1/admin/deletion/confirm":            {"tenant_admin"},
	"DELETE /api/v1/admin/deletion":                  {"tenant_admin"},
	"GET /api/v1/operator/deletions":                 {"operator", "operator_grant"},
	"GET /api/v1/trust/deletions/{tenant}":           all(),
	"GET /api/v1/trust/deletions/{tenant}/signature": all(),
	"GET /api/v1/trust/transparency-report":          all(),
	// Subprocessors: operators change the registry; tenant admins read the
	// notices, object and set their webhook; the list, its feeds and the
	// Trust Center's data are public.
	"GET /api/v1/operator/subprocessors":                     {"operator", "operator_grant"},
	"POST /api/v1/operator/subprocessors":                    {"operator", "operator_grant"},
	"PUT /api/v1/operator/subprocessors/{id}":                {"operator", "operator_grant"},
	"POST /api/v1/operator/subprocessors/{id}/removal":       {"operator", "operator_grant"},
	"GET /api/v1/admin/subprocessor-notices":                 {"tenant_admin"},
	"POST /api/v1/admin/subprocessor-notices/{id}/objection": {"tenant_admin"},
	"GET /api/v1/admin/subprocessor-webhook":                 {"tenant_admin"},
	"PUT /api/v1/admin/subprocessor-webhook":                 {"tenant_admin"},
	"DELETE /api/v1/admin/subprocessor-webhook":              {"tenant_admin"},
	"GET /api/v1/trust/subprocessors":                        all(),
	"GET /api/v1/trust/subprocessors/feed.json":              all(),
	"GET /api/v1/trust/subprocessors/feed.json.sig":          all(),
	"GET /api/v1/trust/subprocessors/feed.atom":              all(),
	"GET /api/v1/trust/controls":                             all(),
	"GET /api/v1/trust/status":                               all(),
	"GET /.well-known/security.txt":                          all(),
	// The access-transparency log: those who watch the operator for the tenant.
	"GET /api/v1/transparency/head":               {"tenant_admin", "compliance_officer", "lockbox_approver"},
	"GET /api/v1/transparency/checkpoints/{size}": {"tenant_admin", "compliance_officer", "lockbox_approver"},
	"GET /api/v1/transparency/entries":            {"tenant_admin", "compliance_officer", "lockbox_approver"},
	"GET /api/v1/transparency/proofs/inclusion":   {"tenant_admin", "compliance_officer", "lockbox_approver"},
	"GET /api/v1/transparency/proofs/consistency": {"tenant_admin", "compliance_officer", "lockbox_approver"},
	"GET /api/v1/transparency/bundle":             {"tenant_admin", "compliance_officer", "lockbox_approver"},
	"GET /api/v1/transparency/live":               {"tenant_admin", "compliance_officer", "lockbox_approver"},
	"GET /api/v1/transparency/webhooks":           {"tenant_admin", "compliance_officer", "lockbox_approver"},
	"POST /api/v1/transparency/webhooks":          {"tenant_admin", "compliance_officer", "lockbox_approver"},
	"DELETE /api/v1/transparency/webhooks/{id}":   {"tenant_admin", "compliance_officer", "lockbox_approver"},
	// Moderation: the policy is the admins' and compliance officers'; the
	// review queue only compliance officers'; anyone in a tenant may report
	// a message they can see and read the notices sent to them.
	"GET /api/v1/moderation/policy":               {"tenant_admin", "compliance_officer"},
	"PUT /api/v1/moderation/policy":               {"tenant_admin", "compliance_officer"},
	"GET /api/v1/moderation/alerts":               {"compliance_officer"},
	"GET /api/v1/moderation/alerts/{id}":          {"compliance_officer"},
	"POST /api/v1/moderation/alerts/{id}/unmask":  {"compliance_officer"},
	"POST /api/v1/moderation/alerts/{id}/actions": {"compliance_officer"},
	"POST /api/v1/messages/{id}/report":           tenantUsers,
	"GET /api/v1/me/moderation-notices":           tenantUsers,
	// eDiscovery: compliance officers (the service then admits only a
	// case's members); exports' status and packages: any tenant user, the
	// service deciding by the export's kind (case members, the person
	// themself, tenant admins); own data for everyone; admins' exports.
	"GET /api/v1/ediscovery/cases":                           {"compliance_officer"},
	"POST /api/v1/ediscovery/cases":                          {"compliance_officer"},
	"GET /api/v1/ediscovery/cases/{id}":                      {"compliance_officer"},
	"POST /api/v1/ediscovery/cases/{id}/state":               {"compliance_officer"},
	"PUT /api/v1/ediscovery/cases/{id}/members/{account}":    {"compliance_officer"},
	"DELETE /api/v1/ediscovery/cases/{id}/members/{account}": {"compliance_officer"},
	"POST /api/v1/ediscovery/cases/{id}/searches":            {"compliance_officer"},
	"GET /api/v1/ediscovery/cases/{id}/searches":             {"compliance_officer"},
	"GET /api/v1/ediscovery/searches/{id}":                   {"compliance_officer"},
	"GET /api/v1/ediscovery/searches/{id}/results":           {"compliance_officer"},
	"GET /api/v1/ediscovery/cases/{id}/review":               {"compliance_officer"},
	"POST /api/v1/ediscovery/cases/{id}/review":              {"compliance_officer"},
	"DELETE /api/v1/ediscovery/cases/{id}/review/{item}":     {"compliance_officer"},
	"POST /api/v1/ediscovery/cases/{id}/exports":             {"compliance_officer"},
	"GET /api/v1/ediscovery/cases/{id}/exports":              {"compliance_officer"},
	"GET /api/v1/exports/{id}":                               tenantUsers,
	"GET /api/v1/exports/{id}/package":                       tenantUsers,
	"POST /api/v1/me/exports":                                tenantUsers,
	"GET /api/v1/me/exports":                                 tenantUsers,
	"POST /api/v1/admin/accounts/{id}/exports":               {"tenant_admin"},
	"POST /api/v1/admin/exports":                             {"tenant_admin"},
	"GET /api/v1/admin/exports":                              {"tenant_admin"},
	// Retention: policies, runs, jobs and "why is this kept?" are the
	// admins' and compliance officers'; legal holds only compliance
	// officers'; erasing a person only a tenant admin's.
	"GET /api/v1/compliance/retention/policies":         {"tenant_admin", "compliance_officer"},
	"POST /api/v1/compliance/retention/policies":        {"tenant_admin", "compliance_officer"},
	"DELETE /api/v1/compliance/retention/policies/{id}": {"tenant_admin", "compliance_officer"},
	"GET /api/v1/compliance/retention/items/{id}":       {"tenant_admin", "compliance_officer"},
	"POST /api/v1/compliance/retention/runs":            {"tenant_admin", "compliance_officer"},
	"GET /api/v1/compliance/retention/jobs":             {"tenant_admin", "compliance_officer"},
	"GET /api/v1/compliance/retention/jobs/{id}":        {"tenant_admin", "compliance_officer"},
	"GET /api/v1/compliance/holds":                      {"compliance_officer"},
	"POST /api/v1/compliance/holds":                     {"compliance_officer"},
	"GET /api/v1/compliance/holds/{id}":                 {"compliance_officer"},
	"POST /api/v1/compliance/holds/{id}/release":        {"compliance_officer"},
	"POST /api/v1/admin/accounts/{id}/erase":            {"tenant_admin"},
	// The audit log: tenant admins and compliance officers search, export
	// and stream it; only tenant admins set its retention.
	"GET /api/v1/audit/records":       {"tenant_admin", "compliance_officer"},
	"GET /api/v1/audit/export":        {"tenant_admin", "compliance_officer"},
	"GET /api/v1/audit/settings":      {"tenant_admin", "compliance_officer"},
	"PUT /api/v1/audit/settings":      {"tenant_admin"},
	"GET /api/v1/audit/sinks":         {"tenant_admin", "compliance_officer"},
	"POST /api/v1/audit/sinks":        {"tenant_admin", "compliance_officer"},
	"DELETE /api/v1/audit/sinks/{id}": {"tenant_admin", "compliance_officer"},
}

func all() []string {
	out := make([]string, 0, len(actors))
	for k := range actors {
		out = append(out, k)
	}
	return out
}

// headerAuth authenticates test requests by the X-Test-Actor header. It
// exists only in tests.
type headerAuth struct{}

func (headerAuth) Authenticate(r *http.Request) (principal.Principal, error) {
	return actors[r.Header.Get("X-Test-Actor")], nil
}

// TestEveryRouteDecidesForEveryActor sends each route a request as each kind
// of actor and checks that exactly the expected ones get past authorization.
func TestEveryRouteDecidesForEveryActor(t *testing.T) {
	s := apptest.Start(t, apptest.Options{Auth: headerAuth{}})
	for _, rt := range s.HTTP.Routes() {
		key := rt.Method + " " + rt.Pattern
		want, ok := allowed[key]
		if !ok {
			t.Errorf("route %s has no entry in the authorization matrix of this test", key)
			continue
		}
		path := rt.Pattern
		for _, p := range httpapi.PathParams(rt.Pattern) {
			path = strings.ReplaceAll(path, "{"+p+"}", ids.New())
		}
		for name := range actors {
			t.Run(key+"/"+name, func(t *testing.T) {
				req, _ := http.NewRequestWithContext(t.Context(), rt.Method, s.URL+path, strings.NewReader("{}"))
				req.Header.Set("X-Test-Actor", name)
				req.Header.Set("Content-Type", "application/json")
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				var eb httpapi.ErrorBody
				json.NewDecoder(resp.Body).Decode(&eb)
				resp.Body.Close()
				// A route's policy refuses with one of principal's two
				// answers; a refusal further in (no access to this channel)
				// means the policy let the request through.
				refused := (resp.StatusCode == 401 && eb.Error.Message == "Please sign in.") ||
					(resp.StatusCode == 403 && eb.Error.Message == "You do not have permission to do this.")
				if slices.Contains(want, name) == refused {
					t.Fatalf("%s as %s: status %d (%s); allowed=%v", key, name, resp.StatusCode, eb.Error.Message, slices.Contains(want, name))
				}
			})
		}
	}
}
