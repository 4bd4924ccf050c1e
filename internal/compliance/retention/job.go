package retention

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/kaigi/kaigi/internal/audit"
	"github.com/kaigi/kaigi/internal/chat"
	"github.com/kaigi/kaigi/internal/errs"
	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/jobs"
	"github.com/kaigi/kaigi/internal/principal"
)

// cursor is where a deletion or erasure job is.
type cursor struct {
	Phase  string `json:"phase"` // "", identity, message, recording, done
	After  string `json:"after,omitempty"`
	Batch  int    `json:"batch,omitempty"`
	Counts Counts `json:"counts"`
}

func parseCursor(s string) (cursor, error) {
	var c cursor
	if s == "" {
		return c, nil
	}
	return c, json.Unmarshal([]byte(s), &c)
}

func (c cursor) String() string {
	b, _ := json.Marshal(c)
	return string(b)
}

// errHoldsChanged makes a batch start over when a hold changed while it
// was being decided.
var errHoldsChanged = errors.New("retention: the holds changed")

// finishPending deletes the blobs that committed batches left pending (a
// crash between a batch's commit and its blobs' deletion).
func (s *Service) finishPending(ctx context.Context, tenant ids.TenantID) (int64, error) {
	var n int64
	for {
		keys, err := s.o.Store.PendingBlobs(ctx, tenant, 500)
		if err != nil || len(keys) == 0 {
			return n, err
		}
		if err := s.deleteBlobs(ctx, tenant, keys); err != nil {
			return n, err
		}
		n += int64(len(keys))
	}
}

func (s *Service) deleteBlobs(ctx context.Context, tenant ids.TenantID, keys []string) error {
	for _, k := range keys {
		if err := s.o.Blobs.Delete(ctx, tenant, k); err != nil {
			return jobs.Retry(fmt.Errorf("delete blob: %w", err))
		}
	}
	return s.o.Store.DropPendingBlobs(ctx, tenant, keys)
}

// purge deletes items in one transaction with one audit record, then their
// blobs. It returns errHoldsChanged, having deleted nothing, when a hold
// was created or released since e was made.
func (s *Service) purge(ctx context.Context, e *evaluator, actor principal.Principal, action, kind string, items []string, batch int, extra map[string]string) (Counts, error) {
	var counts Counts
	var keys []string
	now := s.o.Clock.Now()
	err := s.o.Store.UpdateRetention(ctx, func(tx Tx) error {
		if err := tx.LockLegalHolds(ctx, e.tenant); err != nil {
			return err
		}
		v, err := tx.LegalHoldsVersion(ctx, e.tenant)
		if err != nil {
			return err
		}
		if v != e.version {
			return errHoldsChanged
		}
		if kind == KindMessage {
			counts, keys, err = tx.PurgeMessages(ctx, e.tenant, items, now)
		} else {
			counts, keys, err = tx.PurgeRecordings(ctx, e.tenant, items, now)
		}
		if err != nil {
			return err
		}
		d := counts.details()
		d["items"], d["batch"], d["kind"] = strconv.Itoa(len(items)), strconv.Itoa(batch), kind
		for k, v := range extra {
			d[k] = v
		}
		_, err = s.o.Audit.Append(ctx, tx, audit.Entry{Actor: actor, Tenant: e.tenant, Action: action, Target: "tenant:" + string(e.tenant), Details: d})
		return err
	})
	if err != nil {
		return Counts{}, err
	}
	_, hook := s.tuning()
	if hook != nil {
		if err := hook(ctx, batch); err != nil {
			return counts, err
		}
	}
	if err := s.deleteBlobs(ctx, e.tenant, keys); err != nil {
		return counts, err
	}
	counts.Blobs = int64(len(keys))
	return counts, nil
}

