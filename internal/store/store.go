// Package store is Kaigi's relational store: one SQL schema, two engines.
//
// SQLite (pure Go, WAL, foreign keys on) is the embedded default and keeps
// everything in one file under the data directory; PostgreSQL is selected by
// a postgres:// URL. Both are reached through database/sql with the same
// queries: statements are written with '?' placeholders and rebound for
// PostgreSQL. Migrations are embedded and versioned, one directory per
// engine with the same version numbers, and a database whose schema is newer
// than this binary is refused, never downgraded.
//
// Domain packages declare the small interfaces they need (an audit appender,
// a data-key store, …); this package implements them on *Tx and *DB, one file
// per domain. Content columns only ever hold ciphertext sealed by package keys.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/kaigi/kaigi/internal/errs"
)

// Dialect is the SQL engine behind a DB.
type Dialect string

// The engines.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// SQLiteFile is the name of the database file in the data directory.
const SQLiteFile = "kaigi.db"

// sqliteMmapBytes is how much of the SQLite file is read through mmap.
const sqliteMmapBytes = 256 << 20

// sqliteIdleConns is how many idle SQLite connections are kept open.
const sqliteIdleConns = 8

// Errors that Open and Migrate return.
var (
	ErrUnreachable   = errors.New("database unreachable")
	ErrSchemaTooNew  = errors.New("database schema is newer than this kaigi")
	ErrBadURL        = errors.New("bad database URL")
	ErrNotFound      = errs.E(errs.NotFound, "Not found.")
	ErrAlreadyExists = errs.E(errs.Conflict, "It already exists.")
)

// DB is an open database.
type DB struct {
	sql     *sql.DB
	dialect Dialect
	where   string // the file or the host, for messages; never credentials
	// stmts keeps prepared statements (SQLite); nil on PostgreSQL, where
	// pgx keeps them per connection itself.
	stmts *stmtCache
	// writes lets one write at a time reach SQLite; nil on PostgreSQL.
	writes writeGate
	// batch gathers the transactions waiting for SQLite's writer (group commit).
	batch batcher
	// wal syncs SQLite's write-ahead log after group commits when
	// synchronous is full (see walsync.go); nil otherwise.
	wal *walSyncer
	// checkpoints copies SQLite's WAL into the database file away from
	// the commits; nil on PostgreSQL.
	checkpoints *checkpointer
}

// Config says which database to open.
type Config struct {
	// URL selects PostgreSQL when it starts with postgres:// or postgresql://.
	// Empty (the default) means SQLite in DataDir.
	URL string
	// DataDir holds the SQLite file. Default "./kaigi-data".
	DataDir string
	// ConnectTimeout bounds the first connection. Default 10s.
	ConnectTimeout time.Duration
	// SQLiteSynchronous is SQLite's synchronous setting: "full" (the
	// default: a commit waits for the disk, so it survives a power loss) or
	// "normal" (in WAL mode a commit survives the process being killed, but
	// a power loss may undo the last ones; commits no longer wait for fsync).
	SQLiteSynchronous string
}

// Open opens and pings the database. It does not migrate.
func Open(ctx context.Context, cfg Config) (*DB, error) {
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = 10 * time.Second
	}
	var db *DB
	switch {
	case cfg.URL == "" || strings.HasPrefix(cfg.URL, "sqlite:"):
		path := strings.TrimPrefix(cfg.URL, "sqlite:")
		if path == "" {
			dir := cfg.DataDir
			if dir == "" {
				dir = "kaigi-data"
			}
			path = filepath.Join(dir, SQLiteFile)
		}
		var err error
		if db, err = openSQLite(path, cfg.SQLiteSynchronous); err != nil {
			return nil, err
		}
	case strings.HasPrefix(cfg.URL, "postgres://"), strings.HasPrefix(cfg.URL, "postgresql://"):
		u, err := url.Parse(cfg.URL)
		if err != nil {
			return nil, fmt.Errorf("%w: it does not parse as a URL (postgres://user@host:5432/dbname)", ErrBadURL)
		}
		sdb, err := sql.Open("pgx", cfg.URL)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrBadURL, redact(err, cfg.URL))
		}
		sdb.SetMaxOpenConns(20)
		sdb.SetMaxIdleConns(10)
		sdb.SetConnMaxIdleTime(5 * time.Minute)
		db = &DB{sql: sdb, dialect: Postgres, where: "PostgreSQL at " + u.Host + u.Path}
	default:
		return nil, fmt.Errorf("%w: use postgres://… for PostgreSQL, or leave it empty for SQLite in the data directory", ErrBadURL)
	}
	pctx, cancel := context.WithTimeout(ctx, cfg.ConnectTimeout)
	defer cancel()
	if err := db.sql.PingContext(pctx); err != nil {
		db.sql.Close()
		return nil, fmt.Errorf("%w: cannot reach %s: %v", ErrUnreachable, db.where, redact(err, cfg.URL))
	}
	return db, nil
}

