package realtime_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/kaigi/kaigi/internal/realtime"
)

func TestFramesQueuedWithinTheFlushWindowShareOneMessage(t *testing.T) {
	e := newEnv(t, func(o *realtime.Options) { o.FlushWindow = 100 * time.Millisecond })
	e.chat.addChannel("c1", "alice", "bob")
	a := e.connect("alice", nil)
	a.expect("ready")
	a.quiet(150 * time.Millisecond)
	before := a.msgs.Load()
	start := time.Now()
	for i := range 5 {
		e.chat.send(t, "c1", "bob", fmt.Sprintf("m%d", i))
	}
	sent := time.Since(start)
	a.events("c1", 0, 5)
	if sent > 50*time.Millisecond {
		t.Skipf("sending took %v, longer than the window allows to test", sent)
	}
	if got := a.msgs.Load() - before; got != 1 {
		t.Fatalf("5 events queued within the window arrived in %d WebSocket messages, want 1", got)
	}
	eventually(t, "the batch's write to be counted", func() bool { return e.metric("kaigi_realtime_frames_per_write") >= 2 })
	time.Sleep(20 * time.Millisecond)
	if w := e.metric("kaigi_realtime_frames_per_write"); w != 2 { // ready, the batch
		t.Fatalf("%v writes, want 2", w)
	}
}

func TestAFullBatchIsWrittenWithoutWaitingForTheWindow(t *testing.T) {
	e := newEnv(t, func(o *realtime.Options) {
		o.FlushWindow = time.Minute
		o.MaxBatchBytes = 1 << 10
	})
	e.chat.addChannel("c1", "alice", "bob")
	a := e.connect("alice", nil)
	a.expect("ready") // written by the writer that joined, not through the window
	start := time.Now()
	e.chat.send(t, "c1", "bob", strings.Repeat("x", 2<<10))
	a.events("c1", 0, 1)
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("a frame larger than a batch waited %v", d)
	}
}

// silentSocket opens a socket for user that says hello and never reads
// again, so that the server's writes to it block once the kernel's
// buffers are full.
func (e *env) silentSocket(user string) {
	e.t.Helper()
	ws, _, err := websocket.Dial(context.Background(), e.url, dialOpts(user, testOrigin))
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { ws.CloseNow() })
	ws.Write(context.Background(), websocket.MessageText, []byte(`{"type":"hello","cursors":{}}`))
	eventually(e.t, "the silent socket's ready", func() bool { return e.metric("kaigi_realtime_frames_per_write") >= 1 })
}

func TestAReaderThatStopsReadingIsDroppedAfterTheAgeBound(t *testing.T) {
	const bound = 300 * time.Millisecond
	e := newEnv(t, func(o *realtime.Options) {
		o.SlowConsumerAge = bound
		o.SendQueue, o.SendQueueBytes = 1<<20, 1<<30 // far away: only age may drop
	})
	e.chat.addChannel("c1", "alice", "bob")
	fast := e.connect("alice", nil)
	fast.expect("ready")
	e.silentSocket("bob")
	body := strings.Repeat("x", 16<<10)
	var seq int64
	start := time.Now()
	for e.metric("kaigi_realtime_slow_consumers_total") == 0 {
		if time.Since(start) > waitLimit {
			t.Fatalf("the reader that never reads was not dropped after %d events", seq)
		}
		for range 16 {
			seq = e.chat.send(t, "c1", "alice", body)
		}
		fast.events("c1", seq-16, seq) // alice keeps up all along
		time.Sleep(10 * time.Millisecond)
	}
	if got := e.metric("kaigi_realtime_slow_consumers_total", "reason", "lagging"); got != 1 {
		t.Fatalf("dropped as lagging: %v, want 1 (queue_full %v, write_timeout %v)", got,
			e.metric("kaigi_realtime_slow_consumers_total", "reason", "queue_full"), e.metric("kaigi_realtime_slow_consumers_total", "reason", "write_timeout"))
	}
	eventually(t, "the slow connection to be counted out", func() bool { return e.metric("kaigi_realtime_connections") == 1 })
	seq = e.chat.send(t, "c1", "alice", "still here")
	fast.events("c1", seq-1, seq)
}

// TestFramesThatWaitWithoutBlockedWritesDoNotDropTheReader: with frames
// older than the age bound in every queue (here because the flush window
// is longer than the bound, as when a busy server cannot write in time),
// a reader whose writes do not block is kept.
func TestFramesThatWaitWithoutBlockedWritesDoNotDropTheReader(t *testing.T) {
	e := newEnv(t, func(o *realtime.Options) {
		o.SlowConsumerAge = 5 * time.Millisecond
		o.FlushWindow = 60 * time.Millisecond
	})
	e.chat.addChannel("c1", "alice", "bob")
	a := e.connect("alice", nil)
	a.expect("ready")
	var seq int64
	for range 20 {
		seq = e.chat.send(t, "c1", "bob", "hello")
		time.Sleep(15 * time.Millisecond)
	}
	a.events("c1", 0, seq)
	if got := e.metric("kaigi_realtime_slow_consumers_total"); got != 0 {
		t.Fatalf("%v healthy readers dropped as slow", got)
	}
}

func TestAWriteBlockedLongerThanTheWriteTimeoutClosesTheConnection(t *testing.T) {
	e := newEnv(t, func(o *realtime.Options) {
		o.WriteTimeout = 200 * time.Millisecond
		o.SlowConsumerAge = time.Hour
		o.SendQueue, o.SendQueueBytes = 1<<20, 1<<30
	})
	e.chat.addChannel("c1", "alice")
	e.silentSocket("alice")
	body := strings.Repeat("x", 64<<10)
	start := time.Now()
	for e.metric("kaigi_realtime_slow_consumers_total", "reason", "write_timeout") == 0 {
		if time.Since(start) > waitLimit {
			t.Fatal("a write blocked for good was not timed out")
		}
		e.chat.send(t, "c1", "alice", body)
		time.Sleep(5 * time.Millisecond)
	}
	eventually(t, "the connection to be counted out", func() bool { return e.metric("kaigi_realtime_connections") == 0 })
}

func TestTheRecheckIsDoneOncePerAccountNotPerSocket(t *testing.T) {
	const interval = 100 * time.Millisecond
	e := newEnv(t, func(o *realtime.Options) { o.RevalidateInterval = interval })
	e.chat.addChannel("c1", "alice")
	for range 5 {
		e.connect("alice", nil).expect("ready")
	}
	// Wait for a few re-checks, however slowly timers fire on a busy
	// machine, then compare with the intervals that passed: once per
	// account is at most one per interval (plus one in flight); per socket
	// it would be about five.
	before := e.sessions.calls.Load()
	start := time.Now()
	for e.sessions.calls.Load()-before < 4 && time.Since(start) < 20*time.Second {
		time.Sleep(interval / 10)
	}
	got := e.sessions.calls.Load() - before
	if intervals := int64(time.Since(start)/interval) + 1; got < 4 || got > intervals {
		t.Fatalf("%d session checks in %d intervals for one account with 5 sockets, want at most one per interval", got, intervals)
	}
}
