// Package blobtest checks implementations of blob.Blob against the
// guarantees the interface documents, so that the local directory and
// object-storage implementations pass the same tests.
//
// Call Run from an implementation's tests:
//
//	func TestBlob(t *testing.T) {
//		blobtest.Run(t, func(t *testing.T, k blob.Keys) blob.Blob {
//			d, err := dir.New(t.TempDir(), k)
//			if err != nil {
//				t.Fatal(err)
//			}
//			return d
//		})
//	}
package blobtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/iotest"

	"github.com/kaigi/kaigi/internal/blob"
	"github.com/kaigi/kaigi/internal/errs"
	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/keys"
)

// Fixture is what a subtest works with: the Blob under test and the key
// service behind it.
type Fixture struct {
	Blob blob.Blob
	Keys *keys.Service
}

// NewKeys returns a keys.Service over a fresh keyring in a temporary
// directory and an in-memory store.
func NewKeys(t testing.TB) *keys.Service {
	t.Helper()
	dir := t.TempDir()
	master, err := keys.LoadOrCreateMasterKey(filepath.Join(dir, "master.key"))
	if err != nil {
		t.Fatalf("master key: %v", err)
	}
	ring, err := keys.OpenLocalKeyring(filepath.Join(dir, "keyring"), master)
	if err != nil {
		t.Fatalf("keyring: %v", err)
	}
	return keys.New(ring, keys.NewMemoryStore(), keys.Options{})
}

// Run tests the blob.Blob that newBlob returns for the given keys. newBlob
// is called once per subtest and should return an empty store.
func Run(t *testing.T, newBlob func(t *testing.T, k blob.Keys) blob.Blob) {
	t.Helper()
	tests := []struct {
		name string
		test func(t *testing.T, f Fixture)
	}{
		{"RoundTrip", testRoundTrip},
		{"ShortReads", testShortReads},
		{"Overwrite", testOverwrite},
		{"FailedPutKeepsPrevious", testFailedPut},
		{"GetMissing", testGetMissing},
		{"TenantsAreIsolated", testTenantsIsolated},
		{"Delete", testDelete},
		{"DeleteTenant", testDeleteTenant},
		{"InvalidKeysRejected", testInvalidKeys},
		{"ValidKeysAccepted", testValidKeys},
		{"Shredding", testShredding},
		{"Rotation", testRotation},
		{"CancelledContext", testCancelled},
		{"ConcurrentUse", testConcurrent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := NewKeys(t)
			tt.test(t, Fixture{Blob: newBlob(t, k), Keys: k})
		})
	}
}

// Sizes are the plaintext sizes worth testing: empty, one byte, around one
// chunk, and several chunks.
var Sizes = []int{0, 1, blob.ChunkSize - 1, blob.ChunkSize, blob.ChunkSize + 1, 3*blob.ChunkSize + 17, 1 << 20}

// Data returns n pseudo-random bytes that are the same for the same seed.
func Data(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 0x6b616967))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// Put stores data and fails the test if it cannot.
func Put(t testing.TB, b blob.Blob, tenant ids.TenantID, key string, data []byte) {
	t.Helper()
	n, err := b.Put(t.Context(), tenant, key, bytes.NewReader(data))
	if err != nil {
		t.Fatalf("Put(%s): %v", key, err)
	}
	if n != int64(len(data)) {
		t.Fatalf("Put(%s) = %d bytes, want %d", key, n, len(data))
	}
}

