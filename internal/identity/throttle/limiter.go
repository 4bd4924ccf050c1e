package throttle

import (
	"context"
	"strconv"
	"time"

	"github.com/kaigi/kaigi/internal/clock"
	"github.com/kaigi/kaigi/internal/errs"
)

// Rule says how failures against one class of Key are answered. Zero fields
// take the class's default; negative ones count as zero.
type Rule struct {
	// Free is how many failures within Window impose no delay.
	// Default 3 for accounts and secrets, 20 for sources.
	Free int

	// BaseDelay is the delay after the first failure beyond Free; each
	// further failure doubles it. Default 1s.
	BaseDelay time.Duration

	// MaxDelay caps the growing delay. Default 15m for accounts and
	// secrets, 30s for sources.
	MaxDelay time.Duration

	// LockAfter is the number of failures within Window that locks the key
	// for Lockout. Default 10 for accounts and secrets, 50 for sources.
	LockAfter int

	// Window is how long failures are counted: it opens at the first
	// failure, and when it has passed the count starts again from zero.
	// Default 15m.
	Window time.Duration

	// Lockout is how long a key stays locked once LockAfter is reached;
	// when it ends the count starts again from zero. Default 15m.
	Lockout time.Duration
}

// Default rules.
var (
	defaultAccount = Rule{Free: 3, BaseDelay: time.Second, MaxDelay: 15 * time.Minute, LockAfter: 10, Window: 15 * time.Minute, Lockout: 15 * time.Minute}
	defaultSource  = Rule{Free: 20, BaseDelay: time.Second, MaxDelay: 30 * time.Second, LockAfter: 50, Window: 15 * time.Minute, Lockout: 15 * time.Minute}
)

// withDefaults fills r's zero (or negative) fields from d.
func (r Rule) withDefaults(d Rule) Rule {
	pick := func(v, def int) int {
		if v <= 0 {
			return def
		}
		return v
	}
	pickD := func(v, def time.Duration) time.Duration {
		if v <= 0 {
			return def
		}
		return v
	}
	return Rule{
		Free:      pick(r.Free, d.Free),
		BaseDelay: pickD(r.BaseDelay, d.BaseDelay),
		MaxDelay:  pickD(r.MaxDelay, d.MaxDelay),
		LockAfter: pick(r.LockAfter, d.LockAfter),
		Window:    pickD(r.Window, d.Window),
		Lockout:   pickD(r.Lockout, d.Lockout),
	}
}

// delay returns the delay imposed after the given number of failures.
func (r Rule) delay(failures int) time.Duration {
	n := failures - r.Free // 1 for the first failure beyond Free
	if n <= 0 {
		return 0
	}
	d := r.BaseDelay
	for i := 1; i < n; i++ {
		if d >= r.MaxDelay/2 {
			return r.MaxDelay
		}
		d *= 2
	}
	return min(d, r.MaxDelay)
}

// Options configure a Limiter. The zero value gives the defaults.
type Options struct {
	// Account is the rule for Account keys. Defaults: 3 free failures,
	// then delays of 1s, 2s, 4s… (capped at 15m), and a 15-minute lockout
	// at the 10th failure within 15 minutes.
	Account Rule

	// Source is the rule for Source keys: higher limits, since many people
	// may share an address. Defaults: 20 free failures, then delays of 1s,
	// 2s, 4s… capped at 30s, and a 15-minute lockout at the 50th failure
	// within 15 minutes.
	Source Rule

	// Secret is the rule for Secret keys. Defaults: as for Account.
	Secret Rule

	// PendingTimeout is how long an attempt allowed by Check and never
	// ended by Fail or Succeed (a crashed request) keeps counting as in
	// progress. Default 1m.
	PendingTimeout time.Duration

	// Store keeps the state. Default: NewMemoryStore(clock, MaxKeys).
	Store Store

	// MaxKeys bounds the keys the default MemoryStore tracks. Default
	// DefaultMaxKeys (100,000). Ignored when Store is set.
	MaxKeys int
}

// Decision is the Limiter's answer about an attempt.
type Decision struct {
	// Allowed reports whether an attempt may be made now.
	Allowed bool

	// RetryAfter is how long to wait before the next attempt when Allowed
	// is false (for a Retry-After header and for telling the person); zero
	// when Allowed is true.
	RetryAfter time.Duration

	// Locked reports that a key reached its LockAfter threshold and is
	// locked for RetryAfter, rather than merely delayed. Tell the person:
	// "Too many failed attempts; try again in 15 minutes."
	Locked bool
}

