package realtime

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/kaigi/kaigi/internal/errs"
	"github.com/kaigi/kaigi/internal/identity"
	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/principal"
)

// StatusSessionEnded closes a socket whose session ended: sign in again
// before reconnecting (4401, an application code, like HTTP 401).
const StatusSessionEnded websocket.StatusCode = 4401

// Errors before the upgrade, rendered by the HTTP layer.
var (
	ErrNotWebSocket = errs.E(errs.Invalid, "This address takes a WebSocket connection (GET with Upgrade: websocket).")
	ErrOrigin       = errs.E(errs.Forbidden, "This connection was opened from a page that is not this Kaigi site, so it is refused.")
	ErrTooMany      = errs.E(errs.RateLimited, "You have too many live connections open (one per browser tab). Close some tabs and try again.")
	ErrClosed       = errs.E(errs.Unavailable, "The server is restarting. Reconnect in a moment.")
)

// Gateway serves WebSocket connections and fans chat events out to them.
// Create it with New; it is safe for concurrent use.
type Gateway struct {
	opts    Options
	chat    Chat
	log     *slog.Logger
	m       *metrics
	origins []string

	ctx    context.Context // ends when the gateway closes
	cancel context.CancelFunc

	epoch   time.Time // now counts from it, on the monotonic clock
	node    string    // this node's id in presence notices
	flusher *flusher

	mu         sync.Mutex
	closed     bool
	hubs       map[ids.TenantID]*hub
	conns      map[*conn]struct{}
	perAccount map[string]int // connections by account id, or "address:…" for meeting-only ones
	done       sync.WaitGroup // connections being served
	watchdog   chan struct{}  // closed when the watchdog has returned
}

// now is the time since the gateway started, on the monotonic clock; the
// connections' queue and write times are kept in it.
func (g *Gateway) now() int64 { return int64(time.Since(g.epoch)) }

// New returns a gateway.
func New(opts Options) (*Gateway, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	g := &Gateway{opts: opts, chat: opts.Chat, log: opts.Logger, m: newMetrics(opts.Registerer),
		hubs: map[ids.TenantID]*hub{}, conns: map[*conn]struct{}{}, perAccount: map[string]int{},
		epoch: time.Now(), node: hex.EncodeToString(ids.Token(8)), watchdog: make(chan struct{})}
	g.flusher = newFlusher(opts.FlushWindow, opts.MaxFlushWindow)
	for _, o := range opts.Origins {
		g.origins = append(g.origins, strings.ToLower(strings.TrimRight(o, "/")))
	}
	g.ctx, g.cancel = context.WithCancel(context.Background())
	go g.watch()
	return g, nil
}

// OriginOf returns the origin ("scheme://host[:port]") of a URL such as the
// public URL, for Options.Origins.
func OriginOf(publicURL string) string {
	u, err := url.Parse(publicURL)
	if err != nil || u.Host == "" {
		return publicURL
	}
	return u.Scheme + "://" + u.Host
}

// Serve upgrades r to a WebSocket for p and serves it on a goroutine of its
// own, returning at once, so that the request's goroutine (its stack grown
// by authentication) and the request itself are released. Before the
// upgrade it returns an *errs.Error for the caller to render: not a
// WebSocket handshake (400), a foreign origin (403), too many sockets for
// the account (429), shutting down (503). After the upgrade it returns nil.
func (g *Gateway) Serve(w http.ResponseWriter, r *http.Request, p principal.Principal) error {
	if !p.IsTenantUser() || p.Session == "" {
		return errs.E(errs.Forbidden, "Live updates are for members and guests signed in with a browser.")
	}
	return g.serve(w, r, p, string(p.User), false)
}

