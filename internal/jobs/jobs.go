// Package jobs runs long work in the background: deletion under retention
// policies, eDiscovery and data exports, and the like.
//
// A Job is a row in the store. Any node may run it: a Runner claims a queued
// job (or one whose runner stopped renewing its lease) and calls the
// Handler registered for its kind. The handler works in steps and, after
// each, records a Checkpoint: where it is (a cursor of its own making) and
// how far along (done of total). A job interrupted by a crash or a restart
// is claimed again once its lease lapses, and its handler starts from the
// last checkpoint, so every step must be idempotent: doing it again after a
// crash between the step and its checkpoint must be harmless.
//
// Parameters and cursors are metadata; a handler that needs content in its
// parameters (an eDiscovery query) seals them itself.
package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/kaigi/kaigi/internal/clock"
	"github.com/kaigi/kaigi/internal/errs"
	"github.com/kaigi/kaigi/internal/ids"
)

// States of a job.
const (
	Queued    = "queued"
	Running   = "running"
	Done      = "done"
	Failed    = "failed"
	Cancelled = "cancelled"
)

// Finished reports whether a job in state s will not run again.
func Finished(s string) bool { return s == Done || s == Failed || s == Cancelled }

// Job is one piece of background work.
type Job struct {
	ID        string       `json:"id"`
	Tenant    ids.TenantID `json:"-"`
	Kind      string       `json:"kind" doc:"What the job does, e.g. retention.delete, ediscovery.export."`
	State     string       `json:"state" doc:"queued, running, done, failed or cancelled."`
	Done      int64        `json:"done" doc:"Items processed so far."`
	Total     int64        `json:"total" doc:"Items to process, as far as known (0 while counting)."`
	Cursor    string       `json:"-"`
	Params    []byte       `json:"-"`
	Result    string       `json:"result,omitempty" doc:"What the job produced, e.g. the id of an export package."`
	Error     string       `json:"error,omitempty" doc:"Why the job failed, for a person."`
	Subject   string       `json:"subject,omitempty" doc:"What the job is about, e.g. case:… or user:…."`
	CreatedBy ids.UserID   `json:"created_by,omitempty"`
	Created   time.Time    `json:"created"`
	Updated   time.Time    `json:"updated"`
	Finished  time.Time    `json:"finished,omitzero"`
	Attempts  int          `json:"attempts" doc:"How many times a runner took the job up; more than one means it resumed after an interruption."`

	Owner string    `json:"-"` // the runner holding the lease
	Lease time.Time `json:"-"` // until when
}

// Store keeps jobs. Claim must be atomic across nodes: two runners never
// hold the same job's lease at once.
type Store interface {
	InsertJob(ctx context.Context, j Job) error
	Job(ctx context.Context, id string) (Job, error)
	// Jobs returns a tenant's jobs of a kind (all kinds when empty), newest first.
	Jobs(ctx context.Context, tenant ids.TenantID, kind string, limit int) ([]Job, error)
	// ClaimJob takes the oldest job of one of kinds that is queued, or
	// running with a lease that ended before now, sets its owner and lease,
	// state running and attempts+1, and returns it; found is false when there
	// is none.
	ClaimJob(ctx context.Context, kinds []string, owner string, now, lease time.Time) (j Job, found bool, err error)
	// SaveJob writes j's state, progress, cursor, result, error, lease and
	// times, but only while owner holds the lease; held is false otherwise.
	SaveJob(ctx context.Context, j Job, owner string) (held bool, err error)
	// CancelJob marks a job that has not finished as cancelled; its runner
	// notices at its next checkpoint.
	CancelJob(ctx context.Context, id string, at time.Time) (bool, error)
}

// Handler does a job's work. It resumes from run.Job().Cursor, calls
// run.Checkpoint after every step, and returns nil when the job is done.
// An error wrapped with [Retry] leaves the job queued for another attempt;
// any other error fails it, with the error's message for a person (an
// *errs.Error's message; otherwise a generic one, the detail logged).
type Handler func(ctx context.Context, run *Run) error

