package keys_test

import (
	"context"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/keys"
)

// env is a data directory with a master key, a keyring and a store, from
// which Services can be made (a fresh Service plays a restarted node).
type env struct {
	dir     string
	master  keys.MasterKey
	keyring *keys.LocalKeyring
	store   *keys.MemoryStore
}

func newEnv(t testing.TB) *env {
	t.Helper()
	dir := t.TempDir()
	master, err := keys.LoadOrCreateMasterKey(filepath.Join(dir, "master.key"))
	if err != nil {
		t.Fatalf("LoadOrCreateMasterKey: %v", err)
	}
	e := &env{dir: dir, master: master, store: keys.NewMemoryStore()}
	e.keyring = e.openKeyring(t)
	return e
}

func (e *env) keyringPath() string { return filepath.Join(e.dir, "keyring") }

// openKeyring opens the keyring file afresh, as a restarted process would.
func (e *env) openKeyring(t testing.TB) *keys.LocalKeyring {
	t.Helper()
	k, err := keys.OpenLocalKeyring(e.keyringPath(), e.master)
	if err != nil {
		t.Fatalf("OpenLocalKeyring: %v", err)
	}
	return k
}

func (e *env) service(t testing.TB, opts keys.Options) *keys.Service {
	t.Helper()
	return keys.New(e.keyring, e.store, opts)
}

func mustSeal(t testing.TB, s *keys.Service, tenant ids.TenantID, aad keys.AAD, pt []byte) []byte {
	t.Helper()
	ct, err := s.Seal(t.Context(), tenant, aad, pt)
	if err != nil {
		t.Fatalf("Seal: %v", err)
	}
	return ct
}

func mustOpen(t testing.TB, s *keys.Service, tenant ids.TenantID, aad keys.AAD, ct []byte) []byte {
	t.Helper()
	pt, err := s.Open(t.Context(), tenant, aad, ct)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return pt
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// dirNames lists the names in dir.
func dirNames(t testing.TB, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

// countingProvider counts Unwrap calls to its KeyProvider.
type countingProvider struct {
	keys.KeyProvider
	unwraps atomic.Int64
}

func (p *countingProvider) Unwrap(ctx context.Context, kekID string, wrapped, aad []byte) (keys.DataKey, error) {
	p.unwraps.Add(1)
	return p.KeyProvider.Unwrap(ctx, kekID, wrapped, aad)
}

var msgAAD = keys.AAD{Kind: "chat.message", ID: "0190a0b0-0000-7000-8000-000000000001"}
