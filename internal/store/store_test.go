package store_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kaigi/kaigi/internal/audit"
	"github.com/kaigi/kaigi/internal/clock"
	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/principal"
	"github.com/kaigi/kaigi/internal/signing"
	"github.com/kaigi/kaigi/internal/store"
	"github.com/kaigi/kaigi/internal/store/storetest"
)

func TestMigrationsMatchAcrossEngines(t *testing.T) {
	lite, err := store.Migrations(store.SQLite)
	if err != nil {
		t.Fatal(err)
	}
	pg, err := store.Migrations(store.Postgres)
	if err != nil {
		t.Fatal(err)
	}
	if len(lite) != len(pg) {
		t.Fatalf("sqlite has %d migrations, postgres %d: every migration needs both", len(lite), len(pg))
	}
	for i := range lite {
		if lite[i].Version != pg[i].Version || lite[i].Name != pg[i].Name {
			t.Errorf("migration %d: sqlite %04d_%s, postgres %04d_%s", i, lite[i].Version, lite[i].Name, pg[i].Version, pg[i].Name)
		}
	}
}

func TestMigrateIsIdempotent(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		n, err := db.Migrate(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Fatalf("second migrate applied %d migrations, want 0", n)
		}
		v, err := db.SchemaVersion(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		ms, _ := store.Migrations(db.Dialect())
		if v != len(ms) {
			t.Fatalf("schema version %d, want %d", v, len(ms))
		}
	})
}

