package app_test

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/kaigi/kaigi/internal/app/apptest"
	"github.com/kaigi/kaigi/internal/identity"
	"github.com/kaigi/kaigi/internal/meeting"
	"github.com/kaigi/kaigi/internal/principal"
)

// mframe is a meeting frame as a client reads it.
type mframe struct {
	meeting.Frame
	Code string `json:"code"`
}

// msock is a meeting client's WebSocket: the realtime socket of a signed-in
// client, or the meeting-only socket of someone who is not.
type msock struct {
	t  *testing.T
	ws *websocket.Conn
	in chan mframe
}

func dialMeeting(t *testing.T, w *rtWorld, c *client, path, origin string) (*msock, int) {
	t.Helper()
	hc := http.DefaultClient
	if c != nil {
		hc = c.http
	}
	h := http.Header{}
	h.Set("Origin", origin)
	ctx, cancel := context.WithTimeout(t.Context(), rtWait)
	defer cancel()
	ws, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(w.s.URL, "http")+path, &websocket.DialOptions{HTTPClient: hc, HTTPHeader: h})
	if err != nil {
		if resp == nil {
			t.Fatalf("dial: %v", err)
		}
		return nil, resp.StatusCode
	}
	s := &msock{t: t, ws: ws, in: make(chan mframe, 1024)}
	t.Cleanup(func() { ws.CloseNow() })
	go func() {
		defer close(s.in)
		for {
			_, b, err := ws.Read(context.Background())
			if err != nil {
				return
			}
			var fs []mframe
			if len(b) > 0 && b[0] == '[' {
				_ = json.Unmarshal(b, &fs)
			} else {
				var f mframe
				_ = json.Unmarshal(b, &f)
				fs = []mframe{f}
			}
			for _, f := range fs {
				s.in <- f
			}
		}
	}()
	s.send(map[string]any{"type": "hello", "cursors": map[string]int64{}})
	if f := s.next(); f.Type != "ready" {
		t.Fatalf("first frame %+v, want ready", f)
	}
	return s, http.StatusSwitchingProtocols
}

func (s *msock) send(v any) {
	s.t.Helper()
	b, _ := json.Marshal(v)
	if err := s.ws.Write(s.t.Context(), websocket.MessageText, b); err != nil {
		s.t.Fatal(err)
	}
}

// next returns the next frame other than presence and pong.
func (s *msock) next() mframe {
	s.t.Helper()
	timeout := time.After(rtWait)
	for {
		select {
		case f, ok := <-s.in:
			if !ok {
				s.t.Fatal("the socket closed while a frame was expected")
			}
			if f.Type == "presence" || f.Type == "pong" || f.Type == "meeting.signal" {
				continue
			}
			return f
		case <-timeout:
			s.t.Fatal("timed out waiting for a frame")
		}
	}
}

// until returns the first frame of type typ, skipping others.
func (s *msock) until(typ string) mframe {
	s.t.Helper()
	return s.untilWith(typ, func(mframe) bool { return true })
}

// untilWith returns the first frame of type typ for which ok holds.
func (s *msock) untilWith(typ string, ok func(mframe) bool) mframe {
	s.t.Helper()
	for {
		if f := s.next(); f.Type == typ && ok(f) {
			return f
		}
	}
}

