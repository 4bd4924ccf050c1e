package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kaigi/kaigi/internal/app"
	"github.com/kaigi/kaigi/internal/audit"
	"github.com/kaigi/kaigi/internal/config"
	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/principal"
	"github.com/kaigi/kaigi/internal/store"
)

func noEnv(string) string { return "" }

func kaigi(t *testing.T, env func(string) string, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	err := run(ctx, args, env, &out, &errOut)
	return out.String() + errOut.String(), err
}

// initDataDir makes a data directory with a database, keys and audit records.
func initDataDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for range 3 {
		if out, err := kaigi(t, noEnv, "setup-link", "--data", dir); err != nil {
			t.Fatalf("setup-link: %v\n%s", err, out)
		}
	}
	return dir
}

func TestAuditVerifyFindsTheChangedRecord(t *testing.T) {
	dir := initDataDir(t)
	out, err := kaigi(t, noEnv, "audit", "verify", "--data", dir)
	if err != nil || !strings.Contains(out, "OK, 3 records") {
		t.Fatalf("intact chain: %v\n%s", err, out)
	}
	if out, err := kaigi(t, noEnv, "audit", "checkpoint", "--data", dir); err != nil || !strings.Contains(out, "signed 1 new") {
		t.Fatalf("checkpoint: %v\n%s", err, out)
	}

	// Change one byte of record 2 in the database file's rows, as someone with
	// access to the database could.
	db, err := store.Open(t.Context(), store.Config{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(t.Context(), `DROP TRIGGER audit_log_no_update`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(t.Context(), `UPDATE audit_log SET details = replace(details, '"expires":"2', '"expires":"3') WHERE seq = 2`); err != nil {
		t.Fatal(err)
	}
	db.Close()

	out, err = kaigi(t, noEnv, "audit", "verify", "--data", dir)
	if !errors.Is(err, errBroken) {
		t.Fatalf("verify after tampering: %v\n%s", err, out)
	}
	if !strings.Contains(out, "BROKEN at record 2:") || !strings.Contains(out, "changed after it was written") {
		t.Fatalf("the report should name record 2:\n%s", out)
	}
}

func TestStartFailsClearlyAndChangesNothing(t *testing.T) {
	tests := []struct {
		name    string
		prepare func(t *testing.T, dir string) (env map[string]string, args []string)
		want    string
	}{
		{"wrong master key", func(t *testing.T, dir string) (map[string]string, []string) {
			other := filepath.Join(t.TempDir(), "other.key")
			b := make([]byte, 32)
			rand.Read(b)
			os.WriteFile(other, []byte(hex.EncodeToString(b)+"\n"), 0o600)
			return map[string]string{"KAIGI_MASTER_KEY_FILE": other}, nil
		}, "does not open this keyring"},
		{"unreadable master key", func(t *testing.T, dir string) (map[string]string, []string) {
			os.WriteFile(filepath.Join(dir, app.MasterKeyFile), []byte("not a key\n"), 0o600)
			return nil, nil
		}, "master key"},
		{"missing master key", func(t *testing.T, dir string) (map[string]string, []string) {
			os.Remove(filepath.Join(dir, app.MasterKeyFile))
			return nil, nil
		}, "is missing but the keyring"},
		{"corrupt keyring", func(t *testing.T, dir string) (map[string]string, []string) {
			p := filepath.Join(dir, app.KeyringFile)
			b, _ := os.ReadFile(p)
			b[len(b)-3] ^= 0xff
			os.WriteFile(p, b, 0o600)
			return nil, nil
		}, "keyring"},
		{"unreachable database", func(t *testing.T, dir string) (map[string]string, []string) {
			return map[string]string{"KAIGI_DATABASE_URL": "postgres://kaigi@127.0.0.1:1/kaigi?connect_timeout=2"}, nil
		}, "cannot reach PostgreSQL at 127.0.0.1:1"},
		{"unreachable NATS", func(t *testing.T, dir string) (map[string]string, []string) {
			return map[string]string{"KAIGI_NATS_URL": "nats://127.0.0.1:1"}, nil
		}, "nats_url"},
		{"newer database", func(t *testing.T, dir string) (map[string]string, []string) {
			db, err := store.Open(t.Context(), store.Config{DataDir: dir})
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if _, err := db.Exec(t.Context(), `INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'future', 0)`); err != nil {
				t.Fatal(err)
			}
			return nil, nil
		}, "never downgrades"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := initDataDir(t)
			env, args := tt.prepare(t, dir)
			before := snapshot(t, dir)
			getenv := func(k string) string { return env[k] }
			out, err := kaigi(t, getenv, append([]string{"serve", "--data", dir, "--addr", "127.0.0.1:0"}, args...)...)
			if err == nil {
				t.Fatalf("started anyway:\n%s", out)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %q should say %q", err, tt.want)
			}
			after := snapshot(t, dir)
			for _, f := range []string{app.MasterKeyFile, app.KeyringFile, "signing-key.pem"} {
				if before[f] != after[f] {
					t.Errorf("%s was changed by the failed start", f)
				}
			}
		})
	}
}

func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if b, err := os.ReadFile(filepath.Join(dir, e.Name())); err == nil {
			out[e.Name()] = string(b)
		}
	}
	return out
}

