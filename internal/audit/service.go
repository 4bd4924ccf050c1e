package audit

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/kaigi/kaigi/internal/clock"
	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/keys"
	"github.com/kaigi/kaigi/internal/signing"
	"github.com/kaigi/kaigi/internal/webhook"
)

// Store is what the audit service keeps its state in, besides the chain.
type Store interface {
	Searcher
	Reader
	CheckpointStore
	// AuditTenants lists the tenants that have a chain.
	AuditTenants(ctx context.Context) ([]ids.TenantID, error)
	// UpdateAudit runs fn in one transaction.
	UpdateAudit(ctx context.Context, fn func(tx Tx) error) error

	// AuditSettings returns tenant's settings; ok=false when it has none.
	AuditSettings(ctx context.Context, tenant ids.TenantID) (st Settings, ok bool, err error)
	// AuditRecord returns one record; ok=false when it does not exist.
	AuditRecord(ctx context.Context, tenant ids.TenantID, seq int64) (r Record, ok bool, err error)
	// FirstAuditSeqSince returns the seq of tenant's first record at or after t;
	// ok=false when there is none.
	FirstAuditSeqSince(ctx context.Context, tenant ids.TenantID, t time.Time) (seq int64, ok bool, err error)
	// DeleteAuditRecords deletes up to limit of tenant's records with
	// seq <= through (the database refuses any above the anchor) and
	// returns how many went.
	DeleteAuditRecords(ctx context.Context, tenant ids.TenantID, through int64, limit int) (int64, error)
	// DeleteAuditCheckpoints deletes tenant's checkpoints below seq.
	DeleteAuditCheckpoints(ctx context.Context, tenant ids.TenantID, below int64) error

	SinkStore
}

// Tx is a transaction of the audit service's store.
type Tx interface {
	Appender
	PutAuditSettings(ctx context.Context, st Settings) error
	// PutAuditAnchor inserts or moves tenant's prune anchor forward.
	PutAuditAnchor(ctx context.Context, a Anchor) error
	InsertAuditSink(ctx context.Context, s Sink) error
	// DeleteAuditSink removes a sink; ok=false when tenant has none with id.
	DeleteAuditSink(ctx context.Context, tenant ids.TenantID, id string) (ok bool, err error)
}

// Sealer seals and opens secrets with a tenant's keys.
type Sealer interface {
	Seal(ctx context.Context, tenant ids.TenantID, aad keys.AAD, plaintext []byte) ([]byte, error)
	Open(ctx context.Context, tenant ids.TenantID, aad keys.AAD, ciphertext []byte) ([]byte, error)
}

// ServiceOptions configure a Service.
type ServiceOptions struct {
	Store   Store
	Log     *Log
	Keys    Sealer
	Signing *signing.Key // signs checkpoints and prune anchors
	Clock   clock.Clock
	Logger  *slog.Logger
	// Node names this process in sink leases; default a random id.
	Node string
	// SinkTimeout bounds one delivery to a SIEM; default 15s.
	SinkTimeout time.Duration
}

// Service is the audit log as compliance officers and tenant admins use it:
// search, export, verification, retention and streaming to SIEMs.
type Service struct {
	store   Store
	log     *Log
	keys    Sealer
	signing *signing.Key
	clock   clock.Clock
	logger  *slog.Logger
	node    string
	timeout time.Duration

	guard    webhook.Guard // where sinks may deliver
	inflight sync.Map      // sink id → struct{}: deliveries under way on this node
}

// NewService returns a service.
func NewService(o ServiceOptions) *Service {
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Log == nil {
		o.Log = New(o.Clock)
	}
	if o.Node == "" {
		o.Node = ids.New()
	}
	if o.SinkTimeout == 0 {
		o.SinkTimeout = 15 * time.Second
	}
	return &Service{store: o.Store, log: o.Log, keys: o.Keys, signing: o.Signing, clock: o.Clock, logger: o.Logger, node: o.Node, timeout: o.SinkTimeout}
}

// AllowLoopbackEndpoints lets sinks name loopback addresses (still over
// TLS), for tests against local servers. Never in production: a sink could
// otherwise aim at the node itself.
func (s *Service) AllowLoopbackEndpoints(on bool) { s.guard.AllowLoopback(on) }

// record appends e in a transaction of its own.
func (s *Service) record(ctx context.Context, e Entry) error {
	return s.store.UpdateAudit(ctx, func(tx Tx) error {
		_, err := s.log.Append(ctx, tx, e)
		return err
	})
}

// Verify verifies tenant's chain from its prune anchor.
func (s *Service) Verify(ctx context.Context, tenant ids.TenantID) (Report, error) {
	return Verify(ctx, s.store, tenant, s.signing.VerifierKey())
}

// Run prunes expired records once an hour and delivers to SIEM sinks every
// few seconds until ctx ends.
func (s *Service) Run(ctx context.Context) {
	prune := time.NewTicker(time.Hour)
	defer prune.Stop()
	deliver := time.NewTicker(2 * time.Second)
	defer deliver.Stop()
	s.PruneAll(ctx)
	for {
		select {
		case <-ctx.Done():
			return
		case <-prune.C:
			s.PruneAll(ctx)
		case <-deliver.C:
			s.DeliverAll(ctx)
		}
	}
}
