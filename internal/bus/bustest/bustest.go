// Package bustest is the conformance suite of bus.Bus: one set of tests
// and one benchmark that every implementation runs, so that they keep the
// same guarantees.
//
// An implementation's tests call Run with a function that returns a new,
// open Bus:
//
//	func TestConformance(t *testing.T) {
//		bustest.Run(t, func(tb testing.TB) bus.Bus { return inproc.New(inproc.Options{}) })
//	}
//
// Every subtest publishes under its own random subject root (UniqueRoot),
// so several runs can share one NATS server, such as CI's. The suite never
// uses a sleep as an assertion: it waits for what must happen for at most
// WaitTimeout, and proves that something did not happen with a fence (a
// later message the subscriber must also receive) where the guarantees
// allow one.
package bustest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kaigi/kaigi/internal/bus"
	"github.com/kaigi/kaigi/internal/errs"
)

// WaitTimeout is how long the suite waits for something that must happen
// (a message, the end of a subscription, Publish returning). It is generous
// so that a loaded CI machine under -race does not fail; a passing run
// never waits this long.
const WaitTimeout = 15 * time.Second

// NewBus returns a new, open Bus for one test. It fails tb if it cannot,
// and registers the Bus's Close with tb.Cleanup. The suite may also close
// the Bus itself (Close is idempotent).
type NewBus func(tb testing.TB) bus.Bus

// Run runs the conformance suite as parallel subtests of t, each with its
// own Bus from newBus.
func Run(t *testing.T, newBus NewBus) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(t *testing.T, b bus.Bus, root string)
	}{
		{"PublishReachesSubscriber", testPublishReachesSubscriber},
		{"FanOutToEverySubscriber", testFanOut},
		{"WildcardMatching", testWildcards},
		{"OrderPerSubject", testOrderPerSubject},
		{"Unsubscribe", testUnsubscribe},
		{"SlowConsumerDroppedWithoutBlocking", testSlowConsumer},
		{"CloseEndsEverything", testClose},
		{"InvalidSubjectsRejected", testInvalidSubjects},
		{"ValidPatternsAccepted", testValidPatterns},
		{"InvalidBufferRejected", testInvalidBuffer},
		{"Ping", testPing},
		{"DoneContext", testDoneContext},
		{"ConcurrentUse", testConcurrentUse},
		{"CloseWhilePublishing", testCloseWhilePublishing},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, newBus(t), UniqueRoot(t))
		})
	}
}

// UniqueRoot returns a subject root no other test uses, such as
// "kaigitest.3f9a0c1d2e4b5a69".
func UniqueRoot(tb testing.TB) string {
	tb.Helper()
	var r [8]byte
	if _, err := rand.Read(r[:]); err != nil {
		tb.Fatalf("random root: %v", err)
	}
	return "kaigitest." + hex.EncodeToString(r[:])
}

// Subscribe subscribes to pattern or fails tb.
func Subscribe(tb testing.TB, b bus.Bus, pattern string, opts bus.SubscribeOptions) bus.Subscription {
	tb.Helper()
	sub, err := b.Subscribe(tb.Context(), pattern, opts)
	if err != nil {
		tb.Fatalf("Subscribe(%q): %v", pattern, err)
	}
	tb.Cleanup(func() { _ = sub.Unsubscribe() })
	return sub
}

// Publish publishes payload on subject or fails tb.
func Publish(tb testing.TB, b bus.Bus, subject string, payload []byte) {
	tb.Helper()
	if err := b.Publish(tb.Context(), subject, payload); err != nil {
		tb.Fatalf("Publish(%q): %v", subject, err)
	}
}

// Receive returns the next message of sub. It fails tb if sub ends or no
// message arrives within WaitTimeout.
func Receive(tb testing.TB, sub bus.Subscription) bus.Message {
	tb.Helper()
	timer := time.NewTimer(WaitTimeout)
	defer timer.Stop()
	select {
	case m, ok := <-sub.C():
		if !ok {
			tb.Fatalf("subscription %q ended (Err: %v) while a message was expected", sub.Pattern(), sub.Err())
		}
		return m
	case <-timer.C:
		tb.Fatalf("no message on subscription %q within %s", sub.Pattern(), WaitTimeout)
	}
	return bus.Message{}
}