// ErrLeaseLost is returned by Checkpoint when another runner took the job
// or it was cancelled: the handler must stop without doing more.
var ErrLeaseLost = errors.New("jobs: the job is no longer ours")

// ErrCancelled is returned by Checkpoint when the job was cancelled.
var ErrCancelled = errs.E(errs.Conflict, "The job was cancelled.")

type retryError struct{ err error }

func (e retryError) Error() string { return e.err.Error() }
func (e retryError) Unwrap() error { return e.err }

// Retry marks err as passing: the job is queued again and resumes from its
// last checkpoint.
func Retry(err error) error { return retryError{err} }

// Run is a job being worked on by this runner.
type Run struct {
	r   *Runner
	mu  sync.Mutex
	job Job
}

// Job returns the job as of the last checkpoint.
func (run *Run) Job() Job {
	run.mu.Lock()
	defer run.mu.Unlock()
	return run.job
}

// Checkpoint records progress: the cursor to resume from and done of total
// (total 0 keeps the one known). It renews the lease. It returns
// ErrCancelled or ErrLeaseLost when the handler must stop.
func (run *Run) Checkpoint(ctx context.Context, cursor string, done, total int64) error {
	run.mu.Lock()
	j := run.job
	run.mu.Unlock()
	now := run.r.clock.Now()
	j.Cursor, j.Done = cursor, done
	if total > 0 {
		j.Total = total
	}
	j.Updated = now
	j.Lease = now.Add(run.r.lease)
	held, err := run.r.store.SaveJob(ctx, j, run.r.owner)
	if err != nil {
		return err
	}
	if !held {
		// Only now ask why: cancelled, or taken by another runner.
		if cur, err := run.r.store.Job(ctx, j.ID); err == nil && cur.State == Cancelled {
			return ErrCancelled
		}
		return ErrLeaseLost
	}
	run.mu.Lock()
	run.job = j
	run.mu.Unlock()
	return nil
}

// SetResult records what the job produced (kept when it finishes).
func (run *Run) SetResult(result string) {
	run.mu.Lock()
	run.job.Result = result
	run.mu.Unlock()
}

// Runner claims and runs jobs of the kinds registered with it.
type Runner struct {
	store    Store
	clock    clock.Clock
	log      *slog.Logger
	owner    string
	lease    time.Duration
	poll     time.Duration
	handlers map[string]Handler
	wake     chan struct{}
	sem      chan struct{}
	wg       sync.WaitGroup
}

// Options configure a Runner.
type Options struct {
	Clock clock.Clock
	Log   *slog.Logger
	// Owner names this runner in leases; default a random id.
	Owner string
	// Lease is how long a claim lasts without a checkpoint; a job whose
	// runner died is taken up again after it. Default 2 minutes.
	Lease time.Duration
	// Poll is how often the runner looks for work when not woken. Default 2s.
	Poll time.Duration
	// Workers bounds how many jobs run at once on this node. Default 2.
	Workers int
}

// NewRunner returns a runner without handlers.
func NewRunner(s Store, o Options) *Runner {
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Owner == "" {
		o.Owner = ids.New()
	}
	if o.Lease <= 0 {
		o.Lease = 2 * time.Minute
	}
	if o.Poll <= 0 {
		o.Poll = 2 * time.Second
	}
	if o.Workers <= 0 {
		o.Workers = 2
	}
	return &Runner{store: s, clock: o.Clock, log: o.Log, owner: o.Owner, lease: o.Lease, poll: o.Poll,
		handlers: map[string]Handler{}, wake: make(chan struct{}, 1), sem: make(chan struct{}, o.Workers)}
}

// Register sets the handler of a kind. Call it before Run.
func (r *Runner) Register(kind string, h Handler) { r.handlers[kind] = h }

