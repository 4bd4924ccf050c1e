package app_test

import (
	"bytes"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/kaigi/kaigi/internal/app/apptest"
	"github.com/kaigi/kaigi/internal/audit"
	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/keys"
	"github.com/kaigi/kaigi/internal/principal"
	"github.com/kaigi/kaigi/internal/store"
)

// lockedBuffer collects log output from several goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestCanaryNeverReachesDisk writes content through the platform — a sealed
// record and a blob — then scans every byte of the data directory (the SQLite
// file, its WAL, the blobs, the keyring) and the logs: the canary is nowhere.
func TestCanaryNeverReachesDisk(t *testing.T) {
	dir := t.TempDir()
	var logs lockedBuffer
	s := apptest.Start(t, apptest.Options{DataDir: dir, Log: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	ctx := t.Context()
	canary := "CANARY-" + ids.New()
	tenant := ids.NewTenant()
	actor := principal.Principal{Kind: principal.Member, Tenant: tenant, User: "u1", Source: "127.0.0.1"}

	record := []byte("the quarterly figures are " + canary)
	sealed, err := s.Keys.Seal(ctx, tenant, keys.AAD{Kind: "note", ID: "n1"}, record)
	if err != nil {
		t.Fatal(err)
	}
	err = s.DB.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.PutSealedRecord(ctx, tenant, "note", "n1", sealed, s.Clock.Now().UnixNano()); err != nil {
			return err
		}
		_, err := s.Audit.Append(ctx, tx, audit.Entry{Actor: actor, Action: "note.create", Target: "note:n1"})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	file := bytes.Repeat([]byte(canary+" in a file\n"), 20000) // several chunks
	if _, err := s.Blobs.Put(ctx, tenant, "files/report.txt", bytes.NewReader(file)); err != nil {
		t.Fatal(err)
	}

	// The content is really there: it reads back through the platform.
	got, err := s.DB.SealedRecord(ctx, tenant, "note", "n1")
	if err != nil {
		t.Fatal(err)
	}
	if plain, err := s.Keys.Open(ctx, tenant, keys.AAD{Kind: "note", ID: "n1"}, got); err != nil || !bytes.Equal(plain, record) {
		t.Fatalf("record does not read back: %v", err)
	}
	rc, err := s.Blobs.Get(ctx, tenant, "files/report.txt")
	if err != nil {
		t.Fatal(err)
	}
	back, err := io.ReadAll(rc)
	rc.Close()
	if err != nil || !bytes.Equal(back, file) {
		t.Fatalf("blob does not read back: %v", err)
	}

	// Every file under the data directory, byte by byte, while the node runs
	// (so the WAL still holds the latest pages).
	scanned := map[string]bool{}
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		scanned[strings.SplitN(rel, string(filepath.Separator), 2)[0]] = true
		if bytes.Contains(b, []byte(canary)) || strings.Contains(rel, canary) {
			t.Errorf("the canary is readable in %s", rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"kaigi.db", "kaigi.db-wal", "blobs", "keyring"} {
		if !scanned[want] {
			t.Errorf("%s was not scanned (found %v)", want, scanned)
		}
	}
	if strings.Contains(logs.String(), canary) {
		t.Error("the canary is in the logs")
	}
}
