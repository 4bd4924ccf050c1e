package provider

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"strings"
	"sync/atomic"
	"time"

	"github.com/kaigi/kaigi/internal/audit"
	"github.com/kaigi/kaigi/internal/clock"
	"github.com/kaigi/kaigi/internal/errs"
	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/jobs"
	"github.com/kaigi/kaigi/internal/principal"
)

// The deletion's timing.
const (
	// DeleteAfter is when, after the contract's end, the scheduled deletion
	// starts: a day before the DeleteBy promise, so that it has finished
	// by then however large the tenant.
	DeleteAfter = DeleteBy - 24*time.Hour
	// AcceleratedDelay is how long a confirmed accelerated deletion waits,
	// during which the customer's admins may still cancel it.
	AcceleratedDelay = 72 * time.Hour
	// CodeTTL is how long a confirmation code is good for.
	CodeTTL = 30 * time.Minute
	// MaxCodeAttempts wrong codes end the request.
	MaxCodeAttempts = 5
)

// DeleteJob is the kind of the background job that deletes a tenant.
const DeleteJob = "tenant.delete"

// purgeBatch is how many rows one purge transaction deletes.
const purgeBatch = 500

// CertificateKind names the format of deletion certificates.
const CertificateKind = "kaigi.tenant-deletion-certificate/v1"

// Certificate is what a deletion proves, signed with the service's key.
type Certificate struct {
	Kind          string           `json:"kind" doc:"kaigi.tenant-deletion-certificate/v1"`
	Service       string           `json:"service" doc:"The deployment's public URL."`
	Tenant        ids.TenantID     `json:"tenant"`
	Reason        string           `json:"reason" doc:"contract_end or customer_request."`
	ContractEnd   time.Time        `json:"contract_end,omitzero"`
	Requested     time.Time        `json:"requested"`
	Started       time.Time        `json:"started"`
	Completed     time.Time        `json:"completed"`
	KeysDestroyed []DestroyedKey   `json:"keys_destroyed" doc:"Every key-encryption key destroyed, with the data key versions it wrapped: every ciphertext of the tenant, wherever a copy survives (backups included), is unreadable."`
	RowsDeleted   int64            `json:"rows_deleted"`
	Counts        map[string]int64 `json:"counts" doc:"Rows deleted per table."`
	BlobsDeleted  bool             `json:"blobs_deleted" doc:"The tenant's whole blob store (files, recordings, export packages) was removed."`
}

// Shredder destroys a tenant's keys (keys.Service).
type Shredder interface {
	Shred(ctx context.Context, tenant ids.TenantID) error
}

// TenantBlobs removes a tenant's blobs.
type TenantBlobs interface {
	DeleteTenant(ctx context.Context, tenant ids.TenantID) error
}

// CertSigner signs certificates with the service's published key.
type CertSigner interface {
	Sign(msg []byte) []byte
}

// DeletionOptions configure Deletions.
type DeletionOptions struct {
	Store     DeletionStore
	Contracts *Contracts
	Keys      Shredder
	Blobs     TenantBlobs
	Signer    CertSigner
	Audit     *audit.Log
	Clock     clock.Clock
	Jobs      *jobs.Runner // runs DeleteJob (registered by NewDeletions)
	JobStore  jobs.Store
	BaseURL   string
	Log       *slog.Logger
	// SendCode emails an accelerated deletion's confirmation code to the
	// admin who asked for it.
	SendCode func(ctx context.Context, p principal.Principal, code string, expires time.Time) error
	// Notify tells a tenant's admins about its deletion (best effort).
	Notify func(ctx context.Context, tenant ids.TenantID, subject, text string) error
}

// Deletions runs tenants' deletions: on schedule by day 180 after the
// contract's end, or earlier at the customer's confirmed request. A
// deletion shreds the tenant's keys first (from then on nothing of it can
// be read, anywhere), then removes its blobs and rows in resumable
// batches, and ends with a signed certificate that anyone holding the
// service's public key can check.
type Deletions struct {
	o     DeletionOptions
	after atomic.Pointer[func(ctx context.Context, tenant ids.TenantID, batch int)]
}

