package provider

import (
	"context"
	"sync"
	"time"

	"github.com/kaigi/kaigi/internal/audit"
	"github.com/kaigi/kaigi/internal/clock"
	"github.com/kaigi/kaigi/internal/errs"
	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/principal"
)

// Contract states of a tenant. A tenant without a contract end is active.
const (
	ContractActive   = "active"   // everything works
	ContractEnded    = "ended"    // from the end date, 90 days: admins only, read-only, exports work
	ContractDisabled = "disabled" // from day 90: no access at all; deleted by day 180
	ContractDeleted  = "deleted"  // its deletion has started or finished: nothing is left
)

// The lifecycle's periods, from the contract's end.
const (
	ExportWindow = 90 * 24 * time.Hour
	DeleteBy     = 180 * 24 * time.Hour
)

// Contract is a tenant's contract as its lifecycle sees it.
type Contract struct {
	Tenant    ids.TenantID `json:"tenant"`
	End       time.Time    `json:"end,omitzero" doc:"The contract's end; zero: open-ended."`
	State     string       `json:"state" doc:"active, ended (admins only, read-only, export) or disabled (no access)."`
	DisableAt time.Time    `json:"disable_at,omitzero" doc:"When the export window closes (end + 90 days)."`
	DeleteBy  time.Time    `json:"delete_by,omitzero" doc:"When all data must be deleted (end + 180 days)."`
	DeleteAt  time.Time    `json:"delete_at,omitzero" doc:"When the deletion is due to start: a day before delete_by, or earlier when the customer asked for an accelerated deletion."`
	Deletion  string       `json:"deletion,omitempty" doc:"The deletion's state, when there is one: awaiting_code, scheduled, running or done."`
	Updated   time.Time    `json:"updated"`

	deletion *Deletion // the tenant's deletion, when there is one
}

// StateAt returns the contract's state at now, by the clock: the
// transitions are functions of the end date, so a restart or a moved clock
// never leaves a tenant in a stale state.
func (c Contract) StateAt(now time.Time) string {
	switch {
	case c.End.IsZero() || now.Before(c.End):
		return ContractActive
	case now.Before(c.End.Add(ExportWindow)):
		return ContractEnded
	}
	return ContractDisabled
}

func (c Contract) at(now time.Time) Contract {
	c.State = c.StateAt(now)
	if !c.End.IsZero() {
		c.DisableAt, c.DeleteBy, c.DeleteAt = c.End.Add(ExportWindow), c.End.Add(DeleteBy), c.End.Add(DeleteAfter)
	}
	if d := c.deletion; d != nil {
		c.Deletion = d.State
		switch d.State {
		case DeletionScheduled:
			if c.DeleteAt.IsZero() || d.ExecuteAt.Before(c.DeleteAt) {
				c.DeleteAt = d.ExecuteAt
			}
		case DeletionRunning, DeletionDone:
			c.State, c.DeleteAt = ContractDeleted, d.Started
		}
	}
	return c
}

// ContractTx writes contracts; reactivating a tenant cancels a deletion
// that has not started.
type ContractTx interface {
	DeletionTx
	PutContract(ctx context.Context, c Contract) error
}

// ContractStore keeps contracts.
type ContractStore interface {
	UpdateContracts(ctx context.Context, fn func(tx ContractTx) error) error
	// Contract returns a tenant's contract; a tenant without one is active
	// (found false).
	Contract(ctx context.Context, tenant ids.TenantID) (c Contract, found bool, err error)
	Contracts(ctx context.Context) ([]Contract, error)
	// TenantExists reports whether the tenant exists.
	TenantExists(ctx context.Context, tenant ids.TenantID) (bool, error)
}

// Contracts runs tenants' contract lifecycles.
type Contracts struct {
	store     ContractStore
	deletions DeletionStore
	audit     *audit.Log
	clock     clock.Clock

	// Every request of a tenant user asks for its tenant's contract; the
	// row (its end date) is kept for CacheTTL of real time. The state is
	// still computed from the clock at each request, so only a change of
	// the end made on another node takes up to CacheTTL to apply.
	mu    sync.Mutex
	cache map[ids.TenantID]cachedContract
}

