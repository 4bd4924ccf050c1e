package throttle_test

import (
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kaigi/kaigi/internal/clock"
	"github.com/kaigi/kaigi/internal/errs"
	"github.com/kaigi/kaigi/internal/identity/throttle"
	"github.com/kaigi/kaigi/internal/ids"
)

var t0 = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

const tenant = ids.TenantID("tenant-a")

func newLimiter(t testing.TB, opts throttle.Options) (*throttle.Limiter, *clock.Fake) {
	t.Helper()
	clk := clock.NewFake(t0)
	return throttle.New(clk, opts), clk
}

func check(t testing.TB, l *throttle.Limiter, keys ...throttle.Key) throttle.Decision {
	t.Helper()
	d, err := l.Check(t.Context(), keys...)
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
	return d
}

func fail(t testing.TB, l *throttle.Limiter, keys ...throttle.Key) throttle.Decision {
	t.Helper()
	d, err := l.Fail(t.Context(), keys...)
	if err != nil {
		t.Fatalf("Fail: %v", err)
	}
	return d
}

func succeed(t testing.TB, l *throttle.Limiter, keys ...throttle.Key) {
	t.Helper()
	if err := l.Succeed(t.Context(), keys...); err != nil {
		t.Fatalf("Succeed: %v", err)
	}
}

// attempt is one wrong password: Check, which must allow it, then Fail.
func attempt(t testing.TB, l *throttle.Limiter, keys ...throttle.Key) throttle.Decision {
	t.Helper()
	if d := check(t, l, keys...); !d.Allowed {
		t.Fatalf("Check denied an attempt that should be allowed: %+v", d)
	}
	return fail(t, l, keys...)
}

func src(s string) throttle.Key { return throttle.Source(netip.MustParseAddr(s)) }

// TestAccountDelaysDoubleThenLock walks the default account rule: three
// free failures, delays of 1s, 2s, 4s, 8s, 16s and 32s after the 4th to 9th,
// and the 10th wrong password locks the account for 15 minutes.
func TestAccountDelaysDoubleThenLock(t *testing.T) {
	l, clk := newLimiter(t, throttle.Options{})
	acct := throttle.Account(tenant, "jane@example.com")
	want := []throttle.Decision{
		1:  {Allowed: true},
		2:  {Allowed: true},
		3:  {Allowed: true},
		4:  {RetryAfter: 1 * time.Second},
		5:  {RetryAfter: 2 * time.Second},
		6:  {RetryAfter: 4 * time.Second},
		7:  {RetryAfter: 8 * time.Second},
		8:  {RetryAfter: 16 * time.Second},
		9:  {RetryAfter: 32 * time.Second},
		10: {RetryAfter: 15 * time.Minute, Locked: true},
	}
	for n := 1; n <= 10; n++ {
		got := attempt(t, l, acct)
		if got != want[n] {
			t.Fatalf("failure %d: Fail = %+v, want %+v", n, got, want[n])
		}
		if got.Allowed {
			continue
		}
		// The delay holds until exactly RetryAfter has passed.
		clk.Advance(got.RetryAfter - time.Millisecond)
		if d := check(t, l, acct); d.Allowed || d.RetryAfter != time.Millisecond || d.Locked != got.Locked {
			t.Fatalf("failure %d: Check 1ms early = %+v, want denied for 1ms", n, d)
		}
		if n < 10 {
			clk.Advance(time.Millisecond)
		}
	}
}

// lockOut makes failures on keys until the last locks, advancing the clock
// through the delays, and returns the locking Decision.
func lockOut(t testing.TB, l *throttle.Limiter, clk *clock.Fake, keys ...throttle.Key) throttle.Decision {
	t.Helper()
	for range 1000 {
		d := attempt(t, l, keys...)
		if d.Locked {
			return d
		}
		clk.Advance(d.RetryAfter)
	}
	t.Fatal("no lockout after 1000 failures")
	return throttle.Decision{}
}

