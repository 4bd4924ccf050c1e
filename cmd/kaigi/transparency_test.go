package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kaigi/kaigi/internal/clock"
	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/signing"
	"github.com/kaigi/kaigi/internal/store"
	"github.com/kaigi/kaigi/internal/store/storetest"
	"github.com/kaigi/kaigi/internal/transparency"
)

// TestTransparencyVerifyOffline runs `kaigi transparency verify` the way a
// tenant does, with only the public verifier key, bundles fetched from the
// service, and the state file it keeps: the first check and a later one
// pass and show the new entries; a bundle from a log whose past was
// rewritten fails, and the kept state is left as it was.
func TestTransparencyVerifyOffline(t *testing.T) {
	db := storetest.OpenSQLite(t)
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	key, err := signing.New("kaigi", priv)
	if err != nil {
		t.Fatal(err)
	}
	tl := transparency.New(store.Transparency(db), key, clock.Real{}, "kaigi.test")
	tenant := ids.NewTenant()
	add := func(l *transparency.Log, d *store.DB, resource string, n int) {
		for range n {
			if err := d.InTx(t.Context(), func(tx *store.Tx) error {
				_, err := l.Append(t.Context(), tx, tenant, "access", map[string]string{"resource": resource})
				return err
			}); err != nil {
				t.Fatal(err)
			}
		}
	}
	dir := t.TempDir()
	keyFile, state, bundle := filepath.Join(dir, "kaigi.vkey"), filepath.Join(dir, "state.json"), filepath.Join(dir, "bundle.json")
	os.WriteFile(keyFile, []byte(key.VerifierKey()+"\n"), 0o600)
	fetch := func(l *transparency.Log, since, first uint64) {
		b, err := l.Bundle(t.Context(), tenant, since, first)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := json.Marshal(b)
		os.WriteFile(bundle, raw, 0o600)
	}
	verify := func() (string, error) {
		return kaigi(t, noEnv, "transparency", "verify", "--bundle", bundle, "--key", keyFile, "--state", state)
	}

	add(tl, db, "channel:c1", 4)
	fetch(tl, 0, 0)
	if out, err := verify(); err != nil || !strings.Contains(out, "OK: ") || !strings.Contains(out, "4 new since size 0") {
		t.Fatalf("first check: %v\n%s", err, out)
	}
	add(tl, db, "channel:c2", 2)
	fetch(tl, 4, 4)
	out, err := verify()
	if err != nil || !strings.Contains(out, "6 entries; 2 new since size 4") || !strings.Contains(out, "channel:c2") {
		t.Fatalf("second check: %v\n%s", err, out)
	}
	kept, _ := os.ReadFile(state)

	// The operator rebuilds the log with a different past and signs it.
	other := storetest.OpenSQLite(t)
	forged := transparency.New(store.Transparency(other), key, clock.Real{}, "kaigi.test")
	add(forged, other, "channel:c1", 3)
	add(forged, other, "channel:nothing-to-see", 5)
	fetch(forged, 6, 6)
	out, err = verify()
	if !errors.Is(err, errBroken) || !strings.Contains(out, "FAILED") {
		t.Fatalf("a rewritten log passed: %v\n%s", err, out)
	}
	if now, _ := os.ReadFile(state); string(now) != string(kept) {
		t.Fatal("a failed check changed the kept state")
	}
	// A bundle signed with another key fails too.
	_, otherPriv, _ := ed25519.GenerateKey(rand.Reader)
	stranger, _ := signing.New("kaigi", otherPriv)
	os.WriteFile(keyFile, []byte(stranger.VerifierKey()), 0o600)
	fetch(tl, 6, 6)
	if out, err := verify(); err == nil {
		t.Fatalf("a checkpoint verified with a stranger's key:\n%s", out)
	}
}
