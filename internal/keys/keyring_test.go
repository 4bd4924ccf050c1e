package keys_test

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/keys"
	"github.com/kaigi/kaigi/internal/keys/keystest"
)

func TestLocalKeyring_Provider(t *testing.T) {
	keystest.RunProvider(t, func(t *testing.T) keys.KeyProvider { return newEnv(t).keyring })
}

func TestMemoryStore(t *testing.T) {
	keystest.Run(t, func(t *testing.T) keys.Store { return keys.NewMemoryStore() })
}

func TestKeyring_FileMode0600(t *testing.T) {
	e := newEnv(t)
	path := filepath.Join(e.dir, "nested", "data", "keyring")
	k, err := keys.OpenLocalKeyring(path, e.master)
	if err != nil {
		t.Fatal(err)
	}
	check := func(when string) {
		t.Helper()
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Fatalf("%s: keyring mode %04o, want 0600", when, fi.Mode().Perm())
		}
		names := slices.DeleteFunc(dirNames(t, filepath.Dir(path)), func(n string) bool { return n == "keyring.lock" })
		if !slices.Equal(names, []string{"keyring"}) {
			t.Fatalf("%s: directory holds %q, want only the keyring and its lock file (no temporary files)", when, names)
		}
		if fi, err := os.Stat(path + ".lock"); err == nil && fi.Mode().Perm() != 0o600 {
			t.Fatalf("%s: lock file mode %04o, want 0600", when, fi.Mode().Perm())
		}
	}
	check("created")
	if fi, err := os.Stat(filepath.Dir(path)); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("created directory mode %v (%v), want 0700", fi.Mode().Perm(), err)
	}
	kek, err := k.CreateKEK(t.Context(), ids.NewTenant())
	if err != nil {
		t.Fatal(err)
	}
	check("after CreateKEK")
	if err := k.Destroy(t.Context(), kek); err != nil {
		t.Fatal(err)
	}
	check("after Destroy")
}

func TestKeyring_SurvivesRestart(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	live, gone := mustKEK(t, e.keyring), mustKEK(t, e.keyring)
	dek, _ := keys.NewDataKey()
	aad := []byte("ctx")
	w, err := e.keyring.Wrap(ctx, live, dek, aad)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.keyring.Destroy(ctx, gone); err != nil {
		t.Fatal(err)
	}
	again := e.openKeyring(t)
	if got, err := again.Unwrap(ctx, live, w, aad); err != nil || !got.Equal(dek) {
		t.Fatalf("Unwrap after reopening = %v", err)
	}
	if _, err := again.Wrap(ctx, gone, dek, aad); !errors.Is(err, keys.ErrKeyDestroyed) {
		t.Fatalf("Wrap with a KEK destroyed before reopening = %v, want ErrKeyDestroyed", err)
	}
}

func TestKeyring_WrongMasterKey(t *testing.T) {
	e := newEnv(t)
	mustKEK(t, e.keyring)
	before := readFile(t, e.keyringPath())
	names := dirNames(t, e.dir)

	other, err := keys.LoadOrCreateMasterKey(filepath.Join(t.TempDir(), "other.key"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = keys.OpenLocalKeyring(e.keyringPath(), other)
	if !errors.Is(err, keys.ErrWrongMasterKey) {
		t.Fatalf("OpenLocalKeyring with another master key = %v, want ErrWrongMasterKey", err)
	}
	if after := readFile(t, e.keyringPath()); !bytes.Equal(after, before) {
		t.Fatal("the keyring file changed")
	}
	if got := dirNames(t, e.dir); !slices.Equal(got, names) {
		t.Fatalf("the data directory changed: %q, was %q", got, names)
	}
	// The right key still opens it.
	e.openKeyring(t)
}

func TestKeyring_CorruptFileLeftUntouched(t *testing.T) {
	e := newEnv(t)
	mustKEK(t, e.keyring)
	good := readFile(t, e.keyringPath())
	const header = 8 + 1 + 16 // magic, format, key check value
	flip := func(i int) []byte {
		b := bytes.Clone(good)
		b[i] ^= 0x01
		return b
	}
	tests := []struct {
		name    string
		content []byte
		want    error
	}{
		{"empty", nil, keys.ErrCorruptKeyring},
		{"truncated in the magic", good[:4], keys.ErrCorruptKeyring},
		{"truncated after the magic", good[:8], keys.ErrCorruptKeyring},
		{"header only", good[:header], keys.ErrCorruptKeyring},
		{"truncated in the nonce", good[:header+6], keys.ErrCorruptKeyring},
		{"last byte missing", good[:len(good)-1], keys.ErrCorruptKeyring},
		{"half missing", good[:len(good)/2], keys.ErrCorruptKeyring},
		{"byte appended", append(bytes.Clone(good), 0), keys.ErrCorruptKeyring},
		{"magic changed", flip(0), keys.ErrCorruptKeyring},
		{"nonce changed", flip(header), keys.ErrCorruptKeyring},
		{"content changed", flip(header + 12 + 3), keys.ErrCorruptKeyring},
		{"tag changed", flip(len(good) - 1), keys.ErrCorruptKeyring},
		{"not a keyring", []byte("{\"keys\": []}\n"), keys.ErrCorruptKeyring},
		{"newer format", append(append([]byte("KAIGI-KR"), 0x02), good[9:]...), keys.ErrUnsupportedFormat},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "keyring")
			if err := os.WriteFile(path, tt.content, 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := keys.OpenLocalKeyring(path, e.master)
			if !errors.Is(err, tt.want) {
				t.Fatalf("OpenLocalKeyring = %v, want %v", err, tt.want)
			}
			if after := readFile(t, path); !bytes.Equal(after, tt.content) {
				t.Fatal("the keyring file changed")
			}
			if names := dirNames(t, filepath.Dir(path)); !slices.Equal(names, []string{"keyring"}) {
				t.Fatalf("directory holds %q, want only the keyring", names)
			}
		})
	}
}

