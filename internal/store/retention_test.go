package store_test

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/kaigi/kaigi/internal/audit"
	"github.com/kaigi/kaigi/internal/chat"
	"github.com/kaigi/kaigi/internal/clock"
	"github.com/kaigi/kaigi/internal/compliance/retention"
	"github.com/kaigi/kaigi/internal/identity"
	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/jobs"
	"github.com/kaigi/kaigi/internal/meeting"
	"github.com/kaigi/kaigi/internal/moderation"
	"github.com/kaigi/kaigi/internal/principal"
	"github.com/kaigi/kaigi/internal/store"
	"github.com/kaigi/kaigi/internal/store/storetest"
)

var retT0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// retFixture is a tenant with a team channel, a chat, two people, and
// messages with everything a message can have.
type retFixture struct {
	tenant, other ids.TenantID
	alice, bob    ids.UserID
	outsider      ids.UserID
	team, channel string
	chatID        string
	otherTeam     string
	meetingID     string
}

func retAccount(t *testing.T, db *store.DB, tenant ids.TenantID, email string) ids.UserID {
	t.Helper()
	a := identity.Account{ID: ids.UserID(ids.New()), Realm: identity.TenantRealm, Tenant: tenant, Email: email, DisplayName: "Name " + email,
		Kind: principal.Member, State: identity.AccountActive, PasswordHash: "x", Created: retT0, Updated: retT0}
	if err := db.InTx(t.Context(), func(tx *store.Tx) error { return tx.InsertAccount(t.Context(), a) }); err != nil {
		t.Fatal(err)
	}
	return a.ID
}