// TestMeetingSignallingOverTheSocket drives meetings over the realtime
// WebSocket and the meeting-only socket: lobby, admission, refusals of
// signals and commands from people not admitted, forged codes, malformed
// SDP (refused, the meeting unaffected), and rejoining after a drop.
func TestMeetingSignallingOverTheSocket(t *testing.T) {
	w := startRealtimeWorld(t, apptest.Options{})
	m, code := openMeeting(t, w, "Standup")

	// The meeting-only socket checks the Origin like the other.
	if _, status := dialMeeting(t, w, nil, "/api/v1/meetings/live", "https://evil.example"); status != http.StatusForbidden {
		t.Fatalf("meeting socket from a foreign origin: %d", status)
	}
	anon, _ := dialMeeting(t, w, nil, "/api/v1/meetings/live", w.origin)
	anon.send(map[string]any{"type": "meeting.join", "code": "AAAAAAAAAAAAAAAAAAAAAA", "name": "Mallory"})
	if f := anon.next(); f.Type != "meeting.error" || !strings.Contains(f.Message, "does not exist") {
		t.Fatalf("a forged code: %+v", f)
	}
	anon.send(map[string]any{"type": "meeting.join", "code": code, "name": "Mallory"})
	if f := anon.next(); f.Type != "meeting.lobby" {
		t.Fatalf("anonymous join: %+v", f)
	}

	guest, _ := dialMeeting(t, w, w.guest, "/api/v1/realtime", w.origin)
	guest.send(map[string]any{"type": "meeting.join", "code": code})
	lobby := guest.next()
	if lobby.Type != "meeting.lobby" || lobby.Meeting != m.ID {
		t.Fatalf("guest join: %+v", lobby)
	}
	// Waiting is not being in: no signals, no commands, no media.
	guest.send(map[string]any{"type": "meeting.signal", "meeting": m.ID, "signal": map[string]string{"type": "offer", "sdp": "v=0"}})
	if f := guest.next(); f.Type != "meeting.error" || f.Code != "forbidden" {
		t.Fatalf("a signal from the lobby: %+v", f)
	}
	guest.send(map[string]any{"type": "meeting.do", "meeting": m.ID, "action": "admit", "who": []string{lobby.You}})
	if f := guest.next(); f.Type != "meeting.error" || f.Code != "forbidden" {
		t.Fatalf("admitting oneself from the lobby: %+v", f)
	}
	// Signals for a meeting not joined on this socket are refused too.
	anon.send(map[string]any{"type": "meeting.signal", "meeting": "0193aaaa-0000-7000-8000-000000000000", "signal": map[string]string{"type": "offer"}})
	if f := anon.next(); f.Type != "meeting.error" || f.Code != "forbidden" {
		t.Fatalf("a signal for another meeting: %+v", f)
	}

	org, _ := dialMeeting(t, w, w.admin, "/api/v1/realtime", w.origin)
	org.send(map[string]any{"type": "meeting.join", "meeting": m.ID})
	adm := org.next()
	if adm.Type != "meeting.admitted" || adm.Role != meeting.Organizer || !strings.Contains(string(adm.Media), "ice_servers") {
		t.Fatalf("the organiser joins: %+v", adm)
	}
	if f := org.until("meeting.waiting"); len(f.Lobby) != 2 {
		t.Fatalf("the organiser sees the lobby: %+v", f)
	}
	// Malformed SDP is refused with a message; the meeting goes on.
	org.send(map[string]any{"type": "meeting.signal", "meeting": m.ID, "signal": map[string]string{"type": "offer", "sdp": "this is not SDP"}})
	if f := org.next(); f.Type != "meeting.error" || f.Code != "invalid" || !strings.Contains(f.Message, "SDP") {
		t.Fatalf("malformed SDP: %+v", f)
	}
	org.send(map[string]any{"type": "meeting.signal", "meeting": m.ID, "signal": "nonsense"})
	if f := org.next(); f.Type != "meeting.error" || f.Code != "invalid" {
		t.Fatalf("a signal that is not an object: %+v", f)
	}
	org.send(map[string]any{"type": "meeting.signal", "meeting": m.ID, "signal": map[string]any{"type": "candidate", "candidate": map[string]string{"candidate": "candidate:garbage"}}})
	if f := org.next(); f.Type != "meeting.error" || f.Code != "invalid" {
		t.Fatalf("a malformed ICE candidate: %+v", f)
	}
	org.send(map[string]any{"type": "meeting.signal", "meeting": m.ID, "signal": map[string]any{"type": "candidate"}})
	if f := org.next(); f.Type != "meeting.error" || f.Code != "invalid" {
		t.Fatalf("a candidate signal without its candidate: %+v", f)
	}
	org.send(map[string]any{"type": "meeting.do", "meeting": m.ID, "action": "admit", "who": []string{lobby.You}})
	if f := guest.until("meeting.admitted"); len(f.Participants) != 2 || !strings.Contains(string(f.Media), "ice_servers") {
		t.Fatalf("the guest admitted: %+v", f)
	}

	// The anonymous visitor gives up: the organiser's lobby empties.
	anon.ws.Close(websocket.StatusNormalClosure, "bye")
	org.untilWith("meeting.waiting", func(f mframe) bool { return len(f.Lobby) == 0 })

	// The guest's connection drops; back within the grace period, no lobby.
	guest.ws.CloseNow()
	org.untilWith("meeting.participants", func(f mframe) bool { return len(f.Participants) == 1 })
	again, _ := dialMeeting(t, w, w.guest, "/api/v1/realtime", w.origin)
	again.send(map[string]any{"type": "meeting.join", "code": code})
	if f := again.next(); f.Type != "meeting.admitted" {
		t.Fatalf("the guest rejoins within the grace period: %+v", f)
	}
	// Unknown actions are refused with a message.
	again.send(map[string]any{"type": "meeting.do", "meeting": m.ID, "action": "self_destruct"})
	if f := again.next(); f.Type != "meeting.error" || f.Code != "invalid" {
		t.Fatalf("an unknown action: %+v", f)
	}

	// A renegotiation storm: the storming socket is closed for sending too
	// fast; the meeting goes on for the others.
	for range 200 {
		b, _ := json.Marshal(map[string]any{"type": "meeting.signal", "meeting": m.ID, "signal": map[string]string{"type": "offer", "sdp": "v=0"}})
		if err := again.ws.Write(t.Context(), websocket.MessageText, b); err != nil {
			break // closed already
		}
	}
	for f := range again.in {
		_ = f // drain until the server closes the storming socket
	}
	org.send(map[string]any{"type": "meeting.do", "meeting": m.ID, "action": "hand", "on": true})
	if f := org.untilWith("meeting.participants", func(f mframe) bool {
		return slices.ContainsFunc(f.Participants, func(p meeting.Participant) bool { return p.Role == meeting.Organizer && p.Hand })
	}); len(f.Participants) == 0 {
		t.Fatal("the meeting stopped for the others")
	}
}

