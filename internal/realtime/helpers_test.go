package realtime_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/kaigi/kaigi/internal/bus"
	"github.com/kaigi/kaigi/internal/bus/inproc"
	"github.com/kaigi/kaigi/internal/chat"
	"github.com/kaigi/kaigi/internal/errs"
	"github.com/kaigi/kaigi/internal/httpapi"
	"github.com/kaigi/kaigi/internal/identity"
	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/principal"
	"github.com/kaigi/kaigi/internal/realtime"
)

const (
	testTenant ids.TenantID = "tenant-1"
	testOrigin              = "https://kaigi.example"
	waitLimit               = 20 * time.Second // every wait in these tests is bounded by it
)

// fakeChat is an in-memory chat service: channels with members and an
// event log. Sealing is a prefix naming the channel and sequence number, so
// that opening checks both, as the real AAD does.
type fakeChat struct {
	bus bus.Bus

	mu    sync.Mutex
	chans map[string]*fakeChan
	// lose, if set, says which publishes are lost on the way to the bus.
	lose func(ch string, seq int64) bool
	// listed, if set, runs after Channels has read the list.
	listed func()

	opens, reads atomic.Int64
}

type fakeChan struct {
	members map[ids.UserID]bool
	log     [][]byte // opened payloads; log[i] has seq i+1
}

func newFakeChat(b bus.Bus) *fakeChat {
	return &fakeChat{bus: b, chans: map[string]*fakeChan{}}
}

func (f *fakeChat) addChannel(ch string, members ...ids.UserID) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := &fakeChan{members: map[ids.UserID]bool{}}
	for _, m := range members {
		c.members[m] = true
	}
	f.chans[ch] = c
}

func (f *fakeChat) setMember(ch string, u ids.UserID, member bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.chans[ch].members[u] = member
}

func sealed(ch string, seq int64, payload []byte) []byte {
	return append([]byte("sealed:"+ch+":"+strconv.FormatInt(seq, 10)+":"), payload...)
}

// send appends a message event to ch's log and publishes it (unless lose
// says it is lost); it returns the event's sequence number.
func (f *fakeChat) send(t testing.TB, ch string, actor ids.UserID, body string) int64 {
	t.Helper()
	return f.sendKind(t, ch, actor, chat.EventMessage, body, nil)
}

func (f *fakeChat) sendKind(t testing.TB, ch string, actor ids.UserID, kind, body string, members []ids.UserID) int64 {
	t.Helper()
	f.mu.Lock()
	c := f.chans[ch]
	seq := int64(len(c.log) + 1)
	pl := chat.Payload{Kind: kind, Channel: ch, Seq: seq, Actor: actor, Members: members}
	if kind == chat.EventMessage {
		pl.Message = &chat.View{ID: fmt.Sprintf("m-%s-%d", ch, seq), Channel: ch, Seq: seq, Author: actor, Body: body}
	}
	b, err := json.Marshal(pl)
	if err != nil {
		t.Fatal(err)
	}
	c.log = append(c.log, b)
	lose := f.lose != nil && f.lose(ch, seq)
	f.mu.Unlock()
	if !lose {
		f.publish(t, ch, seq, kind)
	}
	return seq
}

// publish (re)publishes the stored event ch/seq on the bus.
func (f *fakeChat) publish(t testing.TB, ch string, seq int64, kind string) {
	t.Helper()
	f.mu.Lock()
	pl := f.chans[ch].log[seq-1]
	f.mu.Unlock()
	env, _ := json.Marshal(chat.Envelope{Tenant: testTenant, Channel: ch, Seq: seq, Kind: kind, Payload: sealed(ch, seq, pl)})
	if err := f.bus.Publish(context.Background(), chat.Subject(testTenant, ch), env); err != nil {
		t.Errorf("publish: %v", err)
	}
}

var errNoChannel = errs.E(errs.NotFound, "There is no such channel, or you cannot see it.")

