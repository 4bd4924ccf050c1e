package app_test

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kaigi/kaigi/internal/audit"
	"github.com/kaigi/kaigi/internal/identity"
	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/meeting"
	"github.com/kaigi/kaigi/internal/principal"
)

// frames is a meeting.Conn that keeps what it is sent.
type frames struct {
	mu  sync.Mutex
	got []meeting.Frame
}

func (f *frames) Send(b []byte) {
	var fr meeting.Frame
	if err := json.Unmarshal(b, &fr); err != nil {
		panic(err) // the meeting service sent something that is not a frame
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.got = append(f.got, fr)
}

func (f *frames) types() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]string, len(f.got))
	for i, fr := range f.got {
		out[i] = fr.Type
	}
	return out
}

func (f *frames) last(typ string) (meeting.Frame, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := len(f.got) - 1; i >= 0; i-- {
		if f.got[i].Type == typ {
			return f.got[i], true
		}
	}
	return meeting.Frame{}, false
}

// sawAnythingOfTheMeeting reports whether a connection was told anything
// beyond the lobby: participants, the lobby list, media or chat.
func (f *frames) sawAnythingOfTheMeeting() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, fr := range f.got {
		if len(fr.Participants) > 0 || len(fr.Lobby) > 0 || fr.Media != nil || fr.Signal != nil || fr.Chat != "" || fr.Speaker != "" {
			return true
		}
	}
	return false
}

// meetingWorld is a tenant (Acme) with an organiser, a co-organiser, an
// invited member, a member, a guest; a federated tenant (Globex) with an
// invited member and a member; a tenant external access does not allow
// (Initech); and Acme's policy letting anonymous people join.
type meetingWorld struct {
	*world
	people map[string]principal.Principal // by joiner kind
}

func startMeetingWorld(t *testing.T) *meetingWorld {
	t.Helper()
	w := &meetingWorld{world: startWorld(t), people: map[string]principal.Principal{}}
	ctx := t.Context()
	acct := func(tenant ids.TenantID, email string) principal.Principal {
		a, err := w.s.DB.AccountByEmail(ctx, identity.TenantRealm, tenant, email)
		if err != nil {
			t.Fatal(err)
		}
		return principal.Principal{Kind: a.Kind, Tenant: a.Tenant, User: a.ID, Roles: a.Roles, Source: "127.0.0.1", Client: "browser"}
	}
	admin := acct(w.tenant.ID, "admin@acme.example")
	w.people["organizer"] = admin
	for _, e := range []string{"cora@acme.example", "ivan@acme.example", "max@acme.example"} {
		inviteAndSignIn(t, w.world, e)
	}
	inviteGuest(t, w.world, "gwen@partner.example")
	w.people["coorganizer"] = acct(w.tenant.ID, "cora@acme.example")
	w.people["invited member"] = acct(w.tenant.ID, "ivan@acme.example")
	w.people["member"] = acct(w.tenant.ID, "max@acme.example")
	w.people["guest"] = acct(w.tenant.ID, "gwen@partner.example")

	_, globexAdmin := secondTenant(t, w.world, "Globex", "globex.example", "grace@globex.example")
	w.people["federated"] = acct(globexAdmin.Tenant, "grace@globex.example")
	w.people["invited federated"] = acct(globexAdmin.Tenant, "boss@globex.example")
	_, initechAdmin := secondTenant(t, w.world, "Initech", "initech.example", "eve@initech.example")
	w.people["external"] = acct(initechAdmin.Tenant, "eve@initech.example")
	w.people["anonymous"] = principal.Anon("203.0.113.9")

	pol := identity.DefaultPolicy()
	pol.External = identity.ExternalPolicy{Enabled: true, Allow: []string{"globex.example"}, Block: []string{}}
	pol.Meetings.AllowAnonymous = true
	if err := w.s.Identity.SetPolicy(ctx, admin, pol, true); err != nil {
		t.Fatal(err)
	}
	setExternal(t, w.world, globexAdmin, identity.ExternalPolicy{Enabled: true, Allow: []string{"acme.example"}, Block: []string{}})
	return w
}