func openSQLite(path, synchronous string) (*DB, error) {
	switch synchronous {
	case "", "full":
		synchronous = "FULL"
	case "normal":
		synchronous = "NORMAL"
	default:
		return nil, fmt.Errorf("%w: SQLite's synchronous setting is full or normal, not %q", ErrBadURL, synchronous)
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("%w: cannot create the data directory %s: %v", ErrUnreachable, dir, err)
	}
	// Create the file ourselves so that it (and the -wal and -shm files SQLite
	// derives from it) is readable by the owner only.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("%w: cannot open %s: %v", ErrUnreachable, path, err)
	}
	f.Close()
	q := url.Values{}
	// temp_store(MEMORY): statements that need a temporary table (RETURNING,
	// some sorts) keep it in memory instead of creating a file per
	// transaction, so nothing of the database is spilled outside its own
	// files. mmap_size: reads of the database file come from a shared
	// mapping instead of a read(2) and a copy per page, which a connection
	// otherwise repeats after every commit of another one (its page cache
	// is dropped then); writes still go through the WAL.
	// wal_autocheckpoint: the checkpointer (see walsync.go) copies the WAL
	// into the database every few commits; SQLite's own checkpoint, run
	// inside the commit that crosses the limit, is the backstop.
	pragmas := []string{"foreign_keys(1)", "journal_mode(WAL)", "busy_timeout(10000)", "synchronous(" + synchronous + ")", "secure_delete(ON)",
		"temp_store(MEMORY)", fmt.Sprintf("mmap_size(%d)", sqliteMmapBytes), fmt.Sprintf("wal_autocheckpoint(%d)", sqliteAutoCheckpoint)}
	for _, p := range pragmas {
		q.Add("_pragma", p)
	}
	q.Set("_txlock", "immediate")
	sdb, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrUnreachable, path, err)
	}
	// Keep connections (and the statements prepared on them) instead of
	// closing all but two after a burst: opening one runs eight pragmas.
	sdb.SetMaxIdleConns(sqliteIdleConns)
	db := &DB{sql: sdb, dialect: SQLite, where: "SQLite file " + path, stmts: newStmtCache(sdb), writes: make(writeGate, 1)}
	db.checkpoints = startCheckpointer(sdb, db.writes)
	if synchronous == "FULL" {
		db.wal = newWALSyncer(path)
	}
	return db, nil
}

// redact removes the URL (which may carry a password) from an error message.
func redact(err error, rawURL string) string {
	msg := err.Error()
	if rawURL != "" {
		msg = strings.ReplaceAll(msg, rawURL, "<database URL>")
	}
	if u, perr := url.Parse(rawURL); perr == nil && u.User != nil {
		if pw, ok := u.User.Password(); ok && pw != "" {
			msg = strings.ReplaceAll(msg, pw, "<password>")
		}
	}
	return msg
}

// Dialect returns the engine.
func (db *DB) Dialect() Dialect { return db.dialect }

// String names the database for messages, without credentials.
func (db *DB) String() string { return db.where }

// Close closes the prepared statements and the database.
func (db *DB) Close() error {
	db.checkpoints.close()
	return errors.Join(db.stmts.close(), db.sql.Close())
}

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error { return db.sql.PingContext(ctx) }

// Tx is a transaction. Its methods take '?' placeholders.
type Tx struct {
	tx      *sql.Tx
	dialect Dialect
	stmts   *stmtCache
	// detached: the statements run without their caller's cancellation,
	// as in a SQLite batch (see runBatch), which has checked each caller's
	// context before running its function and must not be cut short by
	// one of them. It also spares the driver a goroutine per statement
	// that waits for the context to end.
	detached bool
}

// ctx is the context a statement of tx runs with.
func (tx *Tx) ctx(ctx context.Context) context.Context {
	if tx.detached {
		return context.WithoutCancel(ctx)
	}
	return ctx
}

