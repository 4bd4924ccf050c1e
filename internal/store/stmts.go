package store

import (
	"context"
	"database/sql"
	"errors"
	"sync"
	"time"
)

// maxCachedStmts bounds the statement cache. The store's queries are
// constant strings, a few hundred at most; a query built at run time (an IN
// list of n placeholders) goes around the cache, and once it is full any
// further query runs unprepared.
const maxCachedStmts = 512

// stmtCache keeps one *sql.Stmt per query text, prepared on first use.
//
// database/sql prepares a Stmt on a connection the first time it runs there
// and keeps it with that connection; Tx.StmtContext reuses the statement
// already prepared on the transaction's connection, or prepares it there and
// keeps it too. So each connection parses each query once, not on every
// call. It is kept for SQLite only: pgx already keeps a cache of prepared
// statements on each PostgreSQL connection (QueryExecModeCacheStatement), and
// a database/sql Stmt on top of it would add work, not save it.
type stmtCache struct {
	db     *sql.DB
	mu     sync.RWMutex
	m      map[string]*sql.Stmt
	closed bool
}

func newStmtCache(db *sql.DB) *stmtCache {
	return &stmtCache{db: db, m: make(map[string]*sql.Stmt)}
}

// get returns the prepared statement for query, or nil when the query should
// run unprepared: no cache, a closed or full cache, or a query that failed to
// prepare (run unprepared, it reports its own error the usual way).
func (c *stmtCache) get(ctx context.Context, query string) *sql.Stmt {
	if c == nil {
		return nil
	}
	c.mu.RLock()
	s, ok := c.m[query]
	skip := c.closed || len(c.m) >= maxCachedStmts
	c.mu.RUnlock()
	if ok || skip {
		return s
	}
	s, err := c.db.PrepareContext(ctx, query)
	if err != nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.m[query]; ok { // prepared meanwhile by another caller
		s.Close()
		return old
	}
	if c.closed || len(c.m) >= maxCachedStmts {
		s.Close()
		return nil
	}
	c.m[query] = s
	return s
}

// len returns the number of cached statements.
func (c *stmtCache) len() int {
	if c == nil {
		return 0
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.m)
}

// close closes every cached statement; later calls to get return nil.
func (c *stmtCache) close() error {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	var errs []error
	for q, s := range c.m {
		errs = append(errs, s.Close())
		delete(c.m, q)
	}
	return errors.Join(errs...)
}

// ErrBusy is returned when a write waited longer than WriteWait for the
// write before it.
var ErrBusy = errors.New("database busy: another write took too long")

// WriteWait is how long a SQLite write waits for the one before it: the same
// as the busy_timeout SQLite itself is opened with.
const WriteWait = 10 * time.Second

// writeGate lets one write at a time reach SQLite. SQLite has one writer
// anyway; without the gate, a transaction that finds the write lock taken
// sleeps in SQLite's busy handler (1, 2, 5, 10, … ms) and retries, so under
// concurrent sends most of a request's latency is sleeping after the lock was
// free. Waiting here instead hands the lock over at once, in arrival order.
// Other processes on the same file still meet SQLite's own locking.
type writeGate chan struct{}

// enter waits for the gate (nil: no gate) until ctx ends or WriteWait passes.
func (g writeGate) enter(ctx context.Context) error {
	if g == nil {
		return nil
	}
	select {
	case g <- struct{}{}:
		return nil
	default:
	}
	t := time.NewTimer(WriteWait)
	defer t.Stop()
	select {
	case g <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return ErrBusy
	}
}

// leave opens the gate for the next writer.
func (g writeGate) leave() {
	if g != nil {
		<-g
	}
}