type cachedContract struct {
	c  Contract
	at time.Time
}

// CacheTTL is how long a node keeps a tenant's contract row.
const CacheTTL = 5 * time.Second

// NewContracts returns the lifecycle service.
func NewContracts(s ContractStore, d DeletionStore, a *audit.Log, c clock.Clock) *Contracts {
	return &Contracts{store: s, deletions: d, audit: a, clock: c, cache: map[ids.TenantID]cachedContract{}}
}

// forget drops a tenant's cached contract after a change made here.
func (cs *Contracts) forget(tenant ids.TenantID) {
	cs.mu.Lock()
	delete(cs.cache, tenant)
	cs.mu.Unlock()
}

// Of returns a tenant's contract as of now.
func (cs *Contracts) Of(ctx context.Context, tenant ids.TenantID) (Contract, error) {
	cs.mu.Lock()
	e, ok := cs.cache[tenant]
	cs.mu.Unlock()
	if !ok || time.Since(e.at) > CacheTTL {
		c, found, err := cs.store.Contract(ctx, tenant)
		if err != nil {
			return Contract{}, err
		}
		if !found {
			c = Contract{Tenant: tenant}
		}
		d, found, err := cs.deletions.Deletion(ctx, tenant)
		if err != nil {
			return Contract{}, err
		}
		if found {
			c.deletion = &d
		}
		e = cachedContract{c: c, at: time.Now()}
		cs.mu.Lock()
		if len(cs.cache) > 100000 {
			clear(cs.cache)
		}
		cs.cache[tenant] = e
		cs.mu.Unlock()
	}
	return e.c.at(cs.clock.Now()), nil
}

// All returns every contract as of now (operators).
func (cs *Contracts) All(ctx context.Context, p principal.Principal) ([]Contract, error) {
	if p.Kind != principal.Operator {
		return nil, errs.E(errs.Forbidden, "Only operators see contracts.")
	}
	list, err := cs.store.Contracts(ctx)
	if err != nil {
		return nil, err
	}
	dels, err := cs.deletions.Deletions(ctx)
	if err != nil {
		return nil, err
	}
	byTenant := map[ids.TenantID]*Deletion{}
	for i := range dels {
		byTenant[dels[i].Tenant] = &dels[i]
	}
	now := cs.clock.Now()
	for i := range list {
		list[i].deletion = byTenant[list[i].Tenant]
		list[i] = list[i].at(now)
	}
	return list, nil
}

// SetEnd sets (or, with a zero time, removes) a tenant's contract end.
// An end in the past is refused — a contract ends from now on, never
// retroactively — and so is any change once the tenant's deletion has
// started. Moving the end later reactivates an ended or disabled tenant
// and cancels a deletion that has not started.
func (cs *Contracts) SetEnd(ctx context.Context, p principal.Principal, tenant ids.TenantID, end time.Time) (Contract, error) {
	if p.Kind != principal.Operator {
		return Contract{}, errs.E(errs.Forbidden, "Only operators change contracts.")
	}
	now := cs.clock.Now()
	if !end.IsZero() && end.Before(now.Add(-time.Minute)) {
		return Contract{}, errs.E(errs.Invalid, "A contract's end cannot be in the past: choose today or a later date.")
	}
	cs.forget(tenant)
	cur, err := cs.Of(ctx, tenant)
	if err != nil {
		return Contract{}, err
	}
	if cur.State == ContractDeleted {
		return Contract{}, errs.E(errs.Conflict, "The tenant's deletion has started; its contract can no longer change.")
	}
	if ok, err := cs.store.TenantExists(ctx, tenant); err != nil {
		return Contract{}, err
	} else if !ok {
		return Contract{}, errs.E(errs.NotFound, "There is no such tenant.")
	}
	c := Contract{Tenant: tenant, End: end.UTC(), Updated: now}
	err = cs.store.UpdateContracts(ctx, func(tx ContractTx) error {
		// The contract first, then the deletion: a deletion's start locks
		// the contract's row before it writes, so either it started (and
		// this refuses) or it will find the new end and not start.
		if err := tx.PutContract(ctx, c); err != nil {
			return err
		}
		// The new end is today or later: the tenant is active again, and
		// a deletion that has not started is off.
		cancelled, err := cancelForReactivation(ctx, tx, tenant)
		if err != nil {
			return err
		}
		details := map[string]string{"from": cur.State, "to": c.StateAt(now)}
		if cancelled {
			details["deletion"] = "cancelled"
		}
		if !end.IsZero() {
			details["end"] = c.End.Format(time.RFC3339)
		}
		// In the tenant's log and in the operator's own.
		for _, t := range []ids.TenantID{tenant, ids.ServiceTenant} {
			if _, err := cs.audit.Append(ctx, tx, audit.Entry{Actor: p, Tenant: t, Action: "contract.set_end", Target: "tenant:" + string(tenant), Details: details}); err != nil {
				return err
			}
		}
		return nil
	})
	cs.forget(tenant)
	if err != nil {
		return Contract{}, err
	}
	return cs.Of(ctx, tenant)
}

