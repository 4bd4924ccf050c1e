package realtime_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/kaigi/kaigi/internal/chat"
	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/realtime"
)

func TestLiveEventsReachEveryFollowerOnceInOrderAndAreOpenedOncePerNode(t *testing.T) {
	e := newEnv(t, nil)
	e.chat.addChannel("c1", "alice", "bob")
	e.chat.addChannel("c2", "carol")
	a, b, g := e.connect("alice", nil), e.connect("bob", nil), e.connect("guest-gil", nil)
	if r := a.expect("ready"); len(r.Channels) != 1 || r.Channels["c1"] != 0 {
		t.Fatalf("alice's ready: %+v", r)
	}
	b.expect("ready")
	if r := g.expect("ready"); len(r.Channels) != 0 {
		t.Fatalf("the guest follows channels of others: %+v", r)
	}
	const n = 50
	for i := 1; i <= n; i++ {
		e.chat.send(t, "c1", "alice", fmt.Sprintf("m%d", i))
		e.chat.send(t, "c2", "carol", "not for you")
	}
	for name, c := range map[string]*client{"alice": a, "bob": b} {
		bodies := c.events("c1", 0, n) // fails on any c2 event, duplicate or gap
		for i, body := range bodies {
			if body != fmt.Sprintf("m%d", i+1) {
				t.Fatalf("%s: body %d is %q", name, i+1, body)
			}
		}
	}
	g.quiet(100 * time.Millisecond)
	a.quiet(50 * time.Millisecond)
	if got := e.chat.opens.Load(); got != n {
		t.Fatalf("%d events were opened %d times: each must be opened once per node, and c2's never", n, got)
	}
	eventually(t, "the deliveries counter", func() bool { return e.metric("kaigi_realtime_deliveries_total") == 2*n })
	if got := e.metric("kaigi_realtime_connections"); got != 3 {
		t.Fatalf("connections gauge %v, want 3", got)
	}
}

func TestResumeReplaysTheStoreThenLiveWithoutGapOrDuplicate(t *testing.T) {
	e := newEnv(t, nil)
	e.chat.addChannel("c1", "alice", "bob")
	const stored, live = 450, 150 // more than two pages of replay
	for range stored {
		e.chat.send(t, "c1", "bob", "before")
	}
	a := e.connect("alice", map[string]int64{"c1": 10, "unknown-channel": 3})
	r := a.expect("ready")
	if len(r.Channels) != 1 || r.Channels["c1"] != stored {
		t.Fatalf("ready: %+v", r)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		for range live {
			e.chat.send(t, "c1", "bob", "during")
		}
	})
	a.events("c1", 10, stored+live)
	wg.Wait()
	a.quiet(50 * time.Millisecond)
}

// TestEventsPublishedWhileJoiningAreNotLost publishes an event after the
// connection's channel list was read and before it follows the channels,
// and waits until the node has handled it: the connection must still get
// it, live.
func TestEventsPublishedWhileJoiningAreNotLost(t *testing.T) {
	e := newEnv(t, nil)
	e.chat.addChannel("c1", "alice", "bob")
	e.chat.addChannel("c2", "alice", "bob")
	e.chat.send(t, "c1", "bob", "before")
	e.chat.send(t, "c2", "bob", "before")
	e.chat.listed = func() {
		e.chat.mu.Lock()
		e.chat.listed = nil
		e.chat.mu.Unlock()
		opened := e.chat.opens.Load()
		e.chat.send(t, "c1", "bob", "while joining")
		e.chat.send(t, "c2", "bob", "while joining")
		eventually(t, "the node to handle the events", func() bool { return e.chat.opens.Load() == opened+2 })
	}
	a := e.connect("alice", map[string]int64{"c2": 0})
	if r := a.expect("ready"); r.Channels["c1"] != 1 || r.Channels["c2"] != 1 {
		t.Fatalf("ready: %+v", r)
	}
	got := map[string][]int64{}
	for len(got["c1"])+len(got["c2"]) < 3 {
		f := a.expect("event")
		got[f.Channel] = append(got[f.Channel], f.Seq)
	}
	if fmt.Sprint(got["c1"]) != "[2]" || fmt.Sprint(got["c2"]) != "[1 2]" {
		t.Fatalf("events: %v; want c1 live from 2, c2 replayed from 1", got)
	}
	a.quiet(50 * time.Millisecond)
}