// merge combines the decisions for several keys: allowed only if all are,
// waiting for the longest, locked if any denying key is locked.
func merge(a, b Decision) Decision {
	if b.Allowed {
		return a
	}
	if a.Allowed {
		return b
	}
	return Decision{RetryAfter: max(a.RetryAfter, b.RetryAfter), Locked: a.Locked || b.Locked}
}

// Err returns nil for an allowed Decision, else an errs.RateLimited error
// with a message a person can act on.
func (d Decision) Err() error {
	if d.Allowed {
		return nil
	}
	if d.Locked {
		return errs.E(errs.RateLimited, "Too many failed attempts. For your security, signing in is locked for %s; try again after that.", humanize(d.RetryAfter))
	}
	return errs.E(errs.RateLimited, "Too many failed attempts. Wait %s before trying again.", humanize(d.RetryAfter))
}

// humanize writes d in whole seconds or minutes, rounded up so that a person
// does not come back too early.
func humanize(d time.Duration) string {
	if d < time.Minute {
		s := int((d + time.Second - 1) / time.Second)
		if s <= 1 {
			return "1 second"
		}
		return strconv.Itoa(s) + " seconds"
	}
	m := int((d + time.Minute - 1) / time.Minute)
	if m == 1 {
		return "1 minute"
	}
	return strconv.Itoa(m) + " minutes"
}

// Limiter slows down and locks out guessing of passwords and other secrets.
//
// The flow for one attempt is Check, then the verification, then Fail or
// Succeed with the same keys. Check reserves the attempt: an attempt in
// progress counts as a failure for the decision of concurrent attempts, so
// an attacker cannot get past the free attempts by sending many at once.
// Each Check that is allowed must be followed by Fail or Succeed (a lost one
// stops counting after Options.PendingTimeout); when the secret could not be
// verified at all (an unreadable stored hash, say), end it with Fail.
//
// A Limiter is safe for concurrent use. With the default MemoryStore its
// state is per node: behind a load balancer each node counts separately,
// so an attacker gets up to (number of nodes) times the limits unless the
// balancer pins sources to nodes or a shared Store is used.
type Limiter struct {
	clock   clock.Clock
	store   Store
	rules   [ClassSecret + 1]Rule
	pending time.Duration
}

// New returns a Limiter reading the time from clk.
func New(clk clock.Clock, opts Options) *Limiter {
	l := &Limiter{clock: clk, store: opts.Store, pending: opts.PendingTimeout}
	if l.store == nil {
		l.store = NewMemoryStore(clk, opts.MaxKeys)
	}
	if l.pending <= 0 {
		l.pending = time.Minute
	}
	l.rules[ClassAccount] = opts.Account.withDefaults(defaultAccount)
	l.rules[ClassSource] = opts.Source.withDefaults(defaultSource)
	l.rules[ClassSecret] = opts.Secret.withDefaults(defaultAccount)
	return l
}

// Check reports whether an attempt against all of keys (typically the
// account and the source address) may be made now. If it is allowed, the
// attempt is reserved on every key until Fail or Succeed; if any key denies
// it, nothing is reserved and the Decision carries the longest RetryAfter.
//
// Call Check before verifying the password, for accounts that exist and
// those that do not alike. When it denies, do not verify at all.
func (l *Limiter) Check(ctx context.Context, keys ...Key) (Decision, error) {
	now := l.clock.Now()
	d := Decision{Allowed: true}
	var reserved []Key
	for _, key := range keys {
		rule, ok := l.rule(key)
		if !ok {
			d = merge(d, Decision{RetryAfter: rule.Lockout, Locked: true})
			continue
		}
		err := l.store.Update(ctx, key, func(st *State) {
			kd := l.decide(rule, st, now)
			if kd.Allowed && d.Allowed {
				st.Pending++
				st.PendingSince = now
				reserved = append(reserved, key)
			}
			l.setExpires(rule, st, now)
			d = merge(d, kd)
		})
		if err != nil {
			_ = l.release(ctx, reserved) // best effort; the first error is the one to report
			return Decision{}, err
		}
	}
	if !d.Allowed {
		if err := l.release(ctx, reserved); err != nil {
			return Decision{}, err
		}
	}
	return d, nil
}

