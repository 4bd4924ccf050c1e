package app_test

import (
	"testing"
	"time"

	"github.com/kaigi/kaigi/internal/clock"
	"github.com/kaigi/kaigi/internal/identity"
	"github.com/kaigi/kaigi/internal/lockbox"
	"github.com/kaigi/kaigi/internal/principal"
)

// TestLockboxPendingRequestSurvivesARestart: a request filed before a
// restart is still pending afterwards with the same expiry, and expires at
// its time on the restarted node.
func TestLockboxPendingRequestSurvivesARestart(t *testing.T) {
	dir := t.TempDir()
	n := startManualNode(t, dir, "")
	tenant, _, err := n.a.Identity.CreateTenant(t.Context(), principal.Job("test", ""), identity.NewTenant{Name: "Acme Corp", Domain: "acme.example", AdminEmail: "admin@acme.example"})
	if err != nil {
		t.Fatal(err)
	}
	op := principal.Principal{Kind: principal.Operator, User: "op-1"}
	req, err := n.a.Lockbox.File(t.Context(), op, lockbox.Request{Tenant: tenant.ID, Resources: []string{lockbox.ResTenantConfig},
		Justification: "service_outage", Reason: "The tenant's sign-in policy blocks every sign-in.", Ticket: "SUP-7"})
	if err != nil {
		t.Fatal(err)
	}
	n.stop(t)

	n2 := startManualNode(t, dir, "")
	defer n2.stop(t)
	watcher := principal.Principal{Kind: principal.Member, Tenant: tenant.ID, User: "ann", Roles: []principal.Role{principal.LockboxApprover}}
	got, err := n2.a.Lockbox.Request(t.Context(), watcher, req.ID)
	if err != nil || got.State != lockbox.Pending || !got.ExpiresAt.Equal(req.ExpiresAt) {
		t.Fatalf("after the restart: %+v %v (filed %+v)", got, err, req)
	}
	n2.a.Clock.(*clock.Fake).Set(req.ExpiresAt.Add(time.Second))
	if n, err := n2.a.Lockbox.Sweep(t.Context()); err != nil || n != 1 {
		t.Fatalf("sweep: %d %v", n, err)
	}
	if got, _ := n2.a.Lockbox.Request(t.Context(), watcher, req.ID); got.State != lockbox.Expired {
		t.Fatalf("at its expiry: %s", got.State)
	}
}
