package natsbus_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/kaigi/kaigi/internal/bus"
	"github.com/kaigi/kaigi/internal/bus/bustest"
	"github.com/kaigi/kaigi/internal/bus/natsbus"
	"github.com/kaigi/kaigi/internal/errs"
)

// externalURLEnv names the NATS server the external runs use. CI sets it
// (nats://127.0.0.1:4222).
const externalURLEnv = "KAIGI_TEST_NATS_URL"

// externalURL returns the external server's URL. Unset, the test is
// skipped, loudly; unset under CI=true, it fails, because CI must test
// against a real server.
func externalURL(t *testing.T) string {
	t.Helper()
	u := os.Getenv(externalURLEnv)
	if u != "" {
		return u
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is not set, but CI=true: CI must run the NATS tests against a real server; "+
			"start nats-server and set %s=nats://127.0.0.1:4222", externalURLEnv, externalURLEnv)
	}
	t.Skipf("!!! SKIPPED: NATS tests against an external server did not run: %s is not set. "+
		"Run nats-server and set %s=nats://127.0.0.1:4222 to run them. !!!", externalURLEnv, externalURLEnv)
	return ""
}

// startServer starts an embedded NATS server (no JetStream) on a random
// port of 127.0.0.1 and shuts it down when the test ends.
func startServer(tb testing.TB, opts *server.Options) *server.Server {
	tb.Helper()
	if opts == nil {
		opts = &server.Options{}
	}
	opts.Host = "127.0.0.1"
	if opts.Port == 0 {
		opts.Port = server.RANDOM_PORT
	}
	opts.NoLog, opts.NoSigs = true, true
	s, err := server.NewServer(opts)
	if err != nil {
		tb.Fatalf("embedded NATS server: %v", err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		s.Shutdown()
		tb.Fatal("embedded NATS server not ready within 10s")
	}
	tb.Cleanup(func() {
		s.Shutdown()
		s.WaitForShutdown()
	})
	return s
}

// uniquePrefix returns a subject prefix no other test uses.
func uniquePrefix(tb testing.TB) string {
	tb.Helper()
	var r [6]byte
	if _, err := rand.Read(r[:]); err != nil {
		tb.Fatal(err)
	}
	return "kaigitest-" + hex.EncodeToString(r[:])
}

// connect returns a Bus on url, closed when the test ends.
func connect(tb testing.TB, url string, opts natsbus.Options) *natsbus.Bus {
	tb.Helper()
	ctx, cancel := context.WithTimeout(tb.Context(), bustest.WaitTimeout)
	defer cancel()
	b, err := natsbus.Connect(ctx, url, opts)
	if err != nil {
		tb.Fatalf("Connect: %v", err)
	}
	tb.Cleanup(func() {
		if err := b.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return b
}

// factory returns a NewBus for the suite: every bus gets its own prefix,
// on top of the suite's own unique subjects.
func factory(url string) bustest.NewBus {
	return func(tb testing.TB) bus.Bus {
		return connect(tb, url, natsbus.Options{SubjectPrefix: uniquePrefix(tb)})
	}
}

// forEachServer runs fn against an embedded server and against the
// external one (see externalURL).
func forEachServer(t *testing.T, fn func(t *testing.T, url string)) {
	t.Run("embedded", func(t *testing.T) { fn(t, startServer(t, nil).ClientURL()) })
	t.Run("external", func(t *testing.T) { fn(t, externalURL(t)) })
}

func TestConformanceEmbedded(t *testing.T) {
	bustest.Run(t, factory(startServer(t, nil).ClientURL()))
}

func TestConformanceExternal(t *testing.T) {
	bustest.Run(t, factory(externalURL(t)))
}

func TestTwoNodesSeeEachOther(t *testing.T) {
	forEachServer(t, func(t *testing.T, url string) {
		prefix := uniquePrefix(t)
		a := connect(t, url, natsbus.Options{SubjectPrefix: prefix, Name: "node-a"})
		b := connect(t, url, natsbus.Options{SubjectPrefix: prefix, Name: "node-b"})
		root := bustest.UniqueRoot(t)
		subA := bustest.Subscribe(t, a, root+".>", bus.SubscribeOptions{})
		subB := bustest.Subscribe(t, b, root+".>", bus.SubscribeOptions{})

		bustest.Publish(t, a, root+".from-a", []byte("hello from a"))
		bustest.Publish(t, b, root+".from-b", []byte("hello from b"))
		for _, tc := range []struct {
			name string
			sub  bus.Subscription
		}{{"node a", subA}, {"node b", subB}} {
			got := map[string]string{}
			for range 2 {
				m := bustest.Receive(t, tc.sub)
				got[m.Subject] = string(m.Payload)
			}
			if got[root+".from-a"] != "hello from a" || got[root+".from-b"] != "hello from b" {
				t.Errorf("%s received %q, want both nodes' events", tc.name, got)
			}
		}
	})
}

func TestSubjectPrefix(t *testing.T) {
	forEachServer(t, func(t *testing.T, url string) {
		pa, pb := uniquePrefix(t), uniquePrefix(t)
		a := connect(t, url, natsbus.Options{SubjectPrefix: pa})
		b := connect(t, url, natsbus.Options{SubjectPrefix: pb})
		raw, err := nats.Connect(url)
		if err != nil {
			t.Fatalf("raw connection: %v", err)
		}
		t.Cleanup(raw.Close)

		// On the wire, a's subjects carry its prefix.
		wire, err := raw.SubscribeSync(pa + ".>")
		if err != nil {
			t.Fatal(err)
		}
		if err := raw.Flush(); err != nil {
			t.Fatal(err)
		}
		bustest.Publish(t, a, "x.y", []byte("1"))
		m, err := wire.NextMsg(bustest.WaitTimeout)
		if err != nil || m.Subject != pa+".x.y" {
			t.Fatalf("on the wire: %v, %v; want subject %q", m, err, pa+".x.y")
		}

		// Delivered messages come without it.
		subA := bustest.Subscribe(t, a, "x.>", bus.SubscribeOptions{})
		subB := bustest.Subscribe(t, b, ">", bus.SubscribeOptions{})
		if err := raw.Publish(pa+".x.z", []byte("2")); err != nil {
			t.Fatal(err)
		}
		if m := bustest.Receive(t, subA); m.Subject != "x.z" || string(m.Payload) != "2" {
			t.Fatalf("a received {%q, %q}, want {%q, %q}", m.Subject, m.Payload, "x.z", "2")
		}

		// Another prefix sees nothing of a's: the fence from the same
		// publisher comes after a's message.
		if err := raw.Publish(pb+".fence", []byte("fence")); err != nil {
			t.Fatal(err)
		}
		if m := bustest.Receive(t, subB); m.Subject != "fence" {
			t.Fatalf("b (prefix %s) received {%q, %q} from prefix %s", pb, m.Subject, m.Payload, pa)
		}
	})
}

func TestCloseDrainsPublishes(t *testing.T) {
	forEachServer(t, func(t *testing.T, url string) {
		const n = 500
		prefix := uniquePrefix(t)
		a, err := natsbus.Connect(t.Context(), url, natsbus.Options{SubjectPrefix: prefix})
		if err != nil {
			t.Fatal(err)
		}
		b := connect(t, url, natsbus.Options{SubjectPrefix: prefix})
		subject := bustest.UniqueRoot(t) + ".drain"
		sub := bustest.Subscribe(t, b, subject, bus.SubscribeOptions{Buffer: n})
		for i := range n {
			bustest.Publish(t, a, subject, []byte(strconv.Itoa(i)))
		}
		if err := a.Close(); err != nil { // right away: the drain flushes what is buffered
			t.Fatalf("Close: %v", err)
		}
		for i := range n {
			if m := bustest.Receive(t, sub); string(m.Payload) != strconv.Itoa(i) {
				t.Fatalf("message %d: got %s", i, m.Payload)
			}
		}
	})
}

// freeAddr returns a 127.0.0.1 address on which nothing listens.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

// silentServer accepts TCP connections and never says a word, like a
// firewall that swallows packets or a server that hangs.
func silentServer(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				_ = c.Close()
			}
		}()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	t.Cleanup(func() {
		_ = l.Close()
		<-done
	})
	return l.Addr().String()
}

func checkConnectErr(t *testing.T, err error, addr string) {
	t.Helper()
	if err == nil {
		t.Fatal("Connect succeeded")
	}
	t.Logf("the error an operator sees: %v", err)
	if !errors.Is(err, bus.ErrUnavailable) || errs.CodeOf(err) != errs.Unavailable {
		t.Fatalf("error %v: want ErrUnavailable", err)
	}
	msg := err.Error()
	for _, want := range []string{"nats://" + addr, "nats-server is running", "reachable"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error does not say %q: %s", want, msg)
		}
	}
	for _, secret := range []string{"s3cret", "kaigi-user"} {
		if strings.Contains(msg, secret) {
			t.Errorf("error reveals credentials (%q): %s", secret, msg)
		}
	}
}