// openMeeting lets the rtWorld's tenant take anonymous joins (and
// recordings), and has its admin organise a meeting now whose lobby lets
// in only the invited; it returns the meeting and its join code.
func openMeeting(t *testing.T, w *rtWorld, title string) (meeting.Created, string) {
	t.Helper()
	ctx := t.Context()
	acct, err := w.s.DB.AccountByEmail(ctx, identity.TenantRealm, w.tenant.ID, "admin@acme.example")
	if err != nil {
		t.Fatal(err)
	}
	admin := principal.Principal{Kind: principal.Member, Tenant: acct.Tenant, User: acct.ID, Roles: acct.Roles, Source: "127.0.0.1", Client: "browser"}
	pol := identity.DefaultPolicy()
	pol.Meetings.AllowAnonymous = true
	pol.Meetings.AllowRecording = true
	if err := w.s.Identity.SetPolicy(ctx, admin, pol, true); err != nil {
		t.Fatal(err)
	}
	now := w.s.Clock.Now()
	m, err := w.s.Meetings.Create(ctx, admin, meeting.NewMeeting{Title: title, Start: now, End: now.Add(time.Hour),
		Options: &meeting.Options{LobbyBypass: identity.BypassInvited, AllowAnonymous: true}})
	if err != nil {
		t.Fatal(err)
	}
	return m, codeOf(t, m.Link)
}
