package blob_test

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/kaigi/kaigi/internal/blob"
	"github.com/kaigi/kaigi/internal/blob/blobtest"
	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/keys"
)

var _ blob.Keys = (*keys.Service)(nil)

const chunkRecord = blob.ChunkSize + blob.ChunkOverhead

func seal(t testing.TB, k blob.Keys, tenant ids.TenantID, key string, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	n, err := blob.SealStream(t.Context(), k, tenant, key, &buf, bytes.NewReader(data))
	if err != nil {
		t.Fatalf("SealStream: %v", err)
	}
	if n != int64(len(data)) {
		t.Fatalf("SealStream read %d bytes, want %d", n, len(data))
	}
	if int64(buf.Len()) != blob.SealedSize(n) {
		t.Fatalf("sealed %d bytes, SealedSize says %d", buf.Len(), blob.SealedSize(n))
	}
	return buf.Bytes()
}

// open reads a whole sealed stream; the error is OpenStream's or reading's.
func open(ctx context.Context, k blob.Keys, tenant ids.TenantID, key string, sealed []byte) ([]byte, error) {
	r, err := blob.OpenStream(ctx, k, tenant, key, bytes.NewReader(sealed))
	if err != nil {
		return nil, err
	}
	return io.ReadAll(r)
}

// tampered reports whether err says the stream failed authentication,
// whether the blob package found it or the keys package (for a key version
// the tenant does not have).
func tampered(err error) bool {
	return errors.Is(err, blob.ErrTampered) || errors.Is(err, keys.ErrTampered)
}

func TestStream_RoundTrip(t *testing.T) {
	k := blobtest.NewKeys(t)
	tenant := ids.NewTenant()
	for _, n := range blobtest.Sizes {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			data := blobtest.Data(n, uint64(n))
			got, err := open(t.Context(), k, tenant, "k", seal(t, k, tenant, "k", data))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, data) {
				t.Fatal("round trip changed the data")
			}
		})
	}
}

func TestStream_Confidentiality(t *testing.T) {
	k := blobtest.NewKeys(t)
	tenant := ids.NewTenant()
	canary := []byte("CANARY-blob-9c2e")
	data := bytes.Repeat(canary, 3*blob.ChunkSize/len(canary))
	s1, s2 := seal(t, k, tenant, "k", data), seal(t, k, tenant, "k", data)
	if bytes.Contains(s1, canary) {
		t.Fatal("the sealed stream contains the plaintext")
	}
	if bytes.Equal(s1[blob.HeaderSize:], s2[blob.HeaderSize:]) {
		t.Fatal("two seals of the same data are identical")
	}
	// No nonce repeats, within a stream or across two.
	seen := map[string]bool{}
	for _, s := range [][]byte{s1, s2} {
		for off := blob.HeaderSize; off < len(s); off += chunkRecord {
			nonce := string(s[off : off+12])
			if seen[nonce] {
				t.Fatal("a chunk nonce repeats")
			}
			seen[nonce] = true
		}
	}
}

// sample returns the positions worth flipping in a stream of n bytes: every
// header byte, the first and last bytes of every chunk record (nonce and
// tag), and random positions.
func sample(n int) []int {
	var pos []int
	for i := range blob.HeaderSize {
		pos = append(pos, i)
	}
	for off := blob.HeaderSize; off < n; off += chunkRecord {
		end := min(off+chunkRecord, n)
		pos = append(pos, off, off+11, off+12, off+13, end-17, end-16, end-1)
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		pos = append(pos, blob.HeaderSize+r.IntN(n-blob.HeaderSize))
	}
	return pos
}

func TestStream_Integrity_FlippedByteFails(t *testing.T) {
	k := blobtest.NewKeys(t)
	tenant := ids.NewTenant()
	for _, n := range []int{0, 1, blob.ChunkSize, 2*blob.ChunkSize + 100} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			sealed := seal(t, k, tenant, "k", blobtest.Data(n, 9))
			for _, i := range sample(len(sealed)) {
				bad := bytes.Clone(sealed)
				bad[i] ^= 0x01
				if got, err := open(t.Context(), k, tenant, "k", bad); !tampered(err) {
					t.Fatalf("byte %d of %d flipped: read %d bytes, %v; want ErrTampered", i, len(sealed), len(got), err)
				}
			}
		})
	}
}

