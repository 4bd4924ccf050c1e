package store_test

import (
	"context"
	"errors"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kaigi/kaigi/internal/clock"
	"github.com/kaigi/kaigi/internal/errs"
	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/jobs"
	"github.com/kaigi/kaigi/internal/store"
	"github.com/kaigi/kaigi/internal/store/storetest"
)

// waitJob waits until the job is in one of states.
func waitJob(t *testing.T, js jobs.Store, id string, states ...string) jobs.Job {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		j, err := js.Job(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range states {
			if j.State == s {
				return j
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %s is %s, want one of %v", id, j.State, states)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestJobResumesFromItsCheckpoint interrupts a job part way (the node shuts
// down) and shows that the next runner resumes from the last checkpoint,
// doing no step twice, and that the job then records its two attempts.
func TestJobResumesFromItsCheckpoint(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		js := store.Jobs(db)
		clk := clock.NewFake(time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC))
		var steps [10]atomic.Int32
		stop := make(chan struct{})
		handler := func(interruptAt int) jobs.Handler {
			return func(ctx context.Context, run *jobs.Run) error {
				from := 0
				if c := run.Job().Cursor; c != "" {
					from, _ = strconv.Atoi(c)
				}
				for i := from; i < 10; i++ {
					if i == interruptAt {
						close(stop)
						<-ctx.Done()
						return ctx.Err()
					}
					steps[i].Add(1)
					if err := run.Checkpoint(ctx, strconv.Itoa(i+1), int64(i+1), 10); err != nil {
						return err
					}
				}
				run.SetResult("package:1")
				return nil
			}
		}
		ctx1, cancel1 := context.WithCancel(t.Context())
		r1 := jobs.NewRunner(js, jobs.Options{Clock: clk, Owner: "node-1"})
		r1.Register("test.count", handler(4))
		j, err := r1.Enqueue(t.Context(), jobs.Job{Tenant: ids.NewTenant(), Kind: "test.count", CreatedBy: "ada"})
		if err != nil {
			t.Fatal(err)
		}
		if !r1.RunOnce(ctx1) {
			t.Fatal("the runner did not take the queued job")
		}
		<-stop
		cancel1()
		r1.Wait()
		got := waitJob(t, js, j.ID, jobs.Queued)
		if got.Cursor != "4" || got.Done != 4 || got.Total != 10 || got.Attempts != 1 {
			t.Fatalf("after the interruption: %+v", got)
		}

		r2 := jobs.NewRunner(js, jobs.Options{Clock: clk, Owner: "node-2"})
		r2.Register("test.count", handler(-1))
		if !r2.RunOnce(t.Context()) {
			t.Fatal("the second runner did not resume the job")
		}
		r2.Wait()
		got = waitJob(t, js, j.ID, jobs.Done)
		if got.Done != 10 || got.Attempts != 2 || got.Result != "package:1" || got.Finished.IsZero() {
			t.Fatalf("finished job: %+v", got)
		}
		for i := range steps {
			if n := steps[i].Load(); n != 1 {
				t.Fatalf("step %d ran %d times", i, n)
			}
		}
		if r2.RunOnce(t.Context()) {
			t.Fatal("a finished job was taken again")
		}
	})
}

// TestJobLeaseLapsesAndCancel: a runner that stops renewing its lease loses
// the job to another node, and its next checkpoint says so; a cancelled job
// stops at its next checkpoint and stays cancelled; failures keep a
// message for a person and never an internal detail.
func TestJobLeaseLapsesAndCancel(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		js := store.Jobs(db)
		clk := clock.NewFake(time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC))
		tenant := ids.NewTenant()
		proceed := make(chan struct{})
		started := make(chan struct{}, 2)
		var firstErr atomic.Value
		slow := func(ctx context.Context, run *jobs.Run) error {
			started <- struct{}{}
			<-proceed
			err := run.Checkpoint(ctx, "1", 1, 1)
			if err != nil {
				firstErr.Store(err)
			}
			return err
		}
		r1 := jobs.NewRunner(js, jobs.Options{Clock: clk, Owner: "node-1", Lease: time.Minute})
		r1.Register("test.slow", slow)
		j, err := r1.Enqueue(t.Context(), jobs.Job{Tenant: tenant, Kind: "test.slow"})
		if err != nil {
			t.Fatal(err)
		}
		r1.RunOnce(t.Context())
		<-started
		r2 := jobs.NewRunner(js, jobs.Options{Clock: clk, Owner: "node-2", Lease: time.Minute})
		r2.Register("test.slow", func(ctx context.Context, run *jobs.Run) error { return run.Checkpoint(ctx, "done", 1, 1) })
		if r2.RunOnce(t.Context()) {
			t.Fatal("a job with a live lease was taken by another node")
		}
		clk.Advance(2 * time.Minute)
		if !r2.RunOnce(t.Context()) {
			t.Fatal("a job whose lease lapsed was not taken up")
		}
		r2.Wait()
		waitJob(t, js, j.ID, jobs.Done)
		close(proceed)
		r1.Wait()
		if err, _ := firstErr.Load().(error); !errors.Is(err, jobs.ErrLeaseLost) {
			t.Fatalf("the first runner's checkpoint: %v, want ErrLeaseLost", err)
		}
		if got, _ := js.Job(t.Context(), j.ID); got.State != jobs.Done || got.Cursor != "done" {
			t.Fatalf("the first runner overwrote the job: %+v", got)
		}

		// Cancel.
		block := make(chan struct{})
		var cancelErr atomic.Value
		r3 := jobs.NewRunner(js, jobs.Options{Clock: clk, Owner: "node-3"})
		r3.Register("test.cancel", func(ctx context.Context, run *jobs.Run) error {
			<-block
			err := run.Checkpoint(ctx, "x", 1, 2)
			cancelErr.Store(err)
			return err
		})
		c, _ := r3.Enqueue(t.Context(), jobs.Job{Tenant: tenant, Kind: "test.cancel"})
		r3.RunOnce(t.Context())
		if ok, err := js.CancelJob(t.Context(), c.ID, clk.Now()); !ok || err != nil {
			t.Fatalf("cancel: %v %v", ok, err)
		}
		close(block)
		r3.Wait()
		if err, _ := cancelErr.Load().(error); !errors.Is(err, jobs.ErrCancelled) {
			t.Fatalf("checkpoint of a cancelled job: %v", err)
		}
		if got, _ := js.Job(t.Context(), c.ID); got.State != jobs.Cancelled || got.Done != 0 {
			t.Fatalf("cancelled job: %+v", got)
		}
		if ok, _ := js.CancelJob(t.Context(), c.ID, clk.Now()); ok {
			t.Fatal("a finished job was cancelled again")
		}

		// Failures.
		r4 := jobs.NewRunner(js, jobs.Options{Clock: clk, Owner: "node-4"})
		r4.Register("test.refused", func(context.Context, *jobs.Run) error { return errs.E(errs.Invalid, "The case has no members.") })
		r4.Register("test.broken", func(context.Context, *jobs.Run) error { return errors.New("disk /var/secret full") })
		a, _ := r4.Enqueue(t.Context(), jobs.Job{Tenant: tenant, Kind: "test.refused"})
		b, _ := r4.Enqueue(t.Context(), jobs.Job{Tenant: tenant, Kind: "test.broken"})
		for r4.RunOnce(t.Context()) {
		}
		r4.Wait()
		if got := waitJob(t, js, a.ID, jobs.Failed); got.Error != "The case has no members." {
			t.Fatalf("failed job's message: %q", got.Error)
		}
		if got := waitJob(t, js, b.ID, jobs.Failed); got.Error == "" || got.Error == "disk /var/secret full" {
			t.Fatalf("an internal error reached the job's message: %q", got.Error)
		}
		list, err := js.Jobs(t.Context(), tenant, "", 10)
		if err != nil || len(list) != 4 {
			t.Fatalf("jobs of the tenant: %d %v", len(list), err)
		}
	})
}