func TestConnectUnreachable(t *testing.T) {
	addr := freeAddr(t)
	start := time.Now()
	_, err := natsbus.Connect(t.Context(), "nats://kaigi-user:s3cret@"+addr, natsbus.Options{})
	// Nothing listens: the refusal is immediate, no need to wait for the
	// connect timeout.
	if elapsed := time.Since(start); elapsed >= natsbus.DefaultConnectTimeout {
		t.Errorf("Connect took %s to fail on a refused connection", elapsed)
	}
	checkConnectErr(t, err, addr)
}

func TestConnectTimeout(t *testing.T) {
	addr := silentServer(t)
	start := time.Now()
	_, err := natsbus.Connect(t.Context(), "nats://kaigi-user:s3cret@"+addr, natsbus.Options{ConnectTimeout: 200 * time.Millisecond})
	if elapsed := time.Since(start); elapsed >= natsbus.DefaultConnectTimeout {
		t.Errorf("Connect took %s with a 200ms connect timeout", elapsed)
	}
	checkConnectErr(t, err, addr)
}

func TestConnectContext(t *testing.T) {
	addr := silentServer(t)
	url := "nats://kaigi-user:s3cret@" + addr
	opts := natsbus.Options{ConnectTimeout: time.Minute}

	t.Run("deadline", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := natsbus.Connect(ctx, url, opts)
		if elapsed := time.Since(start); elapsed >= natsbus.DefaultConnectTimeout {
			t.Errorf("Connect took %s with a 200ms deadline", elapsed)
		}
		checkConnectErr(t, err, addr)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("error %v: want context.DeadlineExceeded", err)
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if _, err := natsbus.Connect(ctx, url, opts); !errors.Is(err, context.Canceled) {
			t.Fatalf("Connect with a cancelled context: %v", err)
		}
	})
}

