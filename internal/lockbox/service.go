package lockbox

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strconv"
	"time"

	"github.com/kaigi/kaigi/internal/audit"
	"github.com/kaigi/kaigi/internal/clock"
	"github.com/kaigi/kaigi/internal/errs"
	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/principal"
	"github.com/kaigi/kaigi/internal/transparency"
)

// Tx is what the lockbox changes in one transaction: the request, the audit
// logs and the tenant's transparency log.
type Tx interface {
	audit.Appender
	transparency.Tx
	InsertLockboxRequest(ctx context.Context, r Request) error
	UpdateLockboxRequest(ctx context.Context, r Request) error
	// LockboxRequestForUpdate reads a request and locks it until the end
	// of the transaction.
	LockboxRequestForUpdate(ctx context.Context, id string) (Request, error)
}

// Store keeps requests.
type Store interface {
	UpdateLockbox(ctx context.Context, fn func(tx Tx) error) error
	LockboxRequest(ctx context.Context, id string) (Request, error)
	// LockboxRequests lists requests newest first: a tenant's (tenant set),
	// an operator's (operator set), or all.
	LockboxRequests(ctx context.Context, tenant ids.TenantID, operator ids.UserID, limit int) ([]Request, error)
	// LockboxDue lists the ids of requests that are pending or live and
	// whose time ran out at now.
	LockboxDue(ctx context.Context, now time.Time, limit int) ([]string, error)
}

// Resources says which tenant a resource belongs to.
type Resources interface {
	// ResourceTenant returns the tenant owning the resource kind:id, or an
	// error wrapping errs.NotFound.
	ResourceTenant(ctx context.Context, kind, id string) (ids.TenantID, error)
}

// Confirmer checks the fresh passkey assertion an approver gives with an
// approval. An assertion answers a single-use ceremony, so it cannot be
// replayed.
type Confirmer interface {
	ConfirmPasskey(ctx context.Context, p principal.Principal, assertion json.RawMessage) error
}

// Options configure a Service.
type Options struct {
	Store        Store
	Resources    Resources
	Confirm      Confirmer
	Audit        *audit.Log
	Transparency *transparency.Log
	Clock        clock.Clock
	Log          *slog.Logger
	// PendingFor is how long a request waits for an answer; default and
	// maximum MaxPendingFor (12 hours).
	PendingFor time.Duration
	// TenantPendingFor, when set, returns a tenant's own, shorter, time
	// for an answer (0: the default); longer than PendingFor is ignored.
	TenantPendingFor func(ctx context.Context, tenant ids.TenantID) (time.Duration, error)
	// Notify, when set, is called after a request is filed, to tell the
	// tenant's approvers (in the app and by email). It runs in the
	// background; its failures are its own to log.
	Notify func(ctx context.Context, r Request)
}

// Service runs lockbox requests. It is safe for concurrent use.
type Service struct {
	o Options
}

// New returns a Service.
func New(o Options) *Service {
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.PendingFor <= 0 || o.PendingFor > MaxPendingFor {
		o.PendingFor = MaxPendingFor
	}
	o.PendingFor = max(o.PendingFor, MinPendingFor)
	return &Service{o: o}
}

// event is what the transparency log records of a request's change: who,
// what, under which request. Never content.
type event struct {
	Request       string     `json:"request"`
	State         string     `json:"state"`
	Actor         string     `json:"actor"`
	ActorKind     string     `json:"actor_kind"`
	Operator      ids.UserID `json:"operator"`
	Resources     []string   `json:"resources,omitempty"`
	Justification string     `json:"justification,omitempty"`
	Ticket        string     `json:"ticket,omitempty"`
	GrantEnds     *time.Time `json:"grant_ends,omitempty"`
	Resource      string     `json:"resource,omitempty"` // an access
	Returned      any        `json:"returned,omitempty"` // an access: counts and hashes
}