// Get reads a whole blob, returning the error of Get or of reading.
func Get(ctx context.Context, b blob.Blob, tenant ids.TenantID, key string) ([]byte, error) {
	rc, err := b.Get(ctx, tenant, key)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

// MustGet reads a whole blob and fails the test if it cannot.
func MustGet(t testing.TB, b blob.Blob, tenant ids.TenantID, key string) []byte {
	t.Helper()
	got, err := Get(t.Context(), b, tenant, key)
	if err != nil {
		t.Fatalf("Get(%s): %v", key, err)
	}
	return got
}

func testRoundTrip(t *testing.T, f Fixture) {
	tenant := ids.NewTenant()
	for _, n := range Sizes {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			key := fmt.Sprintf("files/size-%d.bin", n)
			data := Data(n, uint64(n))
			Put(t, f.Blob, tenant, key, data)
			if got := MustGet(t, f.Blob, tenant, key); !bytes.Equal(got, data) {
				t.Fatalf("Get returned %d bytes that differ from the %d put", len(got), n)
			}
		})
	}
}

func testShortReads(t *testing.T, f Fixture) {
	tenant := ids.NewTenant()
	data := Data(2*blob.ChunkSize+5, 7)
	n, err := f.Blob.Put(t.Context(), tenant, "short-reads", iotest.HalfReader(iotest.OneByteReader(bytes.NewReader(data))))
	if err != nil || n != int64(len(data)) {
		t.Fatalf("Put from a reader of short reads = %d, %v", n, err)
	}
	rc, err := f.Blob.Get(t.Context(), tenant, "short-reads")
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if err := iotest.TestReader(rc, data); err != nil {
		t.Fatal(err)
	}
}

func testOverwrite(t *testing.T, f Fixture) {
	tenant := ids.NewTenant()
	Put(t, f.Blob, tenant, "k", []byte("first version"))
	Put(t, f.Blob, tenant, "k", []byte("second"))
	if got := MustGet(t, f.Blob, tenant, "k"); string(got) != "second" {
		t.Fatalf("Get after overwrite = %q", got)
	}
}

func testFailedPut(t *testing.T, f Fixture) {
	tenant := ids.NewTenant()
	Put(t, f.Blob, tenant, "k", []byte("previous"))
	broken := io.MultiReader(bytes.NewReader(Data(blob.ChunkSize+10, 1)), iotest.ErrReader(errors.New("disk on fire")))
	if _, err := f.Blob.Put(t.Context(), tenant, "k", broken); err == nil {
		t.Fatal("Put from a failing reader succeeded")
	}
	if got := MustGet(t, f.Blob, tenant, "k"); string(got) != "previous" {
		t.Fatalf("Get after a failed Put = %q, want the previous blob", got)
	}
	if _, err := f.Blob.Put(t.Context(), tenant, "new", iotest.ErrReader(errors.New("boom"))); err == nil {
		t.Fatal("Put from a failing reader succeeded")
	}
	if _, err := Get(t.Context(), f.Blob, tenant, "new"); !errors.Is(err, blob.ErrNotFound) {
		t.Fatalf("Get after a failed first Put = %v, want ErrNotFound", err)
	}
}

func testGetMissing(t *testing.T, f Fixture) {
	_, err := f.Blob.Get(t.Context(), ids.NewTenant(), "no/such/blob")
	if !errors.Is(err, blob.ErrNotFound) || errs.CodeOf(err) != errs.NotFound {
		t.Fatalf("Get of a missing blob = %v, want ErrNotFound with code not_found", err)
	}
}

func testTenantsIsolated(t *testing.T, f Fixture) {
	a, b := ids.NewTenant(), ids.NewTenant()
	Put(t, f.Blob, a, "shared/name", []byte("a's"))
	if _, err := f.Blob.Get(t.Context(), b, "shared/name"); !errors.Is(err, blob.ErrNotFound) {
		t.Fatalf("Get as another tenant = %v, want ErrNotFound", err)
	}
	Put(t, f.Blob, b, "shared/name", []byte("b's"))
	if got := MustGet(t, f.Blob, a, "shared/name"); string(got) != "a's" {
		t.Fatalf("tenant a reads %q", got)
	}
}

