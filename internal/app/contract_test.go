package app_test

import (
	"strings"
	"testing"
	"time"

	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/principal"
	"github.com/kaigi/kaigi/internal/provider"
)

// TestContractLifecycleAccessRules moves the clock through a tenant's
// contract: active, everyone works; ended, only admins get in, read-only,
// with the export still available; moving the end later reactivates it;
// after the 90-day export window nobody gets in, and the operator can
// still reactivate it until its deletion starts. The operator sees the
// countdowns; a past end date is refused.
func TestContractLifecycleAccessRules(t *testing.T) {
	w, _ := passkeyAdmin(t)
	member := inviteAndSignIn(t, w, "max@acme.example")
	op := setUpOperator(t, w.s)
	tenant := string(w.tenant.ID)
	now := w.s.Clock.Now()

	for _, other := range []string{"not-a-tenant", "01a21eb2-0000-7000-8000-000000000000"} {
		if r := op.do("PUT", "/api/v1/operator/tenants/"+other+"/contract", map[string]any{"end": now.Add(time.Hour)}); r.status != 404 {
			t.Fatalf("a contract for no tenant (%s): %d %s", other, r.status, r.body)
		}
	}
	if r := op.do("PUT", "/api/v1/operator/tenants/"+tenant+"/contract", map[string]any{"end": now.Add(-48 * time.Hour)}); r.status != 400 {
		t.Fatalf("an end in the past: %d %s", r.status, r.body)
	}
	var c provider.Contract
	if r := op.do("PUT", "/api/v1/operator/tenants/"+tenant+"/contract", map[string]any{"end": now.Add(time.Hour)}); r.status != 200 {
		t.Fatalf("set the end: %d %s", r.status, r.body)
	} else {
		r.json(t, &c)
	}
	if c.State != provider.ContractActive || !c.DeleteBy.Equal(now.Add(time.Hour+provider.DeleteBy)) {
		t.Fatalf("contract: %+v", c)
	}
	if r := member.do("GET", "/api/v1/channels", nil); r.status != 200 {
		t.Fatalf("a member while active: %d", r.status)
	}
	// The operator sees the tenant's health: counts, never content.
	var h provider.Health
	if r := op.do("GET", "/api/v1/operator/tenants/"+tenant+"/health", nil); r.status != 200 {
		t.Fatalf("health: %d %s", r.status, r.body)
	} else {
		r.json(t, &h)
	}
	if h.Accounts != 2 || h.Messages != 0 || h.Contract.State != provider.ContractActive || h.Contract.End.IsZero() {
		t.Fatalf("health: %+v", h)
	}
	if r := op.do("GET", "/api/v1/operator/tenants/01a21eb2-0000-7000-8000-000000000000/health", nil); r.status != 404 {
		t.Fatalf("health of no tenant: %d %s", r.status, r.body)
	}

	// Ended: admins only, read-only, exports allowed.
	w.s.Clock.Advance(2 * time.Hour)
	if r := member.do("GET", "/api/v1/channels", nil); r.status != 403 || !strings.Contains(string(r.body), "contract has ended") {
		t.Fatalf("a member after the end: %d %s", r.status, r.body)
	}
	w.admin.do("GET", "/api/v1/admin/contract", nil).json(t, &c)
	if c.State != provider.ContractEnded || c.DisableAt.IsZero() {
		t.Fatalf("the admin's view: %+v", c)
	}
	if r := w.admin.do("POST", "/api/v1/teams", map[string]string{"name": "New"}); r.status != 403 {
		t.Fatalf("a change after the end: %d %s", r.status, r.body)
	}
	if r := w.admin.do("POST", "/api/v1/admin/exports", nil); r.status >= 300 {
		t.Fatalf("the tenant export after the end: %d %s", r.status, r.body)
	}
	var list []provider.Contract
	op.do("GET", "/api/v1/operator/contracts", nil).json(t, &list)
	if len(list) != 1 || list[0].State != provider.ContractEnded {
		t.Fatalf("the operator's view: %+v", list)
	}

	// Reactivation: the end moves later.
	if r := op.do("PUT", "/api/v1/operator/tenants/"+tenant+"/contract", map[string]any{"end": w.s.Clock.Now().Add(24 * time.Hour)}); r.status != 200 {
		t.Fatalf("reactivate: %d %s", r.status, r.body)
	}
	if r := member.do("GET", "/api/v1/channels", nil); r.status != 200 {
		t.Fatalf("a member after reactivation: %d %s", r.status, r.body)
	}

	// Disabled: after the export window nobody gets in, and the contract is final.
	w.s.Clock.Advance(24*time.Hour + provider.ExportWindow + time.Minute)
	if r := w.admin.do("GET", "/api/v1/admin/contract", nil); r.status != 403 && r.status != 401 {
		t.Fatalf("the admin after the export window: %d %s", r.status, r.body)
	}
	// Until its deletion starts, a disabled tenant can still be reactivated.
	opP := principal.Principal{Kind: principal.Operator, User: "o1"}
	if c, err := w.s.Contracts.SetEnd(t.Context(), opP, w.tenant.ID, w.s.Clock.Now().Add(time.Hour)); err != nil || c.State != provider.ContractActive {
		t.Fatalf("reactivate a disabled tenant: %+v %v", c, err)
	}
	if !hasAudit(auditActions(t, w.s, w.tenant.ID), "contract.set_end", "") {
		t.Fatal("the contract changes are not in the tenant's audit log")
	}
	if !hasAudit(auditActions(t, w.s, ids.ServiceTenant), "contract.set_end", "") {
		t.Fatal("the contract changes are not in the operator's own audit log")
	}
}
