package audit

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/kaigi/kaigi/internal/errs"
	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/principal"
)

// Retention bounds, in years.
const (
	DefaultRetentionYears = 1
	MinRetentionYears     = 1
	MaxRetentionYears     = 10
)

// Settings are a tenant's audit settings.
type Settings struct {
	Tenant         ids.TenantID `json:"-"`
	RetentionYears int          `json:"retention_years" doc:"How long records are kept, 1 to 10 years; default 1."`
	UpdatedBy      string       `json:"updated_by,omitempty"`
	UpdatedAt      time.Time    `json:"updated_at,omitzero"`
	// PrunedThrough is the last record removed by retention (0: none yet).
	PrunedThrough int64 `json:"pruned_through"`
}

// Anchor is where a pruned chain now begins: the last removed record's seq
// and hash, signed.
type Anchor struct {
	Tenant ids.TenantID
	Seq    int64
	Hash   []byte
	Time   time.Time
	Note   string // a signed note of headText(anchorPrefix, …)
}

// Settings returns p's tenant's audit settings (defaults when unset).
func (s *Service) Settings(ctx context.Context, p principal.Principal) (Settings, error) {
	if err := CanRead(p); err != nil {
		return Settings{}, err
	}
	return s.settings(ctx, p.Tenant)
}

func (s *Service) settings(ctx context.Context, tenant ids.TenantID) (Settings, error) {
	st, ok, err := s.store.AuditSettings(ctx, tenant)
	if err != nil {
		return Settings{}, err
	}
	if !ok {
		st = Settings{Tenant: tenant, RetentionYears: DefaultRetentionYears}
	}
	a, ok, err := s.store.AuditAnchor(ctx, tenant)
	if err != nil {
		return Settings{}, err
	}
	if ok {
		st.PrunedThrough = a.Seq
	}
	return st, nil
}

// SetRetention sets how many years p's tenant keeps its audit records. Only
// tenant admins may; the change is audited.
func (s *Service) SetRetention(ctx context.Context, p principal.Principal, years int) (Settings, error) {
	if p.Tenant == "" || !p.Has(principal.TenantAdmin) {
		return Settings{}, errs.E(errs.Forbidden, "Only tenant admins may change how long the audit log is kept.")
	}
	if years < MinRetentionYears || years > MaxRetentionYears {
		return Settings{}, errs.E(errs.Invalid, "Audit records are kept for %d to %d years.", MinRetentionYears, MaxRetentionYears)
	}
	old, err := s.settings(ctx, p.Tenant)
	if err != nil {
		return Settings{}, err
	}
	st := Settings{Tenant: p.Tenant, RetentionYears: years, UpdatedBy: string(p.User), UpdatedAt: s.clock.Now().UTC(), PrunedThrough: old.PrunedThrough}
	err = s.store.UpdateAudit(ctx, func(tx Tx) error {
		if err := tx.PutAuditSettings(ctx, st); err != nil {
			return err
		}
		_, err := s.log.Append(ctx, tx, Entry{Actor: p, Action: "audit.retention.update", Target: "tenant:" + string(p.Tenant),
			Details: map[string]string{"retention_years": strconv.Itoa(years), "previous_years": strconv.Itoa(old.RetentionYears)}})
		return err
	})
	return st, err
}

// PruneResult says what one prune did.
type PruneResult struct {
	Through int64 // the anchor after the prune (0: none)
	Deleted int64 // records removed
}

// pruneBatch is how many records one statement removes.
const pruneBatch = 1000

// Prune removes tenant's records older than its retention, keeping the
// chain verifiable: it first signs a checkpoint of the head, then signs and
// stores the prune anchor (the last record to go and its hash) together
// with an "audit.prune" record, and only then deletes, in batches. A prune
// interrupted part way is finished by the next one.
func (s *Service) Prune(ctx context.Context, tenant ids.TenantID) (PruneResult, error) {
	st, err := s.settings(ctx, tenant)
	if err != nil {
		return PruneResult{}, err
	}
	now := s.clock.Now().UTC()
	cutoff := now.AddDate(-st.RetentionYears, 0, 0)
	through := st.PrunedThrough
	first, ok, err := s.store.FirstAuditSeqSince(ctx, tenant, cutoff)
	if err != nil {
		return PruneResult{}, err
	}
	var target int64
	if ok {
		target = first - 1
	} else if target, _, err = s.store.AuditHead(ctx, tenant); err != nil {
		return PruneResult{}, err
	}
	if target > through {
		if _, _, err := s.log.Checkpoint(ctx, s.store, s.signing, tenant); err != nil {
			return PruneResult{}, fmt.Errorf("checkpoint before pruning: %w", err)
		}
		r, ok, err := s.store.AuditRecord(ctx, tenant, target)
		if err != nil {
			return PruneResult{}, err
		}
		if !ok {
			return PruneResult{}, fmt.Errorf("audit record %d of %s is missing", target, tenant)
		}
		at := now.Truncate(time.Second)
		note, err := s.signing.SignNote(headText(anchorPrefix, tenant, target, r.Hash, at))
		if err != nil {
			return PruneResult{}, fmt.Errorf("sign prune anchor: %w", err)
		}
		a := Anchor{Tenant: tenant, Seq: target, Hash: r.Hash, Time: at, Note: note}
		err = s.store.UpdateAudit(ctx, func(tx Tx) error {
			if err := tx.PutAuditAnchor(ctx, a); err != nil {
				return err
			}
			_, err := s.log.Append(ctx, tx, Entry{Actor: principal.Job("audit.retention", tenant), Action: "audit.prune", Target: "tenant:" + string(tenant),
				Details: map[string]string{"through": strconv.FormatInt(target, 10), "retention_years": strconv.Itoa(st.RetentionYears)}})
			return err
		})
		if err != nil {
			return PruneResult{}, fmt.Errorf("store prune anchor: %w", err)
		}
		through = target
	}
	res := PruneResult{Through: through}
	if through == 0 {
		return res, nil
	}
	for {
		n, err := s.store.DeleteAuditRecords(ctx, tenant, through, pruneBatch)
		if err != nil {
			return res, fmt.Errorf("delete audit records: %w", err)
		}
		res.Deleted += n
		if n < pruneBatch {
			break
		}
	}
	// Checkpoints below the anchor pin nothing that still exists.
	if err := s.store.DeleteAuditCheckpoints(ctx, tenant, through); err != nil {
		return res, fmt.Errorf("delete old checkpoints: %w", err)
	}
	return res, nil
}

// PruneAll prunes every tenant's chain, logging failures.
func (s *Service) PruneAll(ctx context.Context) {
	tenants, err := s.store.AuditTenants(ctx)
	if err != nil {
		s.logger.WarnContext(ctx, "audit retention: list chains", "err", err)
		return
	}
	for _, t := range tenants {
		if ctx.Err() != nil {
			return
		}
		if res, err := s.Prune(ctx, t); err != nil {
			s.logger.WarnContext(ctx, "audit retention", "tenant", string(t), "err", err)
		} else if res.Deleted > 0 {
			s.logger.InfoContext(ctx, "audit records pruned", "tenant", string(t), "through", res.Through, "deleted", res.Deleted)
		}
	}
}
