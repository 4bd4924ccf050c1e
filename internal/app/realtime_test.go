package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/kaigi/kaigi/internal/app/apptest"
	"github.com/kaigi/kaigi/internal/chat"
	"github.com/kaigi/kaigi/internal/config"
	"github.com/kaigi/kaigi/internal/identity"
	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/principal"
	"github.com/kaigi/kaigi/internal/realtime"
)

// rtWait bounds every wait of the realtime tests.
const rtWait = 30 * time.Second

// realtimeNode starts a node listening on a port chosen first, so that its
// public URL — the one Origin its WebSocket accepts — is known: publicURL,
// or http://localhost:<port> when empty.
func realtimeNode(t *testing.T, opts apptest.Options, publicURL string) *apptest.Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	ln.Close()
	if publicURL == "" {
		publicURL = "http://localhost:" + port
	}
	more := opts.Config
	opts.Config = func(c *config.Config) {
		c.Addr, c.PublicURL, c.TrustedProxies = "127.0.0.1:"+port, publicURL, "127.0.0.1/32"
		if more != nil {
			more(c)
		}
	}
	return apptest.Start(t, opts)
}

// rtWorld is a tenant on a realtime node: an admin (owner of two teams), a
// member and a guest in the first team, "Project Falcon"; the guest is not
// in the second, "Board".
type rtWorld struct {
	*world
	origin            string
	member, guest     *client
	memberID, guestID ids.UserID
	team, board       chat.Team
	general, boardGen chat.Channel
}

func startRealtimeWorld(t *testing.T, opts apptest.Options) *rtWorld {
	t.Helper()
	s := realtimeNode(t, opts, "")
	return realtimeWorldOn(t, s)
}

// realtimeWorldOn sets the tenant up on s, as startWorld and
// startChatWorld do on nodes of their own.
func realtimeWorldOn(t *testing.T, s *apptest.Server) *rtWorld {
	t.Helper()
	tenant, link, err := s.Identity.CreateTenant(t.Context(), principal.Job("test", ""), identity.NewTenant{Name: "Acme Corp", Domain: "acme.example", AdminEmail: "admin@acme.example"})
	if err != nil {
		t.Fatal(err)
	}
	admin := newClient(t, s.URL)
	if r := admin.do("POST", "/api/v1/invitations/accept", map[string]string{"token": fragmentParam(t, link, "token"), "display_name": "Ada Admin", "password": goodPassword}); r.status != 201 {
		t.Fatalf("accept: %d %s", r.status, r.body)
	}
	w := &rtWorld{world: &world{s: s, tenant: tenant, admin: admin}, origin: s.Config.URL()}
	w.secret = enrolTOTP(t, s, admin, "admin@acme.example")
	w.member = inviteAndSignIn(t, w.world, "max@acme.example")
	w.memberID = mustAccount(t, w.world, "max@acme.example")
	w.guest, w.guestID = inviteGuest(t, w.world, "gwen@partner.example")
	w.team, w.general = w.newTeam("Project Falcon")
	w.board, w.boardGen = w.newTeam("Board")
	for _, id := range []ids.UserID{w.memberID, w.guestID} {
		if r := admin.do("PUT", "/api/v1/teams/"+w.team.ID+"/members/"+string(id), map[string]string{"role": "member"}); r.status != 204 {
			t.Fatalf("add to team: %d %s", r.status, r.body)
		}
	}
	return w
}

func (w *rtWorld) newTeam(name string) (chat.Team, chat.Channel) {
	t := w.admin.t
	t.Helper()
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

// rtFrame is any frame the server sends.
type rtFrame struct {
	Type     string           `json:"type"`
	Channel  string           `json:"channel"`
	Seq      int64            `json:"seq"`
	Event    chat.Payload     `json:"event"`
	Channels map[string]int64 `json:"channels"`
	Message  string           `json:"message"`
}

// socket is a browser tab's WebSocket, opened with a client's cookies.
type socket struct {
	t      *testing.T
	ws     *websocket.Conn
	frames chan rtFrame
	done   chan struct{}
	err    error
}

// dialSocket opens the realtime socket of c's session on the node at base
// (c's own node when empty), with the Origin header origin. It returns the
// handshake's status when refused.
func dialSocket(t *testing.T, c *client, base, origin string, hdr ...string) (*socket, int) {
	t.Helper()
	if base == "" {
		base = c.base
	}
	h := http.Header{}
	if origin != "" {
		h.Set("Origin", origin)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		h.Set(hdr[i], hdr[i+1])
	}
	ctx, cancel := context.WithTimeout(t.Context(), rtWait)
	defer cancel()
	ws, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(base, "http")+"/api/v1/realtime", &websocket.DialOptions{HTTPClient: c.http, HTTPHeader: h})
	if err != nil {
		if resp == nil {
			t.Fatalf("dial: %v", err)
		}
		return nil, resp.StatusCode
	}
	ws.SetReadLimit(8 << 20)
	s := &socket{t: t, ws: ws, frames: make(chan rtFrame, 1<<14), done: make(chan struct{})}
	t.Cleanup(func() { ws.CloseNow() })
	go s.read()
	return s, http.StatusSwitchingProtocols
}