func TestGapsAreFilledFromTheStoreOncePerNode(t *testing.T) {
	e := newEnv(t, nil)
	e.chat.addChannel("c1", "alice", "bob")
	lost := map[int64]bool{5: true, 6: true, 11: true}
	e.chat.lose = func(ch string, seq int64) bool { return lost[seq] }
	a, b := e.connect("alice", nil), e.connect("bob", nil)
	a.expect("ready")
	b.expect("ready")
	for range 10 {
		e.chat.send(t, "c1", "alice", "x")
	}
	a.events("c1", 0, 10)
	b.events("c1", 0, 10)
	if fills, reads := e.metric("kaigi_realtime_gap_fills_total", "level", "node"), e.chat.reads.Load(); fills != 1 || reads != 1 {
		t.Fatalf("a lost publish seen by two connections: %v node fills and %d store reads, want 1 and 1", fills, reads)
	}
	// Out of order: 12 arrives before 11 (11's publish is late), then 11.
	e.chat.send(t, "c1", "alice", "eleven") // lost on the way
	e.chat.send(t, "c1", "alice", "twelve")
	a.events("c1", 10, 12)
	e.chat.publish(t, "c1", 11, chat.EventMessage) // the late publish arrives
	e.chat.send(t, "c1", "alice", "thirteen")
	if got := a.events("c1", 12, 13); got[0] != "thirteen" { // a repeated 11 would fail here
		t.Fatalf("after the late publish: %v", got)
	}
	b.events("c1", 10, 13)
	if got := e.metric("kaigi_realtime_gap_fills_total", "level", "connection"); got != 0 {
		t.Fatalf("connections filled gaps themselves %v times; the node should have", got)
	}
}

func TestALostLastPublishIsRepairedByThePeriodicRecheck(t *testing.T) {
	e := newEnv(t, func(o *realtime.Options) { o.RevalidateInterval = 50 * time.Millisecond })
	e.chat.addChannel("c1", "alice")
	e.chat.lose = func(ch string, seq int64) bool { return seq == 3 }
	a := e.connect("alice", nil)
	a.expect("ready")
	for range 3 {
		e.chat.send(t, "c1", "alice", "x")
	}
	a.events("c1", 0, 3) // nothing follows 3 to reveal the gap: only the re-check can
}

func TestNewAndNewlyVisibleChannelsAreJoinedLive(t *testing.T) {
	e := newEnv(t, nil)
	e.chat.addChannel("private", "bob")
	for range 3 {
		e.chat.send(t, "private", "bob", "before alice")
	}
	a := e.connect("alice", nil)
	if r := a.expect("ready"); len(r.Channels) != 0 {
		t.Fatalf("ready: %+v", r)
	}
	// A channel created with alice in it: its first event brings it.
	e.chat.addChannel("fresh", "alice", "bob")
	e.chat.send(t, "fresh", "bob", "hello")
	if j := a.expect("join"); j.Channel != "fresh" || j.Seq != 0 {
		t.Fatalf("join: %+v", j)
	}
	a.events("fresh", 0, 1)
	// A private channel with history: alice is added; the membership event
	// and what follows arrive, the history stays for HTTP.
	e.chat.setMember("private", "alice", true)
	e.chat.sendKind(t, "private", "bob", chat.EventMembers, "", []ids.UserID{"alice"})
	if j := a.expect("join"); j.Channel != "private" || j.Seq != 3 {
		t.Fatalf("join: %+v", j)
	}
	a.events("private", 3, 4)
	e.chat.send(t, "private", "bob", "welcome")
	if got := a.events("private", 4, 5); got[0] != "welcome" {
		t.Fatalf("after joining: %v", got)
	}
}

