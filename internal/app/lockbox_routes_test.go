package app_test

import (
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kaigi/kaigi/internal/app/apptest"
	"github.com/kaigi/kaigi/internal/audit"
	"github.com/kaigi/kaigi/internal/httpapi"
	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/principal"
)

// operatorVariants are operators as the lockbox must refuse them outside
// their grant: without one, with one for another tenant, with an expired
// one, and with one for another resource.
var operatorVariants = map[string]principal.Principal{
	"no-grant": {Kind: principal.Operator, User: "o1", Session: "s", Client: "browser"},
	"other-tenant": {Kind: principal.Operator, User: "o1", Session: "s", Client: "browser",
		Grant: &principal.Grant{ID: "g1", Tenant: "t2", Resources: []string{"channel:c1"}, Expires: time.Now().Add(time.Hour)}},
	"expired": {Kind: principal.Operator, User: "o1", Session: "s", Client: "browser",
		Grant: &principal.Grant{ID: "g2", Tenant: "t1", Resources: []string{"channel:c1"}, Expires: time.Now().Add(-time.Hour)}},
	"other-resource": {Kind: principal.Operator, User: "o1", Session: "s", Client: "browser",
		Grant: &principal.Grant{ID: "g3", Tenant: "t1", Resources: []string{"channel:elsewhere"}, Expires: time.Now().Add(time.Hour)}},
}

// contentOutsideTheLockbox are the operator routes that hand an operator a
// tenant's content other than through a lockbox grant, each a deliberate
// exception with its reason. There is one: the package of a legal
// disclosure, which a compulsory instrument demanded, legal review
// approved (content only under a warrant, court order, emergency or
// national-security instrument), and the ledger built for exactly the
// approved categories of exactly the accounts of one tenant that the
// request names. It is reached only through the ledger's request, never by
// a tenant id, channel or account of the operator's choosing, and each
// download is audited in the operator's own log. Nothing else may join
// this list without the same review.
var contentOutsideTheLockbox = map[string]string{
	"GET /api/v1/operator/legal-requests/{id}/disclosure": "a law-enforcement disclosure that passed legal review (internal/provider/ledger.go)",
}

// mayCarryContent names routes whose paths say they return content, or
// that stream raw bodies.
var mayCarryContent = regexp.MustCompile(`messages|recordings|files|package|export|disclosure|content|config`)

// TestOperatorContentOutsideTheLockboxIsOnlyTheNamedException: of the
// operator console's own routes (which the walk below skips), every one
// that streams a raw body or names content in its path is a lockbox route
// or one of contentOutsideTheLockbox; each exception is a route that
// exists, open to operators only; and, walked like the routes below with
// every kind of operator, an exception serves nothing without a ledger
// request whose disclosure was built (404), grant or no grant.
func TestOperatorContentOutsideTheLockboxIsOnlyTheNamedException(t *testing.T) {
	s := apptest.Start(t, apptest.Options{Auth: operatorAuth{}})
	routes := map[string]bool{}
	for _, rt := range s.HTTP.Routes() {
		key := rt.Method + " " + rt.Pattern
		routes[key] = true
		who := allowed[key]
		operatorsOnly := slices.Contains(who, "operator") && !slices.ContainsFunc(who, func(a string) bool { return slices.Contains(tenantUsers, a) || a == "anonymous" })
		if !operatorsOnly || strings.HasPrefix(rt.Pattern, "/api/v1/operator/lockbox/") {
			continue
		}
		if (rt.Raw || mayCarryContent.MatchString(rt.Pattern)) && contentOutsideTheLockbox[key] == "" {
			t.Errorf("%s is an operator's route that may return content outside the lockbox: make it a lockbox read, or a reviewed exception in contentOutsideTheLockbox", key)
		}
	}
	for key := range contentOutsideTheLockbox {
		if !routes[key] {
			t.Errorf("the exception %s is not a route", key)
		}
		if who := allowed[key]; len(who) != 2 || !slices.Contains(who, "operator") || !slices.Contains(who, "operator_grant") {
			t.Errorf("the exception %s is open to %v, want operators only", key, who)
		}
		method, pattern, _ := strings.Cut(key, " ")
		path := pattern
		for _, p := range httpapi.PathParams(pattern) {
			path = strings.ReplaceAll(path, "{"+p+"}", ids.New())
		}
		for name := range operatorVariants {
			req, _ := http.NewRequestWithContext(t.Context(), method, s.URL+path, nil)
			req.Header.Set("X-Test-Operator", name)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusNotFound {
				t.Errorf("%s as an operator (%s) without a disclosed request: %d, want 404", key, name, resp.StatusCode)
			}
		}
	}
}

type operatorAuth struct{}

func (operatorAuth) Authenticate(r *http.Request) (principal.Principal, error) {
	return operatorVariants[r.Header.Get("X-Test-Operator")], nil
}

// TestOperatorsReachNoContentOutsideTheLockbox walks every route that is
// not an operator's own (the operator console and the lockbox, self-service
// of the operator's own account; of those, only the lockbox and the one
// reviewed exception in contentOutsideTheLockbox return content, see
// TestOperatorContentOutsideTheLockboxIsOnlyTheNamedException) or public,
// as an operator without a grant,
// with a grant for another tenant, with an expired grant and with a grant
// for another resource: every request is refused, and every refusal is in
// the service's audit log and, for a named grant, in its tenant's.
func TestOperatorsReachNoContentOutsideTheLockbox(t *testing.T) {
	s := apptest.Start(t, apptest.Options{Auth: operatorAuth{}})
	sent := 0
	perTenant := map[ids.TenantID]int{}
	for _, rt := range s.HTTP.Routes() {
		key := rt.Method + " " + rt.Pattern
		if slices.Contains(allowed[key], "operator") {
			continue // the operator's own routes, and public ones
		}
		path := rt.Pattern
		for _, p := range httpapi.PathParams(rt.Pattern) {
			path = strings.ReplaceAll(path, "{"+p+"}", ids.New())
		}
		for name, p := range operatorVariants {
			req, _ := http.NewRequestWithContext(t.Context(), rt.Method, s.URL+path, strings.NewReader("{}"))
			req.Header.Set("X-Test-Operator", name)
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusForbidden && resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("%s as an operator (%s): %d, want a refusal", key, name, resp.StatusCode)
			}
			sent++
			if p.Grant != nil {
				perTenant[p.Grant.Tenant]++
			}
		}
	}
	if sent < 100 {
		t.Fatalf("only %d requests: the walk missed the routes", sent)
	}
	count := func(tenant ids.TenantID) int {
		recs, err := s.DB.AuditRecords(t.Context(), tenant, 0, 100000)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, r := range recs {
			if r.Action == "operator.refused" && r.Result == audit.Denied && r.ActorKind != "" {
				n++
			}
		}
		return n
	}
	if got := count(ids.ServiceTenant); got != sent {
		t.Fatalf("%d refusals in the service's audit log, want %d", got, sent)
	}
	for tenant, want := range perTenant {
		if got := count(tenant); got != want {
			t.Fatalf("%d refusals in %s's audit log, want %d", got, tenant, want)
		}
	}
}
