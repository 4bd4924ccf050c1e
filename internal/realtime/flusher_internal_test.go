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
