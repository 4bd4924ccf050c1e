package realtime

import (
	"cmp"
	"context"
	"encoding/json"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/kaigi/kaigi/internal/errs"
	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/meeting"
	"github.com/kaigi/kaigi/internal/principal"
)

// catchUpPage is how many stored events a connection reads at a time when
// it catches up; each page is written before the next is read.
const catchUpPage = 200

// frameKind says how a queued frame counts against the send queue.
type frameKind uint8

const (
	frameEvent    frameKind = iota // a live event: bounded; a full queue closes the connection
	frameControl                   // ready, join, leave, error, pong: counted, always queued
	frameReplay                    // a page read from the store by the writer itself: not counted
	frameTyping                    // bounded, but dropped rather than closing the connection
	framePresence                  // bounded like a live event
)

type outFrame struct {
	b    []byte
	kind frameKind
	at   int64 // when it was queued (Gateway.now)
}

// syncState holds the live events of a channel that wait while the
// connection reads the channel's stored log.
type syncState struct {
	pending  []pendingEvent
	overflow bool // too many waited: they were dropped, read the store again
}

type pendingEvent struct {
	seq   int64
	frame []byte
}

func (s *syncState) add(e pendingEvent, limit int) {
	switch {
	case s.overflow:
	case len(s.pending) >= limit:
		s.overflow, s.pending = true, nil
	default:
		s.pending = append(s.pending, e)
	}
}

type earlyEvent struct {
	ch    string
	seq   int64
	frame []byte
}

// conn is one WebSocket connection. Its reader is a goroutine started
// after the upgrade (the HTTP handler returns); a writer goroutine runs
// only while there is work (joining after hello, frames to write, a store
// read). Lock order: hub.mu, then conn.mu, then the flusher's.
type conn struct {
	g   *Gateway
	p   principal.Principal
	key string // what the connection is counted under (Gateway.reserve)
	// meetingOnly connections follow no channels: people joining a
	// meeting by its link (ServeMeeting).
	meetingOnly bool
	// attend are the meetings joined on this connection; the reader's own.
	attend map[string]*meeting.Attendance
	ws     *websocket.Conn
	ctx    context.Context
	cancel context.CancelFunc
	// wctx is the context of every write: it never ends, so that the
	// library sets up no timer per write; the watchdog bounds writes
	// instead (Options.WriteTimeout), and teardown closes the socket.
	wctx context.Context

	// The reader's own state.
	helloDone bool
	bad       int
	tokens    float64
	tokensAt  time.Time
	typed     map[string]time.Time

	lastRead atomic.Int64 // unix nanoseconds of the last frame read
	missed   atomic.Int32 // pings unanswered in a row

	// What the watchdog reads (Gateway.now values; 0: none).
	headAt     atomic.Int64 // when the oldest frame still queued was queued
	writeStart atomic.Int64 // when the write in progress began
	writeBusy  atomic.Int64 // time spent in writes, in all
	// The watchdog's own state.
	seenBusy, seenAt int64

	mu           sync.Mutex
	h            *hub
	cursors      map[string]int64 // followed channels → last seq queued for the client; nil before ready
	syncs        map[string]*syncState
	early        []earlyEvent // events seen while joining
	earlyFull    bool
	queue        []outFrame
	queueBytes   int // bytes of queue
	live         int // frames in queue other than replay
	liveBytes    int
	working      bool             // a writer goroutine runs
	flushing     bool             // waiting for the flusher to start the writer
	pendingHello map[string]int64 // cursors of a hello the writer has yet to handle
	helloSeen    bool
	status       string // what the person set (presence); "" is online
	presence     bool   // the client asked for presence frames
	closing      bool
	helloT       *time.Timer
	hbT          *time.Timer
	workers      sync.WaitGroup // writer and close goroutines
}

func newConn(g *Gateway, p principal.Principal, ws *websocket.Conn) *conn {
	c := &conn{g: g, p: p, ws: ws}
	c.ctx, c.cancel = context.WithCancel(g.ctx)
	c.wctx = context.WithoutCancel(c.ctx)
	return c
}

