package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// maxPhases bounds the phases whose messages a pool tells apart (the digit
// after the body's marker).
const maxPhases = 10

// bodyMarker starts every message body the tool sends: "klt<phase>:<ns>:",
// where ns is when the send started, in nanoseconds since the pool's base.
// A body never holds quotes or backslashes, so it appears verbatim in the
// JSON of an event frame.
const bodyMarker = "klt"

var (
	eventStart = []byte(`{"type":"event","channel":"`)
	readyStart = []byte(`{"type":"ready","channels":`)
	markerKey  = []byte(`"body":"` + bodyMarker)
	helloFrame = []byte(`{"type":"hello","cursors":{}}`)
)

// makeBody returns a message body of size bytes (at least the marker's
// length) carrying the phase and the send time.
func makeBody(phase int, sent time.Duration, size int) []byte {
	b := make([]byte, 0, max(size, 40))
	b = append(b, bodyMarker...)
	b = append(b, byte('0'+phase), ':')
	b = fmt.Appendf(b, "%d:", int64(sent))
	for len(b) < size {
		b = append(b, 'x')
	}
	return b
}

// pool is a set of WebSocket connections to the realtime gateway, each read
// by one goroutine that parses only what it counts: the channel and
// sequence number of each event, and the phase and send time in its body.
type pool struct {
	wsURL  string
	origin string
	hc     *http.Client
	base   time.Time // the zero of send times in bodies

	mu    sync.Mutex
	conns []*wsConn
	// Why connections ended other than by the pool closing them, by close
	// code and reason (or error).
	closes map[string]int

	dialed, failed, ready, ended atomic.Int64
	frames                       atomic.Int64 // WebSocket messages read
	events                       atomic.Int64 // event frames read
	dupes, missing               atomic.Int64 // seq <= cursor; seqs skipped over
	phases                       [maxPhases]phaseCounts

	// When each message reached its first and its last subscriber.
	tmu      sync.Mutex
	msgs     [maxPhases]map[msgKey]*msgTimes
	stopping atomic.Bool
	readyc   chan struct{} // gets a value per connection ready or failed; made by open
}

// phaseCounts are the deliveries of one phase's messages.
type phaseCounts struct {
	delivered atomic.Int64 // in order, first time
	lat       hist         // send to receive
}

type msgKey struct {
	ch  string
	seq int64
}

type msgTimes struct {
	sent, first, last time.Duration
}

// maxTracked bounds the messages whose first and last receipt a phase
// tracks.
const maxTracked = 1 << 20

// wsConn is one connection; channel and its cursor are written by the
// reader goroutine only.
type wsConn struct {
	ws      *websocket.Conn
	channel string                  // the channel it counts (its account's only one)
	last    atomic.Int64            // the last sequence number received in order
	got     [maxPhases]atomic.Int32 // deliveries of each phase's messages
	ready   atomic.Bool
	done    chan struct{}
}

func newPool(base, origin string, base0 time.Time) *pool {
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second}).DialContext,
		MaxIdleConnsPerHost: -1, // every handshake is hijacked anyway
		DisableCompression:  true,
	}
	return &pool{
		wsURL:  "ws" + strings.TrimPrefix(strings.TrimRight(base, "/"), "http") + "/api/v1/realtime",
		origin: origin, hc: &http.Client{Transport: tr, Timeout: 30 * time.Second}, base: base0,
		closes: map[string]int{},
	}
}

// open opens one connection per entry of who (the group's channel and an
// account's session), rate a second with at most inflight handshakes at
// once, then waits until every connection is ready (or failed) or timeout
// passes. It returns how many are ready.
func (p *pool) open(ctx context.Context, who []connSpec, rate float64, inflight int, timeout time.Duration) (int, error) {
	start := time.Now()
	p.readyc = make(chan struct{}, len(who))
	sem := make(chan struct{}, max(1, inflight))
	var wg sync.WaitGroup
	for i, w := range who {
		at := start.Add(time.Duration(float64(i) / rate * float64(time.Second)))
		if err := sleepUntil(ctx, at); err != nil {
			break
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := p.dial(ctx, w); err != nil {
				p.failed.Add(1)
				p.noteEnd(err.Error())
				p.readyc <- struct{}{}
			}
		})
	}
	wg.Wait()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for n := int64(0); n < int64(len(who)); n++ {
		if p.ready.Load()+p.failed.Load() >= int64(len(who)) {
			break
		}
		select {
		case <-p.readyc:
		case <-deadline.C:
			return int(p.ready.Load()), fmt.Errorf("only %d of %d connections ready after %s (%d failed)", p.ready.Load(), len(who), timeout, p.failed.Load())
		case <-ctx.Done():
			return int(p.ready.Load()), ctx.Err()
		}
	}
	return int(p.ready.Load()), nil
}

