package store_test

import (
	"slices"
	"testing"
	"time"

	"github.com/kaigi/kaigi/internal/chat"
	"github.com/kaigi/kaigi/internal/compliance/discovery"
	"github.com/kaigi/kaigi/internal/identity"
	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/meeting"
	"github.com/kaigi/kaigi/internal/provider"
	"github.com/kaigi/kaigi/internal/store"
	"github.com/kaigi/kaigi/internal/store/storetest"
)

// TestLegalDisclosureStore: a request keeps the export its disclosure was
// built as; the reads of a disclosure's metadata return one account's
// sign-ins, meetings (organised or invited to) and message counts per
// channel and UTC day, within one tenant, and nothing of anyone else.
func TestLegalDisclosureStore(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		tenant, other := ids.NewTenant(), ids.NewTenant()
		max, gwen := ids.UserID(ids.New()), ids.UserID(ids.New())
		day1 := time.Date(2026, 12, 1, 23, 30, 0, 0, time.UTC)
		day2 := day1.Add(time.Hour) // just after midnight: the next UTC day

		// The ledger keeps the disclosure's export.
		ls := store.Ledger(db)
		r := provider.LegalRequest{ID: ids.New(), Received: day1, Country: "JP", Instrument: "warrant", Compulsory: true, Customer: provider.CustomerEnterprise,
			Tenant: tenant, Accounts: 1, Asked: []string{provider.Content}, Status: provider.StatusApproved, Updated: day1, SealedDetail: []byte("sealed")}
		if err := ls.UpdateLedger(ctx, func(tx provider.LedgerTx) error { return tx.PutLegalRequest(ctx, r) }); err != nil {
			t.Fatal(err)
		}
		if got, err := ls.LegalRequest(ctx, r.ID); err != nil || got.Disclosure != "" {
			t.Fatalf("before: %+v %v", got, err)
		}
		r.Disclosure, r.Status = ids.New(), provider.StatusDisclosed
		if err := ls.UpdateLedger(ctx, func(tx provider.LedgerTx) error { return tx.PutLegalRequest(ctx, r) }); err != nil {
			t.Fatal(err)
		}
		if got, err := ls.LegalRequest(ctx, r.ID); err != nil || got.Disclosure != r.Disclosure || got.Status != provider.StatusDisclosed {
			t.Fatalf("after: %+v %v", got, err)
		}

		// Messages: Max's on two days in two channels, Gwen's, and one by
		// the same account id in another tenant's copy.
		chA := chat.Channel{ID: ids.New(), Tenant: tenant, Kind: chat.Chat, Name: "a", CreatedBy: max, Created: day1}
		chB := chat.Channel{ID: ids.New(), Tenant: tenant, Kind: chat.Chat, Name: "b", CreatedBy: max, Created: day1}
		chX := chat.Channel{ID: ids.New(), Tenant: other, Kind: chat.Chat, Name: "x", CreatedBy: max, Created: day1}
		err := store.Chat(db).UpdateChat(ctx, func(tx chat.Tx) error {
			for _, c := range []chat.Channel{chA, chB, chX} {
				if err := tx.InsertChannel(ctx, c); err != nil {
					return err
				}
			}
			for _, m := range []struct {
				c      chat.Channel
				author ids.UserID
				at     time.Time
			}{{chA, max, day1}, {chA, max, day1}, {chA, max, day2}, {chB, max, day2}, {chA, gwen, day1}, {chX, max, day1}} {
				seq, err := tx.NextSeq(ctx, m.c.ID)
				if err != nil {
					return err
				}
				if err := tx.InsertMessage(ctx, chat.Message{ID: ids.New(), Tenant: m.c.Tenant, Channel: m.c.ID, Seq: seq, Author: m.author, Created: m.at, Version: 1, Body: []byte{1}}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}

		// Sign-ins: Max's two, Gwen's, and Max's id in another tenant.
		err = db.InTx(ctx, func(tx *store.Tx) error {
			for _, e := range []identity.SignInEvent{
				{ID: ids.New(), Tenant: tenant, At: day2, Account: max, Identifier: "max@acme.example", Source: "192.0.2.7", ClientKind: "browser", Result: "failure", Policies: "[]"},
				{ID: ids.New(), Tenant: tenant, At: day1, Account: max, Identifier: "max@acme.example", Source: "192.0.2.8", ClientKind: "browser", Result: "success", Policies: "[]"},
				{ID: ids.New(), Tenant: tenant, At: day1, Account: gwen, Identifier: "gwen@acme.example", Source: "198.51.100.1", ClientKind: "browser", Result: "success", Policies: "[]"},
				{ID: ids.New(), Tenant: other, At: day1, Account: max, Identifier: "max@other.example", Source: "203.0.113.9", ClientKind: "api_token", Result: "success", Policies: "[]"},
			} {
				if err := tx.InsertSignIn(ctx, e); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}

		// Meetings: one Max organises, one Gwen organises and invites Max
		// to, one Gwen alone, one in the other tenant.
		mk := func(t2 ids.TenantID, organizer ids.UserID, start time.Time, invitees ...meeting.Invitee) meeting.Meeting {
			return meeting.Meeting{ID: ids.New(), Tenant: t2, Title: "secret title", Organizer: organizer, Start: start, End: start.Add(time.Hour),
				Created: day1, Invitees: invitees, CodeHash: []byte(ids.New()), CodeSealed: []byte("c")}
		}
		mine := mk(tenant, max, day1, meeting.Invitee{Account: gwen, Role: meeting.Attendee})
		invited := mk(tenant, gwen, day2, meeting.Invitee{Account: max, Role: meeting.Presenter})
		err = store.Meetings(db).UpdateMeetings(ctx, func(tx meeting.Tx) error {
			for _, m := range []meeting.Meeting{mine, invited, mk(tenant, gwen, day1), mk(other, max, day1)} {
				if err := tx.InsertMeeting(ctx, m); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}

		d := store.Disclosures(db)
		signIns, err := d.AccountSignIns(ctx, tenant, max)
		if err != nil || len(signIns) != 2 || signIns[0].Address != "192.0.2.8" || signIns[0].Result != "success" || !signIns[0].At.Equal(day1) ||
			signIns[1].Address != "192.0.2.7" || signIns[1].Client != "browser" {
			t.Fatalf("sign-ins: %+v %v", signIns, err)
		}
		ms, err := d.AccountMeetings(ctx, tenant, max)
		if err != nil || len(ms) != 2 || ms[0].ID != mine.ID || ms[0].Role != "organizer" || ms[1].ID != invited.ID || ms[1].Role != meeting.Presenter ||
			!ms[1].Start.Equal(day2) || !ms[1].End.Equal(day2.Add(time.Hour)) || !ms[0].Ended.IsZero() {
			t.Fatalf("meetings: %+v %v", ms, err)
		}
		counts, err := d.MessageCounts(ctx, tenant, max)
		want := []discovery.MessageCount{{Channel: chA.ID, Date: "2026-12-01", Messages: 2}}
		second := []discovery.MessageCount{{Channel: chA.ID, Date: "2026-12-02", Messages: 1}, {Channel: chB.ID, Date: "2026-12-02", Messages: 1}}
		slices.SortFunc(second, func(a, b discovery.MessageCount) int {
			if a.Channel < b.Channel {
				return -1
			}
			return 1
		})
		if want = append(want, second...); err != nil || !slices.Equal(counts, want) {
			t.Fatalf("message counts: %+v %v, want %+v", counts, err, want)
		}
		for _, none := range []struct {
			tenant  ids.TenantID
			account ids.UserID
		}{{tenant, ids.UserID(ids.New())}, {ids.NewTenant(), max}} {
			s, _ := d.AccountSignIns(ctx, none.tenant, none.account)
			m, _ := d.AccountMeetings(ctx, none.tenant, none.account)
			c, _ := d.MessageCounts(ctx, none.tenant, none.account)
			if len(s)+len(m)+len(c) != 0 {
				t.Fatalf("metadata of nobody: %v %v %v", s, m, c)
			}
		}
	})
}
