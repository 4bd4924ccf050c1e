package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/kaigi/kaigi/internal/errs"
	"github.com/kaigi/kaigi/internal/identity"
	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/principal"
	"github.com/kaigi/kaigi/internal/store"
	"github.com/kaigi/kaigi/internal/store/storetest"
)

// wantCached is how many statements db should keep after n distinct queries:
// all of them on SQLite, none on PostgreSQL (pgx keeps its own).
func wantCached(db *store.DB, n int) int {
	if db.Dialect() == store.SQLite {
		return n
	}
	return 0
}

// TestStatementCacheInAndOutOfTransactions runs the same statements through
// the DB and through transactions, committed and rolled back, and checks
// their results and that each query text is prepared once.
func TestStatementCacheInAndOutOfTransactions(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		tenant := ids.NewTenant()
		before := store.CachedStatements(db)
		const put = `INSERT INTO sealed_records (tenant_id, kind, id, body, updated_at) VALUES (?, 'test', ?, ?, 0)`
		const get = `SELECT body FROM sealed_records WHERE tenant_id = ? AND kind = 'test' AND id = ?`
		const count = `SELECT COUNT(*) FROM sealed_records WHERE tenant_id = ?`
		read := func(t *testing.T, id string) string {
			t.Helper()
			var body []byte
			if err := db.QueryRow(ctx, get, string(tenant), id).Scan(&body); err != nil {
				t.Fatalf("read %s: %v", id, err)
			}
			return string(body)
		}
		for i := range 3 {
			id := fmt.Sprint("out-", i)
			if _, err := db.Exec(ctx, put, string(tenant), id, []byte(id)); err != nil {
				t.Fatal(err)
			}
			if got := read(t, id); got != id {
				t.Fatalf("outside a transaction: got %q, want %q", got, id)
			}
		}
		for i := range 3 {
			id := fmt.Sprint("in-", i)
			err := db.InTx(ctx, func(tx *store.Tx) error {
				if _, err := tx.Exec(ctx, put, string(tenant), id, []byte(id)); err != nil {
					return err
				}
				var body []byte
				if err := tx.QueryRow(ctx, get, string(tenant), id).Scan(&body); err != nil || string(body) != id {
					return fmt.Errorf("the transaction must see its own write: %q %v", body, err)
				}
				rows, err := tx.Query(ctx, count, string(tenant))
				if err != nil {
					return err
				}
				defer rows.Close()
				var n int
				for rows.Next() {
					if err := rows.Scan(&n); err != nil {
						return err
					}
				}
				if n != 3+i+1 {
					return fmt.Errorf("count in transaction: %d, want %d", n, 3+i+1)
				}
				return rows.Err()
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		rollback := errors.New("roll back")
		err := db.InTx(ctx, func(tx *store.Tx) error {
			if _, err := tx.Exec(ctx, put, string(tenant), "gone", []byte("gone")); err != nil {
				return err
			}
			return rollback
		})
		if !errors.Is(err, rollback) {
			t.Fatalf("rollback: %v", err)
		}
		var n int
		if err := db.QueryRow(ctx, count, string(tenant)).Scan(&n); err != nil || n != 6 {
			t.Fatalf("after the rollback: %d rows, %v; want 6", n, err)
		}
		if got, want := store.CachedStatements(db)-before, wantCached(db, 3); got != want {
			t.Fatalf("%d statements kept for 3 query texts, want %d", got, want)
		}
	})
}

// TestStatementCacheBadQuery checks that a query that does not prepare
// reports its error as usual and is not kept.
func TestStatementCacheBadQuery(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		before := store.CachedStatements(db)
		if _, err := db.Exec(ctx, `INSERT INTO no_such_table (x) VALUES (?)`, 1); err == nil {
			t.Fatal("an insert into a missing table succeeded")
		}
		var x int
		if err := db.QueryRow(ctx, `SELECT x FROM no_such_table WHERE x = ?`, 1).Scan(&x); err == nil {
			t.Fatal("a select from a missing table succeeded")
		}
		err := db.InTx(ctx, func(tx *store.Tx) error {
			_, err := tx.Exec(ctx, `UPDATE no_such_table SET x = ?`, 1)
			return err
		})
		if err == nil {
			t.Fatal("an update of a missing table succeeded")
		}
		if got := store.CachedStatements(db); got != before {
			t.Fatalf("failed queries were kept: %d statements, had %d", got, before)
		}
	})
}

// TestCloseClosesStatements checks that closing the store drops its
// statements and that later calls fail instead of using them.
func TestCloseClosesStatements(t *testing.T) {
	storetest.Each(t, func(t *testing.T, _ *store.DB) {
		var db *store.DB
		if t.Name() == "TestCloseClosesStatements/sqlite" {
			db = openSQLite(t)
		} else {
			var err error
			if db, err = store.Open(t.Context(), store.Config{URL: storetest.PostgresSchemaURL(t)}); err != nil {
				t.Fatal(err)
			}
			if _, err := db.Migrate(t.Context()); err != nil {
				t.Fatal(err)
			}
		}
		var n int
		if err := db.QueryRow(t.Context(), `SELECT COUNT(*) FROM audit_heads WHERE tenant_id = ?`, "x").Scan(&n); err != nil {
			t.Fatal(err)
		}
		if got, want := store.CachedStatements(db), wantCached(db, 1); got < want {
			t.Fatalf("%d statements kept, want at least %d", got, want)
		}
		if err := db.Close(); err != nil {
			t.Fatalf("close: %v", err)
		}
		if got := store.CachedStatements(db); got != 0 {
			t.Fatalf("%d statements kept after close", got)
		}
		if err := db.QueryRow(t.Context(), `SELECT COUNT(*) FROM audit_heads WHERE tenant_id = ?`, "x").Scan(&n); err == nil {
			t.Fatal("a query on a closed store succeeded")
		}
		if err := db.InTx(t.Context(), func(*store.Tx) error { return nil }); err == nil {
			t.Fatal("a transaction on a closed store began")
		}
	})
}