func testDelete(t *testing.T, f Fixture) {
	tenant := ids.NewTenant()
	Put(t, f.Blob, tenant, "gone", []byte("x"))
	Put(t, f.Blob, tenant, "kept", []byte("y"))
	for i := range 2 {
		if err := f.Blob.Delete(t.Context(), tenant, "gone"); err != nil {
			t.Fatalf("Delete #%d: %v", i+1, err)
		}
	}
	if _, err := f.Blob.Get(t.Context(), tenant, "gone"); !errors.Is(err, blob.ErrNotFound) {
		t.Fatalf("Get after Delete = %v, want ErrNotFound", err)
	}
	if got := MustGet(t, f.Blob, tenant, "kept"); string(got) != "y" {
		t.Fatalf("another blob after Delete = %q", got)
	}
}

func testDeleteTenant(t *testing.T, f Fixture) {
	gone, kept := ids.NewTenant(), ids.NewTenant()
	Put(t, f.Blob, gone, "a", []byte("1"))
	Put(t, f.Blob, gone, "b/c", []byte("2"))
	Put(t, f.Blob, kept, "a", []byte("3"))
	for i := range 2 {
		if err := f.Blob.DeleteTenant(t.Context(), gone); err != nil {
			t.Fatalf("DeleteTenant #%d: %v", i+1, err)
		}
	}
	for _, key := range []string{"a", "b/c"} {
		if _, err := f.Blob.Get(t.Context(), gone, key); !errors.Is(err, blob.ErrNotFound) {
			t.Fatalf("Get(%s) after DeleteTenant = %v, want ErrNotFound", key, err)
		}
	}
	if got := MustGet(t, f.Blob, kept, "a"); string(got) != "3" {
		t.Fatalf("another tenant's blob after DeleteTenant = %q", got)
	}
	if err := f.Blob.DeleteTenant(t.Context(), "../x"); !errors.Is(err, blob.ErrInvalidKey) {
		t.Fatalf("DeleteTenant(../x) = %v, want ErrInvalidKey", err)
	}
}

// InvalidKeys are keys every Blob must refuse.
var InvalidKeys = []string{
	"", ".", "..", "../x", "x/..", "a/../b", "a/./b", "/abs", "a//b", "a/", ".hidden", "a/.b",
	"a\\b", "..\\x", "a\x00b", "a b", "a\nb", "ü", "a:b", "%2e%2e", strings.Repeat("a", blob.MaxKeyLen+1),
}

func testInvalidKeys(t *testing.T, f Fixture) {
	ctx := t.Context()
	good := ids.NewTenant()
	for _, key := range InvalidKeys {
		t.Run(fmt.Sprintf("%q", key[:min(len(key), 20)]), func(t *testing.T) {
			if _, err := f.Blob.Put(ctx, good, key, strings.NewReader("x")); !errors.Is(err, blob.ErrInvalidKey) || errs.CodeOf(err) != errs.Invalid {
				t.Errorf("Put = %v, want ErrInvalidKey", err)
			}
			if _, err := f.Blob.Get(ctx, good, key); !errors.Is(err, blob.ErrInvalidKey) {
				t.Errorf("Get = %v, want ErrInvalidKey", err)
			}
			if err := f.Blob.Delete(ctx, good, key); !errors.Is(err, blob.ErrInvalidKey) {
				t.Errorf("Delete = %v, want ErrInvalidKey", err)
			}
		})
	}
	for _, tenant := range []ids.TenantID{"", "..", "a/b", "a\x00", ids.TenantID(strings.Repeat("t", 65))} {
		if _, err := f.Blob.Put(ctx, tenant, "k", strings.NewReader("x")); !errors.Is(err, blob.ErrInvalidKey) {
			t.Errorf("Put for tenant %q = %v, want ErrInvalidKey", tenant, err)
		}
	}
}

func testValidKeys(t *testing.T, f Fixture) {
	tenant := ids.NewTenant()
	for _, key := range []string{"a", "A-b_c.d", "attachments/2026/03/0190a0b0-report.v2.pdf", "a.", "x..y", strings.Repeat("k", blob.MaxKeyLen)} {
		Put(t, f.Blob, tenant, key, []byte(key))
		if got := MustGet(t, f.Blob, tenant, key); string(got) != key {
			t.Fatalf("Get(%s) = %q", key, got)
		}
	}
}