// connSpec says who opens a connection and which channel it counts.
type connSpec struct {
	channel string
	s       *session
}

func (p *pool) dial(ctx context.Context, w connSpec) error {
	h := http.Header{}
	h.Set("Origin", p.origin)
	h.Set("Cookie", w.s.cookie)
	dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	ws, resp, err := websocket.Dial(dctx, p.wsURL, &websocket.DialOptions{HTTPClient: p.hc, HTTPHeader: h, CompressionMode: websocket.CompressionDisabled})
	if err != nil {
		if resp != nil {
			return fmt.Errorf("handshake refused: %s", resp.Status)
		}
		return fmt.Errorf("dial: %w", err)
	}
	ws.SetReadLimit(4 << 20)
	c := &wsConn{ws: ws, channel: w.channel, done: make(chan struct{})}
	if err := ws.Write(dctx, websocket.MessageText, helloFrame); err != nil {
		ws.CloseNow()
		return fmt.Errorf("hello: %w", err)
	}
	p.mu.Lock()
	p.conns = append(p.conns, c)
	p.mu.Unlock()
	p.dialed.Add(1)
	go p.read(ctx, c)
	return nil
}

// read reads c's messages until the connection ends.
func (p *pool) read(ctx context.Context, c *wsConn) {
	defer close(c.done)
	var buf []byte
	for {
		_, r, err := c.ws.Reader(ctx)
		if err == nil {
			buf, err = readAll(r, buf[:0])
		}
		if err != nil {
			if !c.ready.Load() {
				p.failed.Add(1)
				p.readyc <- struct{}{}
			}
			p.ended.Add(1)
			if !p.stopping.Load() && ctx.Err() == nil {
				p.noteEnd(endReason(err))
			}
			return
		}
		p.frames.Add(1)
		p.handle(c, buf, time.Since(p.base))
	}
}