// WaitEnd reads sub until its channel is closed and returns the messages
// it read. It fails tb if the channel is not closed within WaitTimeout.
func WaitEnd(tb testing.TB, sub bus.Subscription) []bus.Message {
	tb.Helper()
	timer := time.NewTimer(WaitTimeout)
	defer timer.Stop()
	var got []bus.Message
	for {
		select {
		case m, ok := <-sub.C():
			if !ok {
				return got
			}
			got = append(got, m)
		case <-timer.C:
			tb.Fatalf("subscription %q did not end within %s (read %d messages)", sub.Pattern(), WaitTimeout, len(got))
			return got
		}
	}
}

func testPublishReachesSubscriber(t *testing.T, b bus.Bus, root string) {
	subject := root + ".tenant.t1.channel.c1"
	sub := Subscribe(t, b, subject, bus.SubscribeOptions{})

	payload := []byte("sealed event 1")
	Publish(t, b, subject, payload)
	copy(payload, "XXXXXX") // Publish must have copied the payload.

	m := Receive(t, sub)
	if m.Subject != subject || string(m.Payload) != "sealed event 1" {
		t.Fatalf("got {%q, %q}, want {%q, %q}", m.Subject, m.Payload, subject, "sealed event 1")
	}

	Publish(t, b, subject, nil)
	if m := Receive(t, sub); len(m.Payload) != 0 {
		t.Fatalf("empty payload arrived as %q", m.Payload)
	}
	if err := sub.Err(); err != nil {
		t.Fatalf("live subscription: Err() = %v, want nil", err)
	}
}

func testFanOut(t *testing.T, b bus.Bus, root string) {
	subject := root + ".chan.c1"
	patterns := []string{subject, subject, subject, root + ".chan.*", root + ".>"}
	var subs []bus.Subscription
	for _, p := range patterns {
		subs = append(subs, Subscribe(t, b, p, bus.SubscribeOptions{}))
	}
	Publish(t, b, subject, []byte("one"))
	Publish(t, b, subject, []byte("two"))
	// Each subscription gets each message once: a duplicate "one" would
	// arrive before "two", since order per subject is kept.
	for i, sub := range subs {
		for _, want := range []string{"one", "two"} {
			if m := Receive(t, sub); string(m.Payload) != want || m.Subject != subject {
				t.Fatalf("subscription %d (%q): got {%q, %q}, want {%q, %q}", i, patterns[i], m.Subject, m.Payload, subject, want)
			}
		}
	}
}

