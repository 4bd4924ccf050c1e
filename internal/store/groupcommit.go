package store

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Group commit (SQLite). SQLite has one writer, and with synchronous=FULL
// every commit waits for an fsync — about a millisecond or more — so
// transactions committed one by one are bounded by the disk, not the CPU.
// Instead, transactions that wait for the writer are gathered: whoever
// takes the write gate becomes the leader and runs every waiting
// transaction in one SQLite transaction, each in a savepoint of its own (a
// failing one is rolled back alone), then commits once. Each caller's
// InTx returns only after that commit is on disk, so what it wrote is as
// durable as before; one fsync now covers the batch (and, see walsync.go,
// the fsync runs after the writer is free, shared by the batches committed
// meanwhile).

// maxBatch bounds the transactions committed together.
const maxBatch = 64

// txReq is a transaction waiting for the writer.
type txReq struct {
	ctx  context.Context
	fn   func(tx *Tx) error
	done chan error // buffered: the leader never waits for the caller
}

// batcher is the queue of transactions waiting for the writer.
type batcher struct {
	mu      sync.Mutex
	queue   []*txReq
	commits atomic.Int64 // SQLite transactions committed, for tests and metrics
	txs     atomic.Int64 // InTx calls committed in them
}

// inGroupTx is InTx on SQLite.
func (db *DB) inGroupTx(ctx context.Context, fn func(tx *Tx) error) error {
	req := &txReq{ctx: ctx, fn: fn, done: make(chan error, 1)}
	b := &db.batch
	b.mu.Lock()
	b.queue = append(b.queue, req)
	b.mu.Unlock()
	t := time.NewTimer(WriteWait)
	defer t.Stop()
	select {
	case err := <-req.done:
		return err
	case db.writes <- struct{}{}:
		// The leader: unless an earlier leader took this transaction, run
		// everything waiting, this one included.
		select {
		case err := <-req.done:
			<-db.writes
			return err
		default:
		}
		committed, n := db.runBatch(ctx)
		<-db.writes
		db.answer(committed, n)
		return <-req.done
	case <-ctx.Done():
		return b.abandon(req, fmt.Errorf("begin: %w", ctx.Err()))
	case <-t.C:
		return b.abandon(req, fmt.Errorf("begin: %w", ErrBusy))
	}
}

// abandon takes req out of the queue and returns err; when a leader has
// taken it already, it waits for the leader's answer instead.
func (b *batcher) abandon(req *txReq, err error) error {
	b.mu.Lock()
	i := slices.Index(b.queue, req)
	if i >= 0 {
		b.queue = slices.Delete(b.queue, i, i+1)
	}
	b.mu.Unlock()
	if i >= 0 {
		return err
	}
	return <-req.done
}

// runBatch commits the waiting transactions together. The caller holds
// the write gate. Those that failed hear so at once; those committed are
// returned with the commit's number (see walSyncer), to be answered (see
// answer) once the write gate is released.
func (db *DB) runBatch(ctx context.Context) (committed []*txReq, n uint64) {
	b := &db.batch
	b.mu.Lock()
	size := min(len(b.queue), maxBatch)
	reqs := slices.Clone(b.queue[:size])
	b.queue = slices.Delete(b.queue, 0, size)
	b.mu.Unlock()
	if len(reqs) == 0 {
		return
	}
	fail := func(err error, which []*txReq) {
		for _, r := range which {
			r.done <- err
		}
	}
	// The batch's own context must outlive any one caller's cancellation.
	bctx := context.WithoutCancel(ctx)
	stx, end, err := db.beginBatch(bctx)
	if err != nil {
		fail(fmt.Errorf("begin: %w", err), reqs)
		return nil, 0
	}
	defer end()
	tx := &Tx{tx: stx, dialect: db.dialect, stmts: db.stmts, detached: true}
	if len(reqs) == 1 {
		// Alone in the batch: no savepoint is needed to undo it alone.
		r := reqs[0]
		err := r.ctx.Err()
		if err != nil {
			err = fmt.Errorf("begin: %w", err)
		} else {
			err = call(r, tx)
		}
		if err != nil {
			_ = stx.Rollback()
			r.done <- err
			return
		}
		n, err = db.commitBatch(stx)
		if err != nil {
			r.done <- fmt.Errorf("commit: %w", err)
			return nil, 0
		}
		db.counted(1)
		return reqs, n
	}
	var ok []*txReq
	for _, r := range reqs {
		if err := r.ctx.Err(); err != nil {
			r.done <- fmt.Errorf("begin: %w", err)
			continue
		}
		if _, err := stx.ExecContext(bctx, "SAVEPOINT batch"); err != nil {
			_ = stx.Rollback()
			fail(fmt.Errorf("begin: %w", err), append(ok, r))
			fail(fmt.Errorf("begin: the batch failed: %w", err), reqs[slices.Index(reqs, r)+1:])
			return
		}
		if err := call(r, tx); err != nil {
			_, rerr := stx.ExecContext(bctx, "ROLLBACK TO batch")
			if rerr == nil {
				_, rerr = stx.ExecContext(bctx, "RELEASE batch")
			}
			if rerr != nil {
				_ = stx.Rollback()
				r.done <- err
				fail(fmt.Errorf("rollback: %w", rerr), ok)
				fail(fmt.Errorf("begin: the batch failed: %w", rerr), reqs[slices.Index(reqs, r)+1:])
				return
			}
			r.done <- err
			continue
		}
		if _, err := stx.ExecContext(bctx, "RELEASE batch"); err != nil {
			_ = stx.Rollback()
			fail(fmt.Errorf("commit: %w", err), append(ok, r))
			fail(fmt.Errorf("begin: the batch failed: %w", err), reqs[slices.Index(reqs, r)+1:])
			return
		}
		ok = append(ok, r)
	}
	n, err = db.commitBatch(stx)
	if err != nil {
		fail(fmt.Errorf("commit: %w", err), ok)
		return nil, 0
	}
	db.counted(len(ok))
	return ok, n
}

// counted records a commit of n transactions and tells the checkpointer.
func (db *DB) counted(n int) {
	db.batch.commits.Add(1)
	db.batch.txs.Add(int64(n))
	if db.checkpoints != nil {
		db.checkpoints.committed(db.batch.commits.Load())
	}
}

// answer tells the callers of the n-th commit, once it is on disk.
func (db *DB) answer(committed []*txReq, n uint64) {
	if len(committed) == 0 {
		return
	}
	var err error
	if db.wal != nil {
		if err = db.wal.cover(n); err != nil {
			err = fmt.Errorf("commit: %w", err)
		}
	}
	for _, r := range committed {
		r.done <- err
	}
}

// call runs one transaction's function with its own context, turning a
// panic into an error for its caller alone.
func call(r *txReq, tx *Tx) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("store: transaction panicked: %v", p)
		}
	}()
	return r.fn(tx)
}

// BatchStats says how many SQLite transactions committed how many InTx
// calls (zero on PostgreSQL).
func (db *DB) BatchStats() (commits, txs int64) {
	return db.batch.commits.Load(), db.batch.txs.Load()
}