// serve reads frames until the connection ends, then tears it down.
func (c *conn) serve() {
	c.tokens, c.tokensAt = float64(c.g.opts.FrameBurst), time.Now()
	c.mu.Lock()
	c.helloT = time.AfterFunc(c.g.opts.HelloTimeout, func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		if !c.helloSeen {
			c.closeLocked(websocket.StatusPolicyViolation, "hello expected")
		}
	})
	c.hbT = time.AfterFunc(c.g.opts.HeartbeatInterval, c.heartbeat)
	c.mu.Unlock()
	for {
		typ, data, err := c.ws.Read(c.ctx)
		if err != nil {
			break
		}
		c.lastRead.Store(time.Now().UnixNano())
		c.handle(typ, data)
	}
	c.leaveMeetings()
	c.teardown()
}

func (c *conn) teardown() {
	c.mu.Lock()
	c.closing = true
	c.queue, c.syncs, c.early, c.pendingHello = nil, nil, nil, nil
	c.headAt.Store(0)
	for _, t := range []*time.Timer{c.helloT, c.hbT} {
		if t != nil {
			t.Stop()
		}
	}
	c.mu.Unlock()
	c.cancel()
	c.ws.CloseNow()
	c.workers.Wait() // after this, c.h no longer changes
	c.mu.Lock()
	h := c.h
	c.mu.Unlock()
	if h != nil {
		h.detach(c)
		c.g.release(h)
	}
	c.g.unregister(c)
}

// close closes the connection with code and reason; the reader then sees
// the end and tears the connection down.
func (c *conn) close(code websocket.StatusCode, why string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closeLocked(code, why)
}

func (c *conn) closeLocked(code websocket.StatusCode, why string) {
	c.endLocked(func() { c.ws.Close(code, why) })
}

// abort drops a connection whose peer does not answer, without the close
// handshake it would not answer either.
func (c *conn) abort() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.endLocked(func() { c.ws.CloseNow() })
}

func (c *conn) endLocked(closeWS func()) {
	if c.closing {
		return
	}
	c.closing = true
	c.queue, c.queueBytes, c.live, c.liveBytes, c.syncs, c.early, c.pendingHello = nil, 0, 0, 0, nil, nil, nil
	c.headAt.Store(0)
	c.workers.Add(1)
	go func() {
		defer c.workers.Done()
		closeWS()
	}()
}

// ---- reading

func (c *conn) handle(typ websocket.MessageType, data []byte) {
	if !c.allow() {
		c.close(websocket.StatusPolicyViolation, "too many frames")
		return
	}
	if typ != websocket.MessageText {
		c.badFrame("Frames are JSON text.")
		return
	}
	var f clientFrame
	if err := json.Unmarshal(data, &f); err != nil {
		c.badFrame("The frame is not valid JSON.")
		return
	}
	switch f.Type {
	case "hello":
		c.hello(f)
	case "typing":
		c.typing(f.Channel)
	case "status":
		c.setStatus(f.Status)
	case "ping":
		c.mu.Lock()
		c.enqueueLocked(pongFrame, frameControl)
		c.mu.Unlock()
	case "meeting.join", "meeting.do", "meeting.signal", "meeting.leave":
		c.meeting(data)
	default:
		c.badFrame("Unknown frame type; use hello, typing, status, ping or meeting.join, meeting.do, meeting.signal, meeting.leave.")
	}
}

// allow spends a token of the frame-rate bucket.
func (c *conn) allow() bool {
	now := time.Now()
	c.tokens = min(c.tokens+now.Sub(c.tokensAt).Seconds()*c.g.opts.FrameRate, float64(c.g.opts.FrameBurst))
	c.tokensAt = now
	if c.tokens < 1 {
		return false
	}
	c.tokens--
	return true
}

// badFrame answers a refused frame with an error frame, and closes the
// connection after Options.MaxBadFrames of them.
func (c *conn) badFrame(msg string) {
	c.bad++
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.bad > c.g.opts.MaxBadFrames {
		c.closeLocked(websocket.StatusPolicyViolation, "too many malformed frames")
		return
	}
	c.enqueueLocked(errorFrame(msg), frameControl)
}