// serve upgrades for p, counting the connection under key; a meetingOnly
// connection follows no channels.
func (g *Gateway) serve(w http.ResponseWriter, r *http.Request, p principal.Principal, key string, meetingOnly bool) error {
	if !isUpgrade(r) {
		return ErrNotWebSocket
	}
	if !g.originAllowed(r.Header.Get("Origin")) {
		g.m.refused.WithLabelValues("origin").Inc()
		return ErrOrigin
	}
	if err := g.reserve(key); err != nil {
		return err
	}
	ws, err := websocket.Accept(smallReader{w}, r, &websocket.AcceptOptions{
		// The origin was checked above, against the public URL, which is
		// stricter than the library's same-host rule.
		InsecureSkipVerify: true,
		CompressionMode:    websocket.CompressionDisabled, // a flate window is 32 KiB per connection
	})
	if err != nil {
		g.unreserve(key)
		return nil // Accept has answered
	}
	ws.SetReadLimit(g.opts.ReadLimit)
	c := newConn(g, p, ws)
	c.key, c.meetingOnly = key, meetingOnly
	if !g.register(c) {
		ws.Close(websocket.StatusGoingAway, "server is restarting")
		g.unreserve(key)
		return nil
	}
	go func() {
		defer g.done.Done()
		c.serve()
	}()
	return nil
}

// readBufferSize is the read buffer a connection keeps instead of net/http's
// 4 KiB: clients send a few small frames, and a larger one is read past
// the buffer.
const readBufferSize = 256

// smallReader hands the WebSocket library, at the hijack, a small read
// buffer holding whatever net/http had buffered, instead of net/http's own.
type smallReader struct{ http.ResponseWriter }

func (w smallReader) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w smallReader) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	nc, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	n := brw.Reader.Buffered()
	var src io.Reader = nc
	if n > 0 {
		b, _ := brw.Reader.Peek(n)
		src = io.MultiReader(bytes.NewReader(bytes.Clone(b)), nc)
	}
	br := bufio.NewReaderSize(src, max(readBufferSize, n))
	if n > 0 {
		br.Peek(n) // into br's buffer, which the library takes over
	}
	return nc, bufio.NewReadWriter(br, brw.Writer), nil
}

func isUpgrade(r *http.Request) bool {
	return r.Method == http.MethodGet && headerHas(r.Header, "Connection", "upgrade") && headerHas(r.Header, "Upgrade", "websocket")
}

func headerHas(h http.Header, key, token string) bool {
	for _, v := range h.Values(key) {
		for t := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

func (g *Gateway) originAllowed(origin string) bool {
	return origin != "" && slices.Contains(g.origins, strings.ToLower(origin))
}

// reserve counts a connection for an account (or, for meeting-only
// connections of people not signed in, a source address) before the upgrade.
func (g *Gateway) reserve(user string) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return ErrClosed
	}
	if g.perAccount[user] >= g.opts.MaxConnsPerAccount {
		g.m.refused.WithLabelValues("too_many").Inc()
		return ErrTooMany
	}
	g.perAccount[user]++
	return nil
}

func (g *Gateway) unreserve(user string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.perAccount[user]--; g.perAccount[user] <= 0 {
		delete(g.perAccount, user)
	}
}

func (g *Gateway) register(c *conn) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return false
	}
	g.conns[c] = struct{}{}
	g.done.Add(1)
	g.m.conns.Inc()
	return true
}

func (g *Gateway) unregister(c *conn) {
	g.mu.Lock()
	delete(g.conns, c)
	g.mu.Unlock()
	g.unreserve(c.key)
	g.m.conns.Dec()
}

// acquire returns the tenant's hub, starting it (and its subscriptions) if
// this is the tenant's first connection on the node.
func (g *Gateway) acquire(ctx context.Context, tenant ids.TenantID) (*hub, error) {
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return nil, ErrClosed
	}
	h := g.hubs[tenant]
	fresh := h == nil
	if fresh {
		h = newHub(g, tenant)
		g.hubs[tenant] = h
	}
	h.refs++
	g.mu.Unlock()
	if fresh {
		h.err = h.start(ctx)
		close(h.ready)
	}
	select {
	case <-h.ready:
	case <-ctx.Done():
		g.release(h)
		return nil, ctx.Err()
	}
	if h.err != nil {
		g.release(h)
		return nil, h.err
	}
	return h, nil
}

