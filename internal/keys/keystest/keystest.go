// Package keystest checks implementations of keys.Store and keys.KeyProvider
// against the guarantees their documentation promises, so that every
// implementation (the in-memory store, the SQL stores, the local keyring, a
// KMS provider) passes the same tests.
//
// Call Run from a store's tests and RunProvider from a provider's:
//
//	func TestStore(t *testing.T) {
//		keystest.Run(t, func(t *testing.T) keys.Store { return openTestDB(t) })
//	}
package keystest

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/keys"
)

// Run tests the keys.Store that newStore returns. newStore is called once per
// subtest and should return an empty store; it may register cleanups on t.
func Run(t *testing.T, newStore func(t *testing.T) keys.Store) {
	t.Helper()
	tests := []struct {
		name string
		test func(t *testing.T, s keys.Store)
	}{
		{"NewTenantHasNoKeys", testNewTenantHasNoKeys},
		{"AddAndListInVersionOrder", testAddAndList},
		{"VersionConflict", testVersionConflict},
		{"ConcurrentAddsOneWins", testConcurrentAdds},
		{"TenantsAreIsolated", testTenantsIsolated},
		{"ValuesAreCopied", testValuesCopied},
		{"DeleteLeavesTombstone", testDeleteTombstone},
		{"DeleteWithoutKeysIsIdempotent", testDeleteIdempotent},
		{"CancelledContext", testCancelledContext},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.test(t, newStore(t)) })
	}
}

// key returns a wrapped data key row with recognisable content.
func key(tenant ids.TenantID, v uint32) keys.WrappedDataKey {
	return keys.WrappedDataKey{
		Tenant:  tenant,
		Version: v,
		KEKID:   "kek-" + string(tenant),
		Wrapped: bytes.Repeat([]byte{byte(v)}, 61),
		Created: time.Date(2026, 3, 1, 12, 0, int(v), 0, time.UTC),
	}
}

func mustAdd(t *testing.T, s keys.Store, k keys.WrappedDataKey) {
	t.Helper()
	if err := s.AddDataKey(t.Context(), k); err != nil {
		t.Fatalf("AddDataKey(%s v%d): %v", k.Tenant, k.Version, err)
	}
}

func mustList(t *testing.T, s keys.Store, tenant ids.TenantID) []keys.WrappedDataKey {
	t.Helper()
	got, err := s.DataKeys(t.Context(), tenant)
	if err != nil {
		t.Fatalf("DataKeys(%s): %v", tenant, err)
	}
	return got
}

// same compares rows; times are compared to the second, which every SQL
// driver keeps.
func same(a, b keys.WrappedDataKey) bool {
	return a.Tenant == b.Tenant && a.Version == b.Version && a.KEKID == b.KEKID &&
		bytes.Equal(a.Wrapped, b.Wrapped) && a.Created.Truncate(time.Second).Equal(b.Created.Truncate(time.Second))
}

func sameList(t *testing.T, got, want []keys.WrappedDataKey) {
	t.Helper()
	if !slices.EqualFunc(got, want, same) {
		t.Fatalf("DataKeys:\n got  %+v\n want %+v", got, want)
	}
}

func testNewTenantHasNoKeys(t *testing.T, s keys.Store) {
	if got := mustList(t, s, ids.NewTenant()); len(got) != 0 {
		t.Fatalf("DataKeys of a new tenant = %d rows, want none", len(got))
	}
}

func testAddAndList(t *testing.T, s keys.Store) {
	tenant := ids.NewTenant()
	for _, v := range []uint32{2, 1, 3} {
		mustAdd(t, s, key(tenant, v))
	}
	sameList(t, mustList(t, s, tenant), []keys.WrappedDataKey{key(tenant, 1), key(tenant, 2), key(tenant, 3)})
}

func testVersionConflict(t *testing.T, s keys.Store) {
	tenant := ids.NewTenant()
	mustAdd(t, s, key(tenant, 1))
	dup := key(tenant, 1)
	dup.Wrapped = []byte("other")
	if err := s.AddDataKey(t.Context(), dup); !errors.Is(err, keys.ErrVersionExists) {
		t.Fatalf("second AddDataKey of version 1 = %v, want ErrVersionExists", err)
	}
	sameList(t, mustList(t, s, tenant), []keys.WrappedDataKey{key(tenant, 1)})
}