func (f *fakeChat) Channels(ctx context.Context, p principal.Principal) ([]chat.Channel, error) {
	f.mu.Lock()
	var out []chat.Channel
	for id, c := range f.chans {
		if c.members[p.User] {
			out = append(out, chat.Channel{ID: id, Tenant: testTenant, Kind: chat.Private, LastSeq: int64(len(c.log))})
		}
	}
	listed := f.listed
	f.mu.Unlock()
	if listed != nil {
		listed()
	}
	return out, nil
}

func (f *fakeChat) CanSee(ctx context.Context, p principal.Principal, ch string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if c := f.chans[ch]; c == nil || !c.members[p.User] {
		return errNoChannel
	}
	return nil
}

func (f *fakeChat) Events(ctx context.Context, p principal.Principal, ch string, after int64, limit int) ([]json.RawMessage, error) {
	f.reads.Add(1)
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.chans[ch]
	if c == nil || !c.members[p.User] {
		return nil, errNoChannel
	}
	var out []json.RawMessage
	for i := after; i < int64(len(c.log)) && len(out) < limit; i++ {
		out = append(out, c.log[i])
	}
	return out, nil
}

func (f *fakeChat) OpenEvent(ctx context.Context, tenant ids.TenantID, ch string, seq int64, s []byte) ([]byte, error) {
	prefix := []byte("sealed:" + ch + ":" + strconv.FormatInt(seq, 10) + ":")
	if tenant != testTenant || !bytes.HasPrefix(s, prefix) {
		return nil, fmt.Errorf("open: authentication failed")
	}
	f.opens.Add(1)
	return s[len(prefix):], nil
}

// fakeSessions holds one session per user, "s-<user>", until ended.
type fakeSessions struct {
	mu    sync.Mutex
	ended map[ids.UserID]bool
	calls atomic.Int64
}

func (s *fakeSessions) end(u ids.UserID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ended[u] = true
}

func (s *fakeSessions) Sessions(ctx context.Context, p principal.Principal) ([]identity.Session, error) {
	s.calls.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ended[p.User] {
		return []identity.Session{}, nil
	}
	return []identity.Session{{ID: "s-" + string(p.User), State: identity.SessionActive}}, nil
}

// env is a gateway behind an HTTP server whose requests authenticate with
// the X-Test-User header (no header: anonymous, refused with 401).
type env struct {
	t        testing.TB
	bus      bus.Bus
	chat     *fakeChat
	sessions *fakeSessions
	g        *realtime.Gateway
	reg      *prometheus.Registry
	srv      *httptest.Server
	url      string
}

func newEnv(t testing.TB, tune func(o *realtime.Options)) *env {
	t.Helper()
	b := inproc.New(inproc.Options{})
	t.Cleanup(func() { b.Close() })
	return newEnvOn(t, b, newFakeChat(b), tune)
}

// newEnvOn is newEnv for a node sharing a bus and a chat service with others.
func newEnvOn(t testing.TB, b bus.Bus, fc *fakeChat, tune func(o *realtime.Options)) *env {
	t.Helper()
	e := &env{t: t, bus: b, chat: fc, sessions: &fakeSessions{ended: map[ids.UserID]bool{}}, reg: prometheus.NewRegistry()}
	opts := realtime.Options{Chat: e.chat, Sessions: e.sessions, Bus: b, Origins: []string{testOrigin}, Registerer: e.reg}
	if tune != nil {
		tune(&opts)
	}
	g, err := realtime.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	e.g = g
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u := r.Header.Get("X-Test-User")
		if u == "" {
			httpapi.WriteError(w, r, discard, errs.E(errs.Unauthenticated, "Please sign in."))
			return
		}
		kind := principal.Member
		if strings.HasPrefix(u, "guest") {
			kind = principal.Guest
		}
		p := principal.Principal{Kind: kind, Tenant: testTenant, User: ids.UserID(u), Session: "s-" + u, Client: "browser"}
		if err := g.Serve(w, r, p); err != nil {
			httpapi.WriteError(w, r, discard, err)
		}
	}))
	e.url = "ws" + strings.TrimPrefix(e.srv.URL, "http") + "/api/v1/realtime"
	t.Cleanup(func() {
		g.Close()
		e.srv.Close()
	})
	return e
}

