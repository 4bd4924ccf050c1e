package throttle_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/kaigi/kaigi/internal/clock"
	"github.com/kaigi/kaigi/internal/identity/throttle"
)

// TestMemoryBounded: however many keys an attacker makes up, the store
// tracks at most its cap.
func TestMemoryBounded(t *testing.T) {
	clk := clock.NewFake(t0)
	store := throttle.NewMemoryStore(clk, 1000)
	l := throttle.New(clk, throttle.Options{Store: store})
	for i := range 50_000 {
		// Each made-up account from its own address: two new keys per attempt.
		keys := []throttle.Key{
			throttle.Account(tenant, fmt.Sprint("nobody", i)),
			src(fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255)),
		}
		if d := check(t, l, keys...); d.Allowed {
			fail(t, l, keys...)
		}
		if n := store.Len(); n > 1000 {
			t.Fatalf("after %d attempts the store holds %d keys, cap 1000", i+1, n)
		}
	}
	// Everything expires after the window; the next sweep forgets it all.
	clk.Advance(time.Hour)
	check(t, l, throttle.Account(tenant, "jane"))
	if n := store.Len(); n > 1 {
		t.Errorf("after expiry the store holds %d keys, want at most 1", n)
	}
}

// TestEvictionKeepsLockedAccount: flooding a full store with new keys does
// not make it forget a locked account, nor one with many failures.
func TestEvictionKeepsLockedAccount(t *testing.T) {
	clk := clock.NewFake(t0)
	store := throttle.NewMemoryStore(clk, 100)
	l := throttle.New(clk, throttle.Options{Store: store})
	victim := throttle.Account(tenant, "ceo@example.com")
	lockOut(t, l, clk, victim)
	probed := throttle.Account(tenant, "cfo@example.com")
	for range 3 {
		attempt(t, l, probed)
	}
	for i := range 10_000 {
		k := throttle.Account(tenant, fmt.Sprint("flood", i))
		if i%2 == 0 {
			check(t, l, k) // only an attempt in progress
		} else {
			attempt(t, l, k)
		}
	}
	if d := check(t, l, victim); !d.Locked {
		t.Errorf("locked account forgotten after the flood: %+v", d)
	}
	if d := attempt(t, l, probed); d.RetryAfter != time.Second {
		t.Errorf("account with 3 failures forgotten after the flood: 4th failure = %+v, want 1s delay", d)
	}
}

// TestExpiredStateDropped: a key whose state has fully expired takes no
// room: a success, or the end of the window, frees it.
func TestExpiredStateDropped(t *testing.T) {
	clk := clock.NewFake(t0)
	store := throttle.NewMemoryStore(clk, 0)
	l := throttle.New(clk, throttle.Options{Store: store})
	acct := throttle.Account(tenant, "jane")
	attempt(t, l, acct)
	if store.Len() != 1 {
		t.Fatalf("Len = %d after a failure", store.Len())
	}
	check(t, l, acct)
	succeed(t, l, acct)
	if store.Len() != 0 {
		t.Errorf("Len = %d after a success, want 0", store.Len())
	}
	attempt(t, l, acct)
	clk.Advance(15 * time.Minute)
	check(t, l, acct) // allowed, and reserved: the key is tracked again
	succeed(t, l, acct)
	if store.Len() != 0 {
		t.Errorf("Len = %d, want 0", store.Len())
	}
}

// TestFullStoreReusesExpiredEntries: when the store is full, a new key takes
// the place of an entry that has expired but was not swept yet.
func TestFullStoreReusesExpiredEntries(t *testing.T) {
	clk := clock.NewFake(t0)
	store := throttle.NewMemoryStore(clk, 10)
	l := throttle.New(clk, throttle.Options{Store: store, PendingTimeout: 10 * time.Second})
	for i := range 10 {
		check(t, l, throttle.Account(tenant, fmt.Sprint("lost", i))) // never ended
	}
	locked := throttle.Account(tenant, "locked")
	clk.Advance(20 * time.Second) // the reservations expired; no sweep yet
	lockOut(t, l, clk, locked)
	if n := store.Len(); n > 10 {
		t.Fatalf("Len = %d, cap 10", n)
	}
	if d := check(t, l, locked); !d.Locked {
		t.Errorf("locked key evicted: %+v", d)
	}
}

// failingStore is a Store that fails for one key, to test that the Limiter
// reports Store errors and leaves no reservation behind.
type failingStore struct {
	throttle.Store
	bad throttle.Key
}

var errStoreDown = errors.New("store down")

func (s failingStore) Update(ctx context.Context, key throttle.Key, fn func(*throttle.State)) error {
	if key == s.bad {
		return errStoreDown
	}
	return s.Store.Update(ctx, key, fn)
}

func TestStoreErrors(t *testing.T) {
	clk := clock.NewFake(t0)
	bad := src("192.0.2.99")
	l := throttle.New(clk, throttle.Options{Store: failingStore{throttle.NewMemoryStore(clk, 0), bad}})
	acct := throttle.Account(tenant, "jane")
	for range 5 {
		if _, err := l.Check(t.Context(), acct, bad); !errors.Is(err, errStoreDown) {
			t.Fatalf("Check error = %v, want the store's", err)
		}
	}
	// None of the failed Checks left a reservation on acct.
	for n := 1; n <= 3; n++ {
		if d := check(t, l, acct); !d.Allowed {
			t.Fatalf("attempt %d on acct denied: %+v", n, d)
		}
	}
	if _, err := l.Fail(t.Context(), acct, bad); !errors.Is(err, errStoreDown) {
		t.Errorf("Fail error = %v", err)
	}
	if err := l.Succeed(t.Context(), acct, bad); !errors.Is(err, errStoreDown) {
		t.Errorf("Succeed error = %v", err)
	}
}
