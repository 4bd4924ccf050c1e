package inproc_test

import (
	"errors"
	"runtime"
	"testing"
	"time"

	"github.com/kaigi/kaigi/internal/bus"
	"github.com/kaigi/kaigi/internal/bus/bustest"
	"github.com/kaigi/kaigi/internal/bus/inproc"
	"github.com/kaigi/kaigi/internal/errs"
)

func newBus(tb testing.TB) bus.Bus {
	b := inproc.New(inproc.Options{})
	tb.Cleanup(func() { _ = b.Close() })
	return b
}

func TestConformance(t *testing.T) {
	bustest.Run(t, newBus)
}

func TestPayloadLimit(t *testing.T) {
	b := inproc.New(inproc.Options{MaxPayload: 8})
	t.Cleanup(func() { _ = b.Close() })
	ctx := t.Context()
	if err := b.Publish(ctx, "a.b", make([]byte, 8)); err != nil {
		t.Fatalf("payload at the limit: %v", err)
	}
	err := b.Publish(ctx, "a.b", make([]byte, 9))
	if !errors.Is(err, bus.ErrTooLarge) || errs.CodeOf(err) != errs.TooLarge {
		t.Fatalf("payload over the limit: %v, want ErrTooLarge", err)
	}
}

func TestDefaultPayloadLimitIsNATSDefault(t *testing.T) {
	b := newBus(t)
	ctx := t.Context()
	if err := b.Publish(ctx, "a.b", make([]byte, inproc.DefaultMaxPayload)); err != nil {
		t.Fatalf("1 MiB payload: %v", err)
	}
	if err := b.Publish(ctx, "a.b", make([]byte, inproc.DefaultMaxPayload+1)); !errors.Is(err, bus.ErrTooLarge) {
		t.Fatalf("1 MiB + 1 payload: %v, want ErrTooLarge", err)
	}
}

// TestDeliveredWhenPublishReturns pins what inproc adds to the bus
// guarantees: delivery happens inside Publish.
func TestDeliveredWhenPublishReturns(t *testing.T) {
	b := newBus(t)
	sub := bustest.Subscribe(t, b, "a.>", bus.SubscribeOptions{})
	bustest.Publish(t, b, "a.b", []byte("x"))
	select {
	case m := <-sub.C():
		if string(m.Payload) != "x" {
			t.Fatalf("got %q", m.Payload)
		}
	default:
		t.Fatal("message not in the buffer when Publish returned")
	}
}

// TestNoGoroutines checks that inproc starts none, so it cannot leak any.
func TestNoGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	b := inproc.New(inproc.Options{})
	for range 100 {
		if _, err := b.Subscribe(t.Context(), "a.>", bus.SubscribeOptions{Buffer: 1}); err != nil {
			t.Fatal(err)
		}
	}
	for range 10 {
		if err := b.Publish(t.Context(), "a.b", []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	// Nothing to wait for; allow the runtime a moment only if it has
	// goroutines of its own winding down from earlier tests.
	deadline := time.Now().Add(bustest.WaitTimeout)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		runtime.Gosched()
		time.Sleep(10 * time.Millisecond)
	}
	if after := runtime.NumGoroutine(); after > before {
		t.Fatalf("goroutines: %d before, %d after Close", before, after)
	}
}

func BenchmarkFanout(b *testing.B) {
	bustest.BenchFanout(b, newBus, 10, 1024)
}
