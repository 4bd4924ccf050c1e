package app_test

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kaigi/kaigi/internal/chat"
	"github.com/kaigi/kaigi/internal/httpapi"
	"github.com/kaigi/kaigi/internal/identity"
	"github.com/kaigi/kaigi/internal/ids"
)

// chatWorld is a tenant with a team holding the admin, a member and a guest,
// and a second team the guest is not in.
type chatWorld struct {
	*world
	member, guest       *client
	memberID, guestID   ids.UserID
	team, other         chat.Team
	general, otherChans chat.Channel
}

func startChatWorld(t *testing.T) *chatWorld {
	t.Helper()
	w := &chatWorld{world: startWorld(t)}
	w.member = inviteAndSignIn(t, w.world, "max@acme.example")
	w.memberID = mustAccount(t, w.world, "max@acme.example")
	w.guest, w.guestID = inviteGuest(t, w.world, "gwen@partner.example")
	mk := func(name string) (chat.Team, chat.Channel) {
		var team chat.Team
		r := w.admin.do("POST", "/api/v1/teams", map[string]string{"name": name})
		if r.status != 201 {
			t.Fatalf("create team: %d %s", r.status, r.body)
		}
		r.json(t, &team)
		var chans []chat.Channel
		w.admin.do("GET", "/api/v1/channels", nil).json(t, &chans)
		for _, c := range chans {
			if c.Team == team.ID {
				return team, c
			}
		}
		t.Fatalf("team %s has no General channel", name)
		return team, chat.Channel{}
	}
	w.team, w.general = mk("Project Falcon")
	w.other, w.otherChans = mk("Board")
	for _, m := range []struct {
		id   ids.UserID
		role string
	}{{w.memberID, "member"}, {w.guestID, "member"}} {
		if r := w.admin.do("PUT", "/api/v1/teams/"+w.team.ID+"/members/"+string(m.id), map[string]string{"role": m.role}); r.status != 204 {
			t.Fatalf("add to team: %d %s", r.status, r.body)
		}
	}
	return w
}

// inviteGuest invites a guest, who accepts and signs in (MFA is not asked of
// guests by default).
func inviteGuest(t *testing.T, w *world, email string) (*client, ids.UserID) {
	t.Helper()
	var inv struct {
		Link string `json:"link"`
	}
	r := w.admin.do("POST", "/api/v1/admin/invitations", map[string]string{"email": email, "kind": "guest"})
	if r.status != 201 {
		t.Fatalf("invite guest: %d %s", r.status, r.body)
	}
	r.json(t, &inv)
	g := newClient(t, w.s.URL)
	if r := g.do("POST", "/api/v1/invitations/accept", map[string]string{"token": fragmentParam(t, inv.Link, "token"), "display_name": "Gwen Guest", "password": goodPassword}); r.status != 201 {
		t.Fatalf("guest accepts: %d %s", r.status, r.body)
	}
	if r := g.do("POST", "/api/v1/auth/signin", map[string]string{"organisation": w.tenant.Slug, "email": email, "password": goodPassword}); r.status != 200 {
		t.Fatalf("guest signs in: %d %s", r.status, r.body)
	}
	a, err := w.s.DB.AccountByEmail(t.Context(), "tenant", w.tenant.ID, email)
	if err != nil {
		t.Fatal(err)
	}
	return g, a.ID
}

func send(t *testing.T, c *client, channel, body, thread string) chat.View {
	t.Helper()
	var v chat.View
	r := c.do("POST", "/api/v1/channels/"+channel+"/messages", map[string]string{"body": body, "thread": thread})
	if r.status != 201 {
		t.Fatalf("send: %d %s", r.status, r.body)
	}
	r.json(t, &v)
	return v
}

