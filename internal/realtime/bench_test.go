package realtime_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/realtime"
)

// BenchmarkFanOut sends events to one channel followed by N sockets on
// this node (real WebSockets over loopback, the clients in this process),
// one at a time (each delivered everywhere before the next) or in bursts of
// 64, and reports deliveries per second and writes per delivery (below 1
// when the writer coalesces frames into one message).
func BenchmarkFanOut(b *testing.B) {
	for _, n := range []int{100, 1000} {
		for _, burst := range []int{1, 64} {
			b.Run(fmt.Sprintf("conns=%d/burst=%d", n, burst), func(b *testing.B) { benchFanOut(b, n, burst) })
		}
	}
}

func benchFanOut(b *testing.B, n, burst int) {
	e := newEnv(b, func(o *realtime.Options) { o.SendQueue, o.SendQueueBytes = 1<<14, 64<<20 })
	users := make([]ids.UserID, n)
	for i := range users {
		users[i] = ids.UserID(fmt.Sprintf("u%d", i))
	}
	e.chat.addChannel("c1", users...)
	var events, readies atomic.Int64
	wake := make(chan struct{}, 1) // a reader counted something
	for _, u := range users {
		ws, _, err := websocket.Dial(b.Context(), e.url, dialOpts(string(u), testOrigin))
		if err != nil {
			b.Fatal(err)
		}
		ws.SetReadLimit(-1)
		b.Cleanup(func() { ws.CloseNow() })
		ws.Write(b.Context(), websocket.MessageText, []byte(`{"type":"hello","cursors":{}}`))
		go func() {
			for {
				_, m, err := ws.Read(context.Background())
				if err != nil {
					return
				}
				events.Add(int64(bytes.Count(m, []byte(`"type":"event"`))))
				readies.Add(int64(bytes.Count(m, []byte(`"type":"ready"`))))
				select {
				case wake <- struct{}{}:
				default:
				}
			}
		}()
	}
	until := func(cond func() bool) {
		timeout := time.After(time.Minute)
		for !cond() {
			select {
			case <-wake:
			case <-timeout:
				b.Fatal("timed out")
			}
		}
	}
	until(func() bool { return readies.Load() == int64(n) })
	writes0 := e.metric("kaigi_realtime_frames_per_write")
	body := strings.Repeat("a message of ordinary length ", 4)
	b.ResetTimer()
	start := time.Now()
	for i := 1; i <= b.N; i++ {
		e.chat.send(b, "c1", "u0", body)
		if i%burst == 0 || i == b.N {
			want := int64(n) * int64(i)
			until(func() bool { return events.Load() >= want })
		}
	}
	elapsed := time.Since(start)
	b.StopTimer()
	deliveries := float64(n) * float64(b.N)
	if got := float64(events.Load()); got != deliveries {
		b.Fatalf("%v deliveries, want %v", got, deliveries)
	}
	writes := e.metric("kaigi_realtime_frames_per_write") - writes0
	b.ReportMetric(deliveries/elapsed.Seconds(), "deliveries/s")
	b.ReportMetric(writes/deliveries, "writes/delivery")
	if e.metric("kaigi_realtime_slow_consumers_total") != 0 {
		b.Fatal("a client was dropped as slow")
	}
}

func waitFor(b *testing.B, cond func() bool) {
	b.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			b.Fatal("timed out")
		}
		time.Sleep(time.Millisecond)
	}
}

// BenchmarkIdleConnectionMemory opens 1000 connections that said hello and
// follow 5 channels, then measures the heap and stacks they hold. The
// clients are bare TCP sockets that did the handshake by hand, so nearly
// all that is measured is the server's side.
func BenchmarkIdleConnectionMemory(b *testing.B) {
	const n = 1000
	for range b.N {
		b.StopTimer()
		heap, stacks, goroutines := idleMemory(b, n)
		b.ReportMetric(heap+stacks, "bytes/conn")
		b.ReportMetric(heap, "heap-bytes/conn")
		b.ReportMetric(stacks, "stack-bytes/conn")
		b.ReportMetric(goroutines, "goroutines/conn")
	}
}

func idleMemory(b *testing.B, n int) (heap, stacks, goroutines float64) {
	e := newEnv(b, nil)
	users := make([]ids.UserID, n+1)
	for i := range users {
		users[i] = ids.UserID(fmt.Sprintf("u%d", i))
	}
	for i := range 5 {
		e.chat.addChannel(fmt.Sprintf("channel-%d", i), users...)
		e.chat.send(b, fmt.Sprintf("channel-%d", i), "u0", "history")
	}
	addr := strings.TrimPrefix(e.srv.URL, "http://")
	var conns []net.Conn
	b.Cleanup(func() {
		for _, c := range conns {
			c.Close()
		}
	})
	open := func(u ids.UserID) { conns = append(conns, rawSocket(b, addr, u)) }
	written := func() float64 { return e.metric("kaigi_realtime_frames_per_write") }
	open(users[n]) // warms the tenant's subscriptions and pools up
	waitFor(b, func() bool { return written() == 1 })
	settle()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	g0 := runtime.NumGoroutine()
	for _, u := range users[:n] {
		open(u)
	}
	waitFor(b, func() bool { return written() == float64(n+1) }) // every ready frame is out
	settle()
	runtime.ReadMemStats(&after)
	g1 := runtime.NumGoroutine()
	heap = (float64(after.HeapInuse) - float64(before.HeapInuse)) / float64(n)
	stacks = (float64(after.StackInuse) - float64(before.StackInuse)) / float64(n)
	return heap, stacks, float64(g1-g0) / float64(n)
}