// release drops a connection's hold on a hub; the last one stops it.
func (g *Gateway) release(h *hub) {
	g.mu.Lock()
	h.refs--
	last := h.refs == 0
	if last && g.hubs[h.tenant] == h {
		delete(g.hubs, h.tenant)
	}
	g.mu.Unlock()
	if last {
		h.stop()
	}
}

// Close closes every connection with 1001 ("going away": clients reconnect,
// to another node if there is one), waits for them to end (at most 10s) and
// stops the bus subscriptions. New handshakes get 503. It is idempotent.
func (g *Gateway) Close() error {
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return nil
	}
	g.closed = true
	conns := make([]*conn, 0, len(g.conns))
	for c := range g.conns {
		conns = append(conns, c)
	}
	g.mu.Unlock()
	for _, c := range conns {
		c.close(websocket.StatusGoingAway, "server is restarting")
	}
	done := make(chan struct{})
	go func() { g.done.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		g.log.Warn("realtime: connections still open after close", "connections", len(conns))
	}
	g.cancel()
	<-g.watchdog
	return nil
}

// watch is the node's watchdog: a few times per min(WriteTimeout,
// SlowConsumerAge) it looks at every connection's write in progress and
// oldest queued frame (see conn.watch). One goroutine and one ticker per
// node replace a deadline per write.
func (g *Gateway) watch() {
	defer close(g.watchdog)
	every := min(g.opts.WriteTimeout, g.opts.SlowConsumerAge) / 4
	every = min(max(every, 10*time.Millisecond), time.Second)
	t := time.NewTicker(every)
	defer t.Stop()
	var conns []*conn
	for {
		select {
		case <-g.ctx.Done():
			return
		case <-t.C:
		}
		g.mu.Lock()
		for c := range g.conns {
			conns = append(conns, c)
		}
		g.mu.Unlock()
		now := g.now()
		for i, c := range conns {
			c.watch(now)
			conns[i] = nil
		}
		conns = conns[:0]
	}
}

// flusher starts the writers of connections that had frames queued while
// idle, once the flush window has passed since the first of them: one
// timer for the node, however many connections wait.
//
// The window adapts to the node's fan-out: Options.FlushWindow (0: write
// at once) while the node queues few frames, growing to MaxFlushWindow as
// the rate of frames queued to all its connections rises from busyLow to
// busyHigh a second. (All frames, not only those reaching idle
// connections: those fall as the window grows, and the window would
// swing back.) Under heavy fan-out a
// socket that receives a steady stream then gets several frames per write
// (fewer syscalls, the cost that dominates), at the price of a few
// milliseconds of latency that a quiet node never pays.
type flusher struct {
	window, max time.Duration
	t           *time.Timer

	// The fan-out measure, read by every frame to an idle connection, so
	// without a lock: frames queued since the current second began (unix
	// nanoseconds in since), and the window chosen from the last second.
	frames atomic.Int64
	since  atomic.Int64
	chosen atomic.Int64 // a time.Duration

	mu    sync.Mutex
	armed bool
	dirty []*conn
	spare []*conn
}

// The fan-out rates (frames queued to connections, a second) between
// which the flush window grows from its base to its maximum.
const (
	busyLow  = 30_000
	busyHigh = 55_000
)

func newFlusher(window, most time.Duration) *flusher {
	f := &flusher{window: window, max: max(window, most)}
	f.chosen.Store(int64(window))
	f.since.Store(time.Now().UnixNano())
	f.t = time.AfterFunc(time.Hour, f.fire)
	f.t.Stop()
	return f
}

