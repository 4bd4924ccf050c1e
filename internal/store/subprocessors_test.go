package store_test

import (
	"errors"
	"testing"
	"time"

	"github.com/kaigi/kaigi/internal/audit"
	"github.com/kaigi/kaigi/internal/clock"
	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/principal"
	"github.com/kaigi/kaigi/internal/provider"
	"github.com/kaigi/kaigi/internal/store"
	"github.com/kaigi/kaigi/internal/store/storetest"
)

var errSubBoom = errors.New("boom")

// TestSubprocessorRegistryRoundTrip stores changes, objections and
// webhooks and reads them back; an objection replaces the tenant's earlier
// one to the same change; a failed transaction leaves nothing; the audit
// record of a change is in the same transaction.
func TestSubprocessorRegistryRoundTrip(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		ss := store.Subprocessors(db)
		clk := clock.NewFake(time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC))
		log := audit.New(clk)
		at := clk.Now()
		add := provider.Change{ID: ids.New(), Subprocessor: ids.New(), Kind: provider.ChangeAdd, Name: "Cloud Mail KK", Purpose: "Sends email",
			Location: "Japan", Categories: []string{"account email addresses", "notification text"}, CustomerData: true, Announced: at,
			Effective: at.AddDate(0, 6, 0), By: "op-1"}
		rm := provider.Change{ID: ids.New(), Subprocessor: add.Subprocessor, Kind: provider.ChangeRemove, Name: add.Name, Categories: []string{},
			Announced: at.Add(time.Hour), Effective: at.AddDate(1, 0, 0), By: "op-1"}
		for _, c := range []provider.Change{add, rm} {
			if err := ss.UpdateSubprocessors(ctx, func(tx provider.SubprocessorTx) error {
				if _, err := tx.LockSubprocessorChanges(ctx); err != nil {
					return err
				}
				if err := tx.InsertSubprocessorChange(ctx, c); err != nil {
					return err
				}
				_, err := log.Append(ctx, tx, audit.Entry{Actor: principal.Principal{Kind: principal.Operator, User: "op-1"}, Tenant: ids.ServiceTenant,
					Action: "subprocessor." + c.Kind, Target: "subprocessor:" + c.Subprocessor})
				return err
			}); err != nil {
				t.Fatal(err)
			}
		}
		// A transaction that fails leaves no change behind.
		if err := ss.UpdateSubprocessors(ctx, func(tx provider.SubprocessorTx) error {
			if err := tx.InsertSubprocessorChange(ctx, provider.Change{ID: ids.New(), Subprocessor: ids.New(), Kind: provider.ChangeAdd, Name: "Ghost"}); err != nil {
				return err
			}
			return errSubBoom
		}); !errors.Is(err, errSubBoom) {
			t.Fatalf("failing transaction: %v", err)
		}
		got, err := ss.SubprocessorChanges(ctx)
		if err != nil || len(got) != 2 {
			t.Fatalf("changes: %d %v", len(got), err)
		}
		g := got[0]
		if g.ID != add.ID || g.Name != add.Name || !g.CustomerData || len(g.Categories) != 2 || g.Categories[1] != "notification text" ||
			!g.Announced.Equal(add.Announced) || !g.Effective.Equal(add.Effective) || g.By != "op-1" || got[1].Kind != provider.ChangeRemove {
			t.Fatalf("round trip: %+v", got)
		}
		var n int
		if err := db.QueryRow(ctx, `SELECT COUNT(*) FROM audit_log WHERE action LIKE 'subprocessor.%'`).Scan(&n); err != nil || n != 2 {
			t.Fatalf("audit records: %d %v", n, err)
		}

		// Objections: one per tenant and change, the latest wins.
		acme, other := ids.NewTenant(), ids.NewTenant()
		put := func(o provider.Objection) {
			t.Helper()
			if err := ss.UpdateSubprocessors(ctx, func(tx provider.SubprocessorTx) error { return tx.PutObjection(ctx, o) }); err != nil {
				t.Fatal(err)
			}
		}
		put(provider.Objection{ID: ids.New(), Tenant: acme, Change: add.ID, Account: "ann", Reason: "first", At: at})
		second := provider.Objection{ID: ids.New(), Tenant: acme, Change: add.ID, Account: "bob", Reason: "second thoughts", At: at.Add(time.Minute)}
		put(second)
		put(provider.Objection{ID: ids.New(), Tenant: other, Change: add.ID, Account: "cy", Reason: "no", At: at.Add(2 * time.Minute)})
		mine, err := ss.Objections(ctx, acme)
		if err != nil || len(mine) != 1 || mine[0].ID != second.ID || mine[0].Reason != "second thoughts" || mine[0].Account != "bob" || mine[0].Tenant != acme {
			t.Fatalf("acme's objections: %+v %v", mine, err)
		}
		everyone, err := ss.Objections(ctx, "")
		if err != nil || len(everyone) != 2 {
			t.Fatalf("all objections: %+v %v", everyone, err)
		}

		// Webhooks.
		if _, found, err := ss.SubprocessorWebhook(ctx, acme); found || err != nil {
			t.Fatalf("no webhook yet: %v %v", found, err)
		}
		w := provider.Webhook{Tenant: acme, URL: "https://hooks.acme.example/kaigi", Secret: []byte{1, 2, 3}, Created: at}
		if err := ss.UpdateSubprocessors(ctx, func(tx provider.SubprocessorTx) error { return tx.PutSubprocessorWebhook(ctx, w) }); err != nil {
			t.Fatal(err)
		}
		w.URL = "https://hooks.acme.example/v2"
		if err := ss.UpdateSubprocessors(ctx, func(tx provider.SubprocessorTx) error { return tx.PutSubprocessorWebhook(ctx, w) }); err != nil {
			t.Fatal(err)
		}
		gw, found, err := ss.SubprocessorWebhook(ctx, acme)
		if err != nil || !found || gw.URL != w.URL || string(gw.Secret) != "\x01\x02\x03" || !gw.Created.Equal(at) {
			t.Fatalf("webhook: %+v %v %v", gw, found, err)
		}
		for i, want := range []bool{true, false} {
			var ok bool
			if err := ss.UpdateSubprocessors(ctx, func(tx provider.SubprocessorTx) (err error) {
				ok, err = tx.DeleteSubprocessorWebhook(ctx, acme)
				return err
			}); err != nil || ok != want {
				t.Fatalf("delete %d: %v %v", i, ok, err)
			}
		}
	})
}