func testWildcards(t *testing.T, b bus.Bus, root string) {
	subjects := []string{"x", "x.y", "x.y.z", "w.y", "x.q", "w.y.z", "x.y.z.v"}
	cases := []struct {
		name    string
		pattern string
		want    []string
	}{
		{"exact", "x.y", []string{"x.y"}},
		{"star alone", "*", []string{"x"}},
		{"star first", "*.y", []string{"x.y", "w.y"}},
		{"star last", "x.*", []string{"x.y", "x.q"}},
		{"two stars", "*.*.z", []string{"x.y.z", "w.y.z"}},
		{"gt alone", ">", subjects},
		{"gt after token", "x.>", []string{"x.y", "x.y.z", "x.q", "x.y.z.v"}},
		{"star then gt", "*.y.>", []string{"x.y.z", "w.y.z", "x.y.z.v"}},
		{"no match", "v.>", nil},
	}
	subs := make([]bus.Subscription, len(cases))
	for i, tc := range cases {
		subs[i] = Subscribe(t, b, root+"."+tc.pattern, bus.SubscribeOptions{Buffer: 64})
	}
	for _, s := range subjects {
		Publish(t, b, root+"."+s, []byte("msg "+s))
	}
	// A fence per case, on a subject its pattern matches; its payload names
	// the case. Order is only kept per subject, so a case's result is
	// complete once it has its fence and every message it wants; a message
	// it must not get shows up before that in any implementation that
	// keeps order across subjects (both do today).
	for _, tc := range cases {
		fence := strings.NewReplacer("*", "fence", ">", "fence").Replace(tc.pattern)
		Publish(t, b, root+"."+fence, []byte("fence "+tc.name))
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			fenced := false
			for !fenced || len(got) < len(tc.want) {
				m := Receive(t, subs[i])
				kind, rest, _ := strings.Cut(string(m.Payload), " ")
				switch {
				case kind == "fence" && rest == tc.name:
					fenced = true
				case kind == "msg":
					if m.Subject != root+"."+rest {
						t.Fatalf("message published on %q arrived with subject %q", root+"."+rest, m.Subject)
					}
					got = append(got, rest)
					if !slices.Contains(tc.want, rest) {
						t.Fatalf("pattern %q received %q, which it does not match", tc.pattern, rest)
					}
				}
			}
			slices.Sort(got)
			want := slices.Sorted(slices.Values(tc.want))
			if !slices.Equal(got, want) {
				t.Fatalf("pattern %q received %q, want %q", tc.pattern, got, want)
			}
		})
	}
}

func testOrderPerSubject(t *testing.T, b bus.Bus, root string) {
	const n = 300
	a, c := root+".order.a", root+".order.c"
	all := Subscribe(t, b, root+".order.>", bus.SubscribeOptions{Buffer: 2*n + 8})
	onlyA := Subscribe(t, b, a, bus.SubscribeOptions{Buffer: n + 8})
	for i := range n {
		Publish(t, b, a, []byte(strconv.Itoa(i)))
		Publish(t, b, c, []byte(strconv.Itoa(i)))
	}
	next := map[string]int{a: 0, c: 0}
	for range 2 * n {
		m := Receive(t, all)
		if got := string(m.Payload); got != strconv.Itoa(next[m.Subject]) {
			t.Fatalf("on %q: got message %s, want %d", m.Subject, got, next[m.Subject])
		}
		next[m.Subject]++
	}
	for i := range n {
		if m := Receive(t, onlyA); string(m.Payload) != strconv.Itoa(i) {
			t.Fatalf("exact subscription: got message %s, want %d", m.Payload, i)
		}
	}
}

func testUnsubscribe(t *testing.T, b bus.Bus, root string) {
	subject := root + ".unsub"
	gone := Subscribe(t, b, subject, bus.SubscribeOptions{})
	stay := Subscribe(t, b, subject, bus.SubscribeOptions{})

	if err := gone.Unsubscribe(); err != nil {
		t.Fatalf("Unsubscribe: %v", err)
	}
	if got := WaitEnd(t, gone); len(got) != 0 {
		t.Fatalf("unsubscribed subscription held %d messages, want 0", len(got))
	}
	if err := gone.Err(); err != nil {
		t.Fatalf("after Unsubscribe: Err() = %v, want nil", err)
	}

	Publish(t, b, subject, []byte("after"))
	if m := Receive(t, stay); string(m.Payload) != "after" {
		t.Fatalf("remaining subscription got %q, want %q", m.Payload, "after")
	}
	if err := gone.Unsubscribe(); err != nil {
		t.Fatalf("second Unsubscribe: %v", err)
	}
	if _, ok := <-gone.C(); ok {
		t.Fatal("a message reached a subscription after Unsubscribe")
	}
}

