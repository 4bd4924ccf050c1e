package store

import (
	"context"
	"database/sql"
)

// Rebind is exported for tests.
var Rebind = rebind

// CachedStatements returns how many prepared statements db keeps.
func CachedStatements(db *DB) int { return db.stmts.len() }

// SQLDB returns db's connection pool.
func SQLDB(db *DB) *sql.DB { return db.sql }

// SetWALSync replaces db's fsync of its write-ahead log (SQLite with
// synchronous=full) and reports whether db syncs it itself.
func SetWALSync(db *DB, sync func(path string) error) bool {
	if db.wal == nil {
		return false
	}
	db.wal.sync = sync
	return true
}

// WALCounts returns the group commits counted by db's WAL syncer and the
// syncs it ran.
func WALCounts(db *DB) (commits uint64, syncs int64) {
	return db.wal.committed.Load(), db.wal.syncs.Load()
}

// Checkpoints returns the checkpointer's checkpoints and failures.
func Checkpoints(db *DB) (runs, fails int64) {
	return db.checkpoints.runs.Load(), db.checkpoints.fails.Load()
}

// SynchronousLevels returns PRAGMA synchronous of every idle connection in
// db's pool (it takes as many connections at once as the pool keeps idle).
func SynchronousLevels(ctx context.Context, db *DB) ([]int, error) {
	var levels []int
	var conns []*sql.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range sqliteIdleConns {
		c, err := db.sql.Conn(ctx)
		if err != nil {
			return nil, err
		}
		conns = append(conns, c)
		var level int
		if err := c.QueryRowContext(ctx, `PRAGMA synchronous`).Scan(&level); err != nil {
			return nil, err
		}
		levels = append(levels, level)
	}
	return levels, nil
}