func TestMessagesThreadsEditsReactionsAndCatchUp(t *testing.T) {
	w := startChatWorld(t)
	ch := w.general.ID
	first := send(t, w.member, ch, "Hello <@"+string(w.guestID)+">, the **plan** is in `docs/`.", "")
	if first.Seq != 1 || len(first.Mentions) != 1 || first.Mentions[0] != w.guestID {
		t.Fatalf("first message: %+v", first)
	}
	reply := send(t, w.guest, ch, "Thanks!", first.ID)
	if reply.Thread != first.ID || reply.Seq != 2 {
		t.Fatalf("reply: %+v", reply)
	}
	var views []chat.View
	w.admin.do("GET", "/api/v1/channels/"+ch+"/messages", nil).json(t, &views)
	if len(views) != 2 || views[0].ID != reply.ID || views[1].Body != first.Body {
		t.Fatalf("history: %+v", views)
	}

	// Edits: only the author; the event log records the change.
	if r := w.guest.do("PATCH", "/api/v1/messages/"+first.ID, map[string]string{"body": "hijacked"}); r.status != 403 {
		t.Fatalf("editing someone else's message: %d", r.status)
	}
	if r := w.member.do("PATCH", "/api/v1/messages/"+first.ID, map[string]string{"body": "Hello again"}); r.status != 200 {
		t.Fatalf("edit: %d %s", r.status, r.body)
	}
	var reacted chat.View
	if r := w.guest.do("PUT", "/api/v1/messages/"+first.ID+"/reactions/"+url.PathEscape("👍"), nil); r.status != 200 {
		t.Fatalf("react: %d %s", r.status, r.body)
	} else {
		r.json(t, &reacted)
	}
	if len(reacted.Reactions["👍"]) != 1 || reacted.Reactions["👍"][0] != w.guestID {
		t.Fatalf("the answer to a reaction must include it: %+v", reacted.Reactions)
	}
	if r := w.member.do("DELETE", "/api/v1/messages/"+reply.ID, nil); r.status != 403 {
		t.Fatalf("deleting someone else's message: %d", r.status)
	}
	if r := w.guest.do("DELETE", "/api/v1/messages/"+reply.ID, nil); r.status != 204 {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	w.admin.do("GET", "/api/v1/channels/"+ch+"/messages", nil).json(t, &views)
	if !views[0].Deleted || views[0].Body != "" || views[1].Body != "Hello again" || views[1].Edited.IsZero() || len(views[1].Reactions["👍"]) != 1 {
		t.Fatalf("after edit, reaction, delete: %+v", views)
	}

	// Catching up: every event after a position, in order, exactly once.
	var evs struct {
		Events []chat.Payload `json:"events"`
	}
	w.member.do("GET", "/api/v1/channels/"+ch+"/events?after=1", nil).json(t, &evs)
	kinds := []string{}
	for i, e := range evs.Events {
		if e.Seq != int64(i+2) {
			t.Fatalf("event %d has seq %d", i, e.Seq)
		}
		kinds = append(kinds, e.Kind)
	}
	if strings.Join(kinds, ",") != "message,message.edit,message.react,message.delete" {
		t.Fatalf("events after 1: %v", kinds)
	}

	// Read positions and unread counts.
	if r := w.admin.do("POST", "/api/v1/channels/"+ch+"/read", map[string]int{"seq": 3}); r.status != 204 {
		t.Fatalf("mark read: %d %s", r.status, r.body)
	}
	var chans []chat.Channel
	w.admin.do("GET", "/api/v1/channels", nil).json(t, &chans)
	for _, c := range chans {
		if c.ID == ch && (c.ReadSeq != 3 || c.LastSeq != 5) {
			t.Fatalf("read position: %+v", c)
		}
	}
	if r := w.admin.do("POST", "/api/v1/channels/"+ch+"/read", map[string]int{"seq": 99}); r.status != 400 {
		t.Fatalf("a read position beyond the channel: %d", r.status)
	}
}

func TestGuestSeesOnlyTheirTeam(t *testing.T) {
	w := startChatWorld(t)
	secret := send(t, w.admin, w.otherChans.ID, "Board minutes", "")
	var chans []chat.Channel
	w.guest.do("GET", "/api/v1/channels", nil).json(t, &chans)
	for _, c := range chans {
		if c.Team != w.team.ID {
			t.Fatalf("the guest sees channel %q of another team", c.Name)
		}
	}
	var teams []chat.Team
	w.guest.do("GET", "/api/v1/teams", nil).json(t, &teams)
	if len(teams) != 1 || teams[0].ID != w.team.ID {
		t.Fatalf("the guest's teams: %+v", teams)
	}
	for _, req := range []struct {
		method, path string
		body         any
	}{
		{"GET", "/api/v1/channels/" + w.otherChans.ID + "/messages", nil},
		{"GET", "/api/v1/channels/" + w.otherChans.ID + "/events", nil},
		{"POST", "/api/v1/channels/" + w.otherChans.ID + "/messages", map[string]string{"body": "x"}},
		{"GET", "/api/v1/teams/" + w.other.ID + "/members", nil},
		{"PATCH", "/api/v1/messages/" + secret.ID, map[string]string{"body": "x"}},
		{"PUT", "/api/v1/messages/" + secret.ID + "/reactions/" + url.PathEscape("👍"), nil},
		{"POST", "/api/v1/teams/" + w.other.ID + "/channels", map[string]string{"name": "x", "kind": "standard"}},
		{"POST", "/api/v1/teams", map[string]string{"name": "x"}},
		{"GET", "/api/v1/admin/accounts", nil},
		{"GET", "/api/v1/channels/" + ids.New() + "/messages", nil}, // does not exist: the same answer
	} {
		r := w.guest.do(req.method, req.path, req.body)
		if r.status != 403 {
			t.Errorf("guest %s %s: %d %s, want 403", req.method, req.path, r.status, r.body)
		}
	}
	// Guests cannot start chats with people outside their teams.
	inviteAndSignIn(t, w.world, "bo@acme.example")
	if r := w.guest.do("POST", "/api/v1/chats", map[string]any{"with": []ids.UserID{mustAccount(t, w.world, "bo@acme.example")}}); r.status != 403 {
		t.Fatalf("guest chat with an outsider: %d %s", r.status, r.body)
	}
	if r := w.guest.do("POST", "/api/v1/chats", map[string]any{"with": []ids.UserID{w.memberID}}); r.status != 200 {
		t.Fatalf("guest chat with a teammate: %d %s", r.status, r.body)
	}
	// Removing the guest from the team ends their access at once.
	if r := w.admin.do("DELETE", "/api/v1/teams/"+w.team.ID+"/members/"+string(w.guestID), nil); r.status != 204 {
		t.Fatalf("remove guest: %d %s", r.status, r.body)
	}
	if r := w.guest.do("GET", "/api/v1/channels/"+w.general.ID+"/messages", nil); r.status != 403 {
		t.Fatalf("the removed guest still reads: %d", r.status)
	}
}

func TestBadMessagesAreRefusedAndNothingIsHarmed(t *testing.T) {
	w := startChatWorld(t)
	ch := w.general.ID
	kept := send(t, w.member, ch, "before", "")
	tests := []struct {
		name, body string
		status     int
	}{
		{"empty", "   \n ", 400},
		{"too long", strings.Repeat("a", chat.MaxMessageBytes+1), 413},
		{"bidi override", "filename\u202Etxt.exe", 400},
		{"isolate", "a\u2066b", 400},
		{"control character", "bell\x07", 400},
		{"NUL", "a\x00b", 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := w.member.do("POST", "/api/v1/channels/"+ch+"/messages", map[string]string{"body": tt.body})
			if r.status != tt.status || !strings.Contains(r.errorCode(), "") {
				t.Fatalf("%d %s, want %d", r.status, r.body, tt.status)
			}
		})
	}
	// Script and markup are stored and returned as text, never interpreted here.
	hostile := `<script>alert(1)</script><img src=x onerror=alert(2)> [x](javascript:alert(3))`
	v := send(t, w.member, ch, hostile, "")
	var views []chat.View
	w.admin.do("GET", "/api/v1/channels/"+ch+"/messages", nil).json(t, &views)
	if len(views) != 2 || views[0].Body != hostile || views[1].ID != kept.ID || views[1].Body != "before" || v.Seq != 2 {
		t.Fatalf("after the refusals: %+v", views)
	}
	// Archived channels are read-only.
	if r := w.admin.do("POST", "/api/v1/channels/"+ch+"/archive", nil); r.status != 204 {
		t.Fatalf("archive: %d %s", r.status, r.body)
	}
	if r := w.member.do("POST", "/api/v1/channels/"+ch+"/messages", map[string]string{"body": "late"}); r.status != 409 {
		t.Fatalf("posting to an archived channel: %d", r.status)
	}
	if r := w.member.do("GET", "/api/v1/channels/"+ch+"/messages", nil); r.status != 200 {
		t.Fatalf("reading an archived channel: %d", r.status)
	}
	if r := w.member.do("POST", "/api/v1/channels/"+ch+"/restore", nil); r.status != 403 {
		t.Fatalf("a non-owner restoring: %d", r.status)
	}
}