// SetAfterBatch sets a function called after each purge batch of a
// deletion job; tests interrupt deletions with it. nil removes it.
func (ds *Deletions) SetAfterBatch(f func(ctx context.Context, tenant ids.TenantID, batch int)) {
	if f == nil {
		ds.after.Store(nil)
		return
	}
	ds.after.Store(&f)
}

// NewDeletions returns the deletion service and registers its job.
func NewDeletions(o DeletionOptions) *Deletions {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	d := &Deletions{o: o}
	if o.Jobs != nil {
		o.Jobs.Register(DeleteJob, d.run)
	}
	return d
}

// Of returns a tenant's deletion (found false when there is none).
func (ds *Deletions) Of(ctx context.Context, tenant ids.TenantID) (Deletion, bool, error) {
	return ds.o.Store.Deletion(ctx, tenant)
}

// Request starts a customer's accelerated deletion: only a tenant admin,
// only after the contract has ended, and only with no deletion under way.
// A confirmation code goes to the admin by email; nothing is scheduled
// until it comes back (Confirm).
func (ds *Deletions) Request(ctx context.Context, p principal.Principal) (Deletion, error) {
	if !p.IsTenantUser() || !p.Has(principal.TenantAdmin) {
		return Deletion{}, errs.E(errs.Forbidden, "Only your organisation's admins may ask for its deletion.")
	}
	c, err := ds.o.Contracts.Of(ctx, p.Tenant)
	if err != nil {
		return Deletion{}, err
	}
	if c.State != ContractEnded {
		return Deletion{}, errs.E(errs.Conflict, "An early deletion can be asked for once your contract has ended; it has not.")
	}
	code, err := newCode()
	if err != nil {
		return Deletion{}, err
	}
	now := ds.o.Clock.Now()
	h := sha256.Sum256([]byte(code))
	d := Deletion{Tenant: p.Tenant, State: DeletionAwaitingCode, Reason: ReasonCustomerRequest, RequestedBy: p.User, Requested: now,
		CodeHash: h[:], CodeExpires: now.Add(CodeTTL)}
	err = ds.o.Store.UpdateDeletions(ctx, func(tx DeletionTx) error {
		cur, found, err := tx.TenantDeletion(ctx, p.Tenant)
		if err != nil {
			return err
		}
		if found && cur.State != DeletionAwaitingCode {
			return errs.E(errs.Conflict, "Your organisation's deletion is already %s.", deletionWords(cur.State))
		}
		// Asking again replaces an unconfirmed request and its code.
		if err := tx.PutDeletion(ctx, d); err != nil {
			return err
		}
		return ds.audit(ctx, tx, p, d.Tenant, d.Tenant, "tenant.deletion.request", map[string]string{"code_expires": d.CodeExpires.Format(time.RFC3339)})
	})
	ds.o.Contracts.forget(p.Tenant)
	if err != nil {
		return Deletion{}, err
	}
	if err := ds.o.SendCode(ctx, p, code, d.CodeExpires); err != nil {
		ds.o.Log.WarnContext(ctx, "tenant deletion: code not sent", "tenant", string(p.Tenant), "err", err)
		return Deletion{}, errs.E(errs.Unavailable, "The confirmation code could not be sent by email; try again later.")
	}
	return d, err
}