// Fail records a failed attempt against each of keys and ends the attempt
// reserved by Check. It returns the Decision for the next attempt: whether
// one is allowed now, or how long to wait and whether a key is now locked.
func (l *Limiter) Fail(ctx context.Context, keys ...Key) (Decision, error) {
	now := l.clock.Now()
	d := Decision{Allowed: true}
	for _, key := range keys {
		rule, ok := l.rule(key)
		if !ok {
			continue
		}
		err := l.store.Update(ctx, key, func(st *State) {
			l.decide(rule, st, now) // apply expiries
			if st.Pending > 0 {
				st.Pending--
			}
			if st.LockedUntil.After(now) {
				// Already locked (an attempt that was in progress when the
				// lock fell): do not extend the lockout.
				d = merge(d, l.decide(rule, st, now))
				l.setExpires(rule, st, now)
				return
			}
			if st.Failures == 0 {
				st.WindowStart = now
			}
			st.Failures++
			if st.Failures >= rule.LockAfter {
				st.LockedUntil = now.Add(rule.Lockout)
			} else if delay := rule.delay(st.Failures); delay > 0 {
				st.BlockedUntil = now.Add(delay)
			}
			kd := l.decide(rule, st, now)
			l.setExpires(rule, st, now)
			d = merge(d, kd)
		})
		if err != nil {
			return Decision{}, err
		}
	}
	return d, nil
}

// Succeed records a successful attempt against each of keys: the attempt
// reserved by Check ends, and Account and Secret keys forget their failures.
// Source keys keep theirs, so an attacker cannot clear a source's count by
// signing in to an account of their own between guesses.
func (l *Limiter) Succeed(ctx context.Context, keys ...Key) error {
	now := l.clock.Now()
	for _, key := range keys {
		rule, ok := l.rule(key)
		if !ok {
			continue
		}
		err := l.store.Update(ctx, key, func(st *State) {
			if key.class != ClassSource {
				*st = State{}
				return
			}
			l.decide(rule, st, now)
			if st.Pending > 0 {
				st.Pending--
			}
			l.setExpires(rule, st, now)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// release undoes the reservations Check made on keys.
func (l *Limiter) release(ctx context.Context, keys []Key) error {
	now := l.clock.Now()
	var first error
	for _, key := range keys {
		rule, _ := l.rule(key)
		err := l.store.Update(ctx, key, func(st *State) {
			if st.Pending > 0 {
				st.Pending--
			}
			l.setExpires(rule, st, now)
		})
		if err != nil && first == nil {
			first = err
		}
	}
	return first
}

// rule returns the rule of key's class; ok is false for the zero Key.
func (l *Limiter) rule(key Key) (Rule, bool) {
	if key.class < ClassAccount || key.class > ClassSecret {
		return defaultAccount, false
	}
	return l.rules[key.class], true
}

// decide brings st up to date at now (ending a lockout, a window or a lost
// pending attempt that has expired) and returns the decision for a new
// attempt, without reserving it.
func (l *Limiter) decide(rule Rule, st *State, now time.Time) Decision {
	if st.Pending > 0 && now.Sub(st.PendingSince) >= l.pending {
		st.Pending = 0
		st.PendingSince = time.Time{}
	}
	if !st.LockedUntil.IsZero() {
		if st.LockedUntil.After(now) {
			return Decision{RetryAfter: st.LockedUntil.Sub(now), Locked: true}
		}
		// The lockout is over: start afresh.
		st.Failures, st.WindowStart, st.LockedUntil, st.BlockedUntil = 0, time.Time{}, time.Time{}, time.Time{}
	}
	if st.Failures > 0 && now.Sub(st.WindowStart) >= rule.Window {
		st.Failures, st.WindowStart = 0, time.Time{}
	}
	if st.BlockedUntil.After(now) {
		return Decision{RetryAfter: st.BlockedUntil.Sub(now)}
	}
	st.BlockedUntil = time.Time{}
	// Attempts in progress count as failures: while the free attempts last,
	// as many may run at once as remain; after that, one at a time, each
	// waiting for the delay the previous failure imposed.
	if st.Pending > 0 && st.Failures+st.Pending >= min(rule.Free, rule.LockAfter-1) {
		return Decision{RetryAfter: rule.BaseDelay}
	}
	return Decision{Allowed: true}
}

// setExpires records when st becomes equivalent to the zero State.
func (l *Limiter) setExpires(rule Rule, st *State, now time.Time) {
	var e time.Time
	later := func(t time.Time) {
		if t.After(e) {
			e = t
		}
	}
	later(st.LockedUntil)
	later(st.BlockedUntil)
	if st.Failures > 0 {
		later(st.WindowStart.Add(rule.Window))
	}
	if st.Pending > 0 {
		later(st.PendingSince.Add(l.pending))
	}
	if !e.After(now) {
		e = time.Time{}
	}
	st.Expires = e
}