func newRetFixture(t *testing.T, db *store.DB) *retFixture {
	t.Helper()
	ctx := t.Context()
	f := &retFixture{tenant: ids.TenantID(ids.New()), other: ids.TenantID(ids.New())}
	f.alice = retAccount(t, db, f.tenant, "alice@a.example")
	f.bob = retAccount(t, db, f.tenant, "bob@a.example")
	f.outsider = retAccount(t, db, f.other, "eve@b.example")
	f.team, f.channel, f.chatID, f.otherTeam = ids.New(), ids.New(), ids.New(), ids.New()
	err := db.InTx(ctx, func(tx *store.Tx) error {
		for _, tm := range []chat.Team{{ID: f.team, Tenant: f.tenant, Name: "T"}, {ID: f.otherTeam, Tenant: f.other, Name: "O"}} {
			tm.Created = retT0
			if err := tx.InsertTeam(ctx, tm); err != nil {
				return err
			}
		}
		if err := tx.InsertChannel(ctx, chat.Channel{ID: f.channel, Tenant: f.tenant, Team: f.team, Kind: chat.Standard, Name: "General", Created: retT0}); err != nil {
			return err
		}
		if err := tx.InsertChannel(ctx, chat.Channel{ID: f.chatID, Tenant: f.tenant, Kind: chat.Chat, Name: "", Created: retT0}); err != nil {
			return err
		}
		return tx.PutChannelMember(ctx, f.chatID, f.bob, true, retT0)
	})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// message stores a message with an edit, a reaction, an attachment, a
// notification, a moderation alert and its events; it returns its id and
// attachment id.
func (f *retFixture) message(t *testing.T, db *store.DB, tenant ids.TenantID, channel string, author ids.UserID, at time.Time) (string, string) {
	t.Helper()
	ctx := t.Context()
	m := chat.Message{ID: ids.New(), Tenant: tenant, Channel: channel, Author: author, Created: at, Version: 1, Body: []byte("sealed-v1-" + ids.New())}
	file := ids.New()
	err := db.InTx(ctx, func(tx *store.Tx) error {
		ev := func(kind string, legacy bool) error {
			seq, err := tx.NextSeq(ctx, channel)
			if err != nil {
				return err
			}
			if kind == chat.EventMessage {
				m.Seq = seq
			}
			e := chat.Event{Channel: channel, Seq: seq, Tenant: tenant, Kind: kind, At: at, Payload: []byte("sealed-event"), Message: m.ID}
			if legacy {
				e.Message = ""
			}
			return tx.InsertEvent(ctx, e)
		}
		if err := ev(chat.EventMessage, true); err != nil { // as written before events named their message
			return err
		}
		if err := tx.InsertMessage(ctx, m); err != nil {
			return err
		}
		prev := m.Body
		m.Version, m.Body, m.Edited = 2, []byte("sealed-v2"), at
		if err := tx.UpdateMessage(ctx, m, prev, at); err != nil {
			return err
		}
		if err := ev(chat.EventEdit, false); err != nil {
			return err
		}
		if err := tx.SetReaction(ctx, m.ID, author, "👍", true, at); err != nil {
			return err
		}
		if err := ev(chat.EventReaction, false); err != nil {
			return err
		}
		if err := tx.InsertFile(ctx, chat.File{ID: file, Tenant: tenant, Channel: channel, Message: m.ID, Uploader: author, SealedName: []byte("sealed-name"), Size: 1, ContentType: "text/plain", SHA256: "00"}); err != nil {
			return err
		}
		if err := tx.InsertNotification(ctx, chat.Notification{ID: ids.New(), Tenant: tenant, Account: author, Kind: "mention", Channel: channel, Message: m.ID, Actor: author, Created: at}); err != nil {
			return err
		}
		return tx.InsertAlert(ctx, moderation.Alert{ID: ids.New(), Tenant: tenant, Kind: moderation.KindReport, Status: moderation.StatusPending, Channel: channel, Message: m.ID,
			Sender: author, Sealed: []byte("sealed-alert"), Created: at, Updated: at})
	})
	if err != nil {
		t.Fatal(err)
	}
	return m.ID, file
}

func (f *retFixture) recording(t *testing.T, db *store.DB, by ids.UserID, at time.Time) string {
	t.Helper()
	ctx := t.Context()
	if f.meetingID == "" {
		f.meetingID = ids.New()
		m := meeting.Meeting{ID: f.meetingID, Tenant: f.tenant, Title: "M", Organizer: by, Start: at, End: at.Add(time.Hour), Channel: f.channel, Created: at,
			CodeHash: []byte(ids.New()), CodeSealed: []byte("c")}
		if err := store.Meetings(db).UpdateMeetings(ctx, func(tx meeting.Tx) error { return tx.InsertMeeting(ctx, m) }); err != nil {
			t.Fatal(err)
		}
	}
	r := meeting.Recording{ID: ids.New(), Tenant: f.tenant, Meeting: f.meetingID, Name: "Name alice@a.example", Kind: "camera+microphone", Bytes: 10,
		Started: at, Created: at, BlobKey: "recordings/" + ids.New(), StartedBy: by}
	if err := db.InTx(ctx, func(tx *store.Tx) error { return tx.InsertRecording(ctx, r) }); err != nil {
		t.Fatal(err)
	}
	return r.ID
}

func retCount(t *testing.T, db *store.DB, q string, args ...any) int {
	t.Helper()
	var n int
	if err := db.QueryRow(t.Context(), q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

func TestRetentionPoliciesAndHolds(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		rs := store.Retention(db)
		f := newRetFixture(t, db)
		pol := retention.Policy{ID: ids.New(), Tenant: f.tenant, Name: "Keep 7y", Kind: retention.RetainThenDelete, Days: 2555,
			Scope: retention.Scope{Teams: []string{f.team}, Users: []ids.UserID{f.alice}}, CreatedBy: f.alice, Created: retT0}
		update := func(fn func(tx retention.Tx) error) error { return rs.UpdateRetention(ctx, fn) }
		if err := update(func(tx retention.Tx) error { return tx.InsertRetentionPolicy(ctx, pol) }); err != nil {
			t.Fatal(err)
		}
		got, err := rs.RetentionPolicies(ctx, f.tenant)
		if err != nil || len(got) != 1 || got[0].Name != pol.Name || got[0].Days != 2555 || !slices.Equal(got[0].Scope.Teams, pol.Scope.Teams) || !got[0].Created.Equal(retT0) {
			t.Fatalf("policies: %+v %v", got, err)
		}
		if other, _ := rs.RetentionPolicies(ctx, f.other); len(other) != 0 {
			t.Fatalf("another tenant sees %d policies", len(other))
		}
		// Another tenant cannot delete it.
		var ok bool
		update(func(tx retention.Tx) error { ok, err = tx.DeleteRetentionPolicy(ctx, f.other, pol.ID); return err })
		if ok || err != nil {
			t.Fatalf("deleted across tenants: %v %v", ok, err)
		}
		update(func(tx retention.Tx) error { ok, err = tx.DeleteRetentionPolicy(ctx, f.tenant, pol.ID); return err })
		if !ok || err != nil {
			t.Fatalf("delete: %v %v", ok, err)
		}

		version := func() string {
			var v string
			if err := update(func(tx retention.Tx) error {
				if err := tx.LockLegalHolds(ctx, f.tenant); err != nil {
					return err
				}
				v, err = tx.LegalHoldsVersion(ctx, f.tenant)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			return v
		}
		v0 := version()
		h := retention.Hold{ID: ids.New(), Tenant: f.tenant, Name: "Case 1", Custodians: []ids.UserID{f.bob}, Locations: []string{f.chatID},
			Query: retention.Query{Senders: []ids.UserID{f.bob}, From: retT0, To: retT0.Add(time.Hour)}, SealedQuery: []byte("sealed-keywords"), Keywords: 2,
			CreatedBy: f.alice, Created: retT0.Add(time.Second)}
		if err := update(func(tx retention.Tx) error { return tx.InsertLegalHold(ctx, h) }); err != nil {
			t.Fatal(err)
		}
		v1 := version()
		if v1 == v0 {
			t.Fatal("creating a hold did not change the holds' version")
		}
		hs, err := rs.LegalHolds(ctx, f.tenant, false)
		if err != nil || len(hs) != 1 {
			t.Fatalf("holds: %+v %v", hs, err)
		}
		g := hs[0]
		if g.Name != h.Name || !slices.Equal(g.Custodians, h.Custodians) || !slices.Equal(g.Locations, h.Locations) || !slices.Equal(g.Query.Senders, h.Query.Senders) ||
			!g.Query.From.Equal(retT0) || !g.Query.To.Equal(h.Query.To) || string(g.SealedQuery) != "sealed-keywords" || g.Keywords != 2 || !g.Active() {
			t.Fatalf("hold read back: %+v", g)
		}
		if _, err := rs.LegalHold(ctx, f.other, h.ID); err == nil {
			t.Fatal("another tenant reads the hold")
		}
		update(func(tx retention.Tx) error {
			ok, err = tx.ReleaseLegalHold(ctx, f.other, h.ID, f.outsider, retT0)
			return err
		})
		if ok {
			t.Fatal("another tenant released the hold")
		}
		update(func(tx retention.Tx) error {
			ok, err = tx.ReleaseLegalHold(ctx, f.tenant, h.ID, f.alice, retT0.Add(time.Minute))
			return err
		})
		if !ok || err != nil {
			t.Fatalf("release: %v %v", ok, err)
		}
		if version() == v1 {
			t.Fatal("releasing a hold did not change the holds' version")
		}
		if active, _ := rs.LegalHolds(ctx, f.tenant, false); len(active) != 0 {
			t.Fatalf("a released hold is active: %+v", active)
		}
		all, _ := rs.LegalHolds(ctx, f.tenant, true)
		if len(all) != 1 || all[0].Active() || all[0].ReleasedBy != f.alice {
			t.Fatalf("released hold: %+v", all)
		}
	})
}

func TestRetentionScopeIDsMustBeTheTenants(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		rs := store.Retention(db)
		f := newRetFixture(t, db)
		for _, tc := range []struct {
			name, kind string
			in, want   []string
		}{
			{"teams", "team", []string{f.team, f.otherTeam, f.channel}, []string{f.otherTeam, f.channel}},
			{"chats", "chat", []string{f.chatID, f.channel, "nope"}, []string{f.channel, "nope"}},
			{"places", "place", []string{f.team, f.channel, f.chatID, f.otherTeam}, []string{f.otherTeam}},
			{"accounts", "account", []string{string(f.alice), string(f.outsider)}, []string{string(f.outsider)}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				got, err := rs.Missing(ctx, f.tenant, tc.kind, tc.in)
				if err != nil || !slices.Equal(got, tc.want) {
					t.Fatalf("missing %v, %v; want %v", got, err, tc.want)
				}
			})
		}
		chats, err := rs.ChatsOf(ctx, f.tenant, []ids.UserID{f.bob})
		if err != nil || !slices.Equal(chats, []string{f.chatID}) {
			t.Fatalf("bob's chats: %v %v", chats, err)
		}
		roles, found, err := rs.AccountRoles(ctx, f.tenant, f.outsider)
		if found || err != nil || roles != nil {
			t.Fatalf("another tenant's account found: %v %v", found, err)
		}
	})
}