// Kinds returns the registered kinds.
func (r *Runner) Kinds() []string {
	ks := make([]string, 0, len(r.handlers))
	for k := range r.handlers {
		ks = append(ks, k)
	}
	return ks
}

// Enqueue stores a new queued job and wakes the runner. ID, State and the
// times are filled in.
func (r *Runner) Enqueue(ctx context.Context, j Job) (Job, error) {
	if _, ok := r.handlers[j.Kind]; !ok {
		return Job{}, fmt.Errorf("jobs: no handler for kind %q", j.Kind)
	}
	now := r.clock.Now()
	if j.ID == "" {
		j.ID = ids.New()
	}
	j.State, j.Created, j.Updated = Queued, now, now
	if err := r.store.InsertJob(ctx, j); err != nil {
		return Job{}, err
	}
	r.Wake()
	return j, nil
}

// Wake makes the runner look for work now.
func (r *Runner) Wake() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Run claims and runs jobs until ctx ends, then waits for the running
// handlers to return (they see ctx end).
func (r *Runner) Run(ctx context.Context) {
	defer r.wg.Wait()
	t := time.NewTicker(r.poll)
	defer t.Stop()
	for {
		for r.RunOnce(ctx) {
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-r.wake:
		}
	}
}

// RunOnce claims one job, if a worker is free and there is one, and starts
// it in the background. It reports whether it started one.
func (r *Runner) RunOnce(ctx context.Context) bool {
	if ctx.Err() != nil || len(r.handlers) == 0 {
		return false
	}
	select {
	case r.sem <- struct{}{}:
	default:
		return false
	}
	now := r.clock.Now()
	j, found, err := r.store.ClaimJob(ctx, r.Kinds(), r.owner, now, now.Add(r.lease))
	if err != nil || !found {
		<-r.sem
		if err != nil && ctx.Err() == nil {
			r.log.Error("jobs: claim", "err", err)
		}
		return false
	}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		defer func() { <-r.sem }()
		r.run(ctx, j)
	}()
	return true
}

// Wait waits for the jobs this runner started to return.
func (r *Runner) Wait() { r.wg.Wait() }

func (r *Runner) run(ctx context.Context, j Job) {
	run := &Run{r: r, job: j}
	log := r.log.With("job", j.ID, "kind", j.Kind, "tenant", j.Tenant, "attempt", j.Attempts)
	log.Info("job started", "cursor_set", j.Cursor != "", "done", j.Done)
	err := r.call(ctx, run)
	final := run.Job()
	now := r.clock.Now()
	final.Updated = now
	var re retryError
	switch {
	case errors.Is(err, ErrLeaseLost) || errors.Is(err, ErrCancelled):
		log.Info("job stopped", "reason", err)
		return
	case ctx.Err() != nil:
		// Shutting down: leave the lease to lapse, or hand it back at once.
		final.State, final.Lease = Queued, time.Time{}
		log.Info("job interrupted; it resumes from its last checkpoint")
		_, _ = r.store.SaveJob(context.WithoutCancel(ctx), final, r.owner)
		return
	case errors.As(err, &re):
		final.State, final.Lease = Queued, time.Time{}
		log.Warn("job will be retried", "err", err)
	case err != nil:
		final.State, final.Finished = Failed, now
		final.Error = errs.MessageOf(err)
		log.Error("job failed", "err", err)
	default:
		final.State, final.Finished = Done, now
		log.Info("job done", "done", final.Done, "total", final.Total)
	}
	if _, serr := r.store.SaveJob(context.WithoutCancel(ctx), final, r.owner); serr != nil {
		log.Error("jobs: save", "err", serr)
	}
}

func (r *Runner) call(ctx context.Context, run *Run) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("jobs: handler panicked: %v", p)
		}
	}()
	return r.handlers[run.job.Kind](ctx, run)
}