func TestRemovalDropsTheChannelAndAnEndedSessionClosesTheSocket(t *testing.T) {
	e := newEnv(t, nil)
	e.chat.addChannel("team", "alice", "guest-gil")
	e.chat.addChannel("other", "guest-gil")
	g := e.connect("guest-gil", nil)
	g.expect("ready")
	e.chat.send(t, "team", "alice", "hi")
	g.events("team", 0, 1)

	e.chat.setMember("team", "guest-gil", false)
	if err := realtime.NotifyAccount(t.Context(), e.bus, testTenant, "guest-gil", "team.member_remove"); err != nil {
		t.Fatal(err)
	}
	if l := g.expect("leave"); l.Channel != "team" {
		t.Fatalf("leave: %+v", l)
	}
	e.chat.send(t, "team", "alice", "after the guest left")
	g.quiet(100 * time.Millisecond)

	e.sessions.end("guest-gil")
	realtime.NotifyAccount(t.Context(), e.bus, testTenant, "guest-gil", "account.deactivate")
	if code := g.closed(); code != realtime.StatusSessionEnded {
		t.Fatalf("closed with %d, want %d", code, realtime.StatusSessionEnded)
	}
}

func TestTheRecheckAloneDropsChannelsAndEndsSessions(t *testing.T) {
	e := newEnv(t, func(o *realtime.Options) { o.RevalidateInterval = 50 * time.Millisecond })
	e.chat.addChannel("team", "alice", "guest-gil")
	g := e.connect("guest-gil", nil)
	g.expect("ready")
	e.chat.setMember("team", "guest-gil", false) // and no control message
	if l := g.expect("leave"); l.Channel != "team" {
		t.Fatalf("leave: %+v", l)
	}
	e.sessions.end("guest-gil")
	if code := g.closed(); code != realtime.StatusSessionEnded {
		t.Fatalf("closed with %d, want %d", code, realtime.StatusSessionEnded)
	}
}

func TestSlowConsumerIsClosedWhileOthersKeepUpAndThePublisherNeverWaits(t *testing.T) {
	e := newEnv(t, func(o *realtime.Options) { o.SendQueue, o.SendQueueBytes = 64, 8<<20 })
	e.chat.addChannel("c1", "alice", "bob")
	fast := e.connect("alice", nil)
	fast.expect("ready")
	// bob never reads: only the kernel's buffers and his queue take events.
	slow, _, err := websocket.Dial(t.Context(), e.url, dialOpts("bob", testOrigin))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { slow.CloseNow() })
	slow.Write(t.Context(), websocket.MessageText, []byte(`{"type":"hello","cursors":{}}`))

	body := strings.Repeat("x", 16<<10)
	var seq int64
	var slowest time.Duration
	round := func() {
		for range 32 {
			start := time.Now()
			seq = e.chat.send(t, "c1", "alice", body)
			slowest = max(slowest, time.Since(start))
		}
		fast.events("c1", seq-32, seq)
	}
	for i := 0; e.metric("kaigi_realtime_slow_consumers_total", "reason", "queue_full") == 0; i++ {
		if i == 400 {
			t.Fatalf("the reader that never reads was not dropped after %d events", seq)
		}
		round()
	}
	for range 5 {
		round() // alice keeps receiving everything, in order
	}
	if slowest > time.Second {
		t.Fatalf("a publish took %v: the publisher waited for a connection", slowest)
	}
	if got := e.metric("kaigi_realtime_gap_fills_total"); got != 0 {
		t.Fatalf("%v gap fills: the node fell behind the bus while a client was slow", got)
	}
	// bob's socket ends (after whatever the kernel had buffered).
	ctx, cancel := context.WithTimeout(t.Context(), waitLimit)
	defer cancel()
	slow.SetReadLimit(-1)
	for {
		if _, _, err := slow.Read(ctx); err != nil {
			if ctx.Err() != nil {
				t.Fatal("the slow connection was not closed")
			}
			break
		}
	}
	eventually(t, "the slow connection to be counted out", func() bool { return e.metric("kaigi_realtime_connections") == 1 })
}

