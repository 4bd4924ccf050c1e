package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"
	"sync/atomic"
)

// The write-ahead log's syncs (SQLite, synchronous=full).
//
// With synchronous=FULL SQLite fsyncs the WAL inside COMMIT, while the
// write lock (and the write gate) is held: the next batch cannot start
// until the disk has answered for this one. Instead, a batch commits on a
// connection switched to synchronous=NORMAL for that commit (its frames
// are written, not yet synced), the write gate is released, and then the
// WAL is fsynced before any caller of the batch is answered. A commit is
// therefore on disk before it is acknowledged, exactly as before; what
// changes is that the next batch writes while this one's sync runs, and
// that batches committed while a sync runs share the next one. (This is
// "early lock release", as database engines do with their log flush.)
//
// Why it stays safe:
//   - the WAL is a log: a commit's frames follow those of every earlier
//     commit, and recovery keeps only a valid prefix. A transaction that
//     read a not-yet-synced commit and wrote because of it commits later,
//     and its own sync (needed for its answer) covers the earlier one too.
//   - a checkpoint fsyncs the WAL before it copies frames into the
//     database file, so the database never holds what the WAL has not.
//   - every other write (DB.Exec, statements outside InTx) keeps its
//     connection's synchronous=FULL; the batch's connection is switched
//     back before it returns to the pool, or thrown away if it cannot be.
//   - a reader may see a commit a few hundred microseconds before it is on
//     disk. Where a client keeps a position from what it read (channel
//     events and messages carry the sequence numbers a client resumes
//     from), the read waits for the WAL to be synced past it (durable).

// walSyncer syncs the WAL after group commits and tells who is covered.
type walSyncer struct {
	path string // the -wal file
	// begun counts commits about to run, committed those that ran (both
	// under the write gate); a sync that starts after committed reached n
	// covers the first n.
	begun, committed atomic.Uint64
	mu               sync.Mutex
	synced           uint64 // guarded by mu: the commits known to be on disk
	syncs            atomic.Int64
	// sync is the fsync of the WAL file, replaceable in tests.
	sync func(path string) error
}

func newWALSyncer(dbPath string) *walSyncer {
	return &walSyncer{path: dbPath + "-wal", sync: syncFile}
}

// syncFile fsyncs the file at path. The file is opened afresh each time:
// SQLite deletes the WAL when its last connection closes (after
// checkpointing it into the database and syncing that), and a descriptor
// kept open would then sync a deleted file.
func syncFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil // checkpointed into the database file, which was synced
	}
	if err != nil {
		return err
	}
	err = f.Sync()
	return errors.Join(err, f.Close())
}

// cover returns once the first n commits are on disk: at once when a sync
// has covered them, otherwise after a sync of its own, which also covers
// every commit that ran before it started.
func (w *walSyncer) cover(n uint64) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.synced >= n {
		return nil
	}
	target := w.committed.Load()
	if err := w.sync(w.path); err != nil {
		return fmt.Errorf("sync the write-ahead log: %w", err)
	}
	w.syncs.Add(1)
	w.synced = max(w.synced, target)
	return nil
}

// durable returns once everything a read that has just finished could have
// seen is on disk. A commit is visible only after its frames are written,
// so a sync that starts now covers even the one that may be running.
func (w *walSyncer) durable() error {
	if w == nil {
		return nil
	}
	return w.cover(w.begun.Load())
}

// durable waits, on SQLite, until what a read that has just finished may
// have seen is on disk (see walSyncer). Elsewhere it returns at once.
func (db *DB) durable() error { return db.wal.durable() }

// beginBatch begins the batch's transaction. With a WAL syncer it runs on a
// connection of its own switched to synchronous=NORMAL, and end switches
// it back (or discards it) and returns it to the pool.
func (db *DB) beginBatch(ctx context.Context) (stx *sql.Tx, end func(), err error) {
	if db.wal == nil {
		stx, err = db.sql.BeginTx(ctx, nil)
		return stx, func() {}, err
	}
	conn, err := db.sql.Conn(ctx)
	if err != nil {
		return nil, nil, err
	}
	end = func() {
		if _, err := conn.ExecContext(ctx, "PRAGMA synchronous=FULL"); err != nil {
			// Never hand a connection that skips syncs to other writers.
			_ = conn.Raw(func(any) error { return driver.ErrBadConn })
		}
		_ = conn.Close()
	}
	if _, err := conn.ExecContext(ctx, "PRAGMA synchronous=NORMAL"); err != nil {
		end()
		return nil, nil, err
	}
	if stx, err = conn.BeginTx(ctx, nil); err != nil {
		end()
		return nil, nil, err
	}
	return stx, end, nil
}

// commitBatch commits stx and returns its number for the WAL syncer (0
// without one). A failed commit is counted too: it has nothing to sync.
func (db *DB) commitBatch(stx *sql.Tx) (uint64, error) {
	if db.wal == nil {
		return 0, stx.Commit()
	}
	db.wal.begun.Add(1)
	err := stx.Commit()
	return db.wal.committed.Add(1), err
}

// checkpointEvery is how many group commits pass between two checkpoints
// of the WAL by the checkpointer (about 450 pages at chat's ~22 per send).
// SQLite's own automatic checkpoint (sqliteAutoCheckpoint pages) stays as
// the backstop.
const (
	checkpointEvery      = 20
	sqliteAutoCheckpoint = 4000
)

// checkpointer copies the WAL into the database file on a goroutine of its
// own, so that no commit (and no caller waiting for one) runs a checkpoint,
// as SQLite's automatic checkpoint does in the commit that crosses it.
//
// It checkpoints twice. The first copies what is there while writers go
// on; but SQLite starts the WAL over (instead of growing it) only when a
// writer begins after everything was copied, which under steady writes the
// first never achieves. So the second runs holding the write gate, and
// copies the few commits that came meanwhile: the next writer restarts the
// log, and the log stays around checkpointEvery commits long.
type checkpointer struct {
	db    *sql.DB
	gate  writeGate
	kick  chan struct{}
	stop  chan struct{}
	done  chan struct{}
	runs  atomic.Int64
	fails atomic.Int64
	once  sync.Once
}

func startCheckpointer(db *sql.DB, gate writeGate) *checkpointer {
	c := &checkpointer{db: db, gate: gate, kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	go c.loop()
	return c
}

// committed is told of each group commit; every checkpointEvery it wakes
// the checkpointer (a wake-up already pending stands for this one).
func (c *checkpointer) committed(commits int64) {
	if commits%checkpointEvery != 0 {
		return
	}
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

func (c *checkpointer) loop() {
	defer close(c.done)
	for {
		select {
		case <-c.stop:
			return
		case <-c.kick:
		}
		err := c.checkpoint()
		if err == nil && c.gate.enter(context.Background()) == nil {
			err = c.checkpoint()
			c.gate.leave()
		}
		if err != nil {
			c.fails.Add(1)
			continue
		}
		c.runs.Add(1)
	}
}

// checkpoint runs a PASSIVE checkpoint: it copies what no reader still
// needs and never waits for a reader. Another checkpoint running (e.g.
// retention's TRUNCATE) is not a failure: the next one catches up.
func (c *checkpointer) checkpoint() error {
	var busy, logPages, done int
	return c.db.QueryRowContext(context.Background(), "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &logPages, &done)
}

// close stops the checkpointer and waits for a checkpoint that runs.
func (c *checkpointer) close() {
	if c == nil {
		return
	}
	c.once.Do(func() { close(c.stop) })
	<-c.done
}
