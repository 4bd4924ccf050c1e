package store_test

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"testing"
	"time"

	"github.com/kaigi/kaigi/internal/chat"
	"github.com/kaigi/kaigi/internal/compliance/discovery"
	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/store"
	"github.com/kaigi/kaigi/internal/store/storetest"
)

// TestDiscoveryRoundTrip stores a case with members, a search with hits, a
// review set, an export with parts, and reads them back; selections of
// messages stay within their tenant and their search, case or author.
func TestDiscoveryRoundTrip(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		ds := store.Discovery(db)
		cs := store.Chat(db)
		tenant, other := ids.NewTenant(), ids.NewTenant()
		at := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)

		// Two channels in the tenant, one in another tenant.
		chA := chat.Channel{ID: ids.New(), Tenant: tenant, Team: "team1", Kind: chat.Standard, Name: "a", CreatedBy: "ada", Created: at}
		chB := chat.Channel{ID: ids.New(), Tenant: tenant, Kind: chat.Chat, Name: "b", CreatedBy: "ada", Created: at}
		chX := chat.Channel{ID: ids.New(), Tenant: other, Kind: chat.Chat, Name: "x", CreatedBy: "eve", Created: at}
		var msgs []chat.Message
		err := cs.UpdateChat(ctx, func(tx chat.Tx) error {
			for _, c := range []chat.Channel{chA, chB, chX} {
				if err := tx.InsertChannel(ctx, c); err != nil {
					return err
				}
				for i := range 3 {
					seq, err := tx.NextSeq(ctx, c.ID)
					if err != nil {
						return err
					}
					author := ids.UserID("max")
					if i == 2 {
						author = "gwen"
					}
					m := chat.Message{ID: ids.New(), Tenant: c.Tenant, Channel: c.ID, Seq: seq, Author: author, Created: at.Add(time.Duration(i) * time.Minute), Version: 1, Body: []byte{1}}
					if err := tx.InsertMessage(ctx, m); err != nil {
						return err
					}
					msgs = append(msgs, m)
				}
			}
			edited := msgs[0]
			edited.Version, edited.Body, edited.Edited = 2, []byte{2}, at.Add(time.Hour)
			return tx.UpdateMessage(ctx, edited, []byte{1}, at.Add(time.Hour))
		})
		if err != nil {
			t.Fatal(err)
		}

		c := discovery.Case{ID: ids.New(), Tenant: tenant, Sealed: []byte("sealed"), State: discovery.Open, CreatedBy: "cora", Created: at, Updated: at}
		sr := discovery.Search{ID: ids.New(), Tenant: tenant, Case: c.ID, Sealed: []byte("q"), Job: ids.New(), CreatedBy: "cora", Created: at, State: discovery.Running}
		hits := []discovery.Hit{{Item: msgs[0].ID, Channel: chA.ID}, {Item: msgs[4].ID, Channel: chB.ID}}
		err = ds.UpdateDiscovery(ctx, func(tx discovery.Tx) error {
			if err := tx.InsertCase(ctx, c); err != nil {
				return err
			}
			for _, m := range []ids.UserID{"cora", "otto"} {
				if err := tx.PutCaseMember(ctx, c.ID, discovery.Member{Account: m, AddedBy: "cora", Added: at}); err != nil {
					return err
				}
			}
			if err := tx.InsertSearch(ctx, sr); err != nil {
				return err
			}
			if err := tx.InsertHits(ctx, sr.ID, hits); err != nil {
				return err
			}
			return tx.InsertHits(ctx, sr.ID, hits[:1]) // again: idempotent
		})
		if err != nil {
			t.Fatal(err)
		}
		got, err := ds.Case(ctx, c.ID)
		if err != nil || string(got.Sealed) != "sealed" || got.State != discovery.Open || got.Tenant != tenant {
			t.Fatalf("case: %+v %v", got, err)
		}
		if list, _ := ds.CasesOf(ctx, tenant, "otto"); len(list) != 1 {
			t.Fatalf("cases of a member: %d", len(list))
		}
		if list, _ := ds.CasesOf(ctx, tenant, "eve"); len(list) != 0 {
			t.Fatalf("cases of a non-member: %d", len(list))
		}
		n, hash, err := ds.HitsHash(ctx, sr.ID)
		want := []string{msgs[0].ID, msgs[4].ID}
		slices.Sort(want)
		h := sha256.Sum256([]byte(want[0] + "\n" + want[1] + "\n"))
		if err != nil || n != 2 || hash != hex.EncodeToString(h[:]) {
			t.Fatalf("hits hash: %d %s %v", n, hash, err)
		}

		err = ds.UpdateDiscovery(ctx, func(tx discovery.Tx) error {
			if _, err := tx.DeleteCaseMember(ctx, c.ID, "otto"); err != nil {
				return err
			}
			if err := tx.UpdateCaseState(ctx, c.ID, discovery.Closed, at.Add(time.Hour)); err != nil {
				return err
			}
			added, err := tx.AddReview(ctx, c.ID, hits[:1], "cora", at)
			if err != nil || added != 1 {
				t.Errorf("add review: %d %v", added, err)
			}
			sr.State, sr.Hits, sr.HitsHash, sr.Scanned = discovery.Done, 2, hash, 6
			return tx.FinishSearch(ctx, sr)
		})
		if err != nil {
			t.Fatal(err)
		}
		if ms, _ := ds.CaseMembers(ctx, c.ID); len(ms) != 1 || ms[0].Account != "cora" {
			t.Fatalf("members: %+v", ms)
		}
		if s2, _ := ds.Search(ctx, sr.ID); s2.State != discovery.Done || s2.Hits != 2 || s2.HitsHash != hash {
			t.Fatalf("search: %+v", s2)
		}
		in, _ := ds.InReview(ctx, c.ID, []string{msgs[0].ID, msgs[4].ID})
		if !in[msgs[0].ID] || in[msgs[4].ID] {
			t.Fatalf("in review: %v", in)
		}

		// Selections.
		count := func(sel discovery.Selection) int {
			t.Helper()
			var out []chat.Message
			after := ""
			for {
				page, err := ds.SelectedMessages(ctx, sel, after, 2)
				if err != nil {
					t.Fatal(err)
				}
				out = append(out, page...)
				if len(page) < 2 {
					break
				}
				after = page[len(page)-1].ID
			}
			for _, m := range out {
				if m.Tenant != sel.Tenant {
					t.Fatalf("a message of another tenant selected")
				}
			}
			n, err := ds.CountSelected(ctx, sel)
			if err != nil || int(n) != len(out) {
				t.Fatalf("count %d, selected %d: %v", n, len(out), err)
			}
			return len(out)
		}
		if n := count(discovery.Selection{Tenant: tenant, Search: sr.ID}); n != 2 {
			t.Fatalf("search selection: %d", n)
		}
		if n := count(discovery.Selection{Tenant: other, Search: sr.ID}); n != 0 {
			t.Fatalf("search selection from another tenant: %d", n)
		}
		if n := count(discovery.Selection{Tenant: tenant, Case: c.ID}); n != 1 {
			t.Fatalf("review selection: %d", n)
		}
		if n := count(discovery.Selection{Tenant: tenant, Author: "max"}); n != 4 {
			t.Fatalf("author selection: %d", n)
		}
		if n := count(discovery.Selection{Tenant: tenant, All: true}); n != 6 {
			t.Fatalf("tenant selection: %d", n)
		}
		if n := count(discovery.Selection{Tenant: tenant}); n != 0 {
			t.Fatalf("empty selection: %d", n)
		}
		vs, err := ds.Versions(ctx, []string{msgs[0].ID, msgs[1].ID})
		if err != nil || len(vs[msgs[0].ID]) != 1 || vs[msgs[0].ID][0].Version != 1 || len(vs[msgs[1].ID]) != 0 {
			t.Fatalf("versions: %+v %v", vs, err)
		}
		if page, _ := ds.ChannelMessages(ctx, chA.ID, 1, 10); len(page) != 2 || page[0].Seq != 2 {
			t.Fatalf("channel messages: %+v", page)
		}
		if n, _ := ds.CountChannelMessages(ctx, []string{chA.ID, chB.ID}); n != 6 {
			t.Fatalf("count channel messages: %d", n)
		}
		if chans, _ := ds.TenantChannels(ctx, tenant); len(chans) != 2 {
			t.Fatalf("tenant channels: %d", len(chans))
		}

		// An export and its parts; a part written again replaces itself.
		e := discovery.Export{ID: ids.New(), Tenant: tenant, Kind: discovery.KindCase, Subject: c.ID, Source: "review", Job: ids.New(), CreatedBy: "cora", Created: at, State: discovery.Running}
		err = ds.UpdateDiscovery(ctx, func(tx discovery.Tx) error {
			if err := tx.InsertExport(ctx, e); err != nil {
				return err
			}
			for _, p := range []discovery.Part{{Kind: "part", N: 1, Bytes: 10, Manifest: []byte("m1"), HashState: []byte("h1")}, {Kind: "part", N: 2, Bytes: 5},
				{Kind: "part", N: 2, Bytes: 20, Manifest: []byte("m2")}, {Kind: "messages", N: 1, Bytes: 7}} {
				if err := tx.PutPart(ctx, e.ID, p); err != nil {
					return err
				}
			}
			e.State, e.Parts, e.Bytes, e.SHA256 = discovery.Done, 2, 30, "abc"
			return tx.FinishExport(ctx, e)
		})
		if err != nil {
			t.Fatal(err)
		}
		parts, _ := ds.Parts(ctx, e.ID, "part")
		if len(parts) != 2 || parts[1].Bytes != 20 || string(parts[1].Manifest) != "m2" || string(parts[0].HashState) != "h1" {
			t.Fatalf("parts: %+v", parts)
		}
		if got, _ := ds.Export(ctx, e.ID); got.State != discovery.Done || got.SHA256 != "abc" || got.Bytes != 30 {
			t.Fatalf("export: %+v", got)
		}
		if list, _ := ds.Exports(ctx, tenant, discovery.KindCase, "", 10); len(list) != 1 {
			t.Fatalf("exports: %d", len(list))
		}
		if list, _ := ds.Exports(ctx, tenant, discovery.KindCase, "other", 10); len(list) != 0 {
			t.Fatalf("exports of another subject: %d", len(list))
		}
	})
}
