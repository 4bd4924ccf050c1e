package store_test

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/meeting"
	"github.com/kaigi/kaigi/internal/store"
	"github.com/kaigi/kaigi/internal/store/storetest"
)

// TestMeetingsRoundTrip stores a meeting with invitees, finds it by id, by
// code hash and by organiser or invitee, updates it, and refuses a second
// meeting with the same code.
func TestMeetingsRoundTrip(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		ms := store.Meetings(db)
		tenant := ids.NewTenant()
		start := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
		m := meeting.Meeting{ID: ids.New(), Tenant: tenant, Title: "Plan", Organizer: "ada", Start: start, End: start.Add(time.Hour),
			Invitees: []meeting.Invitee{{Account: "ivan", Role: meeting.Attendee}, {Email: "x@example.com", Role: meeting.Presenter}},
			Options:  meeting.Options{LobbyBypass: "invited", Admitters: "organizers"}, Created: start.Add(-time.Hour),
			CodeHash: bytes.Repeat([]byte{1}, 32), CodeSealed: []byte("sealed")}
		if err := ms.UpdateMeetings(ctx, func(tx meeting.Tx) error { return tx.InsertMeeting(ctx, m) }); err != nil {
			t.Fatal(err)
		}
		got, err := ms.Meeting(ctx, m.ID)
		if err != nil || got.Title != "Plan" || len(got.Invitees) != 2 || got.Options.LobbyBypass != "invited" || !got.Start.Equal(start) || !got.Ended.IsZero() {
			t.Fatalf("by id: %+v %v", got, err)
		}
		if got, err := ms.MeetingByCode(ctx, m.CodeHash); err != nil || got.ID != m.ID {
			t.Fatalf("by code: %v", err)
		}
		if _, err := ms.MeetingByCode(ctx, bytes.Repeat([]byte{2}, 32)); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("unknown code: %v", err)
		}
		for _, who := range []ids.UserID{"ada", "ivan"} {
			if list, err := ms.MeetingsOf(ctx, tenant, who, start, 10); err != nil || len(list) != 1 || len(list[0].Invitees) != 2 {
				t.Fatalf("meetings of %s: %+v %v", who, list, err)
			}
		}
		if list, _ := ms.MeetingsOf(ctx, tenant, "max", start, 10); len(list) != 0 {
			t.Fatalf("someone not invited sees %d meetings", len(list))
		}
		if list, _ := ms.MeetingsOf(ctx, tenant, "ada", start.Add(2*time.Hour), 10); len(list) != 0 {
			t.Fatal("a meeting that ended before since is listed")
		}
		m.Invitees, m.Ended, m.Options.LobbyBypass = m.Invitees[:1], start.Add(30*time.Minute), "organizer"
		if err := ms.UpdateMeetings(ctx, func(tx meeting.Tx) error { return tx.UpdateMeeting(ctx, m) }); err != nil {
			t.Fatal(err)
		}
		if got, _ := ms.Meeting(ctx, m.ID); len(got.Invitees) != 1 || got.Options.LobbyBypass != "organizer" || !got.Ended.Equal(m.Ended) {
			t.Fatalf("after update: %+v", got)
		}
		dup := m
		dup.ID = ids.New()
		if err := ms.UpdateMeetings(ctx, func(tx meeting.Tx) error { return tx.InsertMeeting(ctx, dup) }); err == nil {
			t.Fatal("two meetings with one code")
		}
	})
}