func testSlowConsumer(t *testing.T, b bus.Bus, root string) {
	const (
		n       = 64
		slowBuf = 4
	)
	subject := root + ".slow"
	slow := Subscribe(t, b, subject, bus.SubscribeOptions{Buffer: slowBuf}) // never read until the end
	fast := Subscribe(t, b, subject, bus.SubscribeOptions{Buffer: n})

	fastGot := make(chan []string, 1)
	go func() {
		var got []string
		for m := range fast.C() {
			if got = append(got, string(m.Payload)); len(got) == n {
				break
			}
		}
		fastGot <- got
	}()
	published := make(chan error, 1)
	go func() {
		for i := range n {
			if err := b.Publish(t.Context(), subject, []byte(strconv.Itoa(i))); err != nil {
				published <- err
				return
			}
		}
		published <- nil
	}()

	timer := time.NewTimer(WaitTimeout)
	defer timer.Stop()
	select {
	case err := <-published:
		if err != nil {
			t.Fatalf("Publish with a slow subscriber: %v", err)
		}
	case <-timer.C:
		t.Fatalf("Publish of %d messages did not return within %s: a slow subscriber blocked the publisher", n, WaitTimeout)
	}
	select {
	case got := <-fastGot:
		if len(got) != n {
			t.Fatalf("fast subscriber got %d of %d messages, then its subscription ended: %v", len(got), n, fast.Err())
		}
		for i, p := range got {
			if p != strconv.Itoa(i) {
				t.Fatalf("fast subscriber: message %d is %q, want %d", i, p, i)
			}
		}
	case <-timer.C:
		t.Fatalf("fast subscriber did not get %d messages within %s: the slow one held it up", n, WaitTimeout)
	}

	// The slow subscription keeps what fitted in its buffer, then ends.
	// Wait for the end before reading: reading first would make room.
	// (With NATS the drop happens on the client's delivery goroutine, a
	// moment after Publish returned.)
	for deadline := time.Now().Add(WaitTimeout); slow.Err() == nil; {
		if time.Now().After(deadline) {
			t.Fatalf("slow subscriber (buffer %d, %d messages published, none read) not dropped within %s", slowBuf, n, WaitTimeout)
		}
		time.Sleep(time.Millisecond) // polling interval, not an assertion
	}
	got := WaitEnd(t, slow)
	if len(got) != slowBuf {
		t.Fatalf("slow subscriber read %d messages before the end, want its buffer's %d", len(got), slowBuf)
	}
	for i, m := range got {
		if string(m.Payload) != strconv.Itoa(i) {
			t.Fatalf("slow subscriber: message %d is %q, want %d", i, m.Payload, i)
		}
	}
	if err := slow.Err(); !errors.Is(err, bus.ErrSlowConsumer) {
		t.Fatalf("slow subscriber: Err() = %v, want ErrSlowConsumer", err)
	}
	if err := slow.Unsubscribe(); err != nil {
		t.Fatalf("Unsubscribe after a drop: %v", err)
	}

	// The bus and the fast subscriber carry on.
	Publish(t, b, subject, []byte("after"))
	if m := Receive(t, fast); string(m.Payload) != "after" {
		t.Fatalf("fast subscriber after the drop: got %q, want %q", m.Payload, "after")
	}
	if err := fast.Err(); err != nil {
		t.Fatalf("fast subscriber: Err() = %v, want nil", err)
	}
}