// metric reads a counter or gauge (summed over label values matching
// labels, given as name=value pairs).
func (e *env) metric(name string, labels ...string) float64 {
	e.t.Helper()
	return gathered(e.t, e.reg, name, labels...)
}

func gathered(t testing.TB, g prometheus.Gatherer, name string, labels ...string) float64 {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metrics:
		for _, m := range mf.GetMetric() {
			for i := 0; i+1 < len(labels); i += 2 {
				found := false
				for _, lp := range m.GetLabel() {
					if lp.GetName() == labels[i] && lp.GetValue() == labels[i+1] {
						found = true
					}
				}
				if !found {
					continue metrics
				}
			}
			switch {
			case m.Counter != nil:
				sum += m.GetCounter().GetValue()
			case m.Gauge != nil:
				sum += m.GetGauge().GetValue()
			case m.Histogram != nil:
				sum += float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return sum
}

// eventually waits, bounded, for cond.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

var discard = slog.New(slog.DiscardHandler)

// dialOpts are the handshake options of a browser of user at the origin.
func dialOpts(user, origin string) *websocket.DialOptions {
	h := http.Header{}
	if user != "" {
		h.Set("X-Test-User", user)
	}
	if origin != "" {
		h.Set("Origin", origin)
	}
	return &websocket.DialOptions{HTTPHeader: h}
}

// frame is any server frame.
type frame struct {
	Type     string            `json:"type"`
	Channel  string            `json:"channel"`
	Seq      int64             `json:"seq"`
	Event    json.RawMessage   `json:"event"`
	Channels map[string]int64  `json:"channels"`
	User     string            `json:"user"`
	Message  string            `json:"message"`
	Users    map[string]string `json:"users"`
	Snapshot bool              `json:"snapshot"`
}

// client is a test WebSocket client: a goroutine reads every message and
// splits batches into frames.
type client struct {
	t      testing.TB
	ws     *websocket.Conn
	frames chan frame
	done   chan struct{}
	err    error // why reading ended, once done is closed
	msgs   atomic.Int64
}

func dialClient(t testing.TB, url string, opts *websocket.DialOptions) *client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	ws, resp, err := websocket.Dial(ctx, url, opts)
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		t.Fatalf("dial: %v (status %d)", err, status)
	}
	ws.SetReadLimit(4 << 20)
	c := &client{t: t, ws: ws, frames: make(chan frame, 1<<16), done: make(chan struct{})}
	t.Cleanup(func() { ws.CloseNow() })
	go c.read()
	return c
}

// connect opens a socket for user and says hello with cursors (nil: all live).
func (e *env) connect(user string, cursors map[string]int64) *client {
	e.t.Helper()
	c := dialClient(e.t, e.url, dialOpts(user, testOrigin))
	c.hello(cursors)
	return c
}

// connectWithPresence is connect for a client that asks for presence frames.
func (e *env) connectWithPresence(user string) *client {
	e.t.Helper()
	c := dialClient(e.t, e.url, dialOpts(user, testOrigin))
	c.send(map[string]any{"type": "hello", "cursors": map[string]int64{}, "presence": true})
	return c
}

func (c *client) hello(cursors map[string]int64) {
	c.t.Helper()
	if cursors == nil {
		cursors = map[string]int64{}
	}
	c.send(map[string]any{"type": "hello", "cursors": cursors})
}

func (c *client) send(v any) {
	c.t.Helper()
	b, _ := json.Marshal(v)
	c.sendRaw(b)
}

