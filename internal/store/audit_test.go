package store_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/kaigi/kaigi/internal/audit"
	"github.com/kaigi/kaigi/internal/clock"
	"github.com/kaigi/kaigi/internal/errs"
	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/principal"
	"github.com/kaigi/kaigi/internal/signing"
	"github.com/kaigi/kaigi/internal/store"
	"github.com/kaigi/kaigi/internal/store/storetest"
)

// auditWorld is an audit service over one database with a fake clock.
type auditWorld struct {
	db    *store.DB
	clock *clock.Fake
	log   *audit.Log
	svc   *audit.Service
	vkey  string
	key   *signing.Key
}

func newAuditWorld(t *testing.T, db *store.DB) *auditWorld {
	t.Helper()
	_, key := newAudit(t)
	c := clock.NewFake(time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC))
	log := audit.New(c)
	return &auditWorld{db: db, clock: c, log: log, vkey: key.VerifierKey(), key: key,
		svc: audit.NewService(audit.ServiceOptions{Store: store.Audit(db), Log: log, Signing: key, Clock: c})}
}

func (w *auditWorld) add(t *testing.T, e audit.Entry) audit.Record {
	t.Helper()
	var r audit.Record
	err := w.db.InTx(t.Context(), func(tx *store.Tx) error {
		var err error
		r, err = w.log.Append(t.Context(), tx, e)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func seqs(recs []audit.Record) []int64 {
	out := make([]int64, len(recs))
	for i, r := range recs {
		out[i] = r.Seq
	}
	return out
}

func TestAuditSearchFilters(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newAuditWorld(t, db)
		tenant, other := ids.NewTenant(), ids.NewTenant()
		alice := principal.Principal{Kind: principal.Member, Tenant: tenant, User: "alice"}
		admin := principal.Principal{Kind: principal.Member, Tenant: tenant, User: "adm", Roles: []principal.Role{principal.TenantAdmin}}
		start := w.clock.Now()
		// seq 1..6
		w.add(t, audit.Entry{Actor: alice, Action: "chat.message.send", Target: "channel:c1"})
		w.clock.Advance(time.Hour)
		w.add(t, audit.Entry{Actor: alice, Action: "chat.message_edit", Target: "channel:c1"})
		w.clock.Advance(time.Hour)
		w.add(t, audit.Entry{Actor: admin, Action: "admin.roles.update", Target: "account:alice", Result: audit.Denied})
		w.clock.Advance(time.Hour)
		w.add(t, audit.Entry{Actor: admin, Action: "chatx.other", Target: "channel:c2"})
		w.clock.Advance(time.Hour)
		w.add(t, audit.Entry{Actor: alice, Action: "chat.message.send", Target: "channel:c2", Result: audit.Failure})
		w.add(t, audit.Entry{Actor: alice, Action: "chat_message", Target: "channel:c2"})
		w.add(t, audit.Entry{Actor: principal.Principal{Kind: principal.Member, Tenant: other, User: "alice"}, Action: "chat.message.send", Target: "channel:c1"})

		tests := []struct {
			name string
			f    audit.Filter
			want []int64
		}{
			{"everything, newest first", audit.Filter{}, []int64{6, 5, 4, 3, 2, 1}},
			{"actor", audit.Filter{ActorID: "adm"}, []int64{4, 3}},
			{"actor kind", audit.Filter{ActorKind: "tenant_admin"}, []int64{4, 3}},
			{"exact action", audit.Filter{Action: "chat.message.send"}, []int64{5, 1}},
			{"prefix with a dot", audit.Filter{Action: "chat."}, []int64{5, 2, 1}},
			{"prefix with a star", audit.Filter{Action: "chat.message*"}, []int64{5, 2, 1}},
			{"underscore is not a wildcard", audit.Filter{Action: "chat_*"}, []int64{6}},
			{"target", audit.Filter{Target: "channel:c2"}, []int64{6, 5, 4}},
			{"result", audit.Filter{Result: audit.Denied}, []int64{3}},
			{"time range", audit.Filter{From: start.Add(time.Hour), To: start.Add(3 * time.Hour)}, []int64{3, 2}},
			{"combined", audit.Filter{ActorID: "alice", Action: "chat.", Target: "channel:c2"}, []int64{5}},
			{"page", audit.Filter{Before: 5, Limit: 2}, []int64{4, 3}},
			{"ascending after", audit.Filter{Ascending: true, After: 4, Limit: 10}, []int64{5, 6}},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				f := tc.f
				if err := f.Validate(); err != nil {
					t.Fatal(err)
				}
				recs, err := db.SearchAudit(t.Context(), tenant, f)
				if err != nil {
					t.Fatal(err)
				}
				if got := seqs(recs); fmt.Sprint(got) != fmt.Sprint(tc.want) {
					t.Fatalf("got %v, want %v", got, tc.want)
				}
				for _, r := range recs {
					if r.Tenant != tenant {
						t.Fatalf("record of another tenant: %+v", r)
					}
				}
			})
		}
	})
}

