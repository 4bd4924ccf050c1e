package realtime

import (
	"testing"
	"time"
)

// TestFlushWindowGrowsWithFanOut: a quiet node flushes after the base
// window; under heavy fan-out the window grows to its maximum, linearly in
// between, and never past it.
func TestFlushWindowGrowsWithFanOut(t *testing.T) {
	base, most := time.Millisecond, 21*time.Millisecond
	for _, tc := range []struct {
		rate float64
		want time.Duration
	}{
		{0, base}, {20_000, base}, {busyLow, base},
		{(busyLow + busyHigh) / 2, 11 * time.Millisecond},
		{busyHigh, most}, {500_000, most},
	} {
		if got := windowFor(base, most, tc.rate); got != tc.want {
			t.Errorf("window at %.0f frames/s = %v, want %v", tc.rate, got, tc.want)
		}
	}
	if got := windowFor(base, 0, 1e6); got != base {
		t.Errorf("with no growth allowed: %v", got)
	}
}

// TestAQuietNodeWritesAtOnce: with the default options the flush window
// is zero (a frame starts its connection's writer at once) until the
// frames queued in a second pass busyLow; then frames wait.
func TestAQuietNodeWritesAtOnce(t *testing.T) {
	f := newFlusher(DefaultFlushWindow, DefaultMaxFlushWindow)
	if got := f.wait(); got != 0 {
		t.Fatalf("a quiet node waits %v before writing", got)
	}
	// A second at the top of the range has passed.
	f.frames.Store(2 * busyHigh)
	f.since.Store(time.Now().Add(-time.Second).UnixNano())
	if got := f.wait(); got != DefaultMaxFlushWindow {
		t.Fatalf("under heavy fan-out the window is %v, want %v", got, DefaultMaxFlushWindow)
	}
	// A quiet second later it is zero again.
	f.frames.Store(10)
	f.since.Store(time.Now().Add(-time.Second).UnixNano())
	if got := f.wait(); got != 0 {
		t.Fatalf("after a quiet second the window is %v", got)
	}
}