// InTx runs fn in a transaction and commits it if fn returns nil. On SQLite
// the transaction takes the write lock at its start, so two writers never
// deadlock, and transactions of this DB wait their turn (see writeGate),
// for at most WriteWait; those that wait are committed together, each in a
// savepoint of its own (see groupcommit.go); on PostgreSQL it runs at READ COMMITTED
// and rows are locked explicitly where order matters. fn must not start
// another transaction nor write through db: on SQLite that waits for fn.
func (db *DB) InTx(ctx context.Context, fn func(tx *Tx) error) error {
	if db.writes != nil {
		return db.inGroupTx(ctx, fn)
	}
	if err := db.writes.enter(ctx); err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer db.writes.leave()
	stx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	tx := &Tx{tx: stx, dialect: db.dialect, stmts: db.stmts}
	if err := fn(tx); err != nil {
		_ = stx.Rollback()
		return err
	}
	if err := stx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// Exec runs a statement.
func (tx *Tx) Exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	ctx = tx.ctx(ctx)
	query = rebind(tx.dialect, query)
	if s := tx.stmt(ctx, query); s != nil {
		return s.ExecContext(ctx, args...)
	}
	return tx.tx.ExecContext(ctx, query, args...)
}

// Query runs a query.
func (tx *Tx) Query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	ctx = tx.ctx(ctx)
	query = rebind(tx.dialect, query)
	if s := tx.stmt(ctx, query); s != nil {
		return s.QueryContext(ctx, args...)
	}
	return tx.tx.QueryContext(ctx, query, args...)
}

// QueryRow runs a query that returns at most one row.
func (tx *Tx) QueryRow(ctx context.Context, query string, args ...any) *sql.Row {
	ctx = tx.ctx(ctx)
	query = rebind(tx.dialect, query)
	if s := tx.stmt(ctx, query); s != nil {
		return s.QueryRowContext(ctx, args...)
	}
	return tx.tx.QueryRowContext(ctx, query, args...)
}

// stmt returns the cached statement for query bound to the transaction, or
// nil to run it unprepared. The returned Stmt is closed with the transaction;
// the statement prepared on the connection stays for the next one.
func (tx *Tx) stmt(ctx context.Context, query string) *sql.Stmt {
	s := tx.stmts.get(ctx, query)
	if s == nil {
		return nil
	}
	return tx.tx.StmtContext(ctx, s)
}

// execOnce runs a statement or a script that is not worth keeping prepared
// (a migration, a query built at run time).
func (tx *Tx) execOnce(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return tx.tx.ExecContext(tx.ctx(ctx), rebind(tx.dialect, query), args...)
}

// queryOnce runs a query built at run time, unprepared.
func (tx *Tx) queryOnce(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return tx.tx.QueryContext(tx.ctx(ctx), rebind(tx.dialect, query), args...)
}

// Dialect returns the engine.
func (tx *Tx) Dialect() Dialect { return tx.dialect }

// Query runs a read outside a transaction.
func (db *DB) Query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	query = rebind(db.dialect, query)
	if s := db.stmts.get(ctx, query); s != nil {
		return s.QueryContext(ctx, args...)
	}
	return db.sql.QueryContext(ctx, query, args...)
}

// queryOnce runs a read built at run time, unprepared.
func (db *DB) queryOnce(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return db.sql.QueryContext(ctx, rebind(db.dialect, query), args...)
}

// QueryRow runs a single-row read outside a transaction.
func (db *DB) QueryRow(ctx context.Context, query string, args ...any) *sql.Row {
	query = rebind(db.dialect, query)
	if s := db.stmts.get(ctx, query); s != nil {
		return s.QueryRowContext(ctx, args...)
	}
	return db.sql.QueryRowContext(ctx, query, args...)
}

// lookup runs a read of one row by its key, outside a transaction and
// without the caller's cancellation: it takes microseconds, and watching
// the context would cost the driver more (a goroutine per statement, and
// one per result). For the lookups every request makes (its session, the
// channel it names, the account's role in a team).
func (db *DB) lookup(ctx context.Context, query string, args ...any) *sql.Row {
	return db.QueryRow(context.WithoutCancel(ctx), query, args...)
}

// Exec runs a statement outside a transaction. On SQLite it waits for a
// running write transaction, so it must not be called inside one.
func (db *DB) Exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if err := db.writes.enter(ctx); err != nil {
		return nil, err
	}
	defer db.writes.leave()
	query = rebind(db.dialect, query)
	if s := db.stmts.get(ctx, query); s != nil {
		return s.ExecContext(ctx, args...)
	}
	return db.sql.ExecContext(ctx, query, args...)
}

// rebind turns '?' placeholders into $1, $2, … for PostgreSQL. Question marks
// inside quoted strings and identifiers are left alone.
func rebind(d Dialect, query string) string {
	if d != Postgres || !strings.Contains(query, "?") {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 8)
	n := 0
	var quote byte
	for i := 0; i < len(query); i++ {
		c := query[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '?':
			n++
			fmt.Fprintf(&b, "$%d", n)
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// IsUniqueViolation reports whether err is a unique or primary key conflict.
func IsUniqueViolation(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "23505"
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		c := se.Code()
		return c == sqlite3.SQLITE_CONSTRAINT_UNIQUE || c == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return false
}