// openSocket opens c's socket on its node and says hello.
func (w *rtWorld) openSocket(c *client, cursors map[string]int64) *socket {
	w.admin.t.Helper()
	return openSocketAt(w.admin.t, c, "", w.origin, cursors)
}

func openSocketAt(t *testing.T, c *client, base, origin string, cursors map[string]int64) *socket {
	t.Helper()
	s, status := dialSocket(t, c, base, origin)
	if s == nil {
		t.Fatalf("socket refused: %d", status)
	}
	if cursors == nil {
		cursors = map[string]int64{}
	}
	b, _ := json.Marshal(map[string]any{"type": "hello", "cursors": cursors})
	if err := s.ws.Write(t.Context(), websocket.MessageText, b); err != nil {
		t.Fatal(err)
	}
	if f := s.next(); f.Type != "ready" {
		t.Fatalf("first frame %+v, want ready", f)
	}
	return s
}

func (s *socket) read() {
	defer close(s.done)
	for {
		_, b, err := s.ws.Read(context.Background())
		if err != nil {
			s.err = err
			return
		}
		var fs []rtFrame
		if len(b) > 0 && b[0] == '[' {
			err = json.Unmarshal(b, &fs)
		} else {
			var f rtFrame
			err = json.Unmarshal(b, &f)
			fs = []rtFrame{f}
		}
		if err != nil {
			s.err = fmt.Errorf("bad message: %v: %.200s", err, b)
			return
		}
		for _, f := range fs {
			s.frames <- f
		}
	}
}

// next returns the next frame other than typing.
func (s *socket) next() rtFrame {
	s.t.Helper()
	timeout := time.After(rtWait)
	for {
		select {
		case f := <-s.frames:
			if f.Type == "typing" {
				continue
			}
			return f
		case <-s.done:
			select {
			case f := <-s.frames:
				return f
			default:
			}
			s.t.Fatalf("the socket ended while a frame was expected: %v", s.err)
		case <-timeout:
			s.t.Fatal("timed out waiting for a frame")
		}
	}
}

// event returns the next frame, which must be an event.
func (s *socket) event() rtFrame {
	s.t.Helper()
	f := s.next()
	if f.Type != "event" {
		s.t.Fatalf("got %+v, want an event", f)
	}
	return f
}

// quiet checks that no frame but typing arrives for d.
func (s *socket) quiet(d time.Duration) {
	s.t.Helper()
	end := time.After(d)
	for {
		select {
		case f := <-s.frames:
			if f.Type != "typing" {
				s.t.Fatalf("unexpected frame %+v", f)
			}
		case <-end:
			return
		}
	}
}

// closedWith waits for the server to close the socket and returns the status.
func (s *socket) closedWith() websocket.StatusCode {
	s.t.Helper()
	timeout := time.After(rtWait)
	for {
		select {
		case <-s.frames:
		case <-s.done:
			return websocket.CloseStatus(s.err)
		case <-timeout:
			s.t.Fatal("the server did not close the socket")
		}
	}
}

func TestRealtimeDeliversAMessageToTheOtherMemberOnceWithItsBody(t *testing.T) {
	w := startRealtimeWorld(t, apptest.Options{})
	admin, max := w.openSocket(w.admin, nil), w.openSocket(w.member, nil)
	v := send(t, w.member, w.general.ID, "Lunch at *noon*?", "")
	for name, s := range map[string]*socket{"admin": admin, "max (the sender)": max} {
		f := s.event()
		if f.Channel != w.general.ID || f.Seq != v.Seq || f.Event.Kind != chat.EventMessage || f.Event.Message == nil ||
			f.Event.Message.Body != "Lunch at *noon*?" || f.Event.Message.ID != v.ID || f.Event.Actor != w.memberID {
			t.Fatalf("%s got %+v", name, f)
		}
	}
	// Exactly once: the next frame is the next event, not the first again.
	send(t, w.member, w.general.ID, "Or one?", "")
	for _, s := range []*socket{admin, max} {
		if f := s.event(); f.Seq != v.Seq+1 || f.Event.Message.Body != "Or one?" {
			t.Fatalf("second event: %+v", f)
		}
		s.quiet(50 * time.Millisecond)
	}
}