// TestLockoutExpires: a locked account stays locked, with a RetryAfter that
// counts down, until the lockout ends; then counting starts afresh.
func TestLockoutExpires(t *testing.T) {
	l, clk := newLimiter(t, throttle.Options{})
	acct := throttle.Account(tenant, "jane@example.com")
	if d := lockOut(t, l, clk, acct); d.RetryAfter != 15*time.Minute {
		t.Fatalf("lockout = %+v, want 15m", d)
	}
	steps := []struct {
		name    string
		advance time.Duration
		want    throttle.Decision
	}{
		{"just locked", 0, throttle.Decision{RetryAfter: 15 * time.Minute, Locked: true}},
		{"5 minutes in", 5 * time.Minute, throttle.Decision{RetryAfter: 10 * time.Minute, Locked: true}},
		{"1s before the end", 10*time.Minute - time.Second, throttle.Decision{RetryAfter: time.Second, Locked: true}},
		{"at the end", time.Second, throttle.Decision{Allowed: true}},
	}
	for _, s := range steps {
		clk.Advance(s.advance)
		if d := check(t, l, acct); d != s.want {
			t.Fatalf("%s: Check = %+v, want %+v", s.name, d, s.want)
		}
	}
	// The attempt reserved by the last Check fails: it is the 1st failure
	// of a fresh count, so three are free again and the 4th is delayed 1s.
	if d := fail(t, l, acct); !d.Allowed {
		t.Fatalf("1st failure after lockout = %+v", d)
	}
	for n := 2; n <= 3; n++ {
		if d := attempt(t, l, acct); !d.Allowed {
			t.Fatalf("failure %d after lockout = %+v, want allowed", n, d)
		}
	}
	if d := attempt(t, l, acct); d != (throttle.Decision{RetryAfter: time.Second}) {
		t.Fatalf("4th failure after lockout = %+v, want 1s delay", d)
	}
}

// TestSuccessResetsAccount: signing in successfully forgets the account's
// failures.
func TestSuccessResetsAccount(t *testing.T) {
	l, clk := newLimiter(t, throttle.Options{})
	acct := throttle.Account(tenant, "jane@example.com")
	for range 6 {
		clk.Advance(attempt(t, l, acct).RetryAfter)
	}
	if d := check(t, l, acct); !d.Allowed {
		t.Fatalf("Check = %+v", d)
	}
	succeed(t, l, acct)
	for n := 1; n <= 3; n++ {
		if d := attempt(t, l, acct); !d.Allowed {
			t.Fatalf("failure %d after success = %+v, want free", n, d)
		}
	}
	if d := attempt(t, l, acct); d.RetryAfter != time.Second {
		t.Fatalf("4th failure after success = %+v, want 1s", d)
	}
}

// TestSuccessKeepsSourceCount: an attacker cannot clear their address's
// count by signing in to an account of their own between guesses.
func TestSuccessKeepsSourceCount(t *testing.T) {
	l, clk := newLimiter(t, throttle.Options{})
	s := src("198.51.100.7")
	for i := range 25 {
		clk.Advance(attempt(t, l, throttle.Account(tenant, fmt.Sprintf("user%d", i)), s).RetryAfter)
	}
	own := throttle.Account(tenant, "attacker@example.com")
	if d := check(t, l, own, s); !d.Allowed {
		t.Fatalf("Check = %+v", d)
	}
	succeed(t, l, own, s)
	// 26th failure from the source: the delay keeps growing (32s, capped at 30s).
	if d := attempt(t, l, throttle.Account(tenant, "victim"), s); d.RetryAfter != 30*time.Second {
		t.Fatalf("26th source failure = %+v, want 30s", d)
	}
}

// TestWindowForgetsOldFailures: failures older than the window stop counting.
func TestWindowForgetsOldFailures(t *testing.T) {
	l, clk := newLimiter(t, throttle.Options{})
	acct := throttle.Account(tenant, "jane@example.com")
	for range 3 {
		attempt(t, l, acct)
	}
	clk.Advance(15 * time.Minute)
	for n := 1; n <= 3; n++ {
		if d := attempt(t, l, acct); !d.Allowed {
			t.Fatalf("failure %d in a new window = %+v, want free", n, d)
		}
	}
	if d := attempt(t, l, acct); d.RetryAfter != time.Second {
		t.Fatalf("4th failure in the new window = %+v, want 1s", d)
	}
}