func TestHandshakesAreRefusedBeforeUpgrading(t *testing.T) {
	e := newEnv(t, func(o *realtime.Options) { o.MaxConnsPerAccount = 2 })
	dial := func(opts *websocket.DialOptions) int {
		t.Helper()
		ws, resp, err := websocket.Dial(t.Context(), e.url, opts)
		if err == nil {
			t.Cleanup(func() { ws.CloseNow() })
			return http.StatusSwitchingProtocols
		}
		if resp == nil {
			t.Fatalf("dial: %v", err)
		}
		return resp.StatusCode
	}
	for _, tc := range []struct {
		name string
		opts *websocket.DialOptions
		want int
	}{
		{"unauthenticated", dialOpts("", testOrigin), http.StatusUnauthorized},
		{"another site's page", dialOpts("alice", "https://evil.example"), http.StatusForbidden},
		{"a look-alike origin", dialOpts("alice", testOrigin+".evil.example"), http.StatusForbidden},
		{"no origin", dialOpts("alice", ""), http.StatusForbidden},
		{"first", dialOpts("alice", testOrigin), http.StatusSwitchingProtocols},
		{"second", dialOpts("alice", testOrigin), http.StatusSwitchingProtocols},
		{"one too many for the account", dialOpts("alice", testOrigin), http.StatusTooManyRequests},
		{"another account", dialOpts("bob", testOrigin), http.StatusSwitchingProtocols},
	} {
		if got := dial(tc.opts); got != tc.want {
			t.Errorf("%s: status %d, want %d", tc.name, got, tc.want)
		}
	}
	req, _ := http.NewRequestWithContext(t.Context(), "GET", e.srv.URL+"/api/v1/realtime", nil)
	req.Header.Set("X-Test-User", "carol")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("a plain GET: %d, want 400", resp.StatusCode)
	}
	if got := e.metric("kaigi_realtime_refused_total"); got != 4 {
		t.Errorf("refused counter %v, want 4", got)
	}
}

func TestProtocolLimits(t *testing.T) {
	e := newEnv(t, func(o *realtime.Options) {
		o.ReadLimit = 1024
		o.HelloTimeout = 200 * time.Millisecond
		o.FrameRate, o.FrameBurst = 1, 10
		o.MaxConnsPerAccount = 100
	})
	e.chat.addChannel("c1", "alice")
	open := func() *client { return dialClient(t, e.url, dialOpts("alice", testOrigin)) }

	t.Run("an oversized frame closes with 1009", func(t *testing.T) {
		c := open()
		c.sendRaw([]byte(`{"type":"hello","cursors":{"` + strings.Repeat("a", 2048) + `":1}}`))
		if code := c.closed(); code != websocket.StatusMessageTooBig {
			t.Fatalf("closed with %d, want 1009", code)
		}
	})
	t.Run("malformed frames get an error frame, then the connection closes", func(t *testing.T) {
		c := open()
		c.hello(nil)
		c.expect("ready")
		c.sendRaw([]byte(`{"type":"hello"`))
		if f := c.expect("error"); !strings.Contains(f.Message, "JSON") {
			t.Fatalf("error frame: %+v", f)
		}
		c.sendRaw([]byte(`{"type":"subscribe-to-everything"}`))
		c.expect("error")
		c.send(map[string]string{"type": "typing", "channel": "not-mine"})
		c.expect("error")
		c.hello(nil)
		c.expect("error")
		c.send(map[string]string{"type": "ping"})
		c.expect("pong")
		c.sendRaw([]byte(`[`))
		c.expect("error")
		c.sendRaw([]byte(`nope`)) // the sixth
		if code := c.closed(); code != websocket.StatusPolicyViolation {
			t.Fatalf("closed with %d, want 1008", code)
		}
	})
	t.Run("no hello closes with 1008", func(t *testing.T) {
		if code := open().closed(); code != websocket.StatusPolicyViolation {
			t.Fatalf("closed with %d, want 1008", code)
		}
	})
	t.Run("a flood of frames closes with 1008", func(t *testing.T) {
		c := open()
		c.hello(nil)
		for range 20 {
			if err := c.ws.Write(t.Context(), websocket.MessageText, []byte(`{"type":"ping"}`)); err != nil {
				break
			}
		}
		if code := c.closed(); code != websocket.StatusPolicyViolation {
			t.Fatalf("closed with %d, want 1008", code)
		}
	})
}