// TestMessageContentNeverReachesDisk sends, edits and reacts with canary
// content, then scans the data directory byte by byte.
func TestMessageContentNeverReachesDisk(t *testing.T) {
	w := startChatWorld(t)
	canary := "CANARY-MSG-" + ids.New()
	m := send(t, w.member, w.general.ID, "first "+canary, "")
	w.member.do("PATCH", "/api/v1/messages/"+m.ID, map[string]string{"body": "second " + canary})
	send(t, w.guest, w.general.ID, "reply "+canary, m.ID)
	var views []chat.View
	w.admin.do("GET", "/api/v1/channels/"+w.general.ID+"/messages", nil).json(t, &views)
	if len(views) != 2 || !strings.Contains(views[1].Body, canary) {
		t.Fatalf("the messages do not read back: %+v", views)
	}
	err := filepath.WalkDir(w.s.Config.DataDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if bytes.Contains(b, []byte(canary)) {
			t.Errorf("message content in plaintext in %s", path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(views)
	if !bytes.Contains(raw, []byte(canary)) {
		t.Fatal("sanity: the canary should be in the API response")
	}
}

func TestGuestSwitchesAndExpiry(t *testing.T) {
	w := startChatWorld(t)
	ch := w.general.ID
	own := send(t, w.guest, ch, "guest words", "")
	if r := w.guest.do("PATCH", "/api/v1/messages/"+own.ID, map[string]string{"body": "edited by default"}); r.status != 200 {
		t.Fatalf("guest edits by default: %d %s", r.status, r.body)
	}
	if r := w.guest.do("POST", "/api/v1/teams/"+w.team.ID+"/channels", map[string]string{"name": "guest room", "kind": "standard"}); r.status != 403 {
		t.Fatalf("guest creates a channel by default: %d", r.status)
	}

	pol := identity.DefaultPolicy()
	pol.Guests.EditOwnMessages, pol.Guests.StartChats, pol.Guests.ManageChannels = false, false, true
	if r := w.admin.do("PUT", "/api/v1/admin/policy", map[string]any{"policy": pol}); r.status != 204 {
		t.Fatalf("policy: %d %s", r.status, r.body)
	}
	if r := w.guest.do("PATCH", "/api/v1/messages/"+own.ID, map[string]string{"body": "again"}); r.status != 403 || !strings.Contains(string(r.body), "guests edit") {
		t.Fatalf("guest edits when switched off: %d %s", r.status, r.body)
	}
	if r := w.guest.do("POST", "/api/v1/chats", map[string]any{"with": []ids.UserID{w.memberID}}); r.status != 403 {
		t.Fatalf("guest starts a chat when switched off: %d", r.status)
	}
	if r := w.guest.do("POST", "/api/v1/teams/"+w.team.ID+"/channels", map[string]string{"name": "guest room", "kind": "standard"}); r.status != 201 {
		t.Fatalf("guest creates a channel when allowed: %d %s", r.status, r.body)
	}
	if r := w.member.do("PATCH", "/api/v1/messages/"+own.ID, map[string]string{"body": "x"}); r.status != 403 {
		t.Fatalf("a member edits the guest's message: %d", r.status)
	}

	if r := w.member.do("POST", "/api/v1/accounts/"+string(w.guestID)+"/renew", nil); r.status != 403 {
		t.Fatalf("someone who is not the sponsor renews: %d", r.status)
	}
	// Guest access ends after the guest period unless the sponsor renews it.
	w.s.Clock.Advance(89 * 24 * time.Hour)
	w.admin = reSignIn(t, w.world)
	if r := w.admin.do("POST", "/api/v1/accounts/"+string(w.guestID)+"/renew", nil); r.status != 200 {
		t.Fatalf("the sponsor renews: %d %s", r.status, r.body)
	}
	w.s.Clock.Advance(89*24*time.Hour + 20*time.Hour) // within the renewed period
	g := newClient(t, w.s.URL)
	if r := g.do("POST", "/api/v1/auth/signin", map[string]string{"organisation": w.tenant.Slug, "email": "gwen@partner.example", "password": goodPassword}); r.status != 200 {
		t.Fatalf("guest within the renewed period: %d %s", r.status, r.body)
	}
	w.s.Clock.Advance(5 * time.Hour) // past it, with the session still fresh
	if r := g.do("GET", "/api/v1/channels", nil); r.status != 403 || !strings.Contains(string(r.body), "expired") {
		t.Fatalf("an expired guest's session: %d %s", r.status, r.body)
	}
	if r := newClient(t, w.s.URL).do("POST", "/api/v1/auth/signin", map[string]string{"organisation": w.tenant.Slug, "email": "gwen@partner.example", "password": goodPassword}); r.status != 403 {
		t.Fatalf("an expired guest signs in: %d %s", r.status, r.body)
	}
	// What the guest wrote stays with the host.
	w.admin = reSignIn(t, w.world)
	var views []chat.View
	w.admin.do("GET", "/api/v1/channels/"+ch+"/messages", nil).json(t, &views)
	found := false
	for _, v := range views {
		found = found || v.ID == own.ID
	}
	if !found {
		t.Fatal("the expired guest's message is gone")
	}
}

// reSignIn signs the world's admin in again (sessions lapse when the clock
// jumps by days), with a TOTP code for the current time.
func reSignIn(t *testing.T, w *world) *client {
	t.Helper()
	c := newClient(t, w.s.URL)
	c.from = w.admin.from
	if sb, r := c.signIn("admin@acme.example", goodPassword); sb.State != identity.SessionPendingMFA {
		t.Fatalf("admin sign-in: %d %s", r.status, r.body)
	}
	code := oathtool(t, w.secret, w.s.Clock.Now())
	if r := c.do("POST", "/api/v1/auth/second-factor", map[string]string{"kind": "totp", "code": code}); r.status != 200 {
		t.Fatalf("admin second factor: %d %s", r.status, r.body)
	}
	return c
}

func TestSearchFindsOnlyWhatYouCanSee(t *testing.T) {
	w := startChatWorld(t)
	send(t, w.member, w.general.ID, "The Falcon launch is on Friday", "")
	send(t, w.admin, w.otherChans.ID, "Board: the falcon budget is secret", "")
	send(t, w.member, w.general.ID, "ＦＡＬＣＯＮ in full width", "")
	var res chat.SearchResult
	r := w.guest.do("GET", "/api/v1/search?q=falcon", nil)
	if r.status != 200 {
		t.Fatalf("search: %d %s", r.status, r.body)
	}
	r.json(t, &res)
	if len(res.Results) != 2 || !res.Complete {
		t.Fatalf("the guest's search: %+v", res)
	}
	for _, v := range res.Results {
		if strings.Contains(v.Body, "Board") {
			t.Fatalf("the guest found a message of a team they are not in")
		}
	}
	w.admin.do("GET", "/api/v1/search?q=falcon+budget", nil).json(t, &res)
	if len(res.Results) != 1 || !strings.Contains(res.Results[0].Body, "budget") {
		t.Fatalf("the admin's two-word search: %+v", res)
	}
	if r := w.guest.do("GET", "/api/v1/search?q=", nil); r.status != 400 {
		t.Fatalf("an empty search: %d", r.status)
	}
}

func TestMentionsNotifyOnlyThoseWhoCanSee(t *testing.T) {
	w := startChatWorld(t)
	outsider := inviteAndSignIn(t, w.world, "otto@acme.example")
	outsiderID := mustAccount(t, w.world, "otto@acme.example")
	m := send(t, w.member, w.general.ID, "Ping <@"+string(w.guestID)+"> and <@"+string(outsiderID)+">", "")
	var ns []chat.Notification
	w.guest.do("GET", "/api/v1/notifications", nil).json(t, &ns)
	if len(ns) != 1 || ns[0].Message != m.ID || ns[0].Actor != w.memberID || !ns[0].Read.IsZero() {
		t.Fatalf("the guest's notifications: %+v", ns)
	}
	outsider.do("GET", "/api/v1/notifications", nil).json(t, &ns)
	if len(ns) != 0 {
		t.Fatalf("someone outside the channel was notified: %+v", ns)
	}
	var n httpapi.Ended
	w.guest.do("POST", "/api/v1/notifications/read", map[string]any{"up_to": w.s.Clock.Now()}).json(t, &n)
	w.guest.do("GET", "/api/v1/notifications", nil).json(t, &ns)
	if n.Ended != 1 || ns[0].Read.IsZero() {
		t.Fatalf("after marking read: %d %+v", n.Ended, ns)
	}
}

func TestPeopleShowsNamesButNotTheDirectoryToGuests(t *testing.T) {
	w := startChatWorld(t)
	inviteAndSignIn(t, w.world, "outside@acme.example")
	outside := mustAccount(t, w.world, "outside@acme.example")
	q := "/api/v1/people?id=" + string(w.memberID) + "&id=" + string(w.guestID) + "&id=" + string(outside) + "&id=" + ids.New()
	var seen []chat.Person
	w.member.do("GET", q, nil).json(t, &seen)
	if len(seen) != 3 {
		t.Fatalf("a member sees the organisation's people: %+v", seen)
	}
	for _, p := range seen {
		if p.ID == w.guestID && !p.Guest {
			t.Fatalf("the guest is not marked: %+v", p)
		}
	}
	w.guest.do("GET", q, nil).json(t, &seen)
	if len(seen) != 2 {
		t.Fatalf("a guest sees only teammates: %+v", seen)
	}
	for _, p := range seen {
		if p.ID == outside {
			t.Fatal("a guest saw someone outside their team")
		}
	}
}