func (c *client) sendRaw(b []byte) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	if err := c.ws.Write(ctx, websocket.MessageText, b); err != nil {
		c.t.Fatalf("client write: %v", err)
	}
}

func (c *client) read() {
	defer close(c.done)
	for {
		_, b, err := c.ws.Read(context.Background())
		if err != nil {
			c.err = err
			return
		}
		c.msgs.Add(1)
		var fs []frame
		if len(b) > 0 && b[0] == '[' {
			err = json.Unmarshal(b, &fs)
		} else {
			var f frame
			err = json.Unmarshal(b, &f)
			fs = []frame{f}
		}
		if err != nil {
			c.err = fmt.Errorf("bad message from the server: %v: %.200s", err, b)
			return
		}
		for _, f := range fs {
			c.frames <- f
		}
	}
}

// next returns the next frame, failing the test after waitLimit.
func (c *client) next() frame {
	c.t.Helper()
	select {
	case f := <-c.frames:
		return f
	case <-c.done:
		select {
		case f := <-c.frames:
			return f
		default:
		}
		c.t.Fatalf("connection ended while a frame was expected: %v", c.err)
	case <-time.After(waitLimit):
		c.t.Fatal("timed out waiting for a frame")
	}
	return frame{}
}

// nextNotPresence returns the next frame that is not a presence frame.
func (c *client) nextNotPresence() frame {
	c.t.Helper()
	for {
		if f := c.next(); f.Type != "presence" {
			return f
		}
	}
}

// ambient reports whether a frame is a notice that may come at any time
// (typing, presence), which tests of other things skip.
func ambient(f frame) bool { return f.Type == "typing" || f.Type == "presence" }

// expect returns the next frame of type typ, skipping typing and presence
// frames unless typ is one, failing on any other.
func (c *client) expect(typ string) frame {
	c.t.Helper()
	for {
		f := c.next()
		if ambient(f) && f.Type != typ {
			continue
		}
		if f.Type != typ {
			c.t.Fatalf("got %s frame %+v, want %s", f.Type, f, typ)
		}
		return f
	}
}

// events reads event frames of ch until seq upto, checking that each seq
// follows the previous one exactly (from after), and returns their bodies.
func (c *client) events(ch string, after, upto int64) []string {
	c.t.Helper()
	var bodies []string
	for after < upto {
		f := c.next()
		switch f.Type {
		case "typing", "presence", "join", "ready":
			continue
		case "event":
		default:
			c.t.Fatalf("unexpected frame %+v while waiting for %s up to %d", f, ch, upto)
		}
		if f.Channel != ch {
			c.t.Fatalf("event of channel %s, want only %s: %+v", f.Channel, ch, f)
		}
		if f.Seq != after+1 {
			c.t.Fatalf("channel %s: got seq %d after %d (duplicate, gap or disorder)", ch, f.Seq, after)
		}
		var pl chat.Payload
		if err := json.Unmarshal(f.Event, &pl); err != nil || pl.Seq != f.Seq || pl.Channel != ch {
			c.t.Fatalf("event payload %s does not match the frame (seq %d): %v", f.Event, f.Seq, err)
		}
		if pl.Message != nil {
			bodies = append(bodies, pl.Message.Body)
		}
		after = f.Seq
	}
	return bodies
}

// quiet checks that nothing but typing and presence arrives for d.
func (c *client) quiet(d time.Duration) {
	c.t.Helper()
	deadline := time.After(d)
	for {
		select {
		case f := <-c.frames:
			if !ambient(f) {
				c.t.Fatalf("unexpected frame %+v", f)
			}
		case <-deadline:
			return
		}
	}
}

// closed waits for the server to close the connection and returns the
// close status.
func (c *client) closed() websocket.StatusCode {
	c.t.Helper()
	for {
		select {
		case <-c.frames:
		case <-c.done:
			return websocket.CloseStatus(c.err)
		case <-time.After(waitLimit):
			c.t.Fatal("timed out waiting for the server to close the connection")
		}
	}
}