func TestVersionAndUnknownCommand(t *testing.T) {
	if out, err := kaigi(t, noEnv, "version"); err != nil || !strings.HasPrefix(out, "kaigi ") {
		t.Fatalf("version: %v %q", err, out)
	}
	if _, err := kaigi(t, noEnv, "frobnicate"); err == nil || !strings.Contains(err.Error(), "unknown command") {
		t.Fatalf("unknown command: %v", err)
	}
	if _, err := kaigi(t, noEnv, "serve", "--addr", "nonsense"); err == nil || !strings.Contains(err.Error(), "host:port") {
		t.Fatalf("bad flag: %v", err)
	}
}

func TestTenantCreatePrintsTheFirstAdminsInvitation(t *testing.T) {
	dir := t.TempDir()
	out, err := kaigi(t, noEnv, "tenant", "create", "--data", dir, "--name", "Acme Corp", "--domain", "Acme.Example", "--admin-email", "ada@acme.example")
	if err != nil {
		t.Fatalf("tenant create: %v\n%s", err, out)
	}
	i := strings.Index(out, "http://localhost:8080/invite#org=acme-corp&token=kinv_")
	if i < 0 {
		t.Fatalf("no invitation link in:\n%s", out)
	}
	link := strings.Fields(out[i:])[0]
	token := link[strings.Index(link, "token=")+len("token="):]

	tests := []struct {
		name string
		args []string
		want string
	}{
		{"domain taken", []string{"--name", "Acme Two", "--domain", "acme.example", "--admin-email", "b@acme.example"}, "already belongs to another tenant"},
		{"short name taken", []string{"--name", "Other", "--slug", "acme-corp", "--domain", "other.example", "--admin-email", "c@other.example"}, "short name already exists"},
		{"no domain", []string{"--name", "Nodomain", "--admin-email", "d@x.example"}, "needs --domain"},
		{"no admin", []string{"--name", "Noadmin", "--domain", "y.example"}, "needs --admin-email"},
		{"bad email", []string{"--name", "Bad", "--domain", "z.example", "--admin-email", "not-an-email"}, "email address"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := kaigi(t, noEnv, append([]string{"tenant", "create", "--data", dir}, tt.args...)...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one saying %q\n%s", err, tt.want, out)
			}
		})
	}
	if _, err := kaigi(t, noEnv, "tenant", "delete"); err == nil || !strings.Contains(err.Error(), "create") {
		t.Fatalf("unknown tenant subcommand: %v", err)
	}

	// The link works once, and the creation is in both audit logs, by the CLI.
	cfg := config.Default()
	cfg.DataDir = dir
	cfg.MediaUDPAddr = "off" // no media ports: nothing else on the machine may hold them
	a, err := app.New(t.Context(), cfg, slog.New(slog.DiscardHandler), app.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	acct, err := a.Identity.AcceptInvitation(t.Context(), token, "Ada Admin", "Vivid-Lantern-Orbit-73-Quill", "127.0.0.1")
	if err != nil || !slices.Contains(acct.Roles, principal.TenantAdmin) || acct.Email != "ada@acme.example" {
		t.Fatalf("accept the printed invitation: %+v, %v", acct, err)
	}
	for _, tenant := range []ids.TenantID{ids.ServiceTenant, acct.Tenant} {
		recs, err := a.DB.AuditRecords(t.Context(), tenant, 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.ContainsFunc(recs, func(r audit.Record) bool { return r.Action == "tenant.create" && r.ActorID == "cli" }) {
			t.Errorf("the %s log lacks the CLI's tenant.create", tenant)
		}
	}
}