// sweep walks the tenant's items of the phases after c (only author's when
// set), deleting those selected, batch by batch, with a checkpoint after
// each batch.
func (s *Service) sweep(ctx context.Context, run *jobs.Run, c cursor, author ids.UserID, action string, selected func(Fate) bool, total int64) (cursor, error) {
	tenant := run.Job().Tenant
	actor := principal.Job(run.Job().Kind, tenant)
	done := run.Job().Done
	e, err := s.evaluator(ctx, tenant)
	if err != nil {
		return c, err
	}
	for c.Phase != "done" {
		if err := ctx.Err(); err != nil {
			return c, err
		}
		size, _ := s.tuning()
		items, err := s.o.Store.Items(ctx, tenant, c.Phase, c.After, author, size)
		if err != nil {
			return c, err
		}
		if len(items) == 0 {
			if c.Phase == KindMessage {
				c.Phase, c.After = KindRecording, ""
			} else {
				c.Phase, c.After = "done", ""
			}
			if err := run.Checkpoint(ctx, c.String(), done, total); err != nil {
				return c, err
			}
			continue
		}
		now := s.o.Clock.Now()
		var due []string
		for _, it := range items {
			f, err := e.fate(ctx, it, now)
			if err != nil {
				return c, err
			}
			if selected(f) {
				due = append(due, it.ID)
			}
		}
		if len(due) > 0 {
			c.Batch++
			n, err := s.purge(ctx, e, actor, action, c.Phase, due, c.Batch, nil)
			if errors.Is(err, errHoldsChanged) {
				c.Batch--
				if e, err = s.evaluator(ctx, tenant); err != nil {
					return c, err
				}
				continue // decide the same items again under the new holds
			}
			if err != nil {
				return c, err
			}
			c.Counts.Add(n)
		}
		c.After = items[len(items)-1].ID
		done += int64(len(items))
		if err := run.Checkpoint(ctx, c.String(), done, max(total, done)); err != nil {
			return c, err
		}
	}
	return c, nil
}

// linkEvents records, for the channel events written before events named
// their message, which message each carries, so that deleting a message
// deletes them too. It opens their payloads for the message's id only
// (audited, with a count).
func (s *Service) linkEvents(ctx context.Context, tenant ids.TenantID) error {
	var n int
	for {
		evs, err := s.o.Store.UnlinkedEvents(ctx, tenant, 200)
		if err != nil {
			return err
		}
		if len(evs) == 0 {
			break
		}
		links := make([]EventLink, len(evs))
		for i, e := range evs {
			links[i] = EventLink{Channel: e.Channel, Seq: e.Seq, Message: "-"}
			pt, err := s.o.Keys.Open(ctx, tenant, chat.EventAAD(e.Channel, e.Seq), e.Payload)
			if err != nil {
				s.o.Log.Warn("retention: an event does not open; it is kept", "tenant", string(tenant), "channel", e.Channel, "seq", e.Seq, "err", err)
				continue
			}
			var pl struct {
				Message *struct {
					ID string `json:"id"`
				} `json:"message"`
			}
			if json.Unmarshal(pt, &pl) == nil && pl.Message != nil && ids.Valid(pl.Message.ID) {
				links[i].Message = pl.Message.ID
			}
		}
		if err := s.o.Store.LinkEvents(ctx, links); err != nil {
			return err
		}
		n += len(evs)
	}
	if n == 0 {
		return nil
	}
	return s.record(ctx, audit.Entry{Actor: principal.Job(JobDelete, tenant), Tenant: tenant, Action: "retention.events.link", Target: "tenant:" + string(tenant),
		Details: map[string]string{"events": strconv.Itoa(n)}})
}

func (c Counts) result() string {
	b, _ := json.Marshal(c)
	return string(b)
}

// runDelete is the deletion job: it deletes every item of the tenant whose
// fate is due.
func (s *Service) runDelete(ctx context.Context, run *jobs.Run) error {
	j := run.Job()
	c, err := parseCursor(j.Cursor)
	if err != nil {
		return fmt.Errorf("retention: bad cursor: %w", err)
	}
	if _, err := s.finishPending(ctx, j.Tenant); err != nil {
		return err
	}
	total := j.Total
	if c.Phase == "" {
		if err := s.linkEvents(ctx, j.Tenant); err != nil {
			return err
		}
		if total, err = s.o.Store.CountItems(ctx, j.Tenant, ""); err != nil {
			return err
		}
		c.Phase = KindMessage
		if err := run.Checkpoint(ctx, c.String(), 0, max(total, 1)); err != nil {
			return err
		}
	}
	if c, err = s.sweep(ctx, run, c, "", "retention.delete.batch", Fate.Due, total); err != nil {
		return err
	}
	return s.finish(ctx, run, c, "retention.delete.done")
}