// record audits a change of r in the tenant's log and the operator's, and
// appends it to the tenant's transparency log.
func (s *Service) record(ctx context.Context, tx Tx, p principal.Principal, r Request, action string, res audit.Result, details map[string]string) error {
	if details == nil {
		details = map[string]string{}
	}
	details["request"], details["state"], details["operator"] = r.ID, r.State, string(r.Operator)
	for _, tenant := range []ids.TenantID{r.Tenant, ids.ServiceTenant} {
		if _, err := s.o.Audit.Append(ctx, tx, audit.Entry{Actor: p, Tenant: tenant, Action: action, Target: "lockbox:" + r.ID, Result: res, Details: details}); err != nil {
			return err
		}
	}
	if res != audit.Success {
		return nil
	}
	ev := event{Request: r.ID, State: r.State, Actor: string(p.User), ActorKind: p.ActorKind(), Operator: r.Operator}
	if action == "lockbox.request" {
		ev.Resources, ev.Justification, ev.Ticket = r.Resources, r.Justification, r.Ticket
	}
	if !r.GrantEnds.IsZero() && (r.State == Approved) {
		ends := r.GrantEnds
		ev.GrantEnds = &ends
	}
	_, err := s.o.Transparency.Append(ctx, tx, r.Tenant, action, ev)
	return err
}

// File records an operator's request for access to a tenant's resources.
// The tenant is named by the operator (operators belong to no tenant); every
// resource must belong to it.
func (s *Service) File(ctx context.Context, p principal.Principal, r Request) (Request, error) {
	if p.Kind != principal.Operator {
		return Request{}, errs.E(errs.Forbidden, "Only operators of the service file lockbox requests.")
	}
	if err := r.validate(); err != nil {
		return Request{}, err
	}
	for _, res := range r.Resources {
		kind, id, _ := ParseResource(res)
		if kind == ResTenantConfig {
			continue
		}
		owner, err := s.o.Resources.ResourceTenant(ctx, kind, id)
		if errs.Is(err, errs.NotFound) || (err == nil && owner != r.Tenant) {
			return Request{}, errs.E(errs.Invalid, "The resource %s is not one of that tenant's.", res)
		}
		if err != nil {
			return Request{}, err
		}
	}
	pending := s.o.PendingFor
	if s.o.TenantPendingFor != nil {
		d, err := s.o.TenantPendingFor(ctx, r.Tenant)
		if err != nil {
			return Request{}, errs.Wrap(errs.Invalid, err, "That tenant does not exist.")
		}
		if d > 0 && d < pending {
			pending = max(d, MinPendingFor)
		}
	}
	now := s.o.Clock.Now()
	r.ID, r.Operator, r.State, r.Created, r.ExpiresAt = ids.New(), p.User, Pending, now, now.Add(pending)
	r.DecidedBy, r.Decided, r.GrantEnds, r.Ended, r.EndedBy, r.Accesses = "", time.Time{}, time.Time{}, time.Time{}, "", 0
	err := s.o.Store.UpdateLockbox(ctx, func(tx Tx) error {
		if err := tx.InsertLockboxRequest(ctx, r); err != nil {
			return err
		}
		return s.record(ctx, tx, p, r, "lockbox.request", audit.Success, map[string]string{
			"justification": r.Justification, "resources": strconv.Itoa(len(r.Resources)), "duration": time.Duration(r.Duration).String()})
	})
	if err == nil && s.o.Notify != nil {
		go s.o.Notify(context.WithoutCancel(ctx), r)
	}
	return r, err
}