func testShredding(t *testing.T, f Fixture) {
	ctx := t.Context()
	gone, kept := ids.NewTenant(), ids.NewTenant()
	Put(t, f.Blob, gone, "recording", Data(blob.ChunkSize*2, 3))
	Put(t, f.Blob, kept, "recording", []byte("kept"))
	if err := f.Keys.Shred(ctx, gone); err != nil {
		t.Fatal(err)
	}
	if got, err := Get(ctx, f.Blob, gone, "recording"); !errors.Is(err, keys.ErrShredded) {
		t.Fatalf("Get after Shred = %d bytes, %v; want ErrShredded", len(got), err)
	}
	if _, err := f.Blob.Put(ctx, gone, "new", strings.NewReader("x")); !errors.Is(err, keys.ErrShredded) {
		t.Fatalf("Put after Shred = %v, want ErrShredded", err)
	}
	if got := MustGet(t, f.Blob, kept, "recording"); string(got) != "kept" {
		t.Fatalf("another tenant after Shred: %q", got)
	}
}

func testRotation(t *testing.T, f Fixture) {
	tenant := ids.NewTenant()
	old := Data(blob.ChunkSize+1, 11)
	Put(t, f.Blob, tenant, "old", old)
	if _, err := f.Keys.Rotate(t.Context(), tenant); err != nil {
		t.Fatal(err)
	}
	Put(t, f.Blob, tenant, "new", []byte("after rotation"))
	if got := MustGet(t, f.Blob, tenant, "old"); !bytes.Equal(got, old) {
		t.Fatal("a blob written before Rotate no longer reads back")
	}
	if got := MustGet(t, f.Blob, tenant, "new"); string(got) != "after rotation" {
		t.Fatalf("Get = %q", got)
	}
}

func testCancelled(t *testing.T, f Fixture) {
	tenant := ids.NewTenant()
	Put(t, f.Blob, tenant, "k", Data(3*blob.ChunkSize, 5))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := f.Blob.Put(ctx, tenant, "k", strings.NewReader("x")); err == nil {
		t.Fatal("Put with a cancelled context succeeded")
	}
	if _, err := Get(ctx, f.Blob, tenant, "k"); err == nil {
		t.Fatal("Get with a cancelled context succeeded")
	}
	// A read stops once its context is done.
	ctx, cancel = context.WithCancel(t.Context())
	defer cancel()
	rc, err := f.Blob.Get(ctx, tenant, "k")
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if _, err := io.ReadFull(rc, make([]byte, blob.ChunkSize)); err != nil {
		t.Fatal(err)
	}
	cancel()
	if _, err := io.ReadAll(rc); !errors.Is(err, context.Canceled) {
		t.Fatalf("reading on after cancel = %v, want context.Canceled", err)
	}
	if got := MustGet(t, f.Blob, tenant, "k"); len(got) != 3*blob.ChunkSize {
		t.Fatal("the cancelled Put changed the blob")
	}
}

func testConcurrent(t *testing.T, f Fixture) {
	tenants := []ids.TenantID{ids.NewTenant(), ids.NewTenant()}
	var wg sync.WaitGroup
	errc := make(chan error, 16)
	for w := range 6 {
		wg.Go(func() {
			for i := range 8 {
				tenant := tenants[(w+i)%2]
				key := fmt.Sprintf("w%d/%d", w, i)
				data := Data(1000*i, uint64(w*100+i))
				if _, err := f.Blob.Put(t.Context(), tenant, key, bytes.NewReader(data)); err != nil {
					errc <- err
					return
				}
				got, err := Get(t.Context(), f.Blob, tenant, key)
				if err == nil && !bytes.Equal(got, data) {
					err = fmt.Errorf("%s: read back other bytes", key)
				}
				if err != nil {
					errc <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
}