func (s *Service) finish(ctx context.Context, run *jobs.Run, c cursor, action string) error {
	j := run.Job()
	if err := s.o.Store.Compact(ctx); err != nil {
		// The rows are deleted; only their old page images may linger in
		// SQLite's WAL until the next run's checkpoint.
		s.o.Log.Warn("retention: compact the database after deleting", "job", j.ID, "err", err)
	}
	run.SetResult(c.Counts.result())
	if c.Counts == (Counts{}) && j.CreatedBy == "" {
		return nil // a scheduled run that deleted nothing changed nothing
	}
	d := c.Counts.details()
	d["job"] = j.ID
	return s.record(ctx, audit.Entry{Actor: principal.Job(j.Kind, j.Tenant), Tenant: j.Tenant, Action: action, Target: "tenant:" + string(j.Tenant), Details: d})
}

// runErase is the erasure job: pseudonymise the account, then delete what
// the person wrote and the recordings they started, except what is held.
func (s *Service) runErase(ctx context.Context, run *jobs.Run) error {
	j := run.Job()
	var p eraseParams
	if err := json.Unmarshal(j.Params, &p); err != nil || !ids.Valid(string(p.Account)) {
		return errs.E(errs.Invalid, "The erasure job has no valid account.")
	}
	c, err := parseCursor(j.Cursor)
	if err != nil {
		return fmt.Errorf("retention: bad cursor: %w", err)
	}
	if _, err := s.finishPending(ctx, j.Tenant); err != nil {
		return err
	}
	actor := principal.Job(JobErase, j.Tenant)
	total := j.Total
	if c.Phase == "" {
		if err := s.linkEvents(ctx, j.Tenant); err != nil {
			return err
		}
		pseudonym := Pseudonym(j.Tenant, p.Account)
		email := "erased-" + string(p.Account) + "@erased.invalid"
		var erased Erased
		err := s.o.Store.UpdateRetention(ctx, func(tx Tx) error {
			var err error
			if erased, err = tx.EraseAccount(ctx, j.Tenant, p.Account, pseudonym, email, s.o.Clock.Now()); err != nil {
				return err
			}
			_, err = s.o.Audit.Append(ctx, tx, audit.Entry{Actor: actor, Tenant: j.Tenant, Action: "account.erase", Target: "account:" + string(p.Account),
				Details: map[string]string{"job": j.ID, "sessions": strconv.FormatInt(erased.Sessions, 10), "tokens": strconv.FormatInt(erased.Tokens, 10),
					"factors": strconv.FormatInt(erased.Factors, 10)}})
			return err
		})
		if err != nil {
			return err
		}
		if s.o.AccessChanged != nil {
			s.o.AccessChanged(ctx, j.Tenant, p.Account, "account.erase")
		}
		if total, err = s.o.Store.CountItems(ctx, j.Tenant, p.Account); err != nil {
			return err
		}
		c.Phase = KindMessage
		if err := run.Checkpoint(ctx, c.String(), 0, max(total, 1)); err != nil {
			return err
		}
	}
	notHeld := func(f Fate) bool { return f.Outcome != OutcomeHeld }
	if c, err = s.sweep(ctx, run, c, p.Account, "account.erase.batch", notHeld, total); err != nil {
		return err
	}
	return s.finish(ctx, run, c, "account.erase.done")
}

// Run enqueues each tenant's deletion job every Options.Every (measured on
// the service's clock, looked at every check), until ctx ends. A tenant
// whose last run is recent, or that has one queued or running, is skipped.
func (s *Service) Run(ctx context.Context, check time.Duration) {
	first := time.NewTimer(min(check, time.Minute)) // let the node settle first
	defer first.Stop()
	select {
	case <-ctx.Done():
		return
	case <-first.C:
	}
	t := time.NewTicker(check)
	defer t.Stop()
	for {
		if err := s.Schedule(ctx); err != nil && ctx.Err() == nil {
			s.o.Log.Warn("retention: schedule the deletion jobs", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Schedule enqueues the deletion job of every tenant that is due one.
func (s *Service) Schedule(ctx context.Context) error {
	tenants, err := s.o.Store.RetentionTenants(ctx)
	if err != nil {
		return err
	}
	now := s.o.Clock.Now()
	for _, t := range tenants {
		js, err := s.o.JobStore.Jobs(ctx, t, JobDelete, 1)
		if err != nil {
			return err
		}
		if len(js) > 0 && (!jobs.Finished(js[0].State) || now.Sub(js[0].Created) < s.o.Every) {
			continue
		}
		if _, err := s.o.Jobs.Enqueue(ctx, jobs.Job{Tenant: t, Kind: JobDelete, Subject: "tenant:" + string(t)}); err != nil {
			return err
		}
	}
	return nil
}