// hello takes the client's cursors; the writer goroutine does the rest
// (see join), so that the store reads do not grow the reader's stack,
// which lives as long as the connection.
func (c *conn) hello(f clientFrame) {
	if c.helloDone {
		c.badFrame("hello was already received.")
		return
	}
	c.helloDone = true
	cursors := make(map[string]int64, len(f.Cursors))
	dropped := false
	for ch, seq := range f.Cursors {
		if !ids.Valid(ch) || seq < 0 {
			dropped = true
			continue
		}
		cursors[ch] = seq
	}
	if dropped {
		c.badFrame("Some cursors were ignored: they map channel ids to sequence numbers of 0 or more.")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if st, ok := presenceStatus(f.Status); ok {
		c.status = st
	}
	c.presence = f.Presence
	c.helloSeen = true
	if c.closing {
		return
	}
	if c.meetingOnly {
		if c.helloT != nil {
			c.helloT.Stop()
			c.helloT = nil
		}
		c.enqueueLocked(readyFrame(map[string]int64{}), frameControl)
		return
	}
	c.pendingHello = cursors
	c.startLocked()
}

// join runs on the writer: it makes the connection follow the channels the
// person can see and queues the ready frame.
func (c *conn) join(cursors map[string]int64) {
	h, err := c.g.acquire(c.ctx, c.p.Tenant)
	if err != nil {
		c.close(websocket.StatusInternalError, "live updates unavailable; reconnect")
		return
	}
	c.mu.Lock()
	if c.closing {
		c.mu.Unlock()
		c.g.release(h)
		return
	}
	c.h = h
	c.mu.Unlock()
	h.beginJoin(c)
	list, err := c.g.chat.Channels(c.ctx, c.p)
	if err != nil {
		c.closeForError(err)
		return
	}
	h.finishJoin(c, list, cursors)
	h.announce(c.p.User, false)
	c.mu.Lock()
	if c.helloT != nil {
		c.helloT.Stop()
		c.helloT = nil
	}
	c.mu.Unlock()
}

func (c *conn) typing(ch string) {
	if !c.follows(ch) {
		c.badFrame("You do not follow that channel on this connection.")
		return
	}
	now := time.Now()
	if t, ok := c.typed[ch]; ok && now.Sub(t) < c.g.opts.TypingInterval {
		return
	}
	if c.typed == nil || len(c.typed) >= 16 {
		c.typed = map[string]time.Time{}
	}
	c.typed[ch] = now
	b, _ := json.Marshal(typingNotice{Channel: ch, User: c.p.User})
	if err := c.g.opts.Bus.Publish(c.ctx, TypingSubject(c.p.Tenant, ch), b); err != nil {
		c.g.log.Warn("realtime: publish typing", "tenant", string(c.p.Tenant), "err", err)
	}
}

// closeForError closes the connection after a failed check: 4401 when the
// person may no longer connect, 1011 (reconnect) otherwise.
func (c *conn) closeForError(err error) {
	if c.ctx.Err() != nil {
		return
	}
	switch errs.CodeOf(err) {
	case errs.Unauthenticated, errs.Forbidden:
		c.close(StatusSessionEnded, "session ended")
	default:
		c.g.log.Warn("realtime: connection check failed", "tenant", string(c.p.Tenant), "err", err)
		c.close(websocket.StatusInternalError, "cannot check the connection; reconnect")
	}
}

// ---- what the hub hands over

func (c *conn) follows(ch string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.cursors[ch]
	return ok
}

// offer hands over one live event of ch; it never blocks.
func (c *conn) offer(ch string, seq int64, frame []byte) {
	c.mu.Lock()
	c.offerLocked(ch, seq, frame)
	c.mu.Unlock()
}

// offerLocked applies the cursor rule: the next event is queued, an older
// one dropped, a later one starts a catch-up from the store.
func (c *conn) offerLocked(ch string, seq int64, frame []byte) {
	if c.closing {
		return
	}
	cur, ok := c.cursors[ch]
	if !ok {
		return
	}
	if s := c.syncs[ch]; s != nil {
		s.add(pendingEvent{seq, frame}, c.g.opts.SendQueue)
		return
	}
	switch {
	case seq <= cur: // a duplicate
	case seq == cur+1:
		if c.enqueueLocked(frame, frameEvent) {
			c.cursors[ch] = seq
		}
	default:
		c.g.m.gapFills.WithLabelValues("connection").Inc()
		c.startSyncLocked(ch, &pendingEvent{seq, frame})
	}
}

func (c *conn) offerEarly(ch string, seq int64, frame []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.closing || c.earlyFull:
	case len(c.early) >= earlyLimit:
		c.early, c.earlyFull = nil, true
	default:
		c.early = append(c.early, earlyEvent{ch, seq, frame})
	}
}

func (c *conn) offerTyping(ch string, frame []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.cursors[ch]; ok {
		c.enqueueLocked(frame, frameTyping)
	}
}

// resync makes ch catch up from the store (after the node lost events).
func (c *conn) resync(ch string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.cursors[ch]; ok && c.syncs[ch] == nil {
		c.startSyncLocked(ch, nil)
	}
}

