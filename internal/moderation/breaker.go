package moderation

import (
	"sync"
	"time"

	"github.com/kaigi/kaigi/internal/clock"
)

// Defaults of [BreakerConfig].
const (
	DefaultBreakerFailures = 5
	DefaultBreakerCooldown = 30 * time.Second
)

// BreakerConfig tunes the circuit breakers that guard the external
// backends, one per tenant and backend.
type BreakerConfig struct {
	// Failures is how many calls in a row must fail (error, timeout, bad
	// answer) before the breaker opens and calls stop. Default
	// [DefaultBreakerFailures] (5).
	Failures int
	// Cooldown is how long an open breaker refuses calls before it lets
	// one trial call through (half-open): success closes it, failure opens
	// it for another Cooldown. Default [DefaultBreakerCooldown] (30s).
	Cooldown time.Duration
}

// Breaker states.
const (
	breakerClosed   = "closed"
	breakerOpen     = "open"
	breakerHalfOpen = "half-open"
)

// breakers holds one circuit breaker per key (tenant and backend). A
// breaker is closed (calls go through) until Failures calls in a row fail;
// then it is open (calls are refused at once, the caller falls back to the
// local verdict) for Cooldown; then half-open: one call at a time goes
// through as a trial. It is safe for concurrent use.
type breakers struct {
	cfg   BreakerConfig
	clock clock.Clock

	mu sync.Mutex
	m  map[string]*breaker
}

type breaker struct {
	failures int
	openedAt time.Time // zero when closed
	trial    bool      // a half-open trial call is under way
}

func newBreakers(cfg BreakerConfig, c clock.Clock) *breakers {
	if cfg.Failures <= 0 {
		cfg.Failures = DefaultBreakerFailures
	}
	if cfg.Cooldown <= 0 {
		cfg.Cooldown = DefaultBreakerCooldown
	}
	return &breakers{cfg: cfg, clock: c, m: map[string]*breaker{}}
}

// allow reports whether a call for key may go out now. A true answer must
// be followed by exactly one done.
func (bs *breakers) allow(key string) bool {
	bs.mu.Lock()
	defer bs.mu.Unlock()
	b := bs.m[key]
	if b == nil || b.openedAt.IsZero() {
		return true
	}
	if bs.clock.Now().Sub(b.openedAt) < bs.cfg.Cooldown || b.trial {
		return false
	}
	b.trial = true // half-open: this call is the trial
	return true
}

// done records the outcome of a call allow let through.
func (bs *breakers) done(key string, ok bool) {
	bs.mu.Lock()
	defer bs.mu.Unlock()
	b := bs.m[key]
	if ok {
		delete(bs.m, key) // closed, no failures: nothing to remember
		return
	}
	if b == nil {
		if len(bs.m) > 100000 {
			clear(bs.m)
		}
		b = &breaker{}
		bs.m[key] = b
	}
	b.failures++
	if b.trial || b.failures >= bs.cfg.Failures {
		b.openedAt, b.trial = bs.clock.Now(), false
	}
}

// state names the breaker's state for key, for notes and tests.
func (bs *breakers) state(key string) string {
	bs.mu.Lock()
	defer bs.mu.Unlock()
	b := bs.m[key]
	switch {
	case b == nil || b.openedAt.IsZero():
		return breakerClosed
	case bs.clock.Now().Sub(b.openedAt) < bs.cfg.Cooldown:
		return breakerOpen
	}
	return breakerHalfOpen
}