// ErrContractEnded and ErrTenantDisabled refuse requests the lifecycle
// does not allow.
var (
	ErrContractEnded  = errs.E(errs.Forbidden, "Your organisation's contract has ended: only its admins may sign in, everything is read-only, and the full export remains available until the export window closes.")
	ErrTenantDisabled = errs.E(errs.Forbidden, "Your organisation's contract has ended and its export window has closed: the service is no longer available to it.")
	ErrTenantDeleted  = errs.E(errs.Forbidden, "Your organisation's data has been deleted from this service.")
)

// Allow decides a tenant user's request by the tenant's contract state:
// active allows everything; ended allows tenant admins only, reading
// (safe methods) and the export routes (export is true); disabled allows
// nothing.
func (cs *Contracts) Allow(ctx context.Context, p principal.Principal, safe, export bool) error {
	if !p.IsTenantUser() {
		return nil
	}
	c, err := cs.Of(ctx, p.Tenant)
	if err != nil {
		return err
	}
	switch c.State {
	case ContractEnded:
		if !p.Has(principal.TenantAdmin) || !(safe || export) {
			return ErrContractEnded
		}
	case ContractDisabled:
		return ErrTenantDisabled
	case ContractDeleted:
		return ErrTenantDeleted
	}
	return nil
}

// Health is what an operator may know of a tenant's use of the service:
// counts and sizes, never content.
type Health struct {
	Tenant       ids.TenantID `json:"tenant"`
	Accounts     int64        `json:"accounts" doc:"Active accounts."`
	Teams        int64        `json:"teams"`
	Channels     int64        `json:"channels" doc:"Channels and chats."`
	Messages     int64        `json:"messages"`
	Files        int64        `json:"files"`
	FileBytes    int64        `json:"file_bytes"`
	Recordings   int64        `json:"recordings"`
	LastActivity time.Time    `json:"last_activity,omitzero" doc:"When the newest message was sent."`
	Contract     Contract     `json:"contract"`
}

// HealthStore counts a tenant's rows.
type HealthStore interface {
	TenantHealth(ctx context.Context, tenant ids.TenantID) (Health, error)
}

// Health returns a tenant's health for an operator: counts, its contract
// and countdowns.
func (cs *Contracts) Health(ctx context.Context, p principal.Principal, hs HealthStore, tenant ids.TenantID) (Health, error) {
	if p.Kind != principal.Operator {
		return Health{}, errs.E(errs.Forbidden, "Only operators see tenants' health.")
	}
	h, err := hs.TenantHealth(ctx, tenant)
	if err != nil {
		return Health{}, err
	}
	if h.Contract, err = cs.Of(ctx, tenant); err != nil {
		return Health{}, err
	}
	h.Tenant = tenant
	return h, nil
}