func TestStream_Integrity_TruncationFails(t *testing.T) {
	k := blobtest.NewKeys(t)
	tenant := ids.NewTenant()
	for _, n := range []int{0, blob.ChunkSize, 3*blob.ChunkSize + 5} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			sealed := seal(t, k, tenant, "k", blobtest.Data(n, 4))
			cuts := []int{0, 1, blob.HeaderSize - 1, blob.HeaderSize, blob.HeaderSize + 1, len(sealed) - 1, len(sealed) - 16}
			for off := blob.HeaderSize; off < len(sealed); off += chunkRecord {
				cuts = append(cuts, off, off+blob.ChunkOverhead-1) // at a chunk boundary, and inside
			}
			for _, cut := range cuts {
				if cut < 0 || cut >= len(sealed) {
					continue
				}
				if got, err := open(t.Context(), k, tenant, "k", sealed[:cut]); !tampered(err) {
					t.Fatalf("cut at %d of %d: read %d bytes, %v; want ErrTampered", cut, len(sealed), len(got), err)
				}
			}
		})
	}
}

func TestStream_Integrity_ReorderedOrExtendedFails(t *testing.T) {
	k := blobtest.NewKeys(t)
	tenant := ids.NewTenant()
	data := blobtest.Data(3*blob.ChunkSize, 8) // three full chunks
	sealed := seal(t, k, tenant, "k", data)
	chunk := func(s []byte, i int) []byte {
		off := blob.HeaderSize + i*chunkRecord
		return s[off : off+chunkRecord]
	}
	header := sealed[:blob.HeaderSize]
	join := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

	// Another version of the same blob under the same key and key version.
	other := seal(t, k, tenant, "k", blobtest.Data(3*blob.ChunkSize, 99))

	tests := []struct {
		name   string
		stream []byte
	}{
		{"first two chunks swapped", join(header, chunk(sealed, 1), chunk(sealed, 0), chunk(sealed, 2))},
		{"a chunk repeated", join(header, chunk(sealed, 0), chunk(sealed, 0), chunk(sealed, 1), chunk(sealed, 2))},
		{"middle chunk dropped", join(header, chunk(sealed, 0), chunk(sealed, 2))},
		{"last chunk dropped", join(header, chunk(sealed, 0), chunk(sealed, 1))},
		{"final chunk repeated", join(sealed, chunk(sealed, 2))},
		{"a byte appended", join(sealed, []byte{0})},
		{"chunk spliced from another version of the blob", join(header, chunk(sealed, 0), chunk(other, 1), chunk(sealed, 2))},
		{"header of another version of the blob", join(other[:blob.HeaderSize], sealed[blob.HeaderSize:])},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, err := open(t.Context(), k, tenant, "k", tt.stream); !tampered(err) {
				t.Fatalf("read %d bytes, %v; want ErrTampered", len(got), err)
			}
		})
	}
}

func TestStream_MoveIntegrity(t *testing.T) {
	k := blobtest.NewKeys(t)
	tenant, other := ids.NewTenant(), ids.NewTenant()
	seal(t, k, other, "k", []byte("the other tenant has a key version 1 too"))
	sealed := seal(t, k, tenant, "attachments/a.pdf", blobtest.Data(blob.ChunkSize+3, 1))
	if _, err := k.Rotate(t.Context(), tenant); err != nil {
		t.Fatal(err)
	}
	asV2 := bytes.Clone(sealed)
	binary.BigEndian.PutUint32(asV2[8:], 2)
	tests := []struct {
		name   string
		tenant ids.TenantID
		key    string
		stream []byte
	}{
		{"another tenant", other, "attachments/a.pdf", sealed},
		{"a tenant without keys", ids.NewTenant(), "attachments/a.pdf", sealed},
		{"another key", tenant, "attachments/b.pdf", sealed},
		{"another key version", tenant, "attachments/a.pdf", asV2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, err := open(t.Context(), k, tt.tenant, tt.key, tt.stream); !tampered(err) {
				t.Fatalf("read %d bytes, %v; want ErrTampered", len(got), err)
			}
		})
	}
}

