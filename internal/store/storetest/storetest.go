// Package storetest runs tests against every database engine Kaigi supports.
//
// SQLite always runs, in a fresh file under t.TempDir(). PostgreSQL runs when
// KAIGI_TEST_POSTGRES_URL is set (CI sets it); each test then gets a schema of
// its own, dropped afterwards, so tests never see each other's rows. Without
// the URL the PostgreSQL run is skipped with a loud message, except in CI
// (CI=true), where a missing URL fails the test: CI must never go green
// without having exercised PostgreSQL.
package storetest

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/store"
)

// PostgresEnv names the environment variable with the PostgreSQL test URL.
const PostgresEnv = "KAIGI_TEST_POSTGRES_URL"

// Engine opens fresh, migrated databases of one kind.
type Engine struct {
	Name string
	Open func(t testing.TB) *store.DB
}

// Engines returns SQLite and, when configured, PostgreSQL.
func Engines(t *testing.T) []Engine {
	t.Helper()
	return []Engine{{Name: "sqlite", Open: OpenSQLite}, {Name: "postgres", Open: OpenPostgres}}
}

// Each runs fn once per engine as a subtest with a fresh, migrated database.
func Each(t *testing.T, fn func(t *testing.T, db *store.DB)) {
	t.Helper()
	for _, e := range Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			fn(t, e.Open(t))
		})
	}
}

// OpenSQLite returns a fresh, migrated SQLite database in t.TempDir().
func OpenSQLite(t testing.TB) *store.DB {
	t.Helper()
	return OpenSQLiteIn(t, t.TempDir())
}

// OpenSQLiteIn returns a migrated SQLite database in dir (the data directory).
func OpenSQLiteIn(t testing.TB, dir string) *store.DB {
	t.Helper()
	db, err := store.Open(t.Context(), store.Config{DataDir: dir})
	if err != nil {
		t.Fatalf("open sqlite: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(t.Context()); err != nil {
		t.Fatalf("migrate sqlite: %v", err)
	}
	return db
}

// PostgresURL returns the PostgreSQL test URL, skipping (or failing in CI)
// when it is not set.
func PostgresURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv(PostgresEnv)
	if u == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not set: CI must run the PostgreSQL tests", PostgresEnv)
		}
		t.Skipf("SKIPPING POSTGRESQL TESTS: set %s=postgres://postgres@127.0.0.1:5432/test?sslmode=disable to run them", PostgresEnv)
	}
	return u
}

// PostgresSchemaURL creates an empty schema for this test, dropped at its
// end, and returns a URL whose connections use it.
func PostgresSchemaURL(t testing.TB) string {
	t.Helper()
	base := PostgresURL(t)
	schema := "t_" + strings.ReplaceAll(ids.New(), "-", "")
	admin, err := store.Open(t.Context(), store.Config{URL: base})
	if err != nil {
		t.Fatalf("open postgres (%s): %v", PostgresEnv, err)
	}
	if _, err := admin.Exec(t.Context(), "CREATE SCHEMA "+schema); err != nil {
		admin.Close()
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		// The test's context is gone by now; the drop must still happen.
		if _, err := admin.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
		admin.Close()
	})
	u, err := withSearchPath(base, schema)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// OpenPostgres returns a migrated PostgreSQL database in a schema of its own.
func OpenPostgres(t testing.TB) *store.DB {
	t.Helper()
	db, err := store.Open(t.Context(), store.Config{URL: PostgresSchemaURL(t)})
	if err != nil {
		t.Fatalf("open postgres schema: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(t.Context()); err != nil {
		t.Fatalf("migrate postgres: %v", err)
	}
	return db
}

func withSearchPath(raw, schema string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("parse %s: %w", PostgresEnv, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), nil
}