func TestAuditSearchRefusesBadFilters(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		f    audit.Filter
	}{
		{"range backwards", audit.Filter{From: now, To: now.Add(-time.Hour)}},
		{"range too long", audit.Filter{From: now.AddDate(-20, 0, 0), To: now}},
		{"overlong actor", audit.Filter{ActorID: strings.Repeat("a", 300)}},
		{"control characters", audit.Filter{Target: "x\x00y"}},
		{"unknown actor kind", audit.Filter{ActorKind: "root"}},
		{"unknown result", audit.Filter{Result: "maybe"}},
		{"action with a wildcard inside", audit.Filter{Action: "chat.%"}},
		{"only a star", audit.Filter{Action: "*"}},
		{"limit too big", audit.Filter{Limit: 100000}},
		{"negative cursor", audit.Filter{Before: -1}},
		{"year 1500", audit.Filter{From: time.Date(1500, 1, 1, 0, 0, 0, 0, time.UTC)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.f.Validate()
			if errs.CodeOf(err) != errs.Invalid {
				t.Fatalf("got %v, want an invalid-request error", err)
			}
		})
	}
}

// TestAuditRetentionPrunesAndChainStillVerifies moves the clock past the
// retention: old records go, a signed anchor stays, Verify passes from it,
// and the database itself refuses to delete records above the anchor or to
// move the anchor back.
func TestAuditRetentionPrunesAndChainStillVerifies(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		w := newAuditWorld(t, db)
		tenant := ids.NewTenant()
		admin := principal.Principal{Kind: principal.Member, Tenant: tenant, User: "adm", Roles: []principal.Role{principal.TenantAdmin}}
		appendN(t, db, w.log, tenant, 10) // 1..10, in 2026-01
		if _, ok, err := w.log.Checkpoint(ctx, db, w.key, tenant); err != nil || !ok {
			t.Fatal(ok, err)
		}
		w.clock.Advance(200 * 24 * time.Hour)
		appendN(t, db, w.log, tenant, 5) // 11..15, mid 2026
		if _, err := w.svc.SetRetention(ctx, admin, 0); errs.CodeOf(err) != errs.Invalid {
			t.Fatalf("0 years: %v", err)
		}
		if _, err := w.svc.SetRetention(ctx, admin, 11); errs.CodeOf(err) != errs.Invalid {
			t.Fatalf("11 years: %v", err)
		}
		officer := principal.Principal{Kind: principal.Member, Tenant: tenant, User: "co", Roles: []principal.Role{principal.ComplianceOfficer}}
		if _, err := w.svc.SetRetention(ctx, officer, 2); errs.CodeOf(err) != errs.Forbidden {
			t.Fatalf("officer sets retention: %v", err)
		}
		if _, err := w.svc.SetRetention(ctx, admin, 1); err != nil { // 16: the audited setting
			t.Fatal(err)
		}
		// Nothing is older than a year yet.
		if res, err := w.svc.Prune(ctx, tenant); err != nil || res.Deleted != 0 || res.Through != 0 {
			t.Fatalf("early prune: %+v %v", res, err)
		}
		w.clock.Advance(200 * 24 * time.Hour) // 400 days after the first ten
		res, err := w.svc.Prune(ctx, tenant)
		if err != nil {
			t.Fatal(err)
		}
		if res.Through != 10 || res.Deleted != 10 {
			t.Fatalf("prune: %+v", res)
		}
		recs, err := db.AuditRecords(ctx, tenant, 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) == 0 || recs[0].Seq != 11 {
			t.Fatalf("records after the prune start at %v", seqs(recs))
		}
		last := recs[len(recs)-1]
		if last.Action != "audit.prune" || last.DetailMap()["through"] != "10" {
			t.Fatalf("the prune was not audited: %+v", last)
		}
		rep, err := audit.Verify(ctx, db, tenant, w.vkey)
		if err != nil || !rep.OK() || rep.PrunedThrough != 10 || rep.Records != int64(len(recs)) {
			t.Fatalf("verify after the prune: %v %v", rep, err)
		}
		st, err := w.svc.Settings(ctx, admin)
		if err != nil || st.PrunedThrough != 10 || st.RetentionYears != 1 {
			t.Fatalf("settings: %+v %v", st, err)
		}
		// A second prune has nothing to do.
		if res, err := w.svc.Prune(ctx, tenant); err != nil || res.Deleted != 0 || res.Through != 10 {
			t.Fatalf("second prune: %+v %v", res, err)
		}

		t.Run("the database refuses deletion above the anchor", func(t *testing.T) {
			if _, err := db.Exec(ctx, `DELETE FROM audit_log WHERE tenant_id = ? AND seq = 11`, string(tenant)); err == nil {
				t.Fatal("deleted record 11, above the anchor")
			}
			if _, err := db.Exec(ctx, `DELETE FROM audit_log WHERE tenant_id = ?`, string(tenant)); err == nil {
				t.Fatal("deleted the whole chain")
			}
			if _, err := db.Exec(ctx, `UPDATE audit_anchors SET seq = 3 WHERE tenant_id = ?`, string(tenant)); err == nil {
				t.Fatal("moved the anchor back")
			}
			if _, err := db.Exec(ctx, `DELETE FROM audit_anchors WHERE tenant_id = ?`, string(tenant)); err == nil {
				t.Fatal("removed the anchor")
			}
			rep, err := audit.Verify(ctx, db, tenant, w.vkey)
			if err != nil || !rep.OK() {
				t.Fatalf("verify: %v %v", rep, err)
			}
		})
		t.Run("an anchor moved forward without a signature is found", func(t *testing.T) {
			// Someone with database access moves the anchor to delete more.
			if _, err := db.Exec(ctx, `UPDATE audit_anchors SET seq = 12, hash = (SELECT hash FROM audit_log WHERE tenant_id = ? AND seq = 12) WHERE tenant_id = ?`,
				string(tenant), string(tenant)); err != nil {
				t.Fatal(err)
			}
			if _, err := db.Exec(ctx, `DELETE FROM audit_log WHERE tenant_id = ? AND seq <= 12`, string(tenant)); err != nil {
				t.Fatal(err)
			}
			rep, err := audit.Verify(ctx, db, tenant, w.vkey)
			if err != nil || rep.OK() || !strings.Contains(rep.Problem.Reason, "prune anchor") {
				t.Fatalf("verify after a forged anchor move: %v %v", rep, err)
			}
		})
	})
}

