package keystest

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/keys"
)

// RunProvider tests the keys.KeyProvider that newProvider returns. It is
// called once per subtest; the provider may be shared between calls as long
// as it behaves as documented.
func RunProvider(t *testing.T, newProvider func(t *testing.T) keys.KeyProvider) {
	t.Helper()
	tests := []struct {
		name string
		test func(t *testing.T, p keys.KeyProvider)
	}{
		{"WrapUnwrap", testWrapUnwrap},
		{"Confidentiality", testWrapConfidentiality},
		{"Integrity_FlippedByteFails", testWrapFlippedByte},
		{"Integrity_TruncatedFails", testWrapTruncated},
		{"MoveIntegrity", testWrapMove},
		{"Destroy", testDestroy},
		{"UnknownKEK", testUnknownKEK},
		{"DistinctKEKIDs", testDistinctKEKIDs},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.test(t, newProvider(t)) })
	}
}

var aad = []byte("tenant/version context")

func mustKEK(t *testing.T, p keys.KeyProvider, tenant ids.TenantID) string {
	t.Helper()
	id, err := p.CreateKEK(t.Context(), tenant)
	if err != nil {
		t.Fatalf("CreateKEK: %v", err)
	}
	return id
}

func mustDEK(t *testing.T) keys.DataKey {
	t.Helper()
	k, err := keys.NewDataKey()
	if err != nil {
		t.Fatalf("NewDataKey: %v", err)
	}
	return k
}

func mustWrap(t *testing.T, p keys.KeyProvider, kekID string, dek keys.DataKey) []byte {
	t.Helper()
	w, err := p.Wrap(t.Context(), kekID, dek, aad)
	if err != nil {
		t.Fatalf("Wrap: %v", err)
	}
	return w
}

func testWrapUnwrap(t *testing.T, p keys.KeyProvider) {
	kek := mustKEK(t, p, ids.NewTenant())
	dek := mustDEK(t)
	got, err := p.Unwrap(t.Context(), kek, mustWrap(t, p, kek, dek), aad)
	if err != nil {
		t.Fatalf("Unwrap: %v", err)
	}
	if !got.Equal(dek) {
		t.Fatal("Unwrap returned another key")
	}
}

func testWrapConfidentiality(t *testing.T, p keys.KeyProvider) {
	kek := mustKEK(t, p, ids.NewTenant())
	dek := mustDEK(t)
	w1, w2 := mustWrap(t, p, kek, dek), mustWrap(t, p, kek, dek)
	raw := keys.RawDataKey(dek)
	if bytes.Contains(w1, raw) || bytes.Contains(w1, raw[:16]) || bytes.Contains(w1, raw[16:]) {
		t.Fatal("the wrapped key contains the data key in clear")
	}
	if bytes.Equal(w1, w2) {
		t.Fatal("two wraps of one key are identical: wrapping is not randomised")
	}
}

func testWrapFlippedByte(t *testing.T, p keys.KeyProvider) {
	kek := mustKEK(t, p, ids.NewTenant())
	w := mustWrap(t, p, kek, mustDEK(t))
	for i := range w {
		bad := bytes.Clone(w)
		bad[i] ^= 0x01
		if _, err := p.Unwrap(t.Context(), kek, bad, aad); !errors.Is(err, keys.ErrTampered) {
			t.Fatalf("Unwrap with byte %d flipped = %v, want ErrTampered", i, err)
		}
	}
}

func testWrapTruncated(t *testing.T, p keys.KeyProvider) {
	kek := mustKEK(t, p, ids.NewTenant())
	w := mustWrap(t, p, kek, mustDEK(t))
	for n := range len(w) {
		if _, err := p.Unwrap(t.Context(), kek, w[:n], aad); !errors.Is(err, keys.ErrTampered) {
			t.Fatalf("Unwrap of the first %d bytes = %v, want ErrTampered", n, err)
		}
	}
	long := append(bytes.Clone(w), 0)
	if _, err := p.Unwrap(t.Context(), kek, long, aad); !errors.Is(err, keys.ErrTampered) {
		t.Fatalf("Unwrap with a byte appended = %v, want ErrTampered", err)
	}
}

func testWrapMove(t *testing.T, p keys.KeyProvider) {
	tenant := ids.NewTenant()
	kek := mustKEK(t, p, tenant)
	w := mustWrap(t, p, kek, mustDEK(t))
	tests := []struct {
		name  string
		kekID string
		aad   []byte
	}{
		{"other aad", kek, []byte("tenant/version contexT")},
		{"empty aad", kek, nil},
		{"other KEK of the same tenant", mustKEK(t, p, tenant), aad},
		{"KEK of another tenant", mustKEK(t, p, ids.NewTenant()), aad},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := p.Unwrap(t.Context(), tt.kekID, w, tt.aad); !errors.Is(err, keys.ErrTampered) {
				t.Fatalf("Unwrap = %v, want ErrTampered", err)
			}
		})
	}
}

func testDestroy(t *testing.T, p keys.KeyProvider) {
	ctx := t.Context()
	kek, keep := mustKEK(t, p, ids.NewTenant()), mustKEK(t, p, ids.NewTenant())
	dek := mustDEK(t)
	w, wKeep := mustWrap(t, p, kek, dek), mustWrap(t, p, keep, dek)
	if err := p.Destroy(ctx, kek); err != nil {
		t.Fatalf("Destroy: %v", err)
	}
	if _, err := p.Unwrap(ctx, kek, w, aad); !errors.Is(err, keys.ErrKeyDestroyed) {
		t.Fatalf("Unwrap after Destroy = %v, want ErrKeyDestroyed", err)
	}
	if _, err := p.Wrap(ctx, kek, dek, aad); !errors.Is(err, keys.ErrKeyDestroyed) {
		t.Fatalf("Wrap after Destroy = %v, want ErrKeyDestroyed", err)
	}
	if err := p.Destroy(ctx, kek); err != nil {
		t.Fatalf("second Destroy = %v, want nil", err)
	}
	if got, err := p.Unwrap(ctx, keep, wKeep, aad); err != nil || !got.Equal(dek) {
		t.Fatalf("Unwrap under another KEK after Destroy = %v; want it unaffected", err)
	}
}

func testUnknownKEK(t *testing.T, p keys.KeyProvider) {
	ctx := t.Context()
	const unknown = "no-such-kek"
	if _, err := p.Wrap(ctx, unknown, mustDEK(t), aad); !errors.Is(err, keys.ErrKeyNotFound) {
		t.Errorf("Wrap = %v, want ErrKeyNotFound", err)
	}
	if _, err := p.Unwrap(ctx, unknown, make([]byte, 61), aad); !errors.Is(err, keys.ErrKeyNotFound) {
		t.Errorf("Unwrap = %v, want ErrKeyNotFound", err)
	}
	if err := p.Destroy(ctx, unknown); !errors.Is(err, keys.ErrKeyNotFound) {
		t.Errorf("Destroy = %v, want ErrKeyNotFound", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := p.CreateKEK(ctx, ids.NewTenant()); err == nil {
		t.Error("CreateKEK with a cancelled context succeeded")
	}
}

func testDistinctKEKIDs(t *testing.T, p keys.KeyProvider) {
	tenant := ids.NewTenant()
	seen := map[string]bool{}
	for range 10 {
		id := mustKEK(t, p, tenant)
		if seen[id] || id == "" || len(id) > 255 {
			t.Fatalf("KEK id %q is empty, too long or repeated", id)
		}
		seen[id] = true
	}
}