func (c *conn) startSyncLocked(ch string, first *pendingEvent) {
	if c.closing {
		return
	}
	if c.syncs == nil {
		c.syncs = map[string]*syncState{}
	}
	s := c.syncs[ch]
	if s == nil {
		s = &syncState{}
		c.syncs[ch] = s
	}
	if first != nil {
		s.add(*first, c.g.opts.SendQueue)
	}
	c.startLocked()
}

// enqueueLocked queues a frame for the writer. A live event that does not
// fit closes the connection as too slow; a typing notice that does not fit
// is dropped.
func (c *conn) enqueueLocked(b []byte, kind frameKind) bool {
	if c.closing {
		return false
	}
	if kind == frameEvent || kind == frameTyping || kind == framePresence {
		if c.live+1 > c.g.opts.SendQueue || c.liveBytes+len(b) > c.g.opts.SendQueueBytes {
			if kind == frameTyping {
				return false
			}
			c.g.m.slow.WithLabelValues("queue_full").Inc()
			c.closeLocked(websocket.StatusPolicyViolation, "too slow")
			return false
		}
	}
	if kind != frameReplay {
		c.live++
		c.liveBytes += len(b)
	}
	now := c.g.now()
	if len(c.queue) == 0 {
		c.headAt.Store(now)
	}
	c.queue = append(c.queue, outFrame{b, kind, now})
	c.g.flusher.queued()
	c.queueBytes += len(b) + 1
	if c.queueBytes >= c.g.opts.MaxBatchBytes {
		c.startLocked() // a full batch goes at once
	} else {
		c.kickLocked()
	}
	return true
}

// ---- writing

// kickLocked has the writer started within the node's flush window (at
// once when it is zero), unless it runs or is about to: frames queued
// meanwhile share its first write.
func (c *conn) kickLocked() {
	if c.working || c.flushing || c.closing {
		return
	}
	if c.g.flusher.wait() == 0 {
		c.startLocked()
		return
	}
	c.flushing = true
	c.g.flusher.add(c)
}

// flush is the flusher's call: the window is over, start the writer.
func (c *conn) flush() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.flushing = false
	c.startLocked()
}

// startLocked starts the writer at once unless it runs.
func (c *conn) startLocked() {
	if c.working || c.closing {
		return
	}
	c.working = true
	c.workers.Add(1)
	go c.work()
}

// work joins after hello, writes queued frames and runs catch-ups, and
// ends when there is nothing left to do.
func (c *conn) work() {
	defer c.workers.Done()
	for {
		c.mu.Lock()
		switch {
		case c.closing:
		case c.pendingHello != nil:
			cursors := c.pendingHello
			c.pendingHello = nil
			c.mu.Unlock()
			c.join(cursors)
			continue
		case len(c.queue) > 0:
			batch := c.takeLocked()
			c.mu.Unlock()
			c.write(batch)
			continue
		case len(c.syncs) > 0:
			var ch string
			var s *syncState
			for ch, s = range c.syncs {
				break
			}
			cur := c.cursors[ch]
			c.mu.Unlock()
			c.catchUp(ch, s, cur)
			continue
		}
		c.working = false
		c.mu.Unlock()
		return
	}
}

// takeLocked takes the frames of the next write: as many as fit in
// Options.MaxBatchBytes, at least one.
func (c *conn) takeLocked() []outFrame {
	n, size := 0, 0
	for n < len(c.queue) {
		l := len(c.queue[n].b) + 1
		if n > 0 && size+l > c.g.opts.MaxBatchBytes {
			break
		}
		size += l
		n++
	}
	batch := c.queue[:n:n]
	c.queueBytes -= size
	for _, f := range batch {
		if f.kind != frameReplay {
			c.live--
			c.liveBytes -= len(f.b)
		}
	}
	if n == len(c.queue) {
		c.queue = nil
		c.headAt.Store(0)
	} else {
		c.queue = c.queue[n:]
		c.headAt.Store(c.queue[0].at)
	}
	return batch
}

var batchBufs = sync.Pool{New: func() any { b := make([]byte, 0, 8<<10); return &b }}