func TestStream_BadHeaderRefusedBeforeAllocating(t *testing.T) {
	k := blobtest.NewKeys(t)
	tenant := ids.NewTenant()
	sealed := seal(t, k, tenant, "k", []byte("x"))
	withChunkSize := func(n uint32) []byte {
		b := bytes.Clone(sealed)
		binary.BigEndian.PutUint32(b[12:], n)
		return b
	}
	withVersion := func(v uint32) []byte {
		b := bytes.Clone(sealed)
		binary.BigEndian.PutUint32(b[8:], v)
		return b
	}
	tests := []struct {
		name   string
		stream []byte
	}{
		{"empty", nil},
		{"not a blob", []byte(strings.Repeat("plain text, not sealed ", 4))},
		{"unknown format", append(append([]byte("KAIGIBL"), 2), sealed[8:]...)},
		{"chunk size 0", withChunkSize(0)},
		{"chunk size 4 GiB", withChunkSize(^uint32(0))},
		{"key version 0", withVersion(0)},
		{"key version unknown", withVersion(7)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := blob.OpenStream(t.Context(), k, tenant, "k", bytes.NewReader(tt.stream)); !tampered(err) {
				t.Fatalf("OpenStream = %v, want ErrTampered", err)
			}
		})
	}
}

func TestStream_SourceErrorsPassedOn(t *testing.T) {
	k := blobtest.NewKeys(t)
	tenant := ids.NewTenant()
	sealed := seal(t, k, tenant, "k", blobtest.Data(2*blob.ChunkSize, 1))
	disk := errors.New("disk error")
	r, err := blob.OpenStream(t.Context(), k, tenant, "k",
		io.MultiReader(bytes.NewReader(sealed[:blob.HeaderSize+chunkRecord+10]), errReader{disk}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(r); !errors.Is(err, disk) || tampered(err) {
		t.Fatalf("ReadAll = %v, want the source's error and not ErrTampered", err)
	}
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

// A Keys that hands out AEADs expecting caller-chosen nonces is refused
// rather than used with nonces of the package's making.
func TestStream_RefusesNonceTakingAEAD(t *testing.T) {
	block, _ := aes.NewCipher(make([]byte, 32))
	gcm, _ := cipher.NewGCM(block)
	var buf bytes.Buffer
	if _, err := blob.SealStream(t.Context(), fixedKeys{gcm}, ids.NewTenant(), "k", &buf, strings.NewReader("x")); err == nil {
		t.Fatal("SealStream accepted an AEAD with caller-chosen nonces")
	}
	if buf.Len() != 0 {
		t.Fatal("SealStream wrote before refusing")
	}
}

type fixedKeys struct{ a cipher.AEAD }

func (k fixedKeys) CurrentKey(context.Context, ids.TenantID) (uint32, cipher.AEAD, error) {
	return 1, k.a, nil
}

func (k fixedKeys) KeyVersion(context.Context, ids.TenantID, uint32) (cipher.AEAD, error) {
	return k.a, nil
}

func TestValidKey(t *testing.T) {
	for _, key := range blobtest.InvalidKeys {
		if err := blob.ValidKey(key); !errors.Is(err, blob.ErrInvalidKey) {
			t.Errorf("ValidKey(%q) = %v, want ErrInvalidKey", key, err)
		}
	}
	for _, key := range []string{"a", "a.b", "a/b/c", "2026/03/x-y_z.pdf", strings.Repeat("k", blob.MaxKeyLen)} {
		if err := blob.ValidKey(key); err != nil {
			t.Errorf("ValidKey(%q) = %v, want nil", key, err)
		}
	}
}

func FuzzOpenStream(f *testing.F) {
	k := blobtest.NewKeys(f)
	tenant := ids.NewTenant()
	valid := seal(f, k, tenant, "k", []byte("fuzz"))
	f.Add(valid)
	f.Add(valid[:blob.HeaderSize])
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, stream []byte) {
		got, err := open(t.Context(), k, tenant, "k", stream)
		switch {
		case bytes.Equal(stream, valid):
			if err != nil || string(got) != "fuzz" {
				t.Fatalf("the genuine stream: %q, %v", got, err)
			}
		case !tampered(err):
			t.Fatalf("read %q, %v; want ErrTampered", got, err)
		}
	})
}