// Confirm takes the code sent by Request and schedules the deletion
// AcceleratedDelay later. Codes are compared in constant time; five wrong
// ones, or an expired one, end the request.
func (ds *Deletions) Confirm(ctx context.Context, p principal.Principal, code string) (Deletion, error) {
	if !p.IsTenantUser() || !p.Has(principal.TenantAdmin) {
		return Deletion{}, errs.E(errs.Forbidden, "Only your organisation's admins may confirm its deletion.")
	}
	code = strings.TrimSpace(code)
	if code == "" || len(code) > 64 {
		return Deletion{}, errs.E(errs.Invalid, "Enter the confirmation code from the email.")
	}
	var out Deletion
	var refused error // a wrong or expired code: recorded, and the transaction commits
	err := ds.o.Store.UpdateDeletions(ctx, func(tx DeletionTx) error {
		d, found, err := tx.TenantDeletion(ctx, p.Tenant)
		if err != nil {
			return err
		}
		if !found || d.State != DeletionAwaitingCode {
			return errs.E(errs.Conflict, "There is no deletion waiting for a code; ask for one first.")
		}
		now := ds.o.Clock.Now()
		if !now.Before(d.CodeExpires) {
			refused = errs.E(errs.Conflict, "The code has expired; ask for the deletion again.")
			return tx.RemoveDeletion(ctx, p.Tenant)
		}
		h := sha256.Sum256([]byte(strings.ToUpper(code)))
		if subtle.ConstantTimeCompare(h[:], d.CodeHash) != 1 {
			d.Attempts++
			details := map[string]string{"attempts": fmt.Sprint(d.Attempts)}
			if d.Attempts >= MaxCodeAttempts {
				refused = errs.E(errs.Conflict, "That code is not right, and too many wrong codes were entered: ask for the deletion again.")
				details["request"] = "ended"
				err = tx.RemoveDeletion(ctx, p.Tenant)
			} else {
				refused = errs.E(errs.Invalid, "That code is not right; check the email and try again.")
				err = tx.PutDeletion(ctx, d)
			}
			if err != nil {
				return err
			}
			return ds.audit(ctx, tx, p, p.Tenant, p.Tenant, "tenant.deletion.code_refused", details)
		}
		d.State, d.CodeHash, d.CodeExpires, d.Attempts = DeletionScheduled, nil, time.Time{}, 0
		d.ExecuteAt = now.Add(AcceleratedDelay)
		if err := tx.PutDeletion(ctx, d); err != nil {
			return err
		}
		out = d
		details := map[string]string{"execute_at": d.ExecuteAt.Format(time.RFC3339)}
		if err := ds.audit(ctx, tx, p, p.Tenant, p.Tenant, "tenant.deletion.confirm", details); err != nil {
			return err
		}
		return ds.audit(ctx, tx, p, ids.ServiceTenant, p.Tenant, "tenant.deletion.confirm", details)
	})
	ds.o.Contracts.forget(p.Tenant)
	if err == nil {
		err = refused
	}
	if err != nil {
		return Deletion{}, err
	}
	if ds.o.Notify != nil {
		if nerr := ds.o.Notify(ctx, p.Tenant, "Your organisation's data will be deleted",
			fmt.Sprintf("An admin of your organisation confirmed the early deletion of all its data in Kaigi.\n\n"+
				"It will run on %s (UTC). Until then any admin can cancel it in the admin center.\n"+
				"Afterwards a signed deletion certificate is published at %s/api/v1/trust/deletions/%s\n",
				out.ExecuteAt.UTC().Format("2006-01-02 15:04"), ds.o.BaseURL, out.Tenant)); nerr != nil {
			ds.o.Log.WarnContext(ctx, "tenant deletion: notice not sent", "tenant", string(out.Tenant), "err", nerr)
		}
	}
	return out, nil
}

