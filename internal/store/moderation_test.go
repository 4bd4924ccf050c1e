package store_test

import (
	"errors"
	"testing"
	"time"

	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/moderation"
	"github.com/kaigi/kaigi/internal/store"
	"github.com/kaigi/kaigi/internal/store/storetest"
)

// TestModerationRoundTrip stores a policy, alerts and notices, and reads
// them back by id, by status, by pattern target and by reporter.
func TestModerationRoundTrip(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		ms := store.Moderation(db)
		tenant := ids.NewTenant()
		if _, found, err := ms.Policy(ctx, tenant); found || err != nil {
			t.Fatalf("no policy yet: %v %v", found, err)
		}
		if ok, err := ms.HasPolicies(ctx); ok || err != nil {
			t.Fatalf("has policies: %v %v", ok, err)
		}
		pol := moderation.Policy{Patterns: true, Rules: []moderation.Rule{{Name: "threats", Action: moderation.ActionBlock,
			Categories: map[moderation.Category]float64{moderation.Threat: 0.6}, Scope: moderation.Scope{Teams: []string{"falcon"}}}}}
		at := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
		put := func(p moderation.Policy) {
			t.Helper()
			if err := ms.UpdateModeration(ctx, func(tx moderation.Tx) error { return tx.PutPolicy(ctx, tenant, p, "ada", at) }); err != nil {
				t.Fatal(err)
			}
		}
		put(moderation.Policy{})
		put(pol) // replaces
		got, found, err := ms.Policy(ctx, tenant)
		if err != nil || !found || len(got.Rules) != 1 || got.Rules[0].Categories[moderation.Threat] != 0.6 || !got.Patterns || got.Rules[0].Scope.Teams[0] != "falcon" {
			t.Fatalf("policy: %+v %v", got, err)
		}
		if ok, _ := ms.HasPolicies(ctx); !ok {
			t.Fatal("a policy with rules is not seen")
		}

		a := moderation.Alert{ID: ids.New(), Tenant: tenant, Kind: moderation.KindBlock, Status: moderation.StatusPending, Channel: "c1", Message: "m1", Seq: 7,
			Sender: "max", Info: moderation.AlertInfo{Scores: map[moderation.Category]float64{moderation.Threat: 0.9}, Rules: []string{"threats"}},
			Sealed: []byte{1, 2, 3}, Created: at, Updated: at}
		p := moderation.Alert{ID: ids.New(), Tenant: tenant, Kind: moderation.KindPattern, Status: moderation.StatusPending, Channel: "c1", Message: "m2",
			Sender: "max", Target: "gwen", Info: moderation.AlertInfo{Messages: []string{"m1", "m2"}}, Created: at.Add(time.Second), Updated: at.Add(time.Second)}
		r := moderation.Alert{ID: ids.New(), Tenant: tenant, Kind: moderation.KindReport, Status: moderation.StatusPending, Channel: "c1", Message: "m3",
			Sender: "max", Reporter: "gwen", Created: at.Add(2 * time.Second), Updated: at.Add(2 * time.Second)}
		other := moderation.Alert{ID: ids.New(), Tenant: ids.NewTenant(), Kind: moderation.KindFlag, Status: moderation.StatusPending, Channel: "c9", Message: "m9",
			Sender: "eve", Created: at, Updated: at}
		err = ms.UpdateModeration(ctx, func(tx moderation.Tx) error {
			for _, x := range []moderation.Alert{a, p, r, other} {
				if err := tx.InsertAlert(ctx, x); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		back, err := ms.Alert(ctx, a.ID)
		if err != nil || back.Seq != 7 || string(back.Sealed) != "\x01\x02\x03" || back.Info.Scores[moderation.Threat] != 0.9 || !back.Created.Equal(at) || !back.Closed.IsZero() {
			t.Fatalf("alert: %+v %v", back, err)
		}
		if _, err := ms.Alert(ctx, ids.New()); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("unknown alert: %v", err)
		}
		list, err := ms.Alerts(ctx, tenant, []string{moderation.StatusPending, moderation.StatusEscalated}, 10)
		if err != nil || len(list) != 3 || list[0].ID != r.ID || list[2].ID != a.ID {
			t.Fatalf("open alerts, newest first, of the tenant only: %+v %v", list, err)
		}

		// Close one, escalate another, name people.
		back.Status, back.Closed, back.ClosedBy, back.Updated = moderation.StatusResolved, at.Add(time.Hour), "cora", at.Add(time.Hour)
		back.Pseudonyms = map[ids.UserID]string{"max": "Person A"}
		p.Status, p.Assignee, p.Info.Messages = moderation.StatusEscalated, "otto", []string{"m1", "m2", "m4"}
		err = ms.UpdateModeration(ctx, func(tx moderation.Tx) error {
			if err := tx.UpdateAlert(ctx, back); err != nil {
				return err
			}
			return tx.UpdateAlert(ctx, p)
		})
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := ms.Alert(ctx, a.ID); got.Status != moderation.StatusResolved || got.ClosedBy != "cora" || !got.Closed.Equal(at.Add(time.Hour)) || got.Pseudonyms["max"] != "Person A" {
			t.Fatalf("after update: %+v", got)
		}
		if list, _ := ms.Alerts(ctx, tenant, []string{moderation.StatusResolved}, 10); len(list) != 1 || list[0].ID != a.ID {
			t.Fatalf("resolved: %+v", list)
		}
		if list, _ := ms.Alerts(ctx, tenant, nil, 10); len(list) != 3 {
			t.Fatalf("all: %d", len(list))
		}
		if got, err := ms.OpenPatternAlert(ctx, tenant, "gwen"); err != nil || got.ID != p.ID || got.Assignee != "otto" || len(got.Info.Messages) != 3 {
			t.Fatalf("open pattern alert: %+v %v", got, err)
		}
		if _, err := ms.OpenPatternAlert(ctx, tenant, "max"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("no pattern alert about max: %v", err)
		}
		if ok, _ := ms.Reported(ctx, "m3", "gwen"); !ok {
			t.Fatal("gwen's report is not found")
		}
		if ok, _ := ms.Reported(ctx, "m3", "max"); ok {
			t.Fatal("max did not report m3")
		}

		n := moderation.Notice{ID: ids.New(), Tenant: tenant, Account: "max", Alert: a.ID, Template: "conduct_reminder", Channel: "c1", Message: "m1", Created: at}
		if err := ms.UpdateModeration(ctx, func(tx moderation.Tx) error { return tx.InsertNotice(ctx, n) }); err != nil {
			t.Fatal(err)
		}
		if ns, err := ms.Notices(ctx, "max", 10); err != nil || len(ns) != 1 || ns[0].Text == "" || ns[0].Alert != a.ID {
			t.Fatalf("notices: %+v %v", ns, err)
		}
		if ns, _ := ms.Notices(ctx, "gwen", 10); len(ns) != 0 {
			t.Fatalf("someone else's notices: %+v", ns)
		}
	})
}