func readAll(r io.Reader, buf []byte) ([]byte, error) {
	if buf == nil {
		buf = make([]byte, 0, 512)
	}
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

func endReason(err error) string {
	var ce websocket.CloseError
	if errors.As(err, &ce) {
		return fmt.Sprintf("closed %d %q", int(ce.Code), ce.Reason)
	}
	s := err.Error()
	switch {
	case strings.Contains(s, "EOF"):
		return "EOF without a close frame"
	case strings.Contains(s, "reset"):
		return "connection reset"
	}
	if len(s) > 80 {
		s = s[:80]
	}
	return s
}

func (p *pool) noteEnd(why string) {
	p.mu.Lock()
	p.closes[why]++
	p.mu.Unlock()
}

// handle counts the frames of one WebSocket message (a frame, or an array
// of frames) received at now.
func (p *pool) handle(c *wsConn, b []byte, now time.Duration) {
	if !c.ready.Load() {
		i := bytes.Index(b, readyStart)
		if i < 0 {
			return // an error frame before ready: the connection will close
		}
		var chans map[string]int64
		rest := b[i+len(readyStart):]
		if j := bytes.IndexByte(rest, '}'); j < 0 || json.Unmarshal(rest[:j+1], &chans) != nil {
			return
		}
		c.last.Store(chans[c.channel])
		c.ready.Store(true)
		p.ready.Add(1)
		p.readyc <- struct{}{}
		b = rest
	}
	for {
		i := bytes.Index(b, eventStart)
		if i < 0 {
			return
		}
		b = b[i+len(eventStart):]
		q := bytes.IndexByte(b, '"')
		if q < 0 {
			return
		}
		ch := b[:q]
		b = b[q:]
		const seqPart = `","seq":`
		if !bytes.HasPrefix(b, []byte(seqPart)) {
			continue
		}
		seq, _ := parseInt(b[len(seqPart):])
		p.events.Add(1)
		if string(ch) != c.channel {
			continue // another channel: not counted
		}
		last := c.last.Load()
		switch {
		case seq <= last:
			p.dupes.Add(1)
			continue
		case seq > last+1:
			p.missing.Add(seq - last - 1)
		}
		c.last.Store(seq)
		// This event's body ends before the next frame begins.
		end := bytes.Index(b, eventStart)
		if end < 0 {
			end = len(b)
		}
		m := bytes.Index(b[:end], markerKey)
		if m < 0 {
			continue
		}
		rest := b[m+len(markerKey) : end]
		if len(rest) < 3 || rest[0] < '0' || rest[0] > '9' || rest[1] != ':' {
			continue
		}
		ph := &p.phases[rest[0]-'0']
		sent, n := parseInt(rest[2:])
		if n == 0 {
			continue
		}
		ph.delivered.Add(1)
		c.got[rest[0]-'0'].Add(1)
		ph.lat.add(now - time.Duration(sent))
		p.track(int(rest[0]-'0'), msgKey{c.channel, seq}, time.Duration(sent), now)
	}
}

// track notes that a message sent at sent reached a subscriber at now.
func (p *pool) track(phase int, k msgKey, sent, now time.Duration) {
	p.tmu.Lock()
	defer p.tmu.Unlock()
	m := p.msgs[phase]
	if m == nil {
		m = map[msgKey]*msgTimes{}
		p.msgs[phase] = m
	}
	if t := m[k]; t != nil {
		t.first, t.last = min(t.first, now), max(t.last, now)
	} else if len(m) < maxTracked {
		m[k] = &msgTimes{sent: sent, first: now, last: now}
	}
}

// fanout returns, for a phase's messages, the histograms of the time from
// sending to the first subscriber's receipt, and from the first to the
// last subscriber's.
func (p *pool) fanout(phase int) (first, spread *hist) {
	first, spread = &hist{}, &hist{}
	p.tmu.Lock()
	defer p.tmu.Unlock()
	for _, t := range p.msgs[phase] {
		first.add(t.first - t.sent)
		spread.add(t.last - t.first)
	}
	return first, spread
}

// live returns the connections still open.
func (p *pool) live() []*wsConn {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]*wsConn, 0, len(p.conns))
	for _, c := range p.conns {
		select {
		case <-c.done:
		default:
			out = append(out, c)
		}
	}
	return out
}

// drain waits until every open connection has received its channel's
// events up to final[channel], or timeout passes; it returns the events
// still missing then (summed over connections).
func (p *pool) drain(ctx context.Context, final map[string]int64, timeout time.Duration) int64 {
	deadline := time.Now().Add(timeout)
	for {
		var behind int64
		for _, c := range p.live() {
			if f, ok := final[c.channel]; ok && c.ready.Load() {
				behind += max(0, f-c.last.Load())
			}
		}
		if behind == 0 || time.Now().After(deadline) || ctx.Err() != nil {
			return behind
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// endings returns why connections ended, most frequent first.
func (p *pool) endings() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for why, n := range p.closes {
		out = append(out, fmt.Sprintf("%d × %s", n, why))
	}
	slices.Sort(out)
	return out
}

// close closes every connection without the close handshake and waits (at
// most 10s) for the readers to end.
func (p *pool) close() {
	p.stopping.Store(true)
	p.mu.Lock()
	conns := slices.Clone(p.conns)
	p.mu.Unlock()
	for _, c := range conns {
		c.ws.CloseNow()
	}
	deadline := time.After(10 * time.Second)
	for _, c := range conns {
		select {
		case <-c.done:
		case <-deadline:
			return
		}
	}
}

// sleepUntil sleeps until t or until ctx ends.
func sleepUntil(ctx context.Context, t time.Time) error {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err()
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