// Cancel ends a deletion that has not started: a customer's admin changes
// their mind (awaiting_code or scheduled).
func (ds *Deletions) Cancel(ctx context.Context, p principal.Principal) error {
	if !p.IsTenantUser() || !p.Has(principal.TenantAdmin) {
		return errs.E(errs.Forbidden, "Only your organisation's admins may cancel its deletion.")
	}
	err := ds.o.Store.UpdateDeletions(ctx, func(tx DeletionTx) error {
		d, found, err := tx.TenantDeletion(ctx, p.Tenant)
		if err != nil {
			return err
		}
		if !found {
			return errs.E(errs.NotFound, "There is no deletion to cancel.")
		}
		if d.Reason != ReasonCustomerRequest || (d.State != DeletionAwaitingCode && d.State != DeletionScheduled) {
			return errs.E(errs.Conflict, "This deletion cannot be cancelled: it is %s.", deletionWords(d.State))
		}
		if err := tx.RemoveDeletion(ctx, p.Tenant); err != nil {
			return err
		}
		if err := ds.audit(ctx, tx, p, p.Tenant, p.Tenant, "tenant.deletion.cancel", map[string]string{"was": d.State}); err != nil {
			return err
		}
		return ds.audit(ctx, tx, p, ids.ServiceTenant, p.Tenant, "tenant.deletion.cancel", map[string]string{"was": d.State})
	})
	ds.o.Contracts.forget(p.Tenant)
	return err
}

// cancelForReactivation drops a deletion that has not started because the
// operator reactivated the tenant; it is called inside the contract's
// transaction by SetEnd. It refuses once the deletion has started.
func cancelForReactivation(ctx context.Context, tx DeletionTx, tenant ids.TenantID) (bool, error) {
	d, found, err := tx.TenantDeletion(ctx, tenant)
	if err != nil || !found {
		return false, err
	}
	if d.State == DeletionRunning || d.State == DeletionDone {
		return false, errs.E(errs.Conflict, "The tenant's deletion has started; it can no longer be reactivated.")
	}
	return true, tx.RemoveDeletion(ctx, tenant)
}

// Sweep drives the lifecycle by the clock: a tenant whose contract ended
// DeleteAfter ago is scheduled; a scheduled deletion whose time has come
// starts; a started deletion without a job (a crash between the two) gets
// one. It is idempotent and safe on every node at once.
func (ds *Deletions) Sweep(ctx context.Context) (started int, err error) {
	now := ds.o.Clock.Now()
	contracts, err := ds.o.Contracts.store.Contracts(ctx)
	if err != nil {
		return 0, err
	}
	list, err := ds.o.Store.Deletions(ctx)
	if err != nil {
		return 0, err
	}
	byTenant := map[ids.TenantID]Deletion{}
	for _, d := range list {
		byTenant[d.Tenant] = d
	}
	for _, c := range contracts {
		if c.End.IsZero() || now.Before(c.End.Add(DeleteAfter)) {
			continue
		}
		if d, ok := byTenant[c.Tenant]; ok && (d.State == DeletionRunning || d.State == DeletionDone) {
			continue
		}
		// The contract's deadline overrides a customer's request still
		// waiting for its code or its three days.
		byTenant[c.Tenant] = Deletion{Tenant: c.Tenant, State: DeletionScheduled, Reason: ReasonContractEnd, Requested: now, ExecuteAt: c.End.Add(DeleteAfter)}
	}
	var errList []error
	for _, d := range byTenant {
		if d.State == DeletionAwaitingCode && !now.Before(d.CodeExpires) {
			// An unconfirmed request lapses quietly.
			if err := ds.o.Store.UpdateDeletions(ctx, func(tx DeletionTx) error { return tx.RemoveDeletion(ctx, d.Tenant) }); err != nil {
				errList = append(errList, err)
			}
			continue
		}
		if d.State == DeletionScheduled && !now.Before(d.ExecuteAt) {
			ok, err := ds.start(ctx, d)
			if err != nil {
				errList = append(errList, fmt.Errorf("tenant %s: %w", d.Tenant, err))
				continue
			}
			if ok {
				started++
				d.State = DeletionRunning
			}
		}
		if d.State == DeletionRunning {
			if err := ds.ensureJob(ctx, d.Tenant); err != nil {
				errList = append(errList, fmt.Errorf("tenant %s: %w", d.Tenant, err))
			}
		}
	}
	return started, errors.Join(errList...)
}

