package store_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/kaigi/kaigi/internal/audit"
	"github.com/kaigi/kaigi/internal/clock"
	"github.com/kaigi/kaigi/internal/errs"
	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/lockbox"
	"github.com/kaigi/kaigi/internal/principal"
	"github.com/kaigi/kaigi/internal/store"
	"github.com/kaigi/kaigi/internal/store/storetest"
	"github.com/kaigi/kaigi/internal/transparency"
)

// ownedBy is a Resources of fixed owners.
type ownedBy map[string]ids.TenantID

func (o ownedBy) ResourceTenant(_ context.Context, kind, id string) (ids.TenantID, error) {
	if t, ok := o[kind+":"+id]; ok {
		return t, nil
	}
	return "", errs.E(errs.NotFound, "no such resource")
}

// onceConfirmer accepts each assertion "ok-…" once: a replay fails, as a
// used passkey ceremony does.
type onceConfirmer struct {
	mu   sync.Mutex
	used map[string]bool
}

func (c *onceConfirmer) ConfirmPasskey(_ context.Context, _ principal.Principal, a json.RawMessage) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var s string
	_ = json.Unmarshal(a, &s)
	if len(s) < 3 || s[:3] != "ok-" || c.used[s] {
		return errs.E(errs.Forbidden, "The passkey confirmation failed.")
	}
	c.used[s] = true
	return nil
}

func assertion(s string) json.RawMessage { b, _ := json.Marshal(s); return b }