func openSQLite(t *testing.T) *store.DB {
	t.Helper()
	db, err := store.Open(t.Context(), store.Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	return db
}

// TestStatementCacheConcurrentUse has readers and writers share the cached
// statements (run it with -race): every write lands, and reads in and out of
// transactions agree.
func TestStatementCacheConcurrentUse(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		tenant := ids.NewTenant()
		const put = `INSERT INTO sealed_records (tenant_id, kind, id, body, updated_at) VALUES (?, 'test', ?, ?, 0)`
		const count = `SELECT COUNT(*) FROM sealed_records WHERE tenant_id = ?`
		const workers, each = 8, 10
		var wg sync.WaitGroup
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range each {
					err := db.InTx(ctx, func(tx *store.Tx) error {
						var before, after int
						if err := tx.QueryRow(ctx, count, string(tenant)).Scan(&before); err != nil {
							return err
						}
						if _, err := tx.Exec(ctx, put, string(tenant), fmt.Sprint(w, "-", i), []byte("x")); err != nil {
							return err
						}
						if err := tx.QueryRow(ctx, count, string(tenant)).Scan(&after); err != nil {
							return err
						}
						// SQLite serializes the transactions; PostgreSQL at READ
						// COMMITTED also sees others' commits.
						if after != before+1 && (db.Dialect() == store.SQLite || after < before+1) {
							return fmt.Errorf("count went from %d to %d", before, after)
						}
						return nil
					})
					if err != nil {
						t.Error(err)
						return
					}
					var n int
					if err := db.QueryRow(ctx, count, string(tenant)).Scan(&n); err != nil {
						t.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
		var n int
		if err := db.QueryRow(ctx, count, string(tenant)).Scan(&n); err != nil || n != workers*each {
			t.Fatalf("%d rows, %v; want %d", n, err, workers*each)
		}
	})
}

// TestNestedWriteOnSQLiteFailsInsteadOfHanging checks the SQLite write gate:
// a write started inside a running transaction (a bug) waits only as long as
// its context allows, as it would have on SQLite's own lock.
func TestNestedWriteOnSQLiteFailsInsteadOfHanging(t *testing.T) {
	db := storetest.OpenSQLite(t)
	err := db.InTx(t.Context(), func(*store.Tx) error {
		ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
		defer cancel()
		if _, err := db.Exec(ctx, `DELETE FROM sealed_records WHERE tenant_id = ?`, "x"); !errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("nested Exec: %v, want the context's deadline", err)
		}
		if err := db.InTx(ctx, func(*store.Tx) error { return nil }); !errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("nested InTx: %v, want the context's deadline", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(t.Context(), `DELETE FROM sealed_records WHERE tenant_id = ?`, "x"); err != nil {
		t.Fatalf("a write after the transaction: %v", err)
	}
}

// TestSessionWithAccount checks the one-read session lookup against the two
// reads it replaces.
func TestSessionWithAccount(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		is := store.Identity(db)
		now := time.Unix(1_790_000_000, 0)
		acct := identity.Account{ID: ids.NewUser(), Realm: identity.TenantRealm, Tenant: ids.NewTenant(), Email: "s@x.example",
			DisplayName: "S", Kind: principal.Guest, Roles: []principal.Role{principal.TenantAdmin}, State: identity.AccountActive,
			PasswordHash: "hash", Created: now, Updated: now, Sponsor: ids.NewUser(), Expires: now.Add(time.Hour)}
		sess := identity.Session{ID: ids.New(), TokenHash: "th-" + ids.New(), Account: acct.ID, Tenant: acct.Tenant, State: identity.SessionActive,
			Methods: []string{"password"}, Created: now, LastSeen: now, IdleTimeout: time.Hour, Expires: now.Add(2 * time.Hour), Source: "192.0.2.1", UserAgent: "ua"}
		err := is.Update(ctx, func(tx identity.Tx) error {
			if err := tx.InsertAccount(ctx, acct); err != nil {
				return err
			}
			return tx.InsertSession(ctx, sess)
		})
		if err != nil {
			t.Fatal(err)
		}
		gotS, gotA, err := db.SessionWithAccount(ctx, sess.TokenHash)
		if err != nil {
			t.Fatal(err)
		}
		wantS, err := db.SessionByTokenHash(ctx, sess.TokenHash)
		if err != nil {
			t.Fatal(err)
		}
		wantA, err := db.AccountByID(ctx, acct.ID)
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprintf("%+v", gotS) != fmt.Sprintf("%+v", wantS) {
			t.Errorf("session:\n got %+v\nwant %+v", gotS, wantS)
		}
		if fmt.Sprintf("%+v", gotA) != fmt.Sprintf("%+v", wantA) {
			t.Errorf("account:\n got %+v\nwant %+v", gotA, wantA)
		}
		if _, _, err := db.SessionWithAccount(ctx, "no such hash"); !errs.Is(err, errs.NotFound) {
			t.Fatalf("unknown token: %v, want not found", err)
		}
	})
}