func TestHeartbeatKeepsLiveSocketsAndDropsDeadOnes(t *testing.T) {
	e := newEnv(t, func(o *realtime.Options) {
		o.HeartbeatInterval, o.PongTimeout, o.MaxMissedPongs = 50*time.Millisecond, 250*time.Millisecond, 2
	})
	e.chat.addChannel("c1", "alice", "bob")
	alive := e.connect("alice", nil) // reads, so its library answers pings
	alive.expect("ready")
	// bob's socket is a bare TCP connection that will never answer a ping.
	addr := strings.TrimPrefix(e.srv.URL, "http://")
	dead := rawSocket(t, addr, "bob")
	eventually(t, "the dead socket to be dropped", func() bool { return e.metric("kaigi_realtime_connections") == 1 })
	dead.SetReadDeadline(time.Now().Add(waitLimit))
	if _, err := io.Copy(io.Discard, dead); err != nil {
		t.Fatalf("the server did not close the dead socket: %v", err)
	}
	e.chat.send(t, "c1", "bob", "still there?")
	alive.events("c1", 0, 1) // many heartbeats later
}

func TestTypingReachesTheOthersOnly(t *testing.T) {
	e := newEnv(t, nil)
	e.chat.addChannel("c1", "alice", "bob")
	a, b := e.connect("alice", nil), e.connect("bob", nil)
	a.expect("ready")
	b.expect("ready")
	a.send(map[string]string{"type": "typing", "channel": "c1"})
	a.send(map[string]string{"type": "typing", "channel": "c1"}) // within the interval: ignored
	if f := b.expect("typing"); f.Channel != "c1" || f.User != "alice" {
		t.Fatalf("typing: %+v", f)
	}
	e.chat.send(t, "c1", "alice", "done typing")
	if f := a.nextNotPresence(); f.Type != "event" {
		t.Fatalf("alice saw her own typing: %+v", f)
	}
	b.events("c1", 0, 1)
	e.chat.send(t, "c1", "alice", "again")
	if f := b.nextNotPresence(); f.Type != "event" { // the typing notice sent twice got through twice
		t.Fatalf("after the event: %+v", f)
	}
}

func TestTheNodeRecoversWhenTheBusDropsIt(t *testing.T) {
	e := newEnv(t, func(o *realtime.Options) { o.BusBuffer = 1 })
	e.chat.addChannel("c1", "alice")
	a := e.connect("alice", nil)
	a.expect("ready")
	for range 300 {
		e.chat.send(t, "c1", "alice", "burst") // far faster than the node takes them
	}
	a.events("c1", 0, 300)
	a.quiet(50 * time.Millisecond)
	if e.chat.reads.Load() == 0 {
		t.Fatal("the bus never dropped the node: this test did not test recovery")
	}
}

func TestShutdownClosesWithGoingAway(t *testing.T) {
	e := newEnv(t, nil)
	a := e.connect("alice", nil)
	a.expect("ready")
	e.g.Close()
	if code := a.closed(); code != websocket.StatusGoingAway {
		t.Fatalf("closed with %d, want 1001", code)
	}
	ws, resp, err := websocket.Dial(t.Context(), e.url, dialOpts("alice", testOrigin))
	if err == nil {
		ws.CloseNow()
		t.Fatal("a closed gateway accepted a connection")
	}
	if resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("after close: %v %v", resp, err)
	}
}