// windowFor is the flush window at a fan-out rate.
func windowFor(base, max time.Duration, rate float64) time.Duration {
	if max <= base || rate <= busyLow {
		return base
	}
	k := min(1, (rate-busyLow)/(busyHigh-busyLow))
	return base + time.Duration(k*float64(max-base))
}

// queued counts a frame queued to a connection.
func (f *flusher) queued() { f.frames.Add(1) }

// wait returns the flush window a frame reaching an idle connection
// should wait (zero: write at once), measuring the fan-out each second.
func (f *flusher) wait() time.Duration {
	now, since := time.Now().UnixNano(), f.since.Load()
	if d := now - since; d >= int64(time.Second) && f.since.CompareAndSwap(since, now) {
		rate := float64(f.frames.Swap(0)) / time.Duration(d).Seconds()
		f.chosen.Store(int64(windowFor(f.window, f.max, rate)))
	}
	return time.Duration(f.chosen.Load())
}

// add has c flushed when the current window ends.
func (f *flusher) add(c *conn) {
	f.mu.Lock()
	f.dirty = append(f.dirty, c)
	if !f.armed {
		f.armed = true
		f.t.Reset(time.Duration(f.chosen.Load()))
	}
	f.mu.Unlock()
}

func (f *flusher) fire() {
	f.mu.Lock()
	batch := f.dirty
	f.dirty, f.spare = f.spare, nil
	f.armed = false
	f.mu.Unlock()
	for i, c := range batch {
		c.flush()
		batch[i] = nil
	}
	f.mu.Lock()
	if f.spare == nil && cap(batch) <= 1<<16 {
		f.spare = batch[:0]
	}
	f.mu.Unlock()
}

// activeSessions returns the open and complete sessions of p's account
// (none if the account may no longer sign in).
func (g *Gateway) activeSessions(ctx context.Context, p principal.Principal) (map[string]bool, error) {
	ss, err := g.opts.Sessions.Sessions(ctx, p)
	if err != nil {
		if c := errs.CodeOf(err); c == errs.Unauthenticated || c == errs.Forbidden {
			return nil, nil
		}
		return nil, err
	}
	active := make(map[string]bool, len(ss))
	for _, s := range ss {
		if s.State == identity.SessionActive {
			active[s.ID] = true
		}
	}
	return active, nil
}

type metrics struct {
	conns          prometheus.Gauge
	deliveries     prometheus.Counter
	slow           *prometheus.CounterVec
	framesPerWrite prometheus.Histogram
	gapFills       *prometheus.CounterVec
	refused        *prometheus.CounterVec
	opened         prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		conns: prometheus.NewGauge(prometheus.GaugeOpts{Name: "kaigi_realtime_connections", Help: "Open WebSocket connections on this node."}),
		deliveries: prometheus.NewCounter(prometheus.CounterOpts{Name: "kaigi_realtime_deliveries_total",
			Help: "Channel events written to WebSocket connections (live and replayed)."}),
		slow: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kaigi_realtime_slow_consumers_total",
			Help: "Connections closed because they could not keep up: send queue full (queue_full), frames waiting too long while writes block (lagging), or a write that timed out (write_timeout)."}, []string{"reason"}),
		framesPerWrite: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "kaigi_realtime_frames_per_write",
			Help: "Frames coalesced into one WebSocket write.", Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128, 256}}),
		gapFills: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kaigi_realtime_gap_fills_total",
			Help: "Gaps in a channel's sequence filled from the store: once per node (node), or for one connection (connection)."}, []string{"level"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kaigi_realtime_refused_total",
			Help: "WebSocket handshakes refused before upgrading, by reason."}, []string{"reason"}),
		opened: prometheus.NewCounter(prometheus.CounterOpts{Name: "kaigi_realtime_events_opened_total",
			Help: "Sealed events opened by this node for fan-out (once per event and node)."}),
	}
	reg.MustRegister(m.conns, m.deliveries, m.slow, m.framesPerWrite, m.gapFills, m.refused, m.opened)
	return m
}