// start moves a due deletion to running, recording the keys it will
// destroy, in one transaction with its audit records. It checks again, in
// that transaction, that the deletion is still due: the sweep's lists may
// be stale by then — an admin cancelled the early deletion, or the
// operator reactivated the tenant — and then nothing starts (started is
// false).
func (ds *Deletions) start(ctx context.Context, d Deletion) (started bool, err error) {
	keys, err := ds.o.Store.TenantKeys(ctx, d.Tenant)
	if err != nil {
		return false, err
	}
	now := ds.o.Clock.Now()
	job := principal.Job("tenant-deletion", ids.ServiceTenant)
	err = ds.o.Store.UpdateDeletions(ctx, func(tx DeletionTx) error {
		// The contract first: a reactivation writes it before it looks at
		// the deletion, so one of the two waits for the other.
		end, hasContract, err := tx.ContractEnd(ctx, d.Tenant)
		if err != nil {
			return err
		}
		cur, found, err := tx.TenantDeletion(ctx, d.Tenant)
		if err != nil {
			return err
		}
		if found && (cur.State == DeletionRunning || cur.State == DeletionDone) {
			return nil // another node was first
		}
		contractDue := hasContract && !end.IsZero() && !now.Before(end.Add(DeleteAfter))
		customerDue := found && cur.State == DeletionScheduled && !now.Before(cur.ExecuteAt) && hasContract && !end.IsZero() && !now.Before(end)
		switch {
		case contractDue:
			d.Reason = ReasonContractEnd
		case customerDue:
			d.Reason = ReasonCustomerRequest
		default:
			return nil // no longer due
		}
		if found {
			d.RequestedBy, d.Requested, d.ExecuteAt = cur.RequestedBy, cur.Requested, cur.ExecuteAt
		}
		d.State, d.Started, d.Keys, d.ContractEnd = DeletionRunning, now, keys, end
		d.CodeHash, d.CodeExpires, d.Attempts = nil, time.Time{}, 0
		if err := tx.PutDeletion(ctx, d); err != nil {
			return err
		}
		details := map[string]string{"reason": d.Reason, "keys": fmt.Sprint(len(keys))}
		if err := ds.audit(ctx, tx, job, d.Tenant, d.Tenant, "tenant.deletion.start", details); err != nil {
			return err
		}
		started = true
		return ds.audit(ctx, tx, job, ids.ServiceTenant, d.Tenant, "tenant.deletion.start", details)
	})
	if err != nil || !started {
		return false, err
	}
	ds.o.Contracts.forget(d.Tenant)
	ds.o.Log.InfoContext(ctx, "tenant deletion started", "tenant", string(d.Tenant), "reason", d.Reason)
	return true, nil
}

// ensureJob enqueues the deletion's job unless one is queued or running.
func (ds *Deletions) ensureJob(ctx context.Context, tenant ids.TenantID) error {
	list, err := ds.o.JobStore.Jobs(ctx, ids.ServiceTenant, DeleteJob, 1000)
	if err != nil {
		return err
	}
	subject := "tenant:" + string(tenant)
	for _, j := range list {
		if j.Subject == subject && !jobs.Finished(j.State) {
			return nil
		}
	}
	_, err = ds.o.Jobs.Enqueue(ctx, jobs.Job{Tenant: ids.ServiceTenant, Kind: DeleteJob, Subject: subject})
	return err
}