func TestNewerSchemaIsRefusedAndUntouched(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		future := 9999
		if _, err := db.Exec(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, 'from_the_future', 0)`, future); err != nil {
			t.Fatal(err)
		}
		_, err := db.Migrate(ctx)
		if !errors.Is(err, store.ErrSchemaTooNew) {
			t.Fatalf("migrate on a newer schema: %v, want ErrSchemaTooNew", err)
		}
		if !strings.Contains(err.Error(), "never downgrades") {
			t.Errorf("message should say what to do: %v", err)
		}
		v, err := db.SchemaVersion(ctx)
		if err != nil || v != future {
			t.Fatalf("schema version after refusal: %d, %v; want %d untouched", v, err, future)
		}
	})
}

func TestUnreachableDatabaseSaysWhere(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	_, err := store.Open(ctx, store.Config{URL: "postgres://kaigi:s3cret-pw@127.0.0.1:1/nowhere?connect_timeout=2", ConnectTimeout: 3 * time.Second})
	if !errors.Is(err, store.ErrUnreachable) {
		t.Fatalf("err = %v, want ErrUnreachable", err)
	}
	if strings.Contains(err.Error(), "s3cret-pw") {
		t.Fatalf("error leaks the password: %v", err)
	}
	if !strings.Contains(err.Error(), "127.0.0.1:1") {
		t.Errorf("error should name the host: %v", err)
	}
	_, err = store.Open(ctx, store.Config{URL: "mysql://x"})
	if !errors.Is(err, store.ErrBadURL) {
		t.Fatalf("mysql URL: %v, want ErrBadURL", err)
	}
}

func TestSQLiteFileIsPrivate(t *testing.T) {
	dir := t.TempDir()
	storetest.OpenSQLiteIn(t, dir)
	for _, name := range []string{store.SQLiteFile, store.SQLiteFile + "-wal"} {
		fi, err := statMode(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if fi&0o077 != 0 {
			t.Errorf("%s has mode %o, want no group or other access", name, fi)
		}
	}
}

func newAudit(t testing.TB) (*audit.Log, *signing.Key) {
	t.Helper()
	key, err := signing.LoadOrCreate(filepath.Join(t.TempDir(), signing.FileName), "kaigi-test")
	if err != nil {
		t.Fatal(err)
	}
	return audit.New(clock.NewFake(time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC))), key
}

func appendN(t *testing.T, db *store.DB, log *audit.Log, tenant ids.TenantID, n int) {
	t.Helper()
	actor := principal.Principal{Kind: principal.Member, Tenant: tenant, User: "u1", Source: "192.0.2.1"}
	for i := range n {
		err := db.InTx(t.Context(), func(tx *store.Tx) error {
			_, err := log.Append(t.Context(), tx, audit.Entry{Actor: actor, Action: "test.act", Target: fmt.Sprintf("thing:%d", i),
				Details: map[string]string{"i": fmt.Sprint(i)}})
			return err
		})
		if err != nil {
			t.Fatalf("append %d: %v", i, err)
		}
	}
}

// allowTamper removes the append-only triggers, as an attacker with database
// access could.
func allowTamper(t *testing.T, db *store.DB) {
	t.Helper()
	stmts := []string{`DROP TRIGGER audit_log_no_update`, `DROP TRIGGER audit_log_no_delete`}
	if db.Dialect() == store.Postgres {
		stmts = []string{`DROP TRIGGER audit_log_no_change ON audit_log`}
	}
	for _, s := range stmts {
		if _, err := db.Exec(t.Context(), s); err != nil {
			t.Fatal(err)
		}
	}
}

func TestAuditChain(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		log, key := newAudit(t)
		tenant, other := ids.NewTenant(), ids.NewTenant()
		appendN(t, db, log, tenant, 25)
		appendN(t, db, log, other, 3)
		if _, ok, err := log.Checkpoint(ctx, db, key, tenant); err != nil || !ok {
			t.Fatalf("checkpoint: %v %v", ok, err)
		}
		appendN(t, db, log, tenant, 5)

		rep, err := audit.Verify(ctx, db, tenant, key.VerifierKey())
		if err != nil {
			t.Fatal(err)
		}
		if !rep.OK() || rep.Records != 30 || rep.Checkpoints != 1 {
			t.Fatalf("intact chain: %v", rep)
		}

		t.Run("append-only in the database", func(t *testing.T) {
			if _, err := db.Exec(ctx, `UPDATE audit_log SET action = 'x' WHERE tenant_id = ? AND seq = 3`, string(tenant)); err == nil {
				t.Fatal("UPDATE of an audit record succeeded")
			}
			if _, err := db.Exec(ctx, `DELETE FROM audit_log WHERE tenant_id = ?`, string(tenant)); err == nil {
				t.Fatal("DELETE of audit records succeeded")
			}
		})

		allowTamper(t, db)
		tamper := func(t *testing.T, stmt string, args ...any) {
			t.Helper()
			if _, err := db.Exec(ctx, stmt, args...); err != nil {
				t.Fatal(err)
			}
		}
		expectBroken := func(t *testing.T, tenant ids.TenantID, seq int64, reason string) {
			t.Helper()
			rep, err := audit.Verify(ctx, db, tenant, key.VerifierKey())
			if err != nil {
				t.Fatal(err)
			}
			if rep.OK() || rep.Problem.Seq != seq || !strings.Contains(rep.Problem.Reason, reason) {
				t.Fatalf("got %v, want broken at %d (%s)", rep, seq, reason)
			}
		}

		t.Run("one changed byte is found at its record", func(t *testing.T) {
			tamper(t, `UPDATE audit_log SET target = 'thing:7X' WHERE tenant_id = ? AND seq = 8`, string(tenant))
			expectBroken(t, tenant, 8, "changed after it was written")
			tamper(t, `UPDATE audit_log SET target = 'thing:7' WHERE tenant_id = ? AND seq = 8`, string(tenant))
		})
		t.Run("a removed record is found", func(t *testing.T) {
			tamper(t, `DELETE FROM audit_log WHERE tenant_id = ? AND seq = 12`, string(tenant))
			expectBroken(t, tenant, 12, "missing")
		})
		t.Run("the other tenant's chain is unaffected", func(t *testing.T) {
			rep, err := audit.Verify(ctx, db, other, key.VerifierKey())
			if err != nil || !rep.OK() || rep.Records != 3 {
				t.Fatalf("%v %v", rep, err)
			}
		})
		t.Run("a cut tail is found by the checkpoint", func(t *testing.T) {
			third := ids.NewTenant()
			appendN(t, db, log, third, 10)
			if _, _, err := log.Checkpoint(ctx, db, key, third); err != nil {
				t.Fatal(err)
			}
			tamper(t, `DELETE FROM audit_log WHERE tenant_id = ? AND seq > 6`, string(third))
			tamper(t, `UPDATE audit_heads SET seq = 6, hash = (SELECT hash FROM audit_log WHERE tenant_id = ? AND seq = 6) WHERE tenant_id = ?`, string(third), string(third))
			expectBroken(t, third, 7, "checkpoint covers 10")
		})
		t.Run("a forged checkpoint is found", func(t *testing.T) {
			fourth := ids.NewTenant()
			appendN(t, db, log, fourth, 2)
			other, err := signing.LoadOrCreate(filepath.Join(t.TempDir(), "k.pem"), "kaigi-test")
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := log.Checkpoint(ctx, db, other, fourth); err != nil {
				t.Fatal(err)
			}
			expectBroken(t, fourth, 0, "no valid signature")
		})
	})
}

func TestAuditConcurrentAppendsFormOneChain(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		log, key := newAudit(t)
		tenant := ids.NewTenant()
		var wg sync.WaitGroup
		errc := make(chan error, 40)
		for w := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range 10 {
					errc <- db.InTx(t.Context(), func(tx *store.Tx) error {
						_, err := log.Append(t.Context(), tx, audit.Entry{Actor: principal.Job("test", tenant), Action: "test.concurrent",
							Target: fmt.Sprintf("w%d:%d", w, i)})
						return err
					})
				}
			}()
		}
		wg.Wait()
		close(errc)
		for err := range errc {
			if err != nil {
				t.Fatal(err)
			}
		}
		rep, err := audit.Verify(t.Context(), db, tenant, key.VerifierKey())
		if err != nil || !rep.OK() || rep.Records != 40 {
			t.Fatalf("%v %v", rep, err)
		}
	})
}

func TestAuditRolledBackChangeLeavesNoRecord(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		log, _ := newAudit(t)
		tenant := ids.NewTenant()
		boom := errors.New("the change failed")
		err := db.InTx(t.Context(), func(tx *store.Tx) error {
			if _, err := log.Append(t.Context(), tx, audit.Entry{Actor: principal.Job("t", tenant), Action: "test.fail"}); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatal(err)
		}
		seq, _, err := db.AuditHead(t.Context(), tenant)
		if err != nil || seq != 0 {
			t.Fatalf("head after rollback: %d %v", seq, err)
		}
	})
}

func TestSetupTokens(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		now := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
		if err := db.AddSetupToken(ctx, "good-token", now, now.Add(24*time.Hour)); err != nil {
			t.Fatal(err)
		}
		exp, err := db.CheckSetupToken(ctx, "good-token", now.Add(time.Hour))
		if err != nil || !exp.Equal(now.Add(24*time.Hour)) {
			t.Fatalf("valid token: %v %v", exp, err)
		}
		for name, tc := range map[string]struct {
			token string
			at    time.Time
		}{
			"unknown": {"other-token", now},
			"expired": {"good-token", now.Add(24 * time.Hour)},
		} {
			if _, err := db.CheckSetupToken(ctx, tc.token, tc.at); !errors.Is(err, store.ErrSetupToken) {
				t.Errorf("%s: %v, want ErrSetupToken", name, err)
			}
		}
		var n int
		if err := db.QueryRow(ctx, `SELECT COUNT(*) FROM setup_tokens WHERE token_hash LIKE '%good%'`).Scan(&n); err != nil || n != 0 {
			t.Fatalf("the token itself must not be stored: %d %v", n, err)
		}
	})
}

// TestEverySQLiteConnectionIsSetUp: each pooled connection (not only the
// first) keeps temporary tables in memory, so no statement spills database
// rows into a temporary file, reads the file through mmap, and has the
// durability and deletion settings.
func TestEverySQLiteConnectionIsSetUp(t *testing.T) {
	db := storetest.OpenSQLiteIn(t, t.TempDir())
	ctx := context.Background()
	// Hold several connections at once so that the pool opens new ones.
	var txs []*sql.Conn
	for range 3 {
		c, err := store.SQLDB(db).Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		txs = append(txs, c)
	}
	for i, c := range txs {
		for pragma, want := range map[string]int64{"temp_store": 2, "mmap_size": 256 << 20, "synchronous": 2, "secure_delete": 1, "foreign_keys": 1} {
			var got int64
			if err := c.QueryRowContext(ctx, "PRAGMA "+pragma).Scan(&got); err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Errorf("connection %d: PRAGMA %s = %d, want %d", i, pragma, got, want)
			}
		}
		c.Close()
	}
}