// TestLockboxRequestToReadAndEveryRefusal walks a request from filing to
// approval (with a passkey confirmation that cannot be replayed), reads
// under the grant, and every way a read or a decision is refused: no
// grant, another tenant's grant, another resource, an expired or revoked
// grant, an unanswered request past its time, a non-approver. Each access
// and each change lands in the tenant's transparency log, which verifies.
func TestLockboxRequestToReadAndEveryRefusal(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		clk := clock.NewFake(time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC))
		key := tlogSigner(t)
		tl := transparency.New(store.Transparency(db), key, clk, "kaigi.test")
		acme, other := ids.NewTenant(), ids.NewTenant()
		chanA, chanB, chanOther := ids.New(), ids.New(), ids.New()
		lb := lockbox.New(lockbox.Options{Store: store.Lockbox(db), Audit: audit.New(clk), Transparency: tl, Clock: clk,
			Resources: ownedBy{"channel:" + chanA: acme, "channel:" + chanB: acme, "channel:" + chanOther: other},
			Confirm:   &onceConfirmer{used: map[string]bool{}}})
		op := principal.Principal{Kind: principal.Operator, User: "op-1"}
		approver := principal.Principal{Kind: principal.Member, Tenant: acme, User: "ann", Roles: []principal.Role{principal.LockboxApprover}}
		admin := principal.Principal{Kind: principal.Member, Tenant: acme, User: "adm", Roles: []principal.Role{principal.TenantAdmin}}
		strangerApprover := principal.Principal{Kind: principal.Member, Tenant: other, User: "sam", Roles: []principal.Role{principal.LockboxApprover}}
		good := lockbox.Request{Tenant: acme, Resources: []string{"channel:" + chanA}, Justification: "customer_initiated_support",
			Reason: "The customer reports a message that does not display.", Ticket: "SUP-1234", Duration: lockbox.Duration(2 * time.Hour)}

		// Bad requests.
		for name, mutate := range map[string]func(r *lockbox.Request){
			"resource of another tenant": func(r *lockbox.Request) { r.Resources = []string{"channel:" + chanOther} },
			"unknown resource":           func(r *lockbox.Request) { r.Resources = []string{"channel:" + ids.New()} },
			"malformed resource":         func(r *lockbox.Request) { r.Resources = []string{"channel/../x"} },
			"too long":                   func(r *lockbox.Request) { r.Duration = lockbox.Duration(9 * time.Hour) },
			"bad justification":          func(r *lockbox.Request) { r.Justification = "curiosity" },
			"no ticket":                  func(r *lockbox.Request) { r.Ticket = "" },
		} {
			r := good
			r.Resources = append([]string(nil), good.Resources...)
			mutate(&r)
			if _, err := lb.File(ctx, op, r); !errs.Is(err, errs.Invalid) {
				t.Errorf("%s: %v, want a refusal", name, err)
			}
		}
		if _, err := lb.File(ctx, admin, good); !errs.Is(err, errs.Forbidden) {
			t.Fatalf("a tenant admin filed a lockbox request: %v", err)
		}

		req, err := lb.File(ctx, op, good)
		if err != nil || req.State != lockbox.Pending || !req.ExpiresAt.Equal(clk.Now().Add(12*time.Hour)) {
			t.Fatalf("file: %+v %v", req, err)
		}
		read := func(p principal.Principal, tenant ids.TenantID, res string) error {
			return lb.Read(ctx, p, tenant, res, func() (map[string]string, error) { return map[string]string{"messages": "3"}, nil })
		}
		if err := read(op, acme, "channel:"+chanA); !errs.Is(err, errs.Forbidden) {
			t.Fatalf("a read without a grant: %v", err)
		}

		// Decisions by the wrong people, and a failed confirmation.
		if _, err := lb.Approve(ctx, admin, req.ID, assertion("ok-1")); !errs.Is(err, errs.Forbidden) {
			t.Fatalf("a tenant admin who is not an approver approved: %v", err)
		}
		if _, err := lb.Approve(ctx, strangerApprover, req.ID, assertion("ok-2")); !errs.Is(err, errs.NotFound) {
			t.Fatalf("another tenant's approver approved: %v", err)
		}
		if _, err := lb.Approve(ctx, approver, req.ID, assertion("bad")); !errs.Is(err, errs.Forbidden) {
			t.Fatalf("an approval without a good passkey assertion: %v", err)
		}
		got, err := lb.Approve(ctx, approver, req.ID, assertion("ok-3"))
		if err != nil || got.State != lockbox.Approved || !got.GrantEnds.Equal(clk.Now().Add(2*time.Hour)) {
			t.Fatalf("approve: %+v %v", got, err)
		}
		if _, err := lb.Approve(ctx, approver, req.ID, assertion("ok-3")); err == nil {
			t.Fatal("a replayed assertion approved again")
		}

		grant, err := lb.Activate(ctx, op, req.ID)
		if err != nil || grant.Tenant != acme {
			t.Fatalf("activate: %+v %v", grant, err)
		}
		withGrant := op
		withGrant.Grant = &grant
		if err := read(withGrant, acme, "channel:"+chanA); err != nil {
			t.Fatalf("a read under the grant: %v", err)
		}
		if err := read(withGrant, acme, "channel:"+chanB); !errs.Is(err, errs.Forbidden) {
			t.Fatalf("a read of a resource outside the grant: %v", err)
		}
		if err := read(withGrant, other, "channel:"+chanOther); !errs.Is(err, errs.Forbidden) {
			t.Fatalf("a read of another tenant with this grant: %v", err)
		}
		impostor := withGrant
		impostor.User = "op-2"
		if err := read(impostor, acme, "channel:"+chanA); !errs.Is(err, errs.Forbidden) {
			t.Fatalf("another operator used the grant: %v", err)
		}
		readFailed := lb.Read(ctx, withGrant, acme, "channel:"+chanA, func() (map[string]string, error) {
			return nil, errs.E(errs.NotFound, "gone")
		})
		if !errs.Is(readFailed, errs.NotFound) {
			t.Fatalf("a failed read: %v", readFailed)
		}

		// The grant ends at its second.
		clk.Advance(2*time.Hour - time.Second)
		if err := read(withGrant, acme, "channel:"+chanA); err != nil {
			t.Fatalf("a read a second before the end: %v", err)
		}
		clk.Advance(time.Second)
		if err := read(withGrant, acme, "channel:"+chanA); !errs.Is(err, errs.Forbidden) {
			t.Fatalf("a read at the grant's end: %v", err)
		}

		// An unanswered request expires; approving it then is refused.
		late, _ := lb.File(ctx, op, good)
		clk.Advance(12 * time.Hour)
		if _, err := lb.Approve(ctx, approver, late.ID, assertion("ok-4")); !errs.Is(err, errs.Conflict) {
			t.Fatalf("approval of an expired request: %v", err)
		}

		// Revocation applies at once.
		third, _ := lb.File(ctx, op, good)
		lb.Approve(ctx, approver, third.ID, assertion("ok-5"))
		g3, _ := lb.Activate(ctx, op, third.ID)
		op3 := op
		op3.Grant = &g3
		if err := read(op3, acme, "channel:"+chanA); err != nil {
			t.Fatal(err)
		}
		// A clock set back before the approval revives nothing.
		clk.Advance(-3 * time.Hour)
		if err := read(op3, acme, "channel:"+chanA); !errs.Is(err, errs.Forbidden) {
			t.Fatalf("a read with the clock set back before the approval: %v", err)
		}
		clk.Advance(3 * time.Hour)
		if _, err := lb.Revoke(ctx, admin, third.ID); !errs.Is(err, errs.Forbidden) {
			t.Fatalf("a tenant admin who is not an approver revoked: %v", err)
		}
		if r, err := lb.Revoke(ctx, approver, third.ID); err != nil || r.State != lockbox.Revoked {
			t.Fatalf("revoke: %+v %v", r, err)
		}
		if err := read(op3, acme, "channel:"+chanA); !errs.Is(err, errs.Forbidden) {
			t.Fatalf("a read after revocation: %v", err)
		}

		// The sweep settles what is due.
		fourth, _ := lb.File(ctx, op, good)
		clk.Advance(13 * time.Hour)
		if n, err := lb.Sweep(ctx); err != nil || n < 1 {
			t.Fatalf("sweep: %d %v", n, err)
		}
		if r, _ := store.Lockbox(db).LockboxRequest(ctx, fourth.ID); r.State != lockbox.Expired {
			t.Fatalf("after the sweep: %s", r.State)
		}
		list, err := lb.Requests(ctx, approver, 100)
		if err != nil || len(list) != 4 {
			t.Fatalf("the tenant's requests: %d %v", len(list), err)
		}
		if first, _ := store.Lockbox(db).LockboxRequest(ctx, req.ID); first.Accesses != 2 || first.State != lockbox.Completed {
			t.Fatalf("first request afterwards: %+v", first)
		}

		// The tenant's transparency log holds every step and verifies.
		b, err := tl.Bundle(ctx, acme, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		_, rep, err := transparency.VerifyBundle(nil, b, key.VerifierKey())
		if err != nil {
			t.Fatal(err)
		}
		kinds := map[string]int{}
		for _, e := range rep.New {
			kinds[e.Kind]++
		}
		if kinds["access"] != 3 || kinds["lockbox.request"] != 4 || kinds["lockbox.approve"] != 2 || kinds["lockbox.revoke"] != 1 ||
			kinds["lockbox.expired"] != 2 || kinds["lockbox.completed"] < 1 {
			t.Fatalf("transparency entries: %v", kinds)
		}
		// Refusals are in the tenant's audit log.
		recs, err := db.AuditRecords(ctx, acme, 0, 1000)
		if err != nil {
			t.Fatal(err)
		}
		denied := 0
		for _, r := range recs {
			if r.Action == "lockbox.read" && r.Result == audit.Denied {
				denied++
			}
		}
		if denied < 4 {
			t.Fatalf("%d refused reads audited in the tenant's log, want at least 4", denied)
		}
	})
}