// TestSourceLimitAcrossAccounts: password spraying, one guess at each of
// many accounts from one address, is slowed after 20 failures and locked at
// the 50th, while no single account is ever throttled.
func TestSourceLimitAcrossAccounts(t *testing.T) {
	l, clk := newLimiter(t, throttle.Options{})
	s := src("203.0.113.9")
	wantDelay := func(n int) time.Duration {
		switch {
		case n <= 20:
			return 0
		case n <= 25:
			return time.Second << (n - 21) // 1s, 2s, 4s, 8s, 16s
		}
		return 30 * time.Second // 32s capped
	}
	for n := 1; n < 50; n++ {
		acct := throttle.Account(tenant, fmt.Sprintf("user%02d@example.com", n))
		d := attempt(t, l, acct, s)
		if want := (throttle.Decision{Allowed: wantDelay(n) == 0, RetryAfter: wantDelay(n)}); d != want {
			t.Fatalf("failure %d: %+v, want %+v", n, d, want)
		}
		clk.Advance(d.RetryAfter)
	}
	if elapsed := clk.Now().Sub(t0); elapsed >= 15*time.Minute {
		t.Fatalf("49 failures took %v, beyond the window", elapsed)
	}
	d := attempt(t, l, throttle.Account(tenant, "user50@example.com"), s)
	if want := (throttle.Decision{RetryAfter: 15 * time.Minute, Locked: true}); d != want {
		t.Fatalf("50th failure: %+v, want %+v", d, want)
	}
	fresh := throttle.Account(tenant, "never-tried@example.com")
	if d := check(t, l, fresh, s); !d.Locked || d.Allowed {
		t.Errorf("fresh account from the locked source: %+v, want locked", d)
	}
	if d := check(t, l, fresh, src("203.0.113.10")); !d.Allowed {
		t.Errorf("fresh account from another source: %+v, want allowed", d)
	}
}

// spray fails once on each of many accounts, from the source addr(i)
// gives for the i-th attempt, waiting out delays, until the source locks.
// It returns how many failures that took.
func spray(t testing.TB, l *throttle.Limiter, clk *clock.Fake, addr func(i int) throttle.Key) int {
	t.Helper()
	failures := 0
	for i := range 1000 {
		acct := throttle.Account(tenant, fmt.Sprintf("spray%d@example.com", i))
		d := check(t, l, acct, addr(i))
		if d.Locked {
			return failures
		}
		if !d.Allowed {
			clk.Advance(d.RetryAfter)
			continue
		}
		fail(t, l, acct, addr(i))
		failures++
	}
	t.Fatal("source not locked after 1000 attempts")
	return 0
}

// TestIPv6GroupedBySlash64: all addresses of one /64 share a count, so an
// attacker cannot rotate through them; another /64 does not.
func TestIPv6GroupedBySlash64(t *testing.T) {
	l, clk := newLimiter(t, throttle.Options{})
	n := spray(t, l, clk, func(i int) throttle.Key {
		return src(fmt.Sprintf("2001:db8:1:2:%x::%x", i+1, i+7)) // a new address every time
	})
	if n != 50 {
		t.Errorf("the /64 locked after %d failures, want 50", n)
	}
	tests := []struct {
		name   string
		addr   string
		locked bool
	}{
		{"same /64", "2001:db8:1:2:ffff:ffff:ffff:ffff", true},
		{"same /64, other notation", "2001:0db8:0001:0002::abcd", true},
		{"next /64", "2001:db8:1:3::1", false},
		{"other /48", "2001:db8:2:2::1", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := check(t, l, src(tt.addr))
			if d.Locked != tt.locked {
				t.Errorf("Check(%s) = %+v, want locked %v", tt.addr, d, tt.locked)
			}
		})
	}
}

