package dir_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kaigi/kaigi/internal/blob"
	"github.com/kaigi/kaigi/internal/blob/blobtest"
	"github.com/kaigi/kaigi/internal/blob/dir"
	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/keys"
)

func TestDir(t *testing.T) {
	blobtest.Run(t, func(t *testing.T, k blob.Keys) blob.Blob { return newDir(t, t.TempDir(), k) })
}

func newDir(t testing.TB, root string, k blob.Keys) *dir.Dir {
	t.Helper()
	d, err := dir.New(root, k)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// setup returns a Dir under a fresh root, the root, and its keys.
func setup(t *testing.T) (*dir.Dir, string, *keys.Service) {
	t.Helper()
	root := filepath.Join(t.TempDir(), "blobs")
	k := blobtest.NewKeys(t)
	return newDir(t, root, k), root, k
}

// files returns every regular file under root.
func files(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			out = append(out, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// onlyFile returns the one file under root.
func onlyFile(t *testing.T, root string) string {
	t.Helper()
	fs := files(t, root)
	if len(fs) != 1 {
		t.Fatalf("%d files under the root, want 1", len(fs))
	}
	return fs[0]
}

func tampered(err error) bool {
	return errors.Is(err, blob.ErrTampered) || errors.Is(err, keys.ErrTampered)
}

func TestConfidentiality_CanaryNeverOnDisk(t *testing.T) {
	d, root, _ := setup(t)
	const canary = "CANARY-on-disk-5a7e"
	tenant := ids.NewTenant()
	data := []byte(strings.Repeat(canary, 3*blob.ChunkSize/len(canary)))
	for _, key := range []string{"canary", "CANARY-on-disk-5a7e/name", "x/y"} {
		blobtest.Put(t, d, tenant, key, data)
	}
	blobtest.Put(t, d, tenant, "tiny", []byte(canary))
	for _, path := range files(t, root) {
		if strings.Contains(path, canary) || strings.Contains(strings.ToLower(path), strings.ToLower(canary)) {
			t.Fatalf("a file name reveals the blob key: %s", path)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte(canary)) || bytes.Contains(b, []byte(canary[:8])) {
			t.Fatalf("%s holds plaintext", path)
		}
	}
}

func TestFileModes(t *testing.T) {
	d, root, _ := setup(t)
	tenant := ids.NewTenant()
	blobtest.Put(t, d, tenant, "a/b", []byte("x"))
	blobtest.Put(t, d, tenant, "c", []byte("y"))
	err := filepath.WalkDir(root, func(path string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := e.Info()
		if err != nil {
			return err
		}
		want := fs.FileMode(0o600)
		if e.IsDir() {
			want = 0o700
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s has mode %04o, want %04o", path, fi.Mode().Perm(), want)
		}
		if strings.HasPrefix(e.Name(), ".") {
			t.Errorf("temporary file left behind: %s", path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestIntegrity_FlippedByteFails(t *testing.T) {
	d, root, _ := setup(t)
	tenant := ids.NewTenant()
	data := blobtest.Data(2*blob.ChunkSize+500, 1)
	blobtest.Put(t, d, tenant, "k", data)
	path := onlyFile(t, root)
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	record := blob.ChunkSize + blob.ChunkOverhead
	positions := []int{0, 8, 12, 16, blob.HeaderSize - 1, // header
		blob.HeaderSize, blob.HeaderSize + 20, blob.HeaderSize + record - 1, // first chunk
		blob.HeaderSize + record + 100, // second chunk
		len(good) - 40, len(good) - 1,  // last chunk, and its tag
	}
	for _, i := range positions {
		bad := bytes.Clone(good)
		bad[i] ^= 0x40
		if err := os.WriteFile(path, bad, 0o600); err != nil {
			t.Fatal(err)
		}
		got, err := blobtest.Get(t.Context(), d, tenant, "k")
		if !tampered(err) {
			t.Fatalf("byte %d flipped: read %d bytes, %v; want ErrTampered", i, len(got), err)
		}
		if bytes.Equal(got, data) {
			t.Fatalf("byte %d flipped: the whole blob was returned", i)
		}
	}
}

func TestIntegrity_TruncationFails(t *testing.T) {
	d, root, _ := setup(t)
	tenant := ids.NewTenant()
	blobtest.Put(t, d, tenant, "k", blobtest.Data(3*blob.ChunkSize, 2)) // three full chunks
	path := onlyFile(t, root)
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	record := blob.ChunkSize + blob.ChunkOverhead
	for _, cut := range []int{0, blob.HeaderSize, blob.HeaderSize + record, blob.HeaderSize + 2*record, len(good) - 1} {
		if err := os.WriteFile(path, good[:cut], 0o600); err != nil {
			t.Fatal(err)
		}
		if got, err := blobtest.Get(t.Context(), d, tenant, "k"); !tampered(err) {
			t.Fatalf("file cut at %d of %d: read %d bytes, %v; want ErrTampered", cut, len(good), len(got), err)
		}
	}
}

// blobPath is where the package documentation says a blob lives.
func blobPath(root string, tenant ids.TenantID, key string) string {
	sum := sha256.Sum256([]byte(key))
	name := hex.EncodeToString(sum[:])
	return filepath.Join(root, string(tenant), name[:2], name)
}

func TestMoveIntegrity(t *testing.T) {
	d, root, _ := setup(t)
	ctx := t.Context()
	tenant, other := ids.NewTenant(), ids.NewTenant()
	blobtest.Put(t, d, tenant, "secret", []byte("a's secret"))
	secret, err := os.ReadFile(blobPath(root, tenant, "secret"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		tenant ids.TenantID
		key    string
	}{
		{"to another key of the tenant", tenant, "victim"},
		{"to the same key of another tenant", other, "secret"},
		{"to another key of another tenant", other, "victim"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			blobtest.Put(t, d, tt.tenant, tt.key, []byte("the blob that was there")) // gives the tenant keys, too
			if err := os.WriteFile(blobPath(root, tt.tenant, tt.key), secret, 0o600); err != nil {
				t.Fatal(err)
			}
			if got, err := blobtest.Get(ctx, d, tt.tenant, tt.key); !tampered(err) {
				t.Fatalf("Get = %q, %v; want ErrTampered", got, err)
			}
		})
	}
	if got := blobtest.MustGet(t, d, tenant, "secret"); string(got) != "a's secret" {
		t.Fatalf("the original = %q", got)
	}
}

func TestPathTraversalRejected(t *testing.T) {
	parent := t.TempDir()
	root := filepath.Join(parent, "blobs")
	d := newDir(t, root, blobtest.NewKeys(t))
	tenant := ids.NewTenant()
	for _, key := range blobtest.InvalidKeys {
		if _, err := d.Put(t.Context(), tenant, key, strings.NewReader("escape")); !errors.Is(err, blob.ErrInvalidKey) {
			t.Fatalf("Put(%q) = %v, want ErrInvalidKey", key, err)
		}
	}
	for _, tenant := range []ids.TenantID{"..", "../x", "/etc", "a/b", "."} {
		if _, err := d.Put(t.Context(), tenant, "k", strings.NewReader("escape")); !errors.Is(err, blob.ErrInvalidKey) {
			t.Fatalf("Put as tenant %q = %v, want ErrInvalidKey", tenant, err)
		}
		if err := d.DeleteTenant(t.Context(), tenant); !errors.Is(err, blob.ErrInvalidKey) {
			t.Fatalf("DeleteTenant(%q) = %v, want ErrInvalidKey", tenant, err)
		}
	}
	if names, _ := os.ReadDir(parent); len(names) != 1 {
		t.Fatalf("something was written beside the root: %v", names)
	}
	if got := files(t, root); len(got) != 0 {
		t.Fatalf("files written for invalid keys: %q", got)
	}
}

func TestShredding(t *testing.T) {
	d, root, k := setup(t)
	tenant := ids.NewTenant()
	blobtest.Put(t, d, tenant, "recording", blobtest.Data(blob.ChunkSize+1, 3))
	if err := k.Shred(t.Context(), tenant); err != nil {
		t.Fatal(err)
	}
	if len(files(t, root)) != 1 {
		t.Fatal("test is broken: the sealed file should still be on disk")
	}
	got, err := blobtest.Get(t.Context(), d, tenant, "recording")
	if !errors.Is(err, keys.ErrShredded) {
		t.Fatalf("Get after Shred = %d bytes, %v; want ErrShredded", len(got), err)
	}
	// DeleteTenant then removes what is left.
	if err := d.DeleteTenant(t.Context(), tenant); err != nil {
		t.Fatal(err)
	}
	if got := files(t, root); len(got) != 0 {
		t.Fatalf("files left after DeleteTenant: %q", got)
	}
}

func TestNoTemporaryFilesLeft(t *testing.T) {
	d, root, _ := setup(t)
	tenant := ids.NewTenant()
	blobtest.Put(t, d, tenant, "ok", []byte("fine"))
	failing := io.MultiReader(bytes.NewReader(blobtest.Data(blob.ChunkSize*2, 1)), errorReader{})
	if _, err := d.Put(t.Context(), tenant, "broken", failing); err == nil {
		t.Fatal("Put from a failing reader succeeded")
	}
	if got := files(t, root); len(got) != 1 || strings.Contains(filepath.Base(got[0]), ".put-") {
		t.Fatalf("files under the root: %q; want just the one blob", got)
	}
}

type errorReader struct{}

func (errorReader) Read([]byte) (int, error) { return 0, errors.New("read failed") }

func BenchmarkPut(b *testing.B) {
	d := newDir(b, b.TempDir(), blobtest.NewKeys(b))
	tenant := ids.NewTenant()
	data := blobtest.Data(1<<20, 1)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := d.Put(b.Context(), tenant, "bench", bytes.NewReader(data)); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkGet(b *testing.B) {
	d := newDir(b, b.TempDir(), blobtest.NewKeys(b))
	tenant := ids.NewTenant()
	data := blobtest.Data(1<<20, 1)
	if _, err := d.Put(b.Context(), tenant, "bench", bytes.NewReader(data)); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		rc, err := d.Get(b.Context(), tenant, "bench")
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.Copy(io.Discard, rc); err != nil {
			b.Fatal(err)
		}
		rc.Close()
	}
}