func TestRetentionCandidatesAndBatchPurge(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		rs := store.Retention(db)
		f := newRetFixture(t, db)
		var msgs, files []string
		for i := range 5 {
			author := f.alice
			if i%2 == 1 {
				author = f.bob
			}
			m, file := f.message(t, db, f.tenant, f.channel, author, retT0.Add(time.Duration(i)*time.Hour))
			msgs, files = append(msgs, m), append(files, file)
		}
		inChat, _ := f.message(t, db, f.tenant, f.chatID, f.bob, retT0)
		rec := f.recording(t, db, f.alice, retT0)
		// Candidates: by id, in pages, with their places.
		var seen []retention.Item
		after := ""
		for {
			page, err := rs.Items(ctx, f.tenant, retention.KindMessage, after, "", 2)
			if err != nil {
				t.Fatal(err)
			}
			if len(page) == 0 {
				break
			}
			seen = append(seen, page...)
			after = page[len(page)-1].ID
		}
		if len(seen) != 6 {
			t.Fatalf("paged through %d messages, want 6", len(seen))
		}
		for _, it := range seen {
			if it.ID == inChat {
				if !slices.Equal(it.Places, []string{f.chatID}) || it.Author != f.bob {
					t.Fatalf("chat message item: %+v", it)
				}
			} else if !slices.Equal(it.Places, []string{f.channel, f.team}) {
				t.Fatalf("channel message item: %+v", it)
			}
		}
		bobs, _ := rs.Items(ctx, f.tenant, retention.KindMessage, "", f.bob, 100)
		if len(bobs) != 3 {
			t.Fatalf("bob's messages: %d", len(bobs))
		}
		recs, _ := rs.Items(ctx, f.tenant, retention.KindRecording, "", "", 100)
		if len(recs) != 1 || recs[0].ID != rec || recs[0].Author != f.alice || !slices.Contains(recs[0].Places, f.team) {
			t.Fatalf("recordings: %+v", recs)
		}
		if n, _ := rs.CountItems(ctx, f.tenant, ""); n != 7 {
			t.Fatalf("count %d, want 7", n)
		}
		if it, err := rs.FindItem(ctx, f.tenant, rec); err != nil || it.Kind != retention.KindRecording {
			t.Fatalf("find recording: %+v %v", it, err)
		}
		if _, err := rs.FindItem(ctx, f.other, msgs[0]); err == nil {
			t.Fatal("another tenant finds the message")
		}
		bodies, err := rs.MessageBodies(ctx, msgs[0])
		if err != nil || len(bodies) != 2 {
			t.Fatalf("bodies: %v %v", bodies, err)
		}

		// Events written before events named their message: found, then linked.
		unlinked, err := rs.UnlinkedEvents(ctx, f.tenant, 100)
		if err != nil || len(unlinked) != 6 {
			t.Fatalf("unlinked events: %d %v", len(unlinked), err)
		}
		var links []retention.EventLink
		for _, e := range unlinked {
			var m string
			if err := db.QueryRow(ctx, `SELECT id FROM messages WHERE channel_id = ? AND seq = ?`, e.Channel, e.Seq).Scan(&m); err != nil {
				t.Fatal(err)
			}
			links = append(links, retention.EventLink{Channel: e.Channel, Seq: e.Seq, Message: m})
		}
		if err := rs.LinkEvents(ctx, links[:5]); err != nil {
			t.Fatal(err)
		}
		if rest, _ := rs.UnlinkedEvents(ctx, f.tenant, 100); len(rest) != 1 || rest[0].Channel != unlinked[5].Channel || rest[0].Seq != unlinked[5].Seq {
			t.Fatalf("after linking: %+v", rest)
		}
		if err := rs.LinkEvents(ctx, links[5:]); err != nil {
			t.Fatal(err)
		}
		// An event whose payload did not open names no message ("-"): the
		// purge still finds it by its message's sequence number.
		res, err := db.Exec(ctx, `UPDATE channel_events SET message_id = '-' WHERE message_id = ? AND seq = (SELECT seq FROM messages WHERE id = ?)`, msgs[0], msgs[0])
		if err != nil {
			t.Fatal(err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			t.Fatalf("unlinked %d events that created a message, want 1", n)
		}

		// Another tenant's message in the same list is left alone.
		foreignCh := ids.New()
		db.InTx(ctx, func(tx *store.Tx) error {
			return tx.InsertChannel(ctx, chat.Channel{ID: foreignCh, Tenant: f.other, Team: f.otherTeam, Kind: chat.Standard, Name: "x", Created: retT0})
		})
		foreign, _ := f.message(t, db, f.other, foreignCh, f.outsider, retT0)

		purge := append([]string{foreign}, msgs[:3]...)
		var counts retention.Counts
		var keys []string
		err = rs.UpdateRetention(ctx, func(tx retention.Tx) error {
			var err error
			counts, keys, err = tx.PurgeMessages(ctx, f.tenant, purge, retT0)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		want := retention.Counts{Messages: 3, Versions: 3, Reactions: 3, Attachments: 3, Events: 9, Notifications: 3, Alerts: 3}
		if counts != want {
			t.Fatalf("counts %+v, want %+v", counts, want)
		}
		wantKeys := []string{"files/" + files[0], "files/" + files[1], "files/" + files[2]}
		slices.Sort(keys)
		slices.Sort(wantKeys)
		if !slices.Equal(keys, wantKeys) {
			t.Fatalf("blob keys %v, want %v", keys, wantKeys)
		}
		pending, _ := rs.PendingBlobs(ctx, f.tenant, 100)
		if !slices.Equal(pending, wantKeys) {
			t.Fatalf("pending %v, want %v", pending, wantKeys)
		}
		gone := "('" + msgs[0] + "', '" + msgs[1] + "', '" + msgs[2] + "')"
		for _, q := range []string{
			`SELECT COUNT(*) FROM messages WHERE id IN ` + gone,
			`SELECT COUNT(*) FROM message_versions WHERE message_id IN ` + gone,
			`SELECT COUNT(*) FROM reactions WHERE message_id IN ` + gone,
			`SELECT COUNT(*) FROM attachments WHERE message_id IN ` + gone,
			`SELECT COUNT(*) FROM channel_events WHERE message_id IN ` + gone,
			`SELECT COUNT(*) FROM notifications WHERE message_id IN ` + gone,
			`SELECT COUNT(*) FROM moderation_alerts WHERE sealed IS NOT NULL AND message_id IN ` + gone,
		} {
			if n := retCount(t, db, q); n != 0 {
				t.Errorf("%s: %d left", q, n)
			}
		}
		// What was not purged is whole: 2 + 1 messages of the tenant and the foreign one.
		if n := retCount(t, db, `SELECT COUNT(*) FROM messages`); n != 4 {
			t.Fatalf("%d messages left, want 4", n)
		}
		if n := retCount(t, db, `SELECT COUNT(*) FROM channel_events`); n != 4*3 {
			t.Fatalf("%d events left, want 12", n)
		}
		if n := retCount(t, db, `SELECT COUNT(*) FROM moderation_alerts WHERE sealed IS NOT NULL`); n != 4 {
			t.Fatalf("%d sealed alerts left, want 4", n)
		}
		if err := rs.DropPendingBlobs(ctx, f.tenant, keys); err != nil {
			t.Fatal(err)
		}
		if pending, _ := rs.PendingBlobs(ctx, f.tenant, 100); len(pending) != 0 {
			t.Fatalf("pending after drop: %v", pending)
		}

		// Recordings: another tenant's id purges nothing; the tenant's goes with its blob key.
		err = rs.UpdateRetention(ctx, func(tx retention.Tx) error {
			c, k, err := tx.PurgeRecordings(ctx, f.other, []string{rec}, retT0)
			if err == nil && (c.Recordings != 0 || len(k) != 0) {
				err = errors.New("purged another tenant's recording")
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		err = rs.UpdateRetention(ctx, func(tx retention.Tx) error {
			c, k, err := tx.PurgeRecordings(ctx, f.tenant, []string{rec}, retT0)
			if err == nil && (c.Recordings != 1 || len(k) != 1 || k[0][:11] != "recordings/") {
				err = fmt.Errorf("purge recording: %+v %v", c, k)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if n := retCount(t, db, `SELECT COUNT(*) FROM meeting_recordings`); n != 0 {
			t.Fatalf("%d recordings left", n)
		}
		if err := rs.Compact(ctx); err != nil {
			t.Fatalf("compact: %v", err)
		}
	})
}

func TestRetentionEraseAccount(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		rs := store.Retention(db)
		f := newRetFixture(t, db)
		f.recording(t, db, f.alice, retT0)
		err := db.InTx(ctx, func(tx *store.Tx) error {
			if err := tx.InsertSession(ctx, identity.Session{ID: ids.New(), TokenHash: ids.New(), Account: f.alice, Tenant: f.tenant, State: "active", Created: retT0, LastSeen: retT0, Expires: retT0.Add(time.Hour)}); err != nil {
				return err
			}
			return tx.InsertFactor(ctx, identity.Factor{ID: ids.New(), Account: f.alice, Kind: identity.FactorTOTP, Name: "phone", Secret: []byte("s"), Created: retT0})
		})
		if err != nil {
			t.Fatal(err)
		}
		var erased retention.Erased
		pseudonym := retention.Pseudonym(f.tenant, f.alice)
		err = rs.UpdateRetention(ctx, func(tx retention.Tx) error {
			var err error
			erased, err = tx.EraseAccount(ctx, f.tenant, f.alice, pseudonym, "erased@erased.invalid", retT0)
			return err
		})
		if err != nil || erased.Sessions != 1 || erased.Factors != 1 {
			t.Fatalf("erase: %+v %v", erased, err)
		}
		a, err := db.AccountByID(ctx, f.alice)
		if err != nil || a.DisplayName != pseudonym || a.Email != "erased@erased.invalid" || a.State != identity.AccountDeactivated || a.PasswordHash != "" {
			t.Fatalf("erased account: %+v %v", a, err)
		}
		if n := retCount(t, db, `SELECT COUNT(*) FROM meeting_recordings WHERE name = ?`, pseudonym); n != 1 {
			t.Fatalf("the recording still shows the old name")
		}
		if n := retCount(t, db, `SELECT COUNT(*) FROM sessions WHERE account_id = ?`, string(f.alice)); n != 0 {
			t.Fatal("sessions left")
		}
		// Another tenant's admin cannot erase alice.
		err = rs.UpdateRetention(ctx, func(tx retention.Tx) error {
			_, err := tx.EraseAccount(ctx, f.other, f.bob, "x", "y@erased.invalid", retT0)
			return err
		})
		if err == nil {
			t.Fatal("erased an account of another tenant")
		}
		if b, _ := db.AccountByID(ctx, f.bob); b.DisplayName == "x" {
			t.Fatal("bob was renamed from another tenant")
		}
	})
}

// TestRetentionScheduleRunsEachTenantDaily: the scheduler enqueues one
// deletion job per tenant, none while one is unfinished or the last is
// younger than the interval, and another once a day has passed.
func TestRetentionScheduleRunsEachTenantDaily(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		clk := clock.NewFake(retT0)
		runner := jobs.NewRunner(store.Jobs(db), jobs.Options{Clock: clk})
		svc := retention.New(retention.Options{Store: store.Retention(db), Accounts: store.Retention(db), Audit: audit.New(clk), Clock: clk,
			Jobs: runner, JobStore: store.Jobs(db), Every: 24 * time.Hour})
		tenant := ids.NewTenant()
		if err := db.InTx(ctx, func(tx *store.Tx) error {
			return tx.InsertTenant(ctx, identity.Tenant{ID: tenant, Slug: "acme-" + string(tenant)[:8], Name: "Acme", State: "active", Created: retT0})
		}); err != nil {
			t.Fatal(err)
		}
		count := func() []jobs.Job {
			js, err := store.Jobs(db).Jobs(ctx, tenant, retention.JobDelete, 10)
			if err != nil {
				t.Fatal(err)
			}
			return js
		}
		schedule := func() {
			if err := svc.Schedule(ctx); err != nil {
				t.Fatal(err)
			}
		}
		schedule()
		if n := len(count()); n != 1 {
			t.Fatalf("%d jobs after the first schedule, want 1", n)
		}
		clk.Advance(48 * time.Hour)
		schedule()
		if n := len(count()); n != 1 {
			t.Fatalf("%d jobs while one is queued, want 1", n)
		}
		j := count()[0]
		if ok, err := store.Jobs(db).CancelJob(ctx, j.ID, clk.Now()); !ok || err != nil {
			t.Fatalf("finish the job: %v %v", ok, err)
		}
		schedule()
		if n := len(count()); n != 2 {
			t.Fatalf("%d jobs a day after the last, want 2", n)
		}
		clk.Advance(time.Hour)
		js := count()
		store.Jobs(db).CancelJob(ctx, js[0].ID, clk.Now())
		schedule()
		if n := len(count()); n != 2 {
			t.Fatalf("%d jobs an hour after the last, want 2", n)
		}
	})
}