// change loads request id for update, settles it, lets fn change it, and
// records the change. A refusal by fn is audited as denied.
func (s *Service) change(ctx context.Context, p principal.Principal, id, action string, fn func(r *Request, now time.Time) error) (Request, error) {
	var out Request
	var refusal error
	err := s.o.Store.UpdateLockbox(ctx, func(tx Tx) error {
		r, err := tx.LockboxRequestForUpdate(ctx, id)
		if err != nil {
			return errNotFound
		}
		if !(p.IsTenantUser() && p.Tenant == r.Tenant) && !(p.Kind == principal.Operator && p.User == r.Operator) {
			return errNotFound
		}
		now := s.o.Clock.Now()
		if r.settle(now) {
			if err := tx.UpdateLockboxRequest(ctx, r); err != nil {
				return err
			}
			if err := s.record(ctx, tx, principal.Job("lockbox", r.Tenant), r, "lockbox."+r.State, audit.Success, nil); err != nil {
				return err
			}
		}
		if refusal = fn(&r, now); refusal != nil {
			// Keep the settling, record the refusal, and report it.
			return s.record(ctx, tx, p, r, action, audit.Denied, map[string]string{"reason": errs.MessageOf(refusal)})
		}
		if err := tx.UpdateLockboxRequest(ctx, r); err != nil {
			return err
		}
		out = r
		return s.record(ctx, tx, p, r, action, audit.Success, nil)
	})
	if err != nil {
		return Request{}, err
	}
	if refusal != nil {
		return Request{}, refusal
	}
	return out, nil
}

// mayDecide reports whether p is one of r's tenant's lockbox approvers.
func (s *Service) mayDecide(p principal.Principal, r Request) bool {
	return p.Has(principal.LockboxApprover) && p.Tenant == r.Tenant
}

func (s *Service) approverOnly(p principal.Principal, r Request) error {
	if !s.mayDecide(p, r) {
		return errs.E(errs.Forbidden, "Only the tenant's lockbox approvers decide on lockbox requests.")
	}
	return nil
}

// Approve grants the request, from now for its duration. It needs a fresh
// passkey assertion of the approver.
func (s *Service) Approve(ctx context.Context, p principal.Principal, id string, assertion json.RawMessage) (Request, error) {
	if r, err := s.o.Store.LockboxRequest(ctx, id); err == nil && s.mayDecide(p, r) {
		if err := s.o.Confirm.ConfirmPasskey(ctx, p, assertion); err != nil {
			return Request{}, err
		}
	}
	return s.change(ctx, p, id, "lockbox.approve", func(r *Request, now time.Time) error {
		if err := s.approverOnly(p, *r); err != nil {
			return err
		}
		if r.State != Pending {
			return errs.E(errs.Conflict, "The request is %s and can no longer be approved.", r.State)
		}
		r.State, r.DecidedBy, r.Decided, r.GrantEnds = Approved, p.User, now, now.Add(time.Duration(r.Duration))
		return nil
	})
}

// Deny refuses the request.
func (s *Service) Deny(ctx context.Context, p principal.Principal, id string) (Request, error) {
	return s.change(ctx, p, id, "lockbox.deny", func(r *Request, now time.Time) error {
		if err := s.approverOnly(p, *r); err != nil {
			return err
		}
		if r.State != Pending {
			return errs.E(errs.Conflict, "The request is %s and can no longer be denied.", r.State)
		}
		r.State, r.DecidedBy, r.Decided, r.Ended = Denied, p.User, now, now
		return nil
	})
}

// Revoke ends a grant at once. Approvers revoke; the operator may end its
// own grant early, which completes it.
func (s *Service) Revoke(ctx context.Context, p principal.Principal, id string) (Request, error) {
	return s.change(ctx, p, id, "lockbox.revoke", func(r *Request, now time.Time) error {
		if r.State != Approved && r.State != Active {
			return errs.E(errs.Conflict, "The request is %s; only an approved or active grant can be ended.", r.State)
		}
		switch {
		case s.mayDecide(p, *r):
			r.State = Revoked
		case p.Kind == principal.Operator && p.User == r.Operator:
			r.State = Completed // the operator's own early end
		default:
			return errs.E(errs.Forbidden, "Only the tenant's lockbox approvers revoke a grant.")
		}
		r.Ended, r.EndedBy = now, p.User
		return nil
	})
}

