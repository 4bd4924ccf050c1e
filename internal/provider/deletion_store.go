package provider

import (
	"context"
	"time"

	"github.com/kaigi/kaigi/internal/audit"
	"github.com/kaigi/kaigi/internal/ids"
)

// Deletion states. A tenant has at most one deletion; it goes
// awaiting_code → scheduled (a customer's accelerated request, once the
// code is confirmed) or straight to scheduled (the contract's day 179),
// then running → done. Until it runs it can be cancelled (by the customer,
// or by reactivation); once running it only goes forward.
const (
	DeletionAwaitingCode = "awaiting_code"
	DeletionScheduled    = "scheduled"
	DeletionRunning      = "running"
	DeletionDone         = "done"
)

// Why a tenant is deleted.
const (
	ReasonContractEnd     = "contract_end"     // the contract's lifecycle: by day 180 after its end
	ReasonCustomerRequest = "customer_request" // the customer's accelerated deletion
)

// Deletion is a tenant's deletion, as stored.
type Deletion struct {
	Tenant      ids.TenantID     `json:"tenant"`
	State       string           `json:"state" doc:"awaiting_code, scheduled, running or done."`
	Reason      string           `json:"reason" doc:"contract_end or customer_request."`
	RequestedBy ids.UserID       `json:"requested_by,omitempty" doc:"The admin who asked for an accelerated deletion."`
	Requested   time.Time        `json:"requested"`
	ExecuteAt   time.Time        `json:"execute_at" doc:"When the deletion runs (or ran)."`
	ContractEnd time.Time        `json:"contract_end,omitzero" doc:"The contract's end, as it was when the deletion started."`
	Started     time.Time        `json:"started,omitzero"`
	Finished    time.Time        `json:"finished,omitzero"`
	Keys        []DestroyedKey   `json:"keys,omitempty" doc:"The key ids destroyed."`
	Counts      map[string]int64 `json:"counts,omitempty" doc:"Rows deleted per table, and blobs."`

	CodeHash    []byte    `json:"-"` // SHA-256 of the confirmation code, while awaiting it
	CodeExpires time.Time `json:"-"`
	Attempts    int       `json:"-"` // wrong codes entered
	Certificate []byte    `json:"-"` // the signed certificate's JSON, once done
	Signature   []byte    `json:"-"` // its Ed25519 signature
}

// DestroyedKey is one key-encryption key destroyed by a deletion, with
// the data key versions it wrapped.
type DestroyedKey struct {
	KEKID    string   `json:"kek_id"`
	Versions []uint32 `json:"versions"`
}

// DeletionTx writes deletions.
type DeletionTx interface {
	audit.Appender
	// TenantDeletion reads a deletion inside the transaction (found
	// false when there is none).
	TenantDeletion(ctx context.Context, tenant ids.TenantID) (d Deletion, found bool, err error)
	PutDeletion(ctx context.Context, d Deletion) error
	// RemoveDeletion forgets a deletion that has not started (cancelled).
	RemoveDeletion(ctx context.Context, tenant ids.TenantID) error
	// ContractEnd reads the tenant's contract end inside the transaction,
	// locking its row (PostgreSQL) so that a deletion's start and a
	// reactivation take turns; found is false without a contract.
	ContractEnd(ctx context.Context, tenant ids.TenantID) (end time.Time, found bool, err error)
}

// DeletionStore keeps deletions and purges tenants.
type DeletionStore interface {
	UpdateDeletions(ctx context.Context, fn func(tx DeletionTx) error) error
	Deletion(ctx context.Context, tenant ids.TenantID) (d Deletion, found bool, err error)
	// Deletions returns every deletion, oldest request first.
	Deletions(ctx context.Context) ([]Deletion, error)
	// TenantKeys lists the tenant's key-encryption keys and the data key
	// versions each wraps (ids only), before they are shredded.
	TenantKeys(ctx context.Context, tenant ids.TenantID) ([]DestroyedKey, error)
	// PurgeTenant deletes up to limit rows of the tenant's data, from one
	// table at a time, children before parents, in one transaction that
	// also adds what it deleted to the deletion's counts (by table name).
	// It returns done when nothing of the tenant is left: every row of
	// every table that belongs to it, the audit log and transparency log
	// included, except the deletion row itself, the shredded-tenant
	// tombstone and the provider's own records about it (the legal ledger,
	// the operator's audit log). The log tables refuse deletes unless the
	// tenant's keys are shredded and its deletion is running.
	PurgeTenant(ctx context.Context, tenant ids.TenantID, limit int) (done bool, err error)
	// Compact makes what was deleted unrecoverable from the database's
	// files: on SQLite (secure_delete is on) it checkpoints and truncates
	// the WAL; on PostgreSQL it vacuums the tables.
	Compact(ctx context.Context) error
}