// TestModerationPatternEventsAreSharedAndPruned: counted messages are kept
// per tenant and target, once per message, newest up to the limit, and
// those older than the window are deleted.
func TestModerationPatternEventsAreSharedAndPruned(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		ms := store.Moderation(db)
		tenant, other := string(ids.NewTenant()), string(ids.NewTenant())
		at := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
		add := func(tenant, target, msg, sender string, score float64, when time.Time, limit int) []moderation.PatternEvent {
			t.Helper()
			got, err := ms.AddPatternEvent(ctx, moderation.PatternEvent{Tenant: tenant, Target: target, Sender: sender, Message: msg, Score: score, At: when}, when.Add(-time.Hour), limit)
			if err != nil {
				t.Fatal(err)
			}
			return got
		}
		add(tenant, "vic", "m1", "a", 0.4, at, 10)
		add(other, "vic", "m9", "a", 0.4, at, 10)  // another tenant's
		add(tenant, "bob", "m8", "a", 0.4, at, 10) // another target
		got := add(tenant, "vic", "m2", "b", 0.5, at.Add(time.Minute), 10)
		if len(got) != 2 || got[0].Message != "m1" || got[1].Message != "m2" || got[1].Sender != "b" || got[1].Score != 0.5 || !got[1].At.Equal(at.Add(time.Minute)) {
			t.Fatalf("events: %+v", got)
		}
		if got := add(tenant, "vic", "m2", "b", 0.7, at.Add(2*time.Minute), 10); len(got) != 2 || got[1].Score != 0.7 {
			t.Fatalf("a message counted again: %+v", got)
		}
		if got := add(tenant, "vic", "m3", "c", 0.4, at.Add(3*time.Minute), 2); len(got) != 2 || got[0].Message != "m2" || got[1].Message != "m3" {
			t.Fatalf("the newest up to the limit, oldest first: %+v", got)
		}
		// An hour later the early ones have left the window.
		if got := add(tenant, "vic", "m4", "a", 0.4, at.Add(62*time.Minute+30*time.Second), 10); len(got) != 2 || got[0].Message != "m3" {
			t.Fatalf("after the window: %+v", got)
		}
		if err := ms.PrunePatternEvents(ctx, at.Add(30*time.Minute)); err != nil {
			t.Fatal(err)
		}
		if got := add(tenant, "bob", "m7", "a", 0.4, at.Add(40*time.Minute), 10); len(got) != 1 {
			t.Fatalf("prune left %+v", got)
		}
		if got := add(other, "vic", "m10", "b", 0.4, at.Add(40*time.Minute), 10); len(got) != 1 || got[0].Message != "m10" {
			t.Fatalf("prune left the other tenant's %+v", got)
		}
	})
}