func testConcurrentAdds(t *testing.T, s keys.Store) {
	tenant := ids.NewTenant()
	const n = 8
	errc := make(chan error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			k := key(tenant, 1)
			k.Wrapped = []byte{byte(i)}
			errc <- s.AddDataKey(t.Context(), k)
		})
	}
	wg.Wait()
	close(errc)
	won := 0
	for err := range errc {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, keys.ErrVersionExists):
			t.Errorf("AddDataKey = %v, want nil or ErrVersionExists", err)
		}
	}
	if won != 1 {
		t.Fatalf("%d concurrent adds of one version succeeded, want exactly 1", won)
	}
	if got := mustList(t, s, tenant); len(got) != 1 {
		t.Fatalf("DataKeys = %d rows, want 1", len(got))
	}
}

func testTenantsIsolated(t *testing.T, s keys.Store) {
	a, b := ids.NewTenant(), ids.NewTenant()
	mustAdd(t, s, key(a, 1))
	mustAdd(t, s, key(b, 1)) // the same version in another tenant is no conflict
	mustAdd(t, s, key(a, 2))
	sameList(t, mustList(t, s, a), []keys.WrappedDataKey{key(a, 1), key(a, 2)})
	sameList(t, mustList(t, s, b), []keys.WrappedDataKey{key(b, 1)})
}

func testValuesCopied(t *testing.T, s keys.Store) {
	tenant := ids.NewTenant()
	k := key(tenant, 1)
	mustAdd(t, s, k)
	k.Wrapped[0] ^= 0xff // the caller's slice changes after the add
	got := mustList(t, s, tenant)
	got[0].Wrapped[1] ^= 0xff // and the returned one
	sameList(t, mustList(t, s, tenant), []keys.WrappedDataKey{key(tenant, 1)})
}

func testDeleteTombstone(t *testing.T, s keys.Store) {
	gone, other := ids.NewTenant(), ids.NewTenant()
	mustAdd(t, s, key(gone, 1))
	mustAdd(t, s, key(gone, 2))
	mustAdd(t, s, key(other, 1))
	if err := s.DeleteDataKeys(t.Context(), gone); err != nil {
		t.Fatalf("DeleteDataKeys: %v", err)
	}
	if got, err := s.DataKeys(t.Context(), gone); !errors.Is(err, keys.ErrShredded) {
		t.Fatalf("DataKeys after delete = %d rows, %v; want ErrShredded", len(got), err)
	}
	if err := s.AddDataKey(t.Context(), key(gone, 3)); !errors.Is(err, keys.ErrShredded) {
		t.Fatalf("AddDataKey after delete = %v, want ErrShredded", err)
	}
	sameList(t, mustList(t, s, other), []keys.WrappedDataKey{key(other, 1)})
}

func testDeleteIdempotent(t *testing.T, s keys.Store) {
	tenant := ids.NewTenant()
	for i := range 2 {
		if err := s.DeleteDataKeys(t.Context(), tenant); err != nil {
			t.Fatalf("DeleteDataKeys #%d of a tenant without keys: %v", i+1, err)
		}
	}
	if _, err := s.DataKeys(t.Context(), tenant); !errors.Is(err, keys.ErrShredded) {
		t.Fatalf("DataKeys after delete = %v, want ErrShredded", err)
	}
	if err := s.AddDataKey(t.Context(), key(tenant, 1)); !errors.Is(err, keys.ErrShredded) {
		t.Fatalf("AddDataKey after delete = %v, want ErrShredded", err)
	}
}

func testCancelledContext(t *testing.T, s keys.Store) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	tenant := ids.NewTenant()
	if _, err := s.DataKeys(ctx, tenant); err == nil {
		t.Error("DataKeys with a cancelled context succeeded")
	}
	if err := s.AddDataKey(ctx, key(tenant, 1)); err == nil {
		t.Error("AddDataKey with a cancelled context succeeded")
	}
	if err := s.DeleteDataKeys(ctx, tenant); err == nil {
		t.Error("DeleteDataKeys with a cancelled context succeeded")
	}
	// Nothing happened.
	if got := mustList(t, s, tenant); len(got) != 0 {
		t.Fatalf("DataKeys = %d rows after cancelled calls, want none", len(got))
	}
}