// TestConcurrentAttemptsAreReserved: attempts in progress count, so a burst
// of simultaneous guesses gets no more than the free ones through, and
// during a delay only one at a time.
func TestConcurrentAttemptsAreReserved(t *testing.T) {
	l, clk := newLimiter(t, throttle.Options{})
	acct := throttle.Account(tenant, "jane@example.com")
	burst := func() int {
		var allowed atomic.Int32
		var wg sync.WaitGroup
		for range 100 {
			wg.Go(func() {
				d, err := l.Check(t.Context(), acct)
				if err != nil {
					t.Error(err)
				}
				if d.Allowed {
					allowed.Add(1)
				}
			})
		}
		wg.Wait()
		return int(allowed.Load())
	}
	if n := burst(); n != 3 {
		t.Fatalf("burst on a fresh account: %d allowed, want 3 (the free failures)", n)
	}
	var d throttle.Decision
	for range 3 {
		d = fail(t, l, acct)
	}
	if d != (throttle.Decision{Allowed: true}) {
		t.Fatalf("3rd failure = %+v", d)
	}
	if n := burst(); n != 1 {
		t.Fatalf("burst after the free failures: %d allowed, want 1", n)
	}
	if d := fail(t, l, acct); d.RetryAfter != time.Second {
		t.Fatalf("4th failure = %+v, want 1s", d)
	}
	if n := burst(); n != 0 {
		t.Fatalf("burst during the delay: %d allowed, want 0", n)
	}
	clk.Advance(time.Second)
	if n := burst(); n != 1 {
		t.Fatalf("burst after the delay: %d allowed, want 1", n)
	}
}

// TestLostAttemptExpires: an attempt that was never ended by Fail or
// Succeed (a crashed request) stops counting after PendingTimeout.
func TestLostAttemptExpires(t *testing.T) {
	l, clk := newLimiter(t, throttle.Options{PendingTimeout: 30 * time.Second})
	acct := throttle.Account(tenant, "jane@example.com")
	for range 3 {
		check(t, l, acct)
	}
	if d := check(t, l, acct); d.Allowed {
		t.Fatal("4th concurrent attempt allowed")
	}
	clk.Advance(30 * time.Second)
	if d := check(t, l, acct); !d.Allowed {
		t.Fatalf("after PendingTimeout: %+v, want allowed", d)
	}
}

// TestDeniedCheckReservesNothing: when one key denies, the others are not
// left holding a reservation.
func TestDeniedCheckReservesNothing(t *testing.T) {
	l, clk := newLimiter(t, throttle.Options{})
	bad := src("192.0.2.66")
	spray(t, l, clk, func(int) throttle.Key { return bad })
	acct := throttle.Account(tenant, "jane@example.com")
	for range 10 {
		if d := check(t, l, acct, bad); d.Allowed || !d.Locked {
			t.Fatalf("Check with locked source = %+v", d)
		}
	}
	// acct holds no reservations: all three free attempts are available.
	for n := 1; n <= 3; n++ {
		if d := check(t, l, acct); !d.Allowed {
			t.Fatalf("attempt %d on acct alone denied: %+v", n, d)
		}
	}
}

func TestSecretKeyHasItsOwnCount(t *testing.T) {
	l, clk := newLimiter(t, throttle.Options{})
	totp := throttle.Secret("totp", tenant, "user-1")
	lockOut(t, l, clk, totp)
	if d := check(t, l, totp); !d.Locked {
		t.Fatalf("TOTP key = %+v, want locked", d)
	}
	if d := check(t, l, throttle.Account(tenant, "user-1")); !d.Allowed {
		t.Fatalf("account key = %+v, want allowed", d)
	}
	if d := check(t, l, throttle.Secret("recovery-code", tenant, "user-1")); !d.Allowed {
		t.Fatalf("recovery-code key = %+v, want allowed", d)
	}
}

func TestCustomRule(t *testing.T) {
	l, clk := newLimiter(t, throttle.Options{
		Secret: throttle.Rule{Free: 1, BaseDelay: 5 * time.Second, LockAfter: 3, Lockout: time.Hour},
	})
	k := throttle.Secret("totp", tenant, "u")
	want := []throttle.Decision{
		{Allowed: true},
		{RetryAfter: 5 * time.Second},
		{RetryAfter: time.Hour, Locked: true},
	}
	for i, w := range want {
		d := attempt(t, l, k)
		if d != w {
			t.Fatalf("failure %d = %+v, want %+v", i+1, d, w)
		}
		clk.Advance(d.RetryAfter)
	}
}

func TestZeroKeyDenied(t *testing.T) {
	l, _ := newLimiter(t, throttle.Options{})
	if d := check(t, l, throttle.Key{}); d.Allowed {
		t.Fatalf("zero key allowed: %+v", d)
	}
	if d := check(t, l, throttle.Account(tenant, "a"), throttle.Key{}); d.Allowed {
		t.Fatalf("zero key among others allowed: %+v", d)
	}
}