// run is the deletion job: shred, blobs, rows, compaction, certificate.
// Each step is idempotent, so a job resumed after a crash repeats at most
// the step it was in.
func (ds *Deletions) run(ctx context.Context, run *jobs.Run) error {
	tenant := ids.TenantID(strings.TrimPrefix(run.Job().Subject, "tenant:"))
	d, found, err := ds.o.Store.Deletion(ctx, tenant)
	if err != nil {
		return jobs.Retry(err)
	}
	if !found || d.State == DeletionDone {
		return nil
	}
	if d.State != DeletionRunning {
		return errs.E(errs.Conflict, "The tenant's deletion is %s, not running.", deletionWords(d.State))
	}
	step := run.Job().Cursor
	if step == "" {
		// Keys first: from here on nothing of the tenant can be read,
		// whatever happens to the rest.
		if err := ds.o.Keys.Shred(ctx, tenant); err != nil {
			return jobs.Retry(err)
		}
		if err := run.Checkpoint(ctx, "shredded", 1, 4); err != nil {
			return err
		}
		step = "shredded"
	}
	if step == "shredded" {
		if err := ds.o.Blobs.DeleteTenant(ctx, tenant); err != nil {
			return jobs.Retry(err)
		}
		if err := run.Checkpoint(ctx, "rows", 2, 4); err != nil {
			return err
		}
		step = "rows"
	}
	if step == "rows" {
		if err := ds.purge(ctx, run, tenant); err != nil {
			return err
		}
		if err := run.Checkpoint(ctx, "certificate", 3, 4); err != nil {
			return err
		}
	}
	if err := ds.finish(ctx, tenant); err != nil {
		return jobs.Retry(err)
	}
	run.SetResult("certificate:" + string(tenant))
	return run.Checkpoint(ctx, "done", 4, 4)
}

// purge deletes the tenant's rows in batches, then compacts the database
// and looks once more: a background write that raced the purge (an audit
// checkpoint signed just before) is caught before the certificate says
// nothing is left.
func (ds *Deletions) purge(ctx context.Context, run *jobs.Run, tenant ids.TenantID) error {
	batch := 0
	for range 3 {
		for {
			done, err := ds.o.Store.PurgeTenant(ctx, tenant, purgeBatch)
			if err != nil {
				return jobs.Retry(err)
			}
			if done {
				break
			}
			batch++
			if err := run.Checkpoint(ctx, "rows", 2, 4); err != nil {
				return err
			}
			if f := ds.after.Load(); f != nil {
				(*f)(ctx, tenant, batch)
			}
		}
		if err := ds.o.Store.Compact(ctx); err != nil {
			return jobs.Retry(err)
		}
		if done, err := ds.o.Store.PurgeTenant(ctx, tenant, purgeBatch); err != nil {
			return jobs.Retry(err)
		} else if done {
			return nil
		}
	}
	return jobs.Retry(errors.New("rows of the tenant keep appearing during its purge"))
}

// finish issues the signed certificate and marks the deletion done.
func (ds *Deletions) finish(ctx context.Context, tenant ids.TenantID) error {
	d, found, err := ds.o.Store.Deletion(ctx, tenant)
	if err != nil || !found || d.State == DeletionDone {
		return err
	}
	now := ds.o.Clock.Now()
	cert := Certificate{Kind: CertificateKind, Service: ds.o.BaseURL, Tenant: tenant, Reason: d.Reason, Requested: d.Requested.UTC(),
		Started: d.Started.UTC(), Completed: now.UTC(), KeysDestroyed: d.Keys, Counts: d.Counts, BlobsDeleted: true}
	if cert.KeysDestroyed == nil {
		cert.KeysDestroyed = []DestroyedKey{}
	}
	if cert.Counts == nil {
		cert.Counts = map[string]int64{}
	}
	for _, n := range cert.Counts {
		cert.RowsDeleted += n
	}
	if !d.ContractEnd.IsZero() {
		cert.ContractEnd = d.ContractEnd.UTC()
	}
	b, err := json.MarshalIndent(cert, "", "  ")
	if err != nil {
		return err
	}
	b = append(b, '\n')
	d.State, d.Finished, d.Certificate, d.Signature = DeletionDone, now, b, ds.o.Signer.Sign(b)
	job := principal.Job("tenant-deletion", ids.ServiceTenant)
	err = ds.o.Store.UpdateDeletions(ctx, func(tx DeletionTx) error {
		if err := tx.PutDeletion(ctx, d); err != nil {
			return err
		}
		return ds.audit(ctx, tx, job, ids.ServiceTenant, tenant, "tenant.deletion.done", map[string]string{
			"rows": fmt.Sprint(cert.RowsDeleted), "keys": fmt.Sprint(len(cert.KeysDestroyed))})
	})
	if err == nil {
		ds.o.Contracts.forget(tenant)
		ds.o.Log.InfoContext(ctx, "tenant deleted", "tenant", string(tenant), "rows", cert.RowsDeleted)
	}
	return err
}

