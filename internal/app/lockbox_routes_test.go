package app_test

import (
	"net/http"
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

type operatorAuth struct{}

func (operatorAuth) Authenticate(r *http.Request) (principal.Principal, error) {
	return operatorVariants[r.Header.Get("X-Test-Operator")], nil
}

// TestOperatorsReachNoContentOutsideTheLockbox walks every route that is
// not an operator's own (the operator console and the lockbox, self-service
// of the operator's own account) or public, as an operator without a grant,
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