// Activate starts using a grant and returns it for the operator's
// principal. It does not extend anything: the grant ends when it ends.
func (s *Service) Activate(ctx context.Context, p principal.Principal, id string) (principal.Grant, error) {
	r, err := s.change(ctx, p, id, "lockbox.activate", func(r *Request, now time.Time) error {
		if p.Kind != principal.Operator || p.User != r.Operator {
			return errs.E(errs.Forbidden, "Only the operator who filed the request uses its grant.")
		}
		if !r.Live(now) {
			return errs.E(errs.Forbidden, "The request is %s: there is no access under it.", r.State)
		}
		r.State = Active
		return nil
	})
	if err != nil {
		return principal.Grant{}, err
	}
	return principal.Grant{ID: r.ID, Tenant: r.Tenant, Resources: r.Resources, Expires: r.GrantEnds}, nil
}

// ErrNoGrant refuses an operator's read without a grant covering it.
var ErrNoGrant = errs.E(errs.Forbidden, "Operators read a tenant's content only under an approved lockbox grant that covers it.")

// Read is the one path of an operator's content read for support (the
// only other is a law-enforcement disclosure that passed legal review,
// built by eDiscovery for the ledger — see docs/trust-center.md): it checks that p
// holds a live grant of tenant covering resource — read fresh from the
// store, so that a revocation or the end of the grant applies at once, also
// mid-session — calls read, and records the access (audit and transparency
// log, with what read says it returned) before the content may be used. A
// refusal is audited in the tenant's log and the operator's. When Read
// returns an error the caller must not use what read produced.
func (s *Service) Read(ctx context.Context, p principal.Principal, tenant ids.TenantID, resource string, read func() (returned map[string]string, err error)) error {
	refuse := func(why string, r *Request) error {
		details := map[string]string{"resource": resource, "why": why}
		target := "resource:" + resource
		if r != nil {
			details["request"] = r.ID
		}
		for _, t := range []ids.TenantID{tenant, ids.ServiceTenant} {
			if !ids.Valid(string(t)) {
				continue
			}
			if err := s.recordAlone(ctx, audit.Entry{Actor: p, Tenant: t, Action: "lockbox.read", Target: target, Result: audit.Denied, Details: details}); err != nil {
				s.o.Log.Error("lockbox: audit a refusal", "err", err)
			}
		}
		return ErrNoGrant
	}
	if p.Kind != principal.Operator {
		return errs.E(errs.Forbidden, "Only operators read through the lockbox.")
	}
	if p.Grant == nil {
		return refuse("no grant", nil)
	}
	r, err := s.o.Store.LockboxRequest(ctx, p.Grant.ID)
	switch {
	case err != nil:
		return refuse("unknown grant", nil)
	case r.Operator != p.User:
		return refuse("another operator's grant", &r)
	case r.Tenant != tenant || (p.Grant.Tenant != "" && p.Grant.Tenant != tenant):
		return refuse("grant for another tenant", &r)
	case !r.Live(s.o.Clock.Now()):
		return refuse("grant "+r.State+" or ended", &r)
	case !r.Covers(resource):
		return refuse("resource not in the grant", &r)
	}
	returned, err := read()
	if err != nil {
		return err
	}
	return s.o.Store.UpdateLockbox(ctx, func(tx Tx) error {
		cur, err := tx.LockboxRequestForUpdate(ctx, r.ID)
		if err != nil {
			return err
		}
		if !cur.Live(s.o.Clock.Now()) { // revoked while reading
			return ErrNoGrant
		}
		cur.Accesses++
		if err := tx.UpdateLockboxRequest(ctx, cur); err != nil {
			return err
		}
		details := map[string]string{"resource": resource, "request": cur.ID}
		for k, v := range returned {
			details["returned."+k] = v
		}
		for _, t := range []ids.TenantID{tenant, ids.ServiceTenant} {
			if _, err := s.o.Audit.Append(ctx, tx, audit.Entry{Actor: p, Tenant: t, Action: "lockbox.read", Target: "resource:" + resource, Details: details}); err != nil {
				return err
			}
		}
		_, err = s.o.Transparency.Append(ctx, tx, tenant, "access", event{Request: cur.ID, State: cur.State, Actor: string(p.User), ActorKind: p.ActorKind(),
			Operator: cur.Operator, Resource: resource, Returned: returned})
		return err
	})
}