// TestRealtimeResumesAfterADroppedSocket cuts a socket while 200 messages
// are being sent, reconnects with its cursor, and checks that the two
// sockets together saw every message exactly once, in order.
func TestRealtimeResumesAfterADroppedSocket(t *testing.T) {
	w := startRealtimeWorld(t, apptest.Options{})
	testResume(t, w, w.member, []string{w.s.URL}, w.s.URL, w.s.URL)
}

// testResume sends 200 messages to the team's General channel as sender,
// round robin through the nodes at sendTo, while the admin's socket (on
// node first, then on second) is cut after a quarter of them.
func testResume(t *testing.T, w *rtWorld, sender *client, sendTo []string, first, second string) {
	ch := w.general.ID
	var chans []chat.Channel
	w.admin.do("GET", "/api/v1/channels", nil).json(t, &chans)
	var base int64
	for _, c := range chans {
		if c.ID == ch {
			base = c.LastSeq
		}
	}
	n := base + 200
	s := openSocketAt(t, w.admin, first, w.origin, nil)
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := base + 1; i <= n; i++ {
			r := sender.to(sendTo[int(i)%len(sendTo)]).do("POST", "/api/v1/channels/"+ch+"/messages", map[string]string{"body": fmt.Sprintf("msg-%d", i)})
			if r.status != 201 {
				t.Errorf("send %d: %d %s", i, r.status, r.body)
				return
			}
		}
	})
	var seen []int64
	check := func(f rtFrame) {
		t.Helper()
		if f.Channel != ch {
			t.Fatalf("an event of another channel: %+v", f)
		}
		seen = append(seen, f.Seq)
		if f.Event.Message == nil || f.Event.Message.Body != fmt.Sprintf("msg-%d", f.Seq) {
			t.Fatalf("event %d carries %+v", f.Seq, f.Event.Message)
		}
	}
	for len(seen) < 50 {
		check(s.event())
	}
	s.ws.CloseNow() // abruptly: no close handshake
	cursor := seen[len(seen)-1]
	s = openSocketAt(t, w.admin, second, w.origin, map[string]int64{ch: cursor})
	for seen[len(seen)-1] < n {
		check(s.event())
	}
	wg.Wait()
	for i, seq := range seen {
		if seq != base+int64(i+1) {
			t.Fatalf("sequence numbers seen across the reconnect: %v (at %d: %d)", seen, i, seq)
		}
	}
	s.quiet(100 * time.Millisecond)
}

// to returns a client with c's cookies that talks to the node at base.
func (c *client) to(base string) *client {
	cc := *c
	cc.base = base
	return &cc
}

func TestRealtimeGuestGetsOnlyTheirTeamAndLosesItWhenRemoved(t *testing.T) {
	w := startRealtimeWorld(t, apptest.Options{})
	g := w.openSocket(w.guest, nil)
	send(t, w.admin, w.boardGen.ID, "Board only: the acquisition", "")
	send(t, w.admin, w.general.ID, "Hello team", "")
	if f := g.event(); f.Channel != w.general.ID || f.Event.Message.Body != "Hello team" {
		t.Fatalf("the guest got %+v", f)
	}
	chatID := startChat(t, w.admin, w.memberID) // a chat without the guest
	send(t, w.admin, chatID, "Between us", "")
	g.quiet(200 * time.Millisecond)

	start := time.Now()
	if r := w.admin.do("DELETE", "/api/v1/teams/"+w.team.ID+"/members/"+string(w.guestID), nil); r.status != 204 {
		t.Fatalf("remove the guest: %d %s", r.status, r.body)
	}
	if f := g.next(); f.Type != "leave" || f.Channel != w.general.ID {
		t.Fatalf("after removal: %+v", f)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("the guest's socket followed the team's channel for %v after removal", d)
	}
	send(t, w.admin, w.general.ID, "Now that the guest is gone", "")
	g.quiet(200 * time.Millisecond)
}

func startChat(t *testing.T, c *client, with ids.UserID) string {
	t.Helper()
	var ch chat.Channel
	r := c.do("POST", "/api/v1/chats", map[string]any{"with": []ids.UserID{with}})
	if r.status != 200 {
		t.Fatalf("start chat: %d %s", r.status, r.body)
	}
	r.json(t, &ch)
	return ch.ID
}

func TestRealtimeAddedMemberJoinsLive(t *testing.T) {
	w := startRealtimeWorld(t, apptest.Options{})
	g := w.openSocket(w.guest, nil)
	if r := w.admin.do("PUT", "/api/v1/teams/"+w.board.ID+"/members/"+string(w.guestID), map[string]string{"role": "member"}); r.status != 204 {
		t.Fatalf("add to the board: %d %s", r.status, r.body)
	}
	if f := g.next(); f.Type != "join" || f.Channel != w.boardGen.ID {
		t.Fatalf("after being added: %+v", f)
	}
	send(t, w.admin, w.boardGen.ID, "Welcome", "")
	if f := g.event(); f.Channel != w.boardGen.ID || f.Event.Message.Body != "Welcome" {
		t.Fatalf("got %+v", f)
	}
}