func testClose(t *testing.T, b bus.Bus, root string) {
	subject := root + ".close"
	sub := Subscribe(t, b, subject, bus.SubscribeOptions{})
	if err := b.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	WaitEnd(t, sub)
	if err := sub.Err(); !errors.Is(err, bus.ErrClosed) {
		t.Fatalf("after Close: Err() = %v, want ErrClosed", err)
	}
	if err := sub.Unsubscribe(); err != nil {
		t.Fatalf("Unsubscribe after Close: %v", err)
	}

	ctx := t.Context()
	checks := []struct {
		name string
		err  error
	}{
		{"Publish", b.Publish(ctx, subject, []byte("late"))},
		{"Subscribe", func() error { _, err := b.Subscribe(ctx, subject, bus.SubscribeOptions{}); return err }()},
		{"Ping", b.Ping(ctx)},
	}
	for _, c := range checks {
		if !errors.Is(c.err, bus.ErrClosed) {
			t.Errorf("%s after Close: %v, want ErrClosed", c.name, c.err)
		}
		if code := errs.CodeOf(c.err); code != errs.Unavailable {
			t.Errorf("%s after Close: code %q, want %q", c.name, code, errs.Unavailable)
		}
	}
	if err := b.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func testInvalidSubjects(t *testing.T, b bus.Bus, root string) {
	long := root + strings.Repeat(".abcdefgh", bus.MaxSubjectLen/9+1)
	both := []struct{ name, subject string }{
		{"empty", ""},
		{"only a dot", "."},
		{"leading dot", "." + root},
		{"trailing dot", root + "."},
		{"empty token", root + "..x"},
		{"space", root + ".a b"},
		{"tab", root + ".a\tb"},
		{"slash", root + ".a/b"},
		{"non-ASCII", root + ".café"},
		{"star inside a token", root + ".a*"},
		{"gt inside a token", root + ".a>"},
		{"gt not last", root + ".>.x"},
		{"too long", long},
	}
	publishOnly := []struct{ name, subject string }{
		{"star", root + ".*"},
		{"gt", root + ".>"},
		{"star alone", "*"},
		{"gt alone", ">"},
	}
	ctx := t.Context()
	check := func(t *testing.T, op, subject string, err error) {
		t.Helper()
		if !errors.Is(err, bus.ErrInvalidSubject) {
			t.Fatalf("%s(%q) = %v, want ErrInvalidSubject", op, subject, err)
		}
		if code := errs.CodeOf(err); code != errs.Invalid {
			t.Fatalf("%s(%q): code %q, want %q", op, subject, code, errs.Invalid)
		}
	}
	for _, tc := range both {
		t.Run(tc.name, func(t *testing.T) {
			check(t, "Publish", tc.subject, b.Publish(ctx, tc.subject, []byte("x")))
			sub, err := b.Subscribe(ctx, tc.subject, bus.SubscribeOptions{})
			if sub != nil {
				t.Errorf("Subscribe(%q) returned a subscription with its error", tc.subject)
			}
			check(t, "Subscribe", tc.subject, err)
		})
	}
	for _, tc := range publishOnly {
		t.Run("publish "+tc.name, func(t *testing.T) {
			check(t, "Publish", tc.subject, b.Publish(ctx, tc.subject, []byte("x")))
		})
	}
}

func testValidPatterns(t *testing.T, b bus.Bus, root string) {
	for _, p := range []string{
		root,
		root + ".*",
		root + ".>",
		root + ".*.*",
		root + ".*.x.>",
		root + ".Tenant_01.chan-9",
		"*." + root[strings.IndexByte(root, '.')+1:] + ".>",
	} {
		sub, err := b.Subscribe(t.Context(), p, bus.SubscribeOptions{})
		if err != nil {
			t.Fatalf("Subscribe(%q): %v", p, err)
		}
		if sub.Pattern() != p {
			t.Fatalf("Pattern() = %q, want %q", sub.Pattern(), p)
		}
		if err := sub.Unsubscribe(); err != nil {
			t.Fatalf("Unsubscribe(%q): %v", p, err)
		}
	}
}

func testInvalidBuffer(t *testing.T, b bus.Bus, root string) {
	for _, n := range []int{-1, bus.MaxBuffer + 1} {
		sub, err := b.Subscribe(t.Context(), root+".x", bus.SubscribeOptions{Buffer: n})
		if code := errs.CodeOf(err); code != errs.Invalid || sub != nil {
			t.Fatalf("Subscribe with Buffer %d: (%v, %v), want an %q error", n, sub, err, errs.Invalid)
		}
	}
}

func testPing(t *testing.T, b bus.Bus, _ string) {
	if err := b.Ping(t.Context()); err != nil {
		t.Fatalf("Ping on an open bus: %v", err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), WaitTimeout)
	defer cancel()
	if err := b.Ping(ctx); err != nil {
		t.Fatalf("Ping with a deadline: %v", err)
	}
	cancel()
	if err := b.Ping(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Ping with a cancelled context: %v, want context.Canceled", err)
	}
}

func testDoneContext(t *testing.T, b bus.Bus, root string) {
	subject := root + ".ctx"
	sub := Subscribe(t, b, subject, bus.SubscribeOptions{})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := b.Publish(ctx, subject, []byte("cancelled")); !errors.Is(err, context.Canceled) {
		t.Fatalf("Publish with a cancelled context: %v, want context.Canceled", err)
	}
	if s, err := b.Subscribe(ctx, subject, bus.SubscribeOptions{}); !errors.Is(err, context.Canceled) || s != nil {
		t.Fatalf("Subscribe with a cancelled context: (%v, %v), want context.Canceled", s, err)
	}
	// Order per subject: had the cancelled one gone out, it would come first.
	Publish(t, b, subject, []byte("live"))
	if m := Receive(t, sub); string(m.Payload) != "live" {
		t.Fatalf("got %q: Publish with a cancelled context published", m.Payload)
	}
}

func testConcurrentUse(t *testing.T, b bus.Bus, root string) {
	const (
		publishers = 4
		perPub     = 200
		readers    = 3
	)
	total := publishers * perPub
	stop := make(chan struct{})
	var churn sync.WaitGroup
	churnErr := make(chan error, 2)
	// Subscriptions and pings come and go while messages flow; the churning
	// subscriptions have a tiny buffer, so they are also dropped as slow.
	churn.Add(2)
	go func() {
		defer churn.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			sub, err := b.Subscribe(t.Context(), root+".c.>", bus.SubscribeOptions{Buffer: 1})
			if err != nil {
				churnErr <- fmt.Errorf("subscribe while publishing: %w", err)
				return
			}
			if err := sub.Unsubscribe(); err != nil {
				churnErr <- fmt.Errorf("unsubscribe while publishing: %w", err)
				return
			}
		}
	}()
	go func() {
		defer churn.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if err := b.Ping(t.Context()); err != nil {
				churnErr <- fmt.Errorf("ping while publishing: %w", err)
				return
			}
		}
	}()

	results := make(chan error, readers)
	for range readers {
		sub := Subscribe(t, b, root+".c.>", bus.SubscribeOptions{Buffer: total + 16})
		go func() {
			next := map[string]int{}
			for n := 0; n < total; n++ {
				m, ok := <-sub.C()
				if !ok {
					results <- fmt.Errorf("reader's subscription ended after %d messages: %v", n, sub.Err())
					return
				}
				if want := strconv.Itoa(next[m.Subject]); string(m.Payload) != want {
					results <- fmt.Errorf("on %q: got %s, want %s", m.Subject, m.Payload, want)
					return
				}
				next[m.Subject]++
			}
			results <- nil
		}()
	}

	var pubs sync.WaitGroup
	pubErr := make(chan error, publishers)
	for p := range publishers {
		pubs.Add(1)
		go func() {
			defer pubs.Done()
			subject := root + ".c." + strconv.Itoa(p)
			for i := range perPub {
				if err := b.Publish(t.Context(), subject, []byte(strconv.Itoa(i))); err != nil {
					pubErr <- err
					return
				}
			}
		}()
	}
	pubs.Wait()
	close(pubErr)
	for err := range pubErr {
		t.Errorf("concurrent Publish: %v", err)
	}

	timer := time.NewTimer(WaitTimeout)
	defer timer.Stop()
	for range readers {
		select {
		case err := <-results:
			if err != nil {
				t.Error(err)
			}
		case <-timer.C:
			t.Fatalf("readers did not get %d messages each within %s", total, WaitTimeout)
		}
	}
	close(stop)
	churn.Wait()
	close(churnErr)
	for err := range churnErr {
		t.Error(err)
	}
}