func TestAuditSinkLease(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		tenant := ids.NewTenant()
		sk := audit.Sink{ID: ids.New(), Tenant: tenant, Kind: audit.SinkSyslog, Name: "siem", Endpoint: "siem.example:6514", Cursor: 7, CreatedBy: "u", Created: now, NextAttempt: now}
		if err := db.InTx(ctx, func(tx *store.Tx) error { return tx.InsertAuditSink(ctx, sk) }); err != nil {
			t.Fatal(err)
		}
		due, err := db.DueAuditSinks(ctx, now, 10)
		if err != nil || len(due) != 1 || due[0].Cursor != 7 || due[0].Tenant != tenant {
			t.Fatalf("due: %+v %v", due, err)
		}
		got, ok, err := db.ClaimAuditSink(ctx, sk.ID, "node-a", now, now.Add(time.Minute))
		if err != nil || !ok || got.Cursor != 7 {
			t.Fatalf("claim: %+v %v %v", got, ok, err)
		}
		if _, ok, err := db.ClaimAuditSink(ctx, sk.ID, "node-b", now, now.Add(time.Minute)); err != nil || ok {
			t.Fatalf("a second node claimed a held lease: %v %v", ok, err)
		}
		if due, _ := db.DueAuditSinks(ctx, now, 10); len(due) != 0 {
			t.Fatal("a leased sink is due")
		}
		if ok, err := db.AdvanceAuditSink(ctx, sk.ID, "node-b", 7, 9, now); err != nil || ok {
			t.Fatalf("a node without the lease advanced the cursor: %v %v", ok, err)
		}
		if ok, err := db.AdvanceAuditSink(ctx, sk.ID, "node-a", 7, 9, now); err != nil || !ok {
			t.Fatalf("advance: %v %v", ok, err)
		}
		if _, ok, _ := db.ClaimAuditSink(ctx, sk.ID, "node-b", now, now.Add(time.Minute)); !ok {
			t.Fatal("the lease was not freed")
		}
		if err := db.FailAuditSink(ctx, sk.ID, "node-b", 3, "refused", now.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		list, err := db.AuditSinks(ctx, tenant)
		if err != nil || len(list) != 1 || list[0].Cursor != 9 || list[0].Failures != 3 || list[0].LastError != "refused" {
			t.Fatalf("sinks: %+v %v", list, err)
		}
		if due, _ := db.DueAuditSinks(ctx, now, 10); len(due) != 0 {
			t.Fatal("a sink waiting for its backoff is due")
		}
		if err := db.InTx(ctx, func(tx *store.Tx) error {
			ok, err := tx.DeleteAuditSink(ctx, ids.NewTenant(), sk.ID)
			if ok {
				return errors.New("another tenant removed the sink")
			}
			return err
		}); err != nil {
			t.Fatal(err)
		}
	})
}