func TestRealtimeDeactivationAndSignOutCloseSockets(t *testing.T) {
	t.Run("deactivation, with the identity hook's notice", func(t *testing.T) {
		w := startRealtimeWorld(t, apptest.Options{})
		s := w.openSocket(w.member, nil)
		if r := w.admin.do("POST", "/api/v1/admin/accounts/"+string(w.memberID)+"/deactivate", nil); r.status != 204 {
			t.Fatalf("deactivate: %d %s", r.status, r.body)
		}
		if code := s.closedWith(); code != realtime.StatusSessionEnded {
			t.Fatalf("closed with %d, want %d", code, realtime.StatusSessionEnded)
		}
		if _, status := dialSocket(t, w.member, "", w.origin); status != http.StatusUnauthorized {
			t.Fatalf("reconnecting after deactivation: %d", status)
		}
	})
	t.Run("signing out, found by the periodic re-check", func(t *testing.T) {
		w := startRealtimeWorld(t, apptest.Options{Realtime: realtime.Options{RevalidateInterval: 100 * time.Millisecond}})
		s := w.openSocket(w.member, nil)
		if r := w.member.do("POST", "/api/v1/auth/signout", nil); r.status != 204 {
			t.Fatalf("sign out: %d %s", r.status, r.body)
		}
		if code := s.closedWith(); code != realtime.StatusSessionEnded {
			t.Fatalf("closed with %d, want %d", code, realtime.StatusSessionEnded)
		}
	})
	t.Run("the contract ends: a member's open socket closes, an admin's stays (read-only)", func(t *testing.T) {
		w := startRealtimeWorld(t, apptest.Options{Realtime: realtime.Options{RevalidateInterval: 100 * time.Millisecond}})
		member, admin := w.openSocket(w.member, nil), w.openSocket(w.admin, nil)
		op := principal.Principal{Kind: principal.Operator, User: "o1"}
		if _, err := w.s.Contracts.SetEnd(t.Context(), op, w.tenant.ID, w.s.Clock.Now().Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		w.s.Clock.Advance(2 * time.Minute)
		if code := member.closedWith(); code != realtime.StatusSessionEnded {
			t.Fatalf("the member's socket closed with %d, want %d", code, realtime.StatusSessionEnded)
		}
		admin.quiet(500 * time.Millisecond)
		select {
		case <-admin.done:
			t.Fatalf("the admin's socket closed: %v", admin.err)
		default:
		}
	})
	t.Run("the session's idle limit is not extended by an open socket", func(t *testing.T) {
		w := startRealtimeWorld(t, apptest.Options{Realtime: realtime.Options{RevalidateInterval: 100 * time.Millisecond}})
		s := w.openSocket(w.member, nil)
		w.s.Clock.Advance(9 * time.Hour) // beyond the default idle limit of 8 hours
		if code := s.closedWith(); code != realtime.StatusSessionEnded {
			t.Fatalf("closed with %d, want %d", code, realtime.StatusSessionEnded)
		}
	})
}

func TestRealtimeHandshakeRefusals(t *testing.T) {
	w := startRealtimeWorld(t, apptest.Options{Realtime: realtime.Options{MaxConnsPerAccount: 2}})
	anon := newClient(t, w.s.URL)
	if _, status := dialSocket(t, anon, "", w.origin); status != http.StatusUnauthorized {
		t.Errorf("without a session: %d, want 401", status)
	}
	for _, origin := range []string{"", "https://evil.example", strings.Replace(w.origin, "localhost", "127.0.0.1", 1), w.origin + ".evil.example"} {
		if _, status := dialSocket(t, w.member, "", origin); status != http.StatusForbidden {
			t.Errorf("origin %q: %d, want 403", origin, status)
		}
	}
	tok := createToken(t, w.member, []string{"read"}, 1)
	if _, status := dialSocket(t, newClient(t, w.s.URL), "", w.origin, "Authorization", "Bearer "+tok); status != http.StatusForbidden {
		t.Errorf("with an access token: %d, want 403", status)
	}
	w.openSocket(w.member, nil)
	w.openSocket(w.member, nil)
	if _, status := dialSocket(t, w.member, "", w.origin); status != http.StatusTooManyRequests {
		t.Errorf("a third socket: %d, want 429", status)
	}
	w.openSocket(w.admin, nil) // another account is not affected
	_, body := get(t, w.s.URL+"/metrics")
	for _, m := range []string{"kaigi_realtime_connections 3", `kaigi_realtime_refused_total{reason="origin"} 4`, `kaigi_realtime_refused_total{reason="too_many"} 1`} {
		if !strings.Contains(string(body), m) {
			t.Errorf("metrics lack %q", m)
		}
	}
}