// schedule creates a meeting organised by Acme's admin, inviting Cora as
// co-organiser, Ivan, and Globex's boss by email.
func (w *meetingWorld) schedule(t *testing.T, opts meeting.Options) meeting.Created {
	t.Helper()
	now := w.s.Clock.Now()
	c, err := w.s.Meetings.Create(t.Context(), w.people["organizer"], meeting.NewMeeting{
		Title: "Quarterly review", Start: now.Add(time.Hour), End: now.Add(2 * time.Hour),
		Invitees: []meeting.Invitee{
			{Account: w.people["coorganizer"].User, Role: meeting.CoOrganizer},
			{Account: w.people["invited member"].User, Role: meeting.Attendee},
			{Email: "boss@globex.example", Role: meeting.Attendee},
		},
		Options: &opts,
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func codeOf(t *testing.T, link string) string {
	t.Helper()
	i := strings.LastIndex(link, "/meet#")
	if i < 0 {
		t.Fatalf("link %q has no /meet# code", link)
	}
	return link[i+len("/meet#"):]
}

// TestEveryBypassScopeAgainstEveryKindOfJoiner joins a meeting as each kind
// of person under each lobby bypass scope and checks who waits.
func TestEveryBypassScopeAgainstEveryKindOfJoiner(t *testing.T) {
	w := startMeetingWorld(t)
	joiners := []string{"organizer", "coorganizer", "invited member", "invited federated", "member", "guest", "federated", "external", "anonymous"}
	// Who bypasses, per scope: written out rather than computed, so that a
	// change of the rule shows here.
	bypass := map[string][]string{
		identity.BypassOrganizer:                   {"organizer", "coorganizer"},
		identity.BypassInvited:                     {"organizer", "coorganizer", "invited member", "invited federated"},
		identity.BypassOrganizationExcludingGuests: {"organizer", "coorganizer", "invited member", "invited federated", "member"},
		identity.BypassOrganization:                {"organizer", "coorganizer", "invited member", "invited federated", "member", "guest"},
		identity.BypassOrganizationAndFederated:    {"organizer", "coorganizer", "invited member", "invited federated", "member", "guest", "federated"},
		identity.BypassEveryone:                    joiners,
	}
	if len(bypass) != len(identity.BypassScopes) {
		t.Fatalf("the table covers %d scopes, there are %d", len(bypass), len(identity.BypassScopes))
	}
	for _, scope := range identity.BypassScopes {
		m := w.schedule(t, meeting.Options{LobbyBypass: scope, AllowAnonymous: true})
		code := codeOf(t, m.Link)
		for _, who := range joiners {
			t.Run(scope+"/"+who, func(t *testing.T) {
				f := &frames{}
				a, err := w.s.Meetings.Join(t.Context(), w.people[who], meeting.JoinRequest{Code: code, Name: "Someone"}, f)
				if err != nil {
					t.Fatalf("join: %v", err)
				}
				defer a.Leave(t.Context())
				want := "meeting.lobby"
				if slices.Contains(bypass[scope], who) {
					want = "meeting.admitted"
				}
				if got := f.types(); len(got) == 0 || got[0] != want {
					t.Fatalf("frames %v, want first %s", got, want)
				}
				if want == "meeting.lobby" && f.sawAnythingOfTheMeeting() {
					t.Fatalf("a person in the lobby was told about the meeting: %+v", f.got)
				}
			})
		}
	}
}

// TestArrivingBeforeTheOrganizerDoesNotHelp: a guest who may not bypass
// arrives first and waits; the organiser joins, sees the lobby, and admits
// the guest; an anonymous person is denied and never sees anything.
func TestArrivingBeforeTheOrganizerDoesNotHelp(t *testing.T) {
	w := startMeetingWorld(t)
	ctx := t.Context()
	m := w.schedule(t, meeting.Options{LobbyBypass: identity.BypassInvited, AllowAnonymous: true})
	code := codeOf(t, m.Link)

	guest := &frames{}
	g, err := w.s.Meetings.Join(ctx, w.people["guest"], meeting.JoinRequest{Code: code}, guest)
	if err != nil {
		t.Fatal(err)
	}
	anon := &frames{}
	an, err := w.s.Meetings.Join(ctx, w.people["anonymous"], meeting.JoinRequest{Code: code, Name: "Mallory"}, anon)
	if err != nil {
		t.Fatal(err)
	}
	// Nobody who may admit is there: time passes, nothing changes.
	w.s.Clock.Advance(5 * time.Minute)
	w.s.Meetings.Sweep(ctx)
	if got := guest.types(); !slices.Equal(got, []string{"meeting.lobby"}) {
		t.Fatalf("guest before the organiser: %v", got)
	}
	// A member who bypasses cannot admit either.
	ivan := &frames{}
	iv, err := w.s.Meetings.Join(ctx, w.people["invited member"], meeting.JoinRequest{Code: code}, ivan)
	if err != nil {
		t.Fatal(err)
	}
	defer iv.Leave(ctx)
	if err := iv.Do(ctx, meeting.Command{Action: "admit", Who: []string{g.ID()}}); err == nil {
		t.Fatal("an attendee admitted someone")
	}
	if _, ok := ivan.last("meeting.waiting"); ok {
		t.Fatal("an attendee was shown the lobby")
	}

	org := &frames{}
	o, err := w.s.Meetings.Join(ctx, w.people["organizer"], meeting.JoinRequest{Meeting: m.ID}, org)
	if err != nil {
		t.Fatal(err)
	}
	defer o.Leave(ctx)
	lobby, ok := org.last("meeting.waiting")
	if !ok || len(lobby.Lobby) != 2 {
		t.Fatalf("the organiser sees the lobby: %+v", org.got)
	}
	if got := guest.types(); !slices.Equal(got, []string{"meeting.lobby"}) {
		t.Fatalf("guest after the organiser joined, before admission: %v", got)
	}
	if err := o.Do(ctx, meeting.Command{Action: "admit", Who: []string{g.ID()}}); err != nil {
		t.Fatal(err)
	}
	if err := o.Do(ctx, meeting.Command{Action: "deny", Who: []string{an.ID()}}); err != nil {
		t.Fatal(err)
	}
	adm, ok := guest.last("meeting.admitted")
	if !ok || len(adm.Participants) != 3 {
		t.Fatalf("guest admitted with the participants: %+v", guest.got)
	}
	if got := anon.types(); !slices.Equal(got, []string{"meeting.lobby", "meeting.denied"}) || anon.sawAnythingOfTheMeeting() {
		t.Fatalf("the denied person: %v", anon.got)
	}
	// The denied person is gone: they cannot act, and nobody can admit them now.
	if err := an.Do(ctx, meeting.Command{Action: "hand", On: true}); err == nil {
		t.Fatal("a denied person raised a hand")
	}
	if err := o.Do(ctx, meeting.Command{Action: "admit", Who: []string{an.ID()}}); err == nil {
		t.Fatal("admitted someone who was denied")
	}
	recs, err := w.s.DB.AuditRecords(ctx, w.tenant.ID, 0, 10000)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, r := range recs {
		if r.Target == "meeting:"+m.ID {
			seen[r.Action]++
		}
	}
	if seen["meeting.admit"] != 1 || seen["meeting.deny"] != 1 || seen["meeting.lobby.enter"] != 2 || seen["meeting.join"] != 2 {
		t.Fatalf("admission decisions audited: %v", seen)
	}
}

// TestLobbyControls covers lock, remove (back to the lobby), the lobby
// timeout, the grace period after a dropped connection, admit all, and end.
func TestLobbyControls(t *testing.T) {
	w := startMeetingWorld(t)
	ctx := t.Context()
	m := w.schedule(t, meeting.Options{LobbyBypass: identity.BypassOrganization, AllowAnonymous: true})
	code := codeOf(t, m.Link)
	join := func(who string) (*meeting.Attendance, *frames) {
		t.Helper()
		f := &frames{}
		a, err := w.s.Meetings.Join(ctx, w.people[who], meeting.JoinRequest{Code: code, Name: "Visitor"}, f)
		if err != nil {
			t.Fatalf("%s joins: %v", who, err)
		}
		return a, f
	}
	o, _ := join("organizer")
	mx, maxFrames := join("member")
	if _, ok := maxFrames.last("meeting.admitted"); !ok {
		t.Fatal("a member bypasses under organization")
	}

	// Removed: back to the lobby, not out of the meeting, and a new
	// connection does not bypass again.
	if err := o.Do(ctx, meeting.Command{Action: "remove", Who: []string{mx.ID()}}); err != nil {
		t.Fatal(err)
	}
	if got := maxFrames.types(); got[len(got)-2] != "meeting.removed" || got[len(got)-1] != "meeting.lobby" {
		t.Fatalf("removed member: %v", got)
	}
	mx.Leave(ctx)
	mx2, max2 := join("member")
	if got := max2.types(); got[0] != "meeting.lobby" {
		t.Fatalf("a removed member rejoins through the lobby: %v", got)
	}
	if err := o.Do(ctx, meeting.Command{Action: "admit_all"}); err != nil {
		t.Fatal(err)
	}
	if _, ok := max2.last("meeting.admitted"); !ok {
		t.Fatal("admit all let the member back in")
	}

	// Dropped connection: back within the grace period without the lobby.
	mx2.Leave(ctx)
	w.s.Clock.Advance(30 * time.Second)
	mx3, max3 := join("member")
	if got := max3.types(); got[0] != "meeting.admitted" {
		t.Fatalf("rejoin within the grace period: %v", got)
	}
	_ = mx3

	// An anonymous person admitted, dropped, comes back with their token
	// within the grace period; after it, through the lobby.
	an, anon := join("anonymous")
	if err := o.Do(ctx, meeting.Command{Action: "admit", Who: []string{an.ID()}}); err != nil {
		t.Fatal(err)
	}
	adm, ok := anon.last("meeting.admitted")
	if !ok || adm.Rejoin == "" {
		t.Fatalf("anonymous admitted with a rejoin token: %+v", anon.got)
	}
	an.Leave(ctx)
	f := &frames{}
	an2, err := w.s.Meetings.Join(ctx, w.people["anonymous"], meeting.JoinRequest{Code: code, Name: "Visitor", Rejoin: adm.Rejoin}, f)
	if err != nil || f.types()[0] != "meeting.admitted" {
		t.Fatalf("anonymous rejoin with token: %v %v", err, f.types())
	}
	an2.Leave(ctx)
	w.s.Clock.Advance(3 * time.Minute)
	w.s.Meetings.Sweep(ctx)
	f = &frames{}
	an3, err := w.s.Meetings.Join(ctx, w.people["anonymous"], meeting.JoinRequest{Code: code, Name: "Visitor", Rejoin: adm.Rejoin}, f)
	if err != nil || f.types()[0] != "meeting.lobby" {
		t.Fatalf("anonymous rejoin after the grace period: %v %v", err, f.types())
	}

	// Lobby entries time out (tenant default 15 minutes).
	w.s.Clock.Advance(16 * time.Minute)
	w.s.Meetings.Sweep(ctx)
	if got := f.types(); got[len(got)-1] != "meeting.denied" {
		t.Fatalf("lobby timeout: %v", got)
	}
	_ = an3

	// Locked: nobody new joins, not even people who would bypass; the
	// organiser still can.
	if err := o.Do(ctx, meeting.Command{Action: "lock"}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.s.Meetings.Join(ctx, w.people["invited member"], meeting.JoinRequest{Code: code}, &frames{}); err == nil || !strings.Contains(err.Error(), "locked") {
		t.Fatalf("join a locked meeting: %v", err)
	}
	if _, err := w.s.Meetings.Join(ctx, w.people["coorganizer"], meeting.JoinRequest{Code: code}, &frames{}); err != nil {
		t.Fatalf("a co-organiser joins a locked meeting: %v", err)
	}

	// End: everyone is told; nobody but organisers can come back.
	if err := mx3.Do(ctx, meeting.Command{Action: "end"}); err == nil {
		t.Fatal("an attendee ended the meeting")
	}
	if err := o.Do(ctx, meeting.Command{Action: "end"}); err != nil {
		t.Fatal(err)
	}
	if got := max3.types(); got[len(got)-1] != "meeting.ended" {
		t.Fatalf("ended: %v", got)
	}
	if _, err := w.s.Meetings.Join(ctx, w.people["member"], meeting.JoinRequest{Code: code}, &frames{}); err == nil || !strings.Contains(err.Error(), "ended") {
		t.Fatalf("join an ended meeting: %v", err)
	}
	if in, lobby := w.s.Meetings.Live(m.ID); len(in) != 0 || len(lobby) != 0 {
		t.Fatalf("after the end: %d in, %d waiting", len(in), len(lobby))
	}
}

// TestMeetingJoinRefusals: forged codes and ids, anonymous joins where the
// meeting or tenant does not allow them, and bad names are refused with
// clear errors.
func TestMeetingJoinRefusals(t *testing.T) {
	w := startMeetingWorld(t)
	ctx := t.Context()
	m := w.schedule(t, meeting.Options{LobbyBypass: identity.BypassOrganization})
	code := codeOf(t, m.Link)
	for name, tc := range map[string]struct {
		who  string
		req  meeting.JoinRequest
		want string
	}{
		"forged code":                {"member", meeting.JoinRequest{Code: "AAAAAAAAAAAAAAAAAAAAAA"}, "does not exist"},
		"short code":                 {"member", meeting.JoinRequest{Code: "x"}, "does not exist"},
		"forged id":                  {"member", meeting.JoinRequest{Meeting: ids.New()}, "does not exist"},
		"id without being invited":   {"member", meeting.JoinRequest{Meeting: m.ID}, "does not exist"},
		"id from another tenant":     {"federated", meeting.JoinRequest{Meeting: m.ID}, "does not exist"},
		"anonymous not allowed here": {"anonymous", meeting.JoinRequest{Code: code, Name: "Mallory"}, "without signing in"},
		"anonymous without a name":   {"anonymous", meeting.JoinRequest{Code: code}, "Give your name"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := w.s.Meetings.Join(ctx, w.people[tc.who], tc.req, &frames{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error saying %q", err, tc.want)
			}
		})
	}
	// The lobby is bounded: past meeting.MaxLobby people waiting, the next
	// is refused with a message, and nobody waiting is harmed.
	pol := identity.DefaultPolicy()
	pol.Meetings.AllowAnonymous = true
	if err := w.s.Identity.SetPolicy(ctx, w.people["organizer"], pol, true); err != nil {
		t.Fatal(err)
	}
	open, err := w.s.Meetings.Create(ctx, w.people["organizer"], meeting.NewMeeting{Title: "Open house", Start: w.s.Clock.Now(), End: w.s.Clock.Now().Add(time.Hour),
		Options: &meeting.Options{LobbyBypass: identity.BypassOrganizer, AllowAnonymous: true}})
	if err != nil {
		t.Fatal(err)
	}
	for i := range meeting.MaxLobby {
		if _, err := w.s.Meetings.Join(ctx, principal.Anon("198.51.100.7"), meeting.JoinRequest{Code: codeOf(t, open.Link), Name: "Visitor " + strconv.Itoa(i)}, &frames{}); err != nil {
			t.Fatalf("visitor %d: %v", i, err)
		}
	}
	if _, err := w.s.Meetings.Join(ctx, principal.Anon("198.51.100.7"), meeting.JoinRequest{Code: codeOf(t, open.Link), Name: "One too many"}, &frames{}); err == nil || !strings.Contains(err.Error(), "Too many people are waiting") {
		t.Fatalf("past the lobby's bound: %v", err)
	}
	if _, lobby := w.s.Meetings.Live(open.ID); len(lobby) != meeting.MaxLobby {
		t.Fatalf("%d waiting, want %d", len(lobby), meeting.MaxLobby)
	}
	// The organiser may not allow anonymous joins the tenant forbids.
	pol = identity.DefaultPolicy()
	if err := w.s.Identity.SetPolicy(ctx, w.people["organizer"], pol, true); err != nil {
		t.Fatal(err)
	}
	if _, err := w.s.Meetings.SetOptions(ctx, w.people["organizer"], m.ID, meeting.Options{AllowAnonymous: true}); err == nil {
		t.Fatal("anonymous allowed against the tenant's policy")
	}
	if _, err := w.s.Meetings.SetOptions(ctx, w.people["member"], m.ID, meeting.Options{LobbyBypass: identity.BypassEveryone}); err == nil {
		t.Fatal("someone who is not an organiser changed the options")
	}
}

// TestMeetingRoutes schedules a meeting over HTTP, reads it back with its
// link, downloads the .ics invitation, and looks the link up anonymously,
// which tells only the title.
func TestMeetingRoutes(t *testing.T) {
	w := startChatWorld(t)
	start := time.Date(2026, 12, 3, 14, 0, 0, 0, time.UTC)
	r := w.member.do("POST", "/api/v1/meetings", map[string]any{
		"title": "Design review; part 1, with a very long title that needs folding across lines",
		"start": start, "end": start.Add(45 * time.Minute),
		"invitees": []map[string]string{{"account": string(w.guestID), "role": "presenter"}, {"email": "Pat@Outside.Example"}},
	})
	if r.status != 201 {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	var created meeting.Created
	r.json(t, &created)
	// The tenant's defaults, out of the box, are the safe ones.
	if o := created.Options; o.LobbyBypass != identity.BypassOrganization || o.Admitters != identity.AdmitOrganizers || o.AllowAnonymous {
		t.Errorf("default options %+v, want organization, organizers, no anonymous join", o)
	}
	if !strings.Contains(created.Link, "/meet#") || len(codeOf(t, created.Link)) != 22 {
		t.Fatalf("link %q", created.Link)
	}
	if r := w.guest.do("GET", "/api/v1/meetings/"+created.ID, nil); r.status != 200 || !strings.Contains(string(r.body), created.Link) {
		t.Fatalf("an invited guest reads the meeting: %d %s", r.status, r.body)
	}
	if r := w.admin.do("GET", "/api/v1/meetings/"+created.ID, nil); r.status != 403 {
		t.Fatalf("someone not invited reads the meeting: %d %s", r.status, r.body)
	}
	var list []meeting.Meeting
	w.guest.do("GET", "/api/v1/meetings?since=2026-12-01T00:00:00Z", nil).json(t, &list)
	if len(list) != 1 || list[0].ID != created.ID {
		t.Fatalf("the guest's meetings: %+v", list)
	}
	if r := w.guest.do("GET", "/api/v1/meetings?since=yesterday", nil); r.status != 400 {
		t.Fatalf("bad since: %d", r.status)
	}
	ics := w.guest.do("GET", "/api/v1/meetings/"+created.ID+"/invite.ics", nil)
	body := string(ics.body)
	unfolded := strings.ReplaceAll(body, "\r\n ", "")
	for _, want := range []string{"BEGIN:VCALENDAR\r\n", "DTSTART:20261203T140000Z\r\n", "DTEND:20261203T144500Z\r\n", `SUMMARY:Design review\; part 1\, with`, "ATTENDEE;ROLE=REQ-PARTICIPANT", "mailto:pat@outside.example", "END:VCALENDAR\r\n"} {
		if !strings.Contains(unfolded, want) {
			t.Errorf("the .ics lacks %q:\n%s", want, body)
		}
	}
	for _, l := range strings.Split(body, "\r\n") {
		if len(l) > 75 {
			t.Errorf("line longer than 75 octets: %q", l)
		}
	}
	anon := newClient(t, w.s.URL)
	var look map[string]any
	r = anon.do("GET", "/api/v1/meeting-links/"+codeOf(t, created.Link), nil)
	r.json(t, &look)
	if r.status != 200 || look["title"] != created.Title || look["allow_anonymous"] != false || len(look) != 4 {
		t.Fatalf("lookup: %d %s", r.status, r.body)
	}
	if r := anon.do("GET", "/api/v1/meeting-links/AAAAAAAAAAAAAAAAAAAAAA", nil); r.status != 404 {
		t.Fatalf("a forged link: %d %s", r.status, r.body)
	}
	for name, b := range map[string]map[string]any{
		"no title":      {"title": "", "start": start, "end": start.Add(time.Hour)},
		"ends first":    {"title": "x", "start": start, "end": start.Add(-time.Hour)},
		"too long":      {"title": "x", "start": start, "end": start.Add(25 * time.Hour)},
		"bad role":      {"title": "x", "start": start, "end": start.Add(time.Hour), "invitees": []map[string]string{{"email": "a@b.example", "role": "king"}}},
		"bad email":     {"title": "x", "start": start, "end": start.Add(time.Hour), "invitees": []map[string]string{{"email": "not an address"}}},
		"bad scope":     {"title": "x", "start": start, "end": start.Add(time.Hour), "options": map[string]any{"lobby_bypass": "friends"}},
		"anonymous off": {"title": "x", "start": start, "end": start.Add(time.Hour), "options": map[string]any{"allow_anonymous": true}},
	} {
		if r := w.member.do("POST", "/api/v1/meetings", b); r.status/100 != 4 || r.errorCode() == "" {
			t.Errorf("%s: %d %s", name, r.status, r.body)
		}
	}
	// Guests do not start meetings unless the tenant lets them.
	if r := w.guest.do("POST", "/api/v1/meetings/instant", map[string]string{"channel": w.general.ID}); r.status != 403 {
		t.Fatalf("a guest starts a meeting: %d %s", r.status, r.body)
	}
	if r := w.member.do("POST", "/api/v1/meetings/instant", map[string]string{"channel": w.otherChans.ID}); r.status != 403 {
		t.Fatalf("an instant meeting from a channel one cannot see: %d %s", r.status, r.body)
	}
	if r := w.member.do("POST", "/api/v1/meetings/instant", map[string]string{"channel": w.general.ID}); r.status != 201 {
		t.Fatalf("an instant meeting: %d %s", r.status, r.body)
	}
}

// TestPresentersAdmitOnlyWhenTheMeetingSaysSo covers who may admit, the
// meeting chat (admitted people only) and an organiser muting someone.
func TestPresentersAdmitOnlyWhenTheMeetingSaysSo(t *testing.T) {
	w := startMeetingWorld(t)
	ctx := t.Context()
	now := w.s.Clock.Now()
	m, err := w.s.Meetings.Create(ctx, w.people["organizer"], meeting.NewMeeting{Title: "Demo", Start: now, End: now.Add(time.Hour),
		Invitees: []meeting.Invitee{{Account: w.people["invited member"].User, Role: meeting.Presenter}},
		Options:  &meeting.Options{LobbyBypass: identity.BypassInvited, Admitters: identity.AdmitOrganizers}})
	if err != nil {
		t.Fatal(err)
	}
	code := codeOf(t, m.Link)
	join := func(who string) (*meeting.Attendance, *frames) {
		t.Helper()
		f := &frames{}
		a, err := w.s.Meetings.Join(ctx, w.people[who], meeting.JoinRequest{Code: code}, f)
		if err != nil {
			t.Fatalf("%s joins: %v", who, err)
		}
		return a, f
	}
	o, _ := join("organizer")
	pr, prf := join("invited member") // a presenter, invited: bypasses
	if _, ok := prf.last("meeting.admitted"); !ok {
		t.Fatalf("the presenter: %v", prf.types())
	}
	g, gf := join("guest")
	if _, ok := prf.last("meeting.waiting"); ok {
		t.Fatal("a presenter sees the lobby although only organisers admit")
	}
	if err := pr.Do(ctx, meeting.Command{Action: "admit", Who: []string{g.ID()}}); err == nil {
		t.Fatal("a presenter admitted while only organisers may")
	}
	if _, err := w.s.Meetings.SetOptions(ctx, w.people["organizer"], m.ID, meeting.Options{LobbyBypass: identity.BypassInvited, Admitters: identity.AdmitOrganizersAndPresenters}); err != nil {
		t.Fatal(err)
	}
	if f, ok := prf.last("meeting.waiting"); !ok || len(f.Lobby) != 1 {
		t.Fatalf("the presenter now sees the lobby: %v", prf.types())
	}
	if err := pr.Do(ctx, meeting.Command{Action: "admit", Who: []string{g.ID()}}); err != nil {
		t.Fatalf("a presenter admits when the meeting says so: %v", err)
	}
	adm, ok := gf.last("meeting.admitted")
	if !ok || adm.Chat == "" {
		t.Fatalf("the guest is admitted with the meeting chat: %+v", gf.got)
	}

	// The meeting chat is for the people admitted.
	if _, err := w.s.Chat.Send(ctx, w.people["guest"], adm.Chat, "hello from the guest", ""); err != nil {
		t.Fatalf("an admitted guest writes in the meeting chat: %v", err)
	}
	if _, err := w.s.Chat.Send(ctx, w.people["member"], adm.Chat, "let me in", ""); err == nil {
		t.Fatal("someone who never joined wrote in the meeting chat")
	}

	// Muting: organisers only.
	if err := pr.Do(ctx, meeting.Command{Action: "mute", Who: []string{g.ID()}}); err == nil {
		t.Fatal("a presenter muted someone")
	}
	if err := g.Do(ctx, meeting.Command{Action: "media", Kind: "audio", On: true}); err != nil {
		t.Fatal(err)
	}
	if err := o.Do(ctx, meeting.Command{Action: "mute", Who: []string{g.ID()}}); err != nil {
		t.Fatal(err)
	}
	f, _ := gf.last("meeting.participants")
	if i := slices.IndexFunc(f.Participants, func(p meeting.Participant) bool { return p.ID == g.ID() }); i < 0 || f.Participants[i].Audio {
		t.Fatalf("the guest is shown muted: %+v", f.Participants)
	}
	records, err := w.s.DB.AuditRecords(ctx, w.tenant.ID, 0, 100000)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(records, func(r audit.Record) bool {
		return r.Action == "meeting.mute" && r.Target == "meeting:"+m.ID && strings.Contains(r.Details, g.ID())
	}) {
		t.Error("the organiser's mute is not in the audit log")
	}
	// A media session the media server replaces (the guest's connection
	// failed) keeps the organiser's mute.
	if muted, ok := w.s.MediaMuted(m.ID, g.ID()); !ok || !muted {
		t.Fatalf("the guest's media session: muted %v, exists %v", muted, ok)
	}
	if !w.s.DropMedia(m.ID, g.ID()) {
		t.Fatal("the guest has no media session to drop")
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if _, ok := gf.last("meeting.media"); ok {
			if muted, ok := w.s.MediaMuted(m.ID, g.ID()); ok {
				if !muted {
					t.Fatal("the replacement media session forwards the audio the organiser muted")
				}
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("no replacement media session for the guest")
		}
	}
	// Unmuting themselves lifts the organiser's mute: the list and what the
	// media server forwards agree.
	if err := g.Do(ctx, meeting.Command{Action: "media", Kind: "audio", On: true}); err != nil {
		t.Fatal(err)
	}
	if muted, ok := w.s.MediaMuted(m.ID, g.ID()); !ok || muted {
		t.Fatalf("the guest unmuted themselves; their media session: muted %v, exists %v", muted, ok)
	}
	f, _ = gf.last("meeting.participants")
	if i := slices.IndexFunc(f.Participants, func(p meeting.Participant) bool { return p.ID == g.ID() }); i < 0 || !f.Participants[i].Audio {
		t.Fatalf("the guest is shown muted after unmuting: %+v", f.Participants)
	}
}