func testCloseWhilePublishing(t *testing.T, b bus.Bus, root string) {
	const publishers = 4
	sub := Subscribe(t, b, root+".>", bus.SubscribeOptions{Buffer: bus.MaxBuffer})
	first := make(chan struct{})
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		once := sync.Once{}
		for range sub.C() {
			once.Do(func() { close(first) })
		}
	}()

	errc := make(chan error, publishers)
	for p := range publishers {
		go func() {
			subject := root + ".p" + strconv.Itoa(p)
			for {
				if err := b.Publish(t.Context(), subject, []byte("x")); err != nil {
					errc <- err
					return
				}
			}
		}()
	}

	timer := time.NewTimer(WaitTimeout)
	defer timer.Stop()
	select {
	case <-first:
	case <-timer.C:
		t.Fatalf("no message within %s", WaitTimeout)
	}
	if err := b.Close(); err != nil {
		t.Fatalf("Close while publishing: %v", err)
	}
	for range publishers {
		select {
		case err := <-errc:
			if !errors.Is(err, bus.ErrClosed) {
				t.Errorf("Publish during Close: %v, want ErrClosed", err)
			}
		case <-timer.C:
			t.Fatalf("publishers still publishing %s after Close", WaitTimeout)
		}
	}
	select {
	case <-readDone:
	case <-timer.C:
		t.Fatalf("subscription not ended %s after Close", WaitTimeout)
	}
	if err := sub.Err(); !errors.Is(err, bus.ErrClosed) && !errors.Is(err, bus.ErrSlowConsumer) {
		t.Fatalf("after Close: Err() = %v, want ErrClosed (or ErrSlowConsumer if it fell behind first)", err)
	}
}