func TestDecisionErr(t *testing.T) {
	tests := []struct {
		name string
		d    throttle.Decision
		want string
	}{
		{"allowed", throttle.Decision{Allowed: true}, ""},
		{"locked", throttle.Decision{RetryAfter: 15 * time.Minute, Locked: true}, "Too many failed attempts. For your security, signing in is locked for 15 minutes; try again after that."},
		{"locked, rounds up", throttle.Decision{RetryAfter: 14*time.Minute + time.Second, Locked: true}, "Too many failed attempts. For your security, signing in is locked for 15 minutes; try again after that."},
		{"delay", throttle.Decision{RetryAfter: 2 * time.Second}, "Too many failed attempts. Wait 2 seconds before trying again."},
		{"sub-second delay", throttle.Decision{RetryAfter: time.Millisecond}, "Too many failed attempts. Wait 1 second before trying again."},
		{"one minute", throttle.Decision{RetryAfter: time.Minute}, "Too many failed attempts. Wait 1 minute before trying again."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.d.Err()
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Err = %v", err)
				}
				return
			}
			if !errs.Is(err, errs.RateLimited) || errs.MessageOf(err) != tt.want {
				t.Errorf("Err = %v (%q), want rate_limited %q", err, errs.MessageOf(err), tt.want)
			}
		})
	}
}

// TestConcurrentUse exercises every method from many goroutines on shared
// and distinct keys; run with -race.
func TestConcurrentUse(t *testing.T) {
	clk := clock.NewFake(t0)
	store := throttle.NewMemoryStore(clk, 500)
	l := throttle.New(clk, throttle.Options{Store: store})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 2000 {
				keys := []throttle.Key{
					throttle.Account(tenant, fmt.Sprint("user", (g*7+i)%50)),
					src(fmt.Sprintf("10.0.%d.%d", g, i%200)),
				}
				d, err := l.Check(t.Context(), keys...)
				if err != nil {
					t.Error(err)
					return
				}
				switch {
				case !d.Allowed:
					clk.Advance(time.Millisecond)
				case i%10 == 0:
					if err := l.Succeed(t.Context(), keys...); err != nil {
						t.Error(err)
					}
				default:
					if _, err := l.Fail(t.Context(), keys...); err != nil {
						t.Error(err)
					}
				}
			}
		})
	}
	wg.Wait()
	if n := store.Len(); n > 500 {
		t.Errorf("store holds %d keys, cap 500", n)
	}
}

// TestFailWhileLockedDoesNotExtend: a failure reported for a key that is
// already locked (an attempt begun before the lock fell) does not extend
// the lockout.
func TestFailWhileLockedDoesNotExtend(t *testing.T) {
	l, clk := newLimiter(t, throttle.Options{})
	acct := throttle.Account(tenant, "jane")
	lockOut(t, l, clk, acct)
	clk.Advance(10 * time.Minute)
	if d := fail(t, l, acct); d != (throttle.Decision{RetryAfter: 5 * time.Minute, Locked: true}) {
		t.Fatalf("Fail while locked = %+v, want 5m left", d)
	}
}

// TestCheckMergesKeys: with several keys denying, the answer waits for the
// longest and is locked if any is.
func TestCheckMergesKeys(t *testing.T) {
	l, clk := newLimiter(t, throttle.Options{})
	locked := throttle.Account(tenant, "locked")
	lockOut(t, l, clk, locked)
	delayed := throttle.Account(tenant, "delayed")
	for range 4 {
		attempt(t, l, delayed)
	}
	want := throttle.Decision{RetryAfter: 15 * time.Minute, Locked: true}
	for _, keys := range [][]throttle.Key{{locked, delayed}, {delayed, locked}} {
		if d := check(t, l, keys...); d != want {
			t.Errorf("Check(%v) = %+v, want %+v", keys, d, want)
		}
	}
	if d := check(t, l, delayed, src("192.0.2.1")); d != (throttle.Decision{RetryAfter: time.Second}) {
		t.Errorf("Check(delayed, fresh source) = %+v, want 1s", d)
	}
}