// CertificateOf returns a finished deletion's certificate and signature.
// It is public: the former customer has no account left to sign in with.
func (ds *Deletions) CertificateOf(ctx context.Context, tenant ids.TenantID) (cert, sig []byte, err error) {
	if !ids.Valid(string(tenant)) {
		return nil, nil, errs.E(errs.NotFound, "There is no deletion certificate for that tenant.")
	}
	d, found, err := ds.o.Store.Deletion(ctx, tenant)
	if err != nil {
		return nil, nil, err
	}
	if !found || d.State != DeletionDone {
		return nil, nil, errs.E(errs.NotFound, "There is no deletion certificate for that tenant.")
	}
	return d.Certificate, d.Signature, nil
}

// All returns every deletion (operators).
func (ds *Deletions) All(ctx context.Context, p principal.Principal) ([]Deletion, error) {
	if p.Kind != principal.Operator {
		return nil, errs.E(errs.Forbidden, "Only operators see every deletion.")
	}
	return ds.o.Store.Deletions(ctx)
}

// VerifyCertificate checks a certificate's signature with the service's
// public key (PKIX PEM, as /api/v1/service publishes it) and returns it.
func VerifyCertificate(cert, sig, publicPEM []byte) (Certificate, error) {
	blk, _ := pem.Decode(publicPEM)
	if blk == nil {
		return Certificate{}, errors.New("the public key is not PEM")
	}
	k, err := x509.ParsePKIXPublicKey(blk.Bytes)
	if err != nil {
		return Certificate{}, fmt.Errorf("the public key: %w", err)
	}
	pub, ok := k.(ed25519.PublicKey)
	if !ok {
		return Certificate{}, errors.New("the public key is not Ed25519")
	}
	if !ed25519.Verify(pub, cert, sig) {
		return Certificate{}, errors.New("the signature does not match the certificate")
	}
	var c Certificate
	if err := json.Unmarshal(cert, &c); err != nil {
		return Certificate{}, fmt.Errorf("the certificate: %w", err)
	}
	if c.Kind != CertificateKind {
		return Certificate{}, fmt.Errorf("not a deletion certificate (%q)", c.Kind)
	}
	return c, nil
}

// audit records action on subject's deletion in log's audit log (the
// tenant's own, or the operator's).
func (ds *Deletions) audit(ctx context.Context, tx audit.Appender, p principal.Principal, log, subject ids.TenantID, action string, details map[string]string) error {
	_, err := ds.o.Audit.Append(ctx, tx, audit.Entry{Actor: p, Tenant: log, Action: action, Target: "tenant:" + string(subject), Details: details})
	return err
}

func deletionWords(state string) string {
	switch state {
	case DeletionAwaitingCode:
		return "waiting for its confirmation code"
	case DeletionScheduled:
		return "scheduled"
	case DeletionRunning:
		return "under way"
	case DeletionDone:
		return "done"
	}
	return state
}

// codeAlphabet leaves out letters and digits that read alike (0/O, 1/I/L).
const codeAlphabet = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"

// newCode returns a 10-character confirmation code (about 50 bits).
func newCode() (string, error) {
	var sb strings.Builder
	n := big.NewInt(int64(len(codeAlphabet)))
	for range 10 {
		i, err := rand.Int(rand.Reader, n)
		if err != nil {
			return "", err
		}
		sb.WriteByte(codeAlphabet[i.Int64()])
	}
	return sb.String(), nil
}