// write writes frames as one WebSocket message: the frame itself, or a JSON
// array of them. The watchdog bounds how long it may take.
func (c *conn) write(batch []outFrame) {
	start := c.g.now()
	c.writeStart.Store(start)
	var err error
	if len(batch) == 1 {
		err = c.ws.Write(c.wctx, websocket.MessageText, batch[0].b)
	} else {
		bp := batchBufs.Get().(*[]byte)
		b := append((*bp)[:0], '[')
		for i, f := range batch {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, f.b...)
		}
		b = append(b, ']')
		err = c.ws.Write(c.wctx, websocket.MessageText, b)
		if cap(b) <= 256<<10 {
			*bp = b[:0]
			batchBufs.Put(bp)
		}
	}
	c.writeBusy.Add(c.g.now() - start)
	c.writeStart.Store(0)
	events := 0
	for _, f := range batch {
		if f.kind == frameEvent || f.kind == frameReplay {
			events++
		}
	}
	clear(batch) // let the shared frames go
	if err != nil {
		c.close(websocket.StatusPolicyViolation, "too slow")
		return
	}
	c.g.m.framesPerWrite.Observe(float64(len(batch)))
	c.g.m.deliveries.Add(float64(events))
}

// watch is the watchdog's look at the connection at now: a write that has
// taken longer than Options.WriteTimeout ends it, and so does a frame
// older than Options.SlowConsumerAge while the connection's writes block.
func (c *conn) watch(now int64) {
	ws := c.writeStart.Load()
	busy := c.writeBusy.Load()
	if ws != 0 && now > ws {
		busy += now - ws
	}
	dBusy, dt := busy-c.seenBusy, now-c.seenAt
	c.seenBusy, c.seenAt = busy, now
	switch head := c.headAt.Load(); {
	case ws != 0 && now-ws > int64(c.g.opts.WriteTimeout):
		c.g.m.slow.WithLabelValues("write_timeout").Inc()
		c.abort()
	case head != 0 && now-head > int64(c.g.opts.SlowConsumerAge) && dt > 0 && 2*dBusy >= dt:
		c.g.m.slow.WithLabelValues("lagging").Inc()
		c.close(websocket.StatusPolicyViolation, "too slow")
	}
}

// catchUp reads one page of ch's stored log after cur and queues it; once
// the store has nothing more, the live events that waited are applied.
func (c *conn) catchUp(ch string, s *syncState, cur int64) {
	evs, err := c.g.chat.Events(c.ctx, c.p, ch, cur, catchUpPage)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closing || c.syncs[ch] != s {
		return // the channel was dropped meanwhile
	}
	if err != nil {
		delete(c.syncs, ch)
		switch errs.CodeOf(err) {
		case errs.NotFound, errs.Forbidden:
			if h := c.h; h != nil {
				go h.recheck(c.p.User) // no longer visible: the re-check drops it
			}
		default:
			if c.ctx.Err() == nil {
				c.g.log.Warn("realtime: catch up from the store", "tenant", string(c.p.Tenant), "channel", ch, "err", err)
				c.closeLocked(websocket.StatusInternalError, "cannot catch up; reconnect")
			}
		}
		return
	}
	for _, e := range evs {
		seq, err := seqOf(e)
		if err != nil || seq <= cur {
			continue
		}
		// A hole in the store itself (retention) cannot be filled: go on.
		c.enqueueLocked(eventFrame(ch, seq, e), frameReplay)
		cur = seq
	}
	c.cursors[ch] = cur
	if len(evs) == catchUpPage {
		return // the next page after this one is written
	}
	if delete(c.syncs, ch); len(c.syncs) == 0 {
		c.syncs = nil
	}
	if s.overflow {
		c.startSyncLocked(ch, nil)
		return
	}
	slices.SortFunc(s.pending, func(a, b pendingEvent) int { return cmp.Compare(a.seq, b.seq) })
	for _, e := range s.pending {
		c.offerLocked(ch, e.seq, e.frame)
	}
}

// ---- checks

// heartbeat pings; pings missed in a row with nothing read meanwhile close
// the connection.
func (c *conn) heartbeat() {
	before := c.lastRead.Load()
	ctx, cancel := context.WithTimeout(c.ctx, c.g.opts.PongTimeout)
	err := c.ws.Ping(ctx)
	cancel()
	if c.ctx.Err() != nil {
		return
	}
	if err != nil && c.lastRead.Load() == before {
		if int(c.missed.Add(1)) >= c.g.opts.MaxMissedPongs {
			c.abort()
			return
		}
	} else {
		c.missed.Store(0)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.closing {
		c.hbT.Reset(c.g.opts.HeartbeatInterval)
	}
}