func TestConnectInvalidOptions(t *testing.T) {
	tests := []struct {
		name   string
		url    string
		prefix string
	}{
		{"empty URL", "", ""},
		{"blank URL", "  ", ""},
		{"wildcard prefix", "nats://127.0.0.1:4222", "kaigi.*"},
		{"empty token in prefix", "nats://127.0.0.1:4222", "kaigi..prod"},
		{"space in prefix", "nats://127.0.0.1:4222", "kaigi prod"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := natsbus.Connect(t.Context(), tc.url, natsbus.Options{SubjectPrefix: tc.prefix})
			if b != nil {
				_ = b.Close()
			}
			if errs.CodeOf(err) != errs.Invalid {
				t.Fatalf("Connect(%q, prefix %q): %v, want an %q error", tc.url, tc.prefix, err, errs.Invalid)
			}
		})
	}
}

func TestPayloadLimitIsTheServers(t *testing.T) {
	s := startServer(t, &server.Options{MaxPayload: 1024})
	b := connect(t, s.ClientURL(), natsbus.Options{})
	if err := b.Publish(t.Context(), "a.b", make([]byte, 1024)); err != nil {
		t.Fatalf("payload at the limit: %v", err)
	}
	err := b.Publish(t.Context(), "a.b", make([]byte, 1025))
	if !errors.Is(err, bus.ErrTooLarge) || errs.CodeOf(err) != errs.TooLarge {
		t.Fatalf("payload over the limit: %v, want ErrTooLarge", err)
	}
}