// BenchFanout measures one publisher fanning out to subscribers
// subscriptions of one Bus, with payloads of payloadSize bytes. One
// operation is one Publish, counted as received only when every subscriber
// has it; the publisher stays at most a few batches ahead of the slowest
// subscriber, so no subscription is dropped as slow. It reports
// deliveries/s besides the usual metrics.
func BenchFanout(b *testing.B, newBus NewBus, subscribers, payloadSize int) {
	const (
		batch  = 256
		window = 4 // batches the publisher may run ahead
	)
	bs := newBus(b)
	subject := UniqueRoot(b) + ".bench"
	payload := make([]byte, payloadSize)
	total := b.N

	type reader struct {
		sub  bus.Subscription
		acks chan struct{} // one per batch received; never blocks the reader
		done chan struct{} // closed when the reader has total messages or its subscription ended
	}
	readers := make([]reader, subscribers)
	for i := range readers {
		r := reader{
			sub:  Subscribe(b, bs, subject, bus.SubscribeOptions{Buffer: batch * (window + 1)}),
			acks: make(chan struct{}, total/batch+1),
			done: make(chan struct{}),
		}
		readers[i] = r
		go func() {
			defer close(r.done)
			n := 0
			for range r.sub.C() {
				n++
				if n%batch == 0 {
					r.acks <- struct{}{}
				}
				if n == total {
					return
				}
			}
		}()
	}
	ended := func(r reader) {
		b.Helper()
		b.Fatalf("a subscriber ended before receiving all messages: %v", r.sub.Err())
	}

	ctx := b.Context()
	b.SetBytes(int64(payloadSize))
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := range total {
		if err := bs.Publish(ctx, subject, payload); err != nil {
			b.Fatalf("Publish: %v", err)
		}
		if k := (i + 1) / batch; (i+1)%batch == 0 && k > window {
			for _, r := range readers {
				select {
				case <-r.acks:
				case <-r.done:
					ended(r)
				case <-time.After(WaitTimeout):
					b.Fatalf("subscriber stalled for %s", WaitTimeout)
				}
			}
		}
	}
	for _, r := range readers {
		select {
		case <-r.done:
		case <-time.After(WaitTimeout):
			b.Fatalf("subscriber stalled for %s", WaitTimeout)
		}
		if err := r.sub.Err(); err != nil {
			ended(r)
		}
	}
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(total*subscribers)/elapsed.Seconds(), "deliveries/s")
}
