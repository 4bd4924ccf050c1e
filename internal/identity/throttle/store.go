package throttle

import (
	"context"
	"sync"
	"time"

	"github.com/kaigi/kaigi/internal/clock"
)

// State is what a Limiter remembers about one Key. The Limiter alone
// interprets it; a Store only keeps it.
type State struct {
	Failures     int       // failures counted in the current window
	WindowStart  time.Time // when the current window opened (its first failure)
	BlockedUntil time.Time // no attempt before this (the growing delay)
	LockedUntil  time.Time // locked out until this
	Pending      int       // attempts allowed by Check and not yet ended by Fail or Succeed
	PendingSince time.Time // when the latest pending attempt began

	// Expires is when the State becomes equivalent to the zero State; a
	// Store may forget it from then on. The zero time means the State is
	// already empty.
	Expires time.Time
}

// Store keeps the State of each Key.
//
// Guarantee: Update applies fn atomically with respect to every other Update
// of the same key (a read-modify-write under a lock or in a transaction).
// It is the only seam between the Limiter's rules and where they are kept:
// NewMemoryStore is the default and keeps state per node; a store shared by
// all nodes (a SQL table with SELECT … FOR UPDATE, say) can implement the
// same interface later.
type Store interface {
	// Update calls fn with the State of key (the zero State if there is
	// none) and saves what fn leaves in it. A State whose Expires is zero
	// or past may be deleted instead of saved.
	Update(ctx context.Context, key Key, fn func(*State)) error
}

var _ Store = (*MemoryStore)(nil)

// DefaultMaxKeys is the default bound on the keys a MemoryStore tracks.
// An entry takes about 300 bytes with the map's overhead, so the default
// bounds the store to about 30 MB.
const DefaultMaxKeys = 100_000

// sweepEvery is how often a MemoryStore drops all expired entries.
const sweepEvery = time.Minute

// evictSample is how many entries a full MemoryStore looks at to choose one
// to evict.
const evictSample = 16

// MemoryStore is a Store in this process's memory. It tracks at most
// maxKeys keys: expired entries are swept every minute, and when the store
// is full a new key takes the place of an expired entry or, failing that,
// of the least valuable of a sample of entries (not locked, fewest
// failures; see evict). An attacker who floods it with new keys therefore
// costs bounded memory, at the price of possibly making it forget some
// lightly used key's failures early; size maxKeys well above the number of
// keys legitimately active within a lockout period.
//
// It is safe for concurrent use.
type MemoryStore struct {
	clock   clock.Clock
	maxKeys int

	mu        sync.Mutex
	m         map[Key]*State
	lastSweep time.Time
}

// NewMemoryStore returns an empty MemoryStore holding at most maxKeys keys
// (DefaultMaxKeys if maxKeys <= 0), reading the time from clk.
func NewMemoryStore(clk clock.Clock, maxKeys int) *MemoryStore {
	if maxKeys <= 0 {
		maxKeys = DefaultMaxKeys
	}
	return &MemoryStore{clock: clk, maxKeys: maxKeys, m: make(map[Key]*State)}
}

// Update implements Store. It never fails.
func (s *MemoryStore) Update(_ context.Context, key Key, fn func(*State)) error {
	now := s.clock.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if now.Sub(s.lastSweep) >= sweepEvery {
		s.sweep(now)
	}
	st, ok := s.m[key]
	if !ok {
		st = new(State)
	}
	fn(st)
	switch {
	case !st.Expires.After(now):
		delete(s.m, key)
	case !ok:
		if len(s.m) >= s.maxKeys {
			s.evict(now)
		}
		s.m[key] = st
	}
	return nil
}

// Len returns the number of keys tracked.
func (s *MemoryStore) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.m)
}

// sweep deletes every expired entry. s.mu is held.
func (s *MemoryStore) sweep(now time.Time) {
	s.lastSweep = now
	for k, st := range s.m {
		if !st.Expires.After(now) {
			delete(s.m, k)
		}
	}
}

// evict deletes one entry to make room. It samples entries (map iteration
// starts at a random place) and deletes an expired one if it meets one, else
// the least valuable: not locked before locked, then the fewest failures,
// then the soonest to expire. A flood of new keys, each with one failure or
// only an attempt in progress, thus evicts its own kind before the count of
// an account under attack, and never a locked key while others remain.
// s.mu is held.
func (s *MemoryStore) evict(now time.Time) {
	var (
		victim Key
		worst  *State
		n      int
	)
	for k, st := range s.m {
		if !st.Expires.After(now) {
			victim = k
			break
		}
		if worst == nil || lessValuable(st, worst, now) {
			victim, worst = k, st
		}
		if n++; n == evictSample {
			break
		}
	}
	delete(s.m, victim)
}

// lessValuable reports whether a is a better eviction victim than b.
func lessValuable(a, b *State, now time.Time) bool {
	al, bl := a.LockedUntil.After(now), b.LockedUntil.After(now)
	switch {
	case al != bl:
		return !al
	case a.Failures != b.Failures:
		return a.Failures < b.Failures
	}
	return a.Expires.Before(b.Expires)
}