func (s *Service) recordAlone(ctx context.Context, e audit.Entry) error {
	return s.o.Store.UpdateLockbox(context.WithoutCancel(ctx), func(tx Tx) error {
		_, err := s.o.Audit.Append(ctx, tx, e)
		return err
	})
}

// Sweep settles requests whose time ran out: unanswered requests expire,
// grants past their end complete. Each is audited and logged. It returns
// how many it settled.
func (s *Service) Sweep(ctx context.Context) (int, error) {
	due, err := s.o.Store.LockboxDue(ctx, s.o.Clock.Now(), 500)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, id := range due {
		err := s.o.Store.UpdateLockbox(ctx, func(tx Tx) error {
			r, err := tx.LockboxRequestForUpdate(ctx, id)
			if err != nil {
				return err
			}
			if !r.settle(s.o.Clock.Now()) {
				return nil
			}
			n++
			if err := tx.UpdateLockboxRequest(ctx, r); err != nil {
				return err
			}
			return s.record(ctx, tx, principal.Job("lockbox", r.Tenant), r, "lockbox."+r.State, audit.Success, nil)
		})
		if err != nil && !errors.Is(err, context.Canceled) {
			return n, err
		}
	}
	return n, nil
}

// Request returns one request to its operator or to the people of its
// tenant who watch the lockbox, in its state at the current time (a grant
// past its end reads completed even before the sweep records it).
func (s *Service) Request(ctx context.Context, p principal.Principal, id string) (Request, error) {
	r, err := s.o.Store.LockboxRequest(ctx, id)
	if err != nil {
		return Request{}, errNotFound
	}
	mine := p.Kind == principal.Operator && p.User == r.Operator
	watcher := p.Tenant == r.Tenant && (p.Has(principal.LockboxApprover) || p.Has(principal.TenantAdmin) || p.Has(principal.ComplianceOfficer))
	if !mine && !watcher {
		return Request{}, errNotFound
	}
	r.settle(s.o.Clock.Now())
	return r, nil
}

// Requests lists requests: a tenant's for its approvers, admins and
// compliance officers; an operator's own for an operator. Each is shown in
// its state at the current time, as Request does.
func (s *Service) Requests(ctx context.Context, p principal.Principal, limit int) ([]Request, error) {
	limit = min(max(limit, 1), 500)
	var list []Request
	var err error
	switch {
	case p.Kind == principal.Operator:
		list, err = s.o.Store.LockboxRequests(ctx, "", p.User, limit)
	case p.Has(principal.LockboxApprover) || p.Has(principal.TenantAdmin) || p.Has(principal.ComplianceOfficer):
		list, err = s.o.Store.LockboxRequests(ctx, p.Tenant, "", limit)
	default:
		return nil, errs.E(errs.Forbidden, "You do not have permission to see lockbox requests.")
	}
	// Show each as it stands now, also before the sweep records its end:
	// a grant stops at the second it ends, and so does what the lists say.
	now := s.o.Clock.Now()
	for i := range list {
		list[i].settle(now)
	}
	return list, err
}

// Run sweeps every interval until ctx ends.
func (s *Service) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if _, err := s.Sweep(ctx); err != nil && ctx.Err() == nil {
				s.o.Log.Error("lockbox: sweep", "err", err)
			}
		}
	}
}