func TestKeyring_LoosePermissionsRefused(t *testing.T) {
	e := newEnv(t)
	before := readFile(t, e.keyringPath())
	for _, mode := range []fs.FileMode{0o644, 0o640, 0o604, 0o660, 0o666} {
		if err := os.Chmod(e.keyringPath(), mode); err != nil {
			t.Fatal(err)
		}
		if _, err := keys.OpenLocalKeyring(e.keyringPath(), e.master); !errors.Is(err, keys.ErrInsecurePermissions) {
			t.Fatalf("mode %04o: OpenLocalKeyring = %v, want ErrInsecurePermissions", mode, err)
		}
		if after := readFile(t, e.keyringPath()); !bytes.Equal(after, before) {
			t.Fatalf("mode %04o: the keyring file changed", mode)
		}
	}
}

func TestKeyring_NotAFile(t *testing.T) {
	e := newEnv(t)
	path := filepath.Join(e.dir, "keyring-dir")
	if err := os.Mkdir(path, 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := keys.OpenLocalKeyring(path, e.master); err == nil {
		t.Fatal("OpenLocalKeyring of a directory succeeded")
	}
}

func TestKeyring_ConcurrentUse(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var created []string
	errc := make(chan error, 32)
	for range 8 {
		wg.Go(func() {
			for range 5 {
				kek, err := e.keyring.CreateKEK(ctx, ids.NewTenant())
				if err != nil {
					errc <- err
					return
				}
				dek, _ := keys.NewDataKey()
				w, err := e.keyring.Wrap(ctx, kek, dek, nil)
				if err == nil {
					_, err = e.keyring.Unwrap(ctx, kek, w, nil)
				}
				if err != nil {
					errc <- err
					return
				}
				mu.Lock()
				created = append(created, kek)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
	again := e.openKeyring(t)
	dek, _ := keys.NewDataKey()
	for _, kek := range created {
		if _, err := again.Wrap(ctx, kek, dek, nil); err != nil {
			t.Fatalf("KEK %s lost in concurrent writes: %v", kek, err)
		}
	}
}

func mustKEK(t *testing.T, k *keys.LocalKeyring) string {
	t.Helper()
	id, err := k.CreateKEK(t.Context(), ids.NewTenant())
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// TestKeyringSharedByTwoProcesses opens one keyring file twice, as two nodes
// sharing a data directory do: KEKs each creates survive the other's
// writes, and each finds the other's.
func TestKeyringSharedByTwoProcesses(t *testing.T) {
	dir := t.TempDir()
	master, err := keys.LoadOrCreateMasterKey(filepath.Join(dir, "master.key"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "keyring")
	a, err := keys.OpenLocalKeyring(path, master)
	if err != nil {
		t.Fatal(err)
	}
	b, err := keys.OpenLocalKeyring(path, master)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	ka, err := a.CreateKEK(ctx, "tenant-a")
	if err != nil {
		t.Fatal(err)
	}
	kb, err := b.CreateKEK(ctx, "tenant-b") // must not drop ka from the file
	if err != nil {
		t.Fatal(err)
	}
	dek, _ := keys.NewDataKey()
	for _, tc := range []struct {
		name  string
		by    *keys.LocalKeyring
		other *keys.LocalKeyring
		kek   string
	}{{"a's KEK through b", a, b, ka}, {"b's KEK through a", b, a, kb}} {
		wrapped, err := tc.by.Wrap(ctx, tc.kek, dek, []byte("ctx"))
		if err != nil {
			t.Fatalf("%s: wrap: %v", tc.name, err)
		}
		got, err := tc.other.Unwrap(ctx, tc.kek, wrapped, []byte("ctx"))
		if err != nil || !got.Equal(dek) {
			t.Fatalf("%s: unwrap: %v", tc.name, err)
		}
	}
	c, err := keys.OpenLocalKeyring(path, master) // a third opener sees both
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{ka, kb} {
		if _, err := c.Wrap(ctx, id, dek, nil); err != nil {
			t.Fatalf("KEK %s lost from the file: %v", id, err)
		}
	}
}