// settle lets the writers end and collects garbage.
func settle() {
	time.Sleep(200 * time.Millisecond)
	runtime.GC()
	runtime.GC()
}

// rawSocket opens a realtime socket for user by hand over TCP, says hello
// and reads nothing more: the least a client can hold.
func rawSocket(tb testing.TB, addr string, user ids.UserID) net.Conn {
	tb.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		tb.Fatal(err)
	}
	fmt.Fprintf(c, "GET /api/v1/realtime HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nOrigin: %s\r\nX-Test-User: %s\r\n\r\n", addr, testOrigin, user)
	resp, err := http.ReadResponse(bufio.NewReaderSize(c, 512), nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		c.Close()
		tb.Fatalf("handshake: %v %v", resp, err)
	}
	c.Write(maskedText([]byte(`{"type":"hello","cursors":{}}`)))
	tb.Cleanup(func() { c.Close() })
	return c
}

// maskedText is a client's text frame (clients mask what they send).
func maskedText(p []byte) []byte {
	key := [4]byte{0x12, 0x34, 0x56, 0x78}
	out := []byte{0x81, 0x80 | byte(len(p))} // len(p) < 126
	out = append(out, key[:]...)
	for i, c := range p {
		out = append(out, c^key[i%4])
	}
	return out
}

// BenchmarkFanOutPaced sends b.N events to one channel followed by 1000
// sockets at a steady rate, as kaigi-load's S2 does, and reports writes per
// delivery and the 99th percentile from publish to receipt. Run it with
// -benchtime=Nx (each event takes 1/rate).
func BenchmarkFanOutPaced(b *testing.B) {
	for _, rate := range []int{20, 60} {
		b.Run(fmt.Sprintf("conns=1000/rate=%d", rate), func(b *testing.B) { benchFanOutPaced(b, 1000, rate) })
	}
}

func benchFanOutPaced(b *testing.B, n, rate int) {
	e := newEnv(b, nil)
	users := make([]ids.UserID, n)
	for i := range users {
		users[i] = ids.UserID(fmt.Sprintf("u%d", i))
	}
	e.chat.addChannel("c1", users...)
	sentAt := make([]atomic.Int64, b.N+2)
	var readies, events atomic.Int64
	lat := make([][]time.Duration, n)
	done := make(chan struct{}, n)
	for i, u := range users {
		ws, _, err := websocket.Dial(b.Context(), e.url, dialOpts(string(u), testOrigin))
		if err != nil {
			b.Fatal(err)
		}
		ws.SetReadLimit(-1)
		b.Cleanup(func() { ws.CloseNow() })
		ws.Write(b.Context(), websocket.MessageText, []byte(`{"type":"hello","cursors":{}}`))
		go func() {
			for {
				_, m, err := ws.Read(context.Background())
				if err != nil {
					return
				}
				now := time.Now().UnixNano()
				readies.Add(int64(bytes.Count(m, []byte(`"type":"ready"`))))
				for {
					k := bytes.Index(m, []byte(`"type":"event","channel":"c1","seq":`))
					if k < 0 {
						break
					}
					m = m[k+36:]
					seq := 0
					for len(m) > 0 && m[0] >= '0' && m[0] <= '9' {
						seq = seq*10 + int(m[0]-'0')
						m = m[1:]
					}
					if seq < len(sentAt) {
						lat[i] = append(lat[i], time.Duration(now-sentAt[seq].Load()))
					}
					if events.Add(1) == int64(n)*int64(b.N) {
						done <- struct{}{}
					}
				}
			}
		}()
	}
	waitFor(b, func() bool { return readies.Load() == int64(n) })
	settle()
	writes0 := e.metric("kaigi_realtime_frames_per_write")
	body := strings.Repeat("a message of ordinary length ", 4)
	b.ResetTimer()
	tick := time.NewTicker(time.Second / time.Duration(rate))
	for i := 1; i <= b.N; i++ {
		<-tick.C
		sentAt[i].Store(time.Now().UnixNano())
		e.chat.send(b, "c1", "u0", body)
	}
	tick.Stop()
	select {
	case <-done:
	case <-time.After(time.Minute):
		b.Fatalf("%d of %d deliveries", events.Load(), n*b.N)
	}
	b.StopTimer()
	time.Sleep(50 * time.Millisecond)
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	slices.Sort(all)
	deliveries := float64(n) * float64(b.N)
	b.ReportMetric((e.metric("kaigi_realtime_frames_per_write")-writes0)/deliveries, "writes/delivery")
	b.ReportMetric(float64(all[len(all)*99/100].Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(all[len(all)/2].Microseconds())/1000, "p50-ms")
}