// TestServerRestart checks /readyz's view of an outage and that
// subscriptions come back with the connection.
func TestServerRestart(t *testing.T) {
	s := startServer(t, nil)
	port := s.Addr().(*net.TCPAddr).Port
	b := connect(t, s.ClientURL(), natsbus.Options{
		NATSOptions: []nats.Option{nats.ReconnectWait(20 * time.Millisecond)},
	})
	root := bustest.UniqueRoot(t)
	sub := bustest.Subscribe(t, b, root+".>", bus.SubscribeOptions{})
	if err := b.Ping(t.Context()); err != nil {
		t.Fatalf("Ping with the server up: %v", err)
	}

	s.Shutdown()
	s.WaitForShutdown()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	err := b.Ping(ctx)
	cancel()
	if !errors.Is(err, bus.ErrUnavailable) || errs.CodeOf(err) != errs.Unavailable {
		t.Fatalf("Ping with the server down: %v, want ErrUnavailable", err)
	}
	t.Logf("Ping with the server down: %v", err)

	startServer(t, &server.Options{Port: port})
	deadline := time.Now().Add(bustest.WaitTimeout)
	for {
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		err := b.Ping(ctx)
		cancel()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Ping still failing %s after the server came back: %v", bustest.WaitTimeout, err)
		}
		time.Sleep(20 * time.Millisecond) // polling interval, not an assertion
	}
	// Reconnected means the subscription was re-sent before the PONG.
	bustest.Publish(t, b, root+".back", []byte("back"))
	if m := bustest.Receive(t, sub); string(m.Payload) != "back" {
		t.Fatalf("after reconnect: got %q", m.Payload)
	}
}

func TestCloseReleasesGoroutines(t *testing.T) {
	s := startServer(t, nil)
	before := runtime.NumGoroutine()
	b, err := natsbus.Connect(t.Context(), s.ClientURL(), natsbus.Options{})
	if err != nil {
		t.Fatal(err)
	}
	root := bustest.UniqueRoot(t)
	for range 5 {
		if _, err := b.Subscribe(t.Context(), root+".>", bus.SubscribeOptions{Buffer: 1}); err != nil {
			t.Fatal(err)
		}
	}
	for range 10 {
		if err := b.Publish(t.Context(), root+".x", []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(bustest.WaitTimeout)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond) // polling interval, not an assertion
	}
	if after := runtime.NumGoroutine(); after > before {
		buf := make([]byte, 1<<20)
		t.Fatalf("goroutines: %d before Connect, %d after Close:\n%s", before, after, buf[:runtime.Stack(buf, true)])
	}
}

func BenchmarkFanout(b *testing.B) {
	s := startServer(b, nil)
	bustest.BenchFanout(b, factory(s.ClientURL()), 10, 1024)
}

// TestOwnEventsEvenWithNoEcho: a node receives its own events, as with the
// in-process bus, whatever NATSOptions say.
func TestOwnEventsEvenWithNoEcho(t *testing.T) {
	s := startServer(t, nil)
	b := connect(t, s.ClientURL(), natsbus.Options{NATSOptions: []nats.Option{nats.NoEcho()}})
	subject := bustest.UniqueRoot(t) + ".self"
	sub := bustest.Subscribe(t, b, subject, bus.SubscribeOptions{})
	bustest.Publish(t, b, subject, []byte("mine"))
	if m := bustest.Receive(t, sub); string(m.Payload) != "mine" {
		t.Fatalf("got %q", m.Payload)
	}
}
