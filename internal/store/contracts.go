package store

import (
	"context"
	"database/sql"
	"errors"

	"github.com/kaigi/kaigi/internal/errs"
	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/provider"
)

// Contracts adapts db to the contract lifecycle's store.
func Contracts(db *DB) provider.ContractStore { return contractStore{db} }

type contractStore struct{ *DB }

var (
	_ provider.ContractTx    = (*Tx)(nil)
	_ provider.ContractStore = contractStore{}
)

func (s contractStore) UpdateContracts(ctx context.Context, fn func(tx provider.ContractTx) error) error {
	return s.InTx(ctx, func(tx *Tx) error { return fn(tx) })
}

func (tx *Tx) PutContract(ctx context.Context, c provider.Contract) error {
	_, err := tx.Exec(ctx, `INSERT INTO tenant_contracts (tenant_id, end_at, updated_at) VALUES (?, ?, ?)
		ON CONFLICT (tenant_id) DO UPDATE SET end_at = excluded.end_at, updated_at = excluded.updated_at`, string(c.Tenant), nullNS(c.End), ns(c.Updated))
	return err
}

func scanContract(sc interface{ Scan(...any) error }) (provider.Contract, error) {
	var c provider.Contract
	var tenant string
	var end sql.NullInt64
	var updated int64
	if err := sc.Scan(&tenant, &end, &updated); err != nil {
		return c, err
	}
	c.Tenant, c.Updated = ids.TenantID(tenant), fromNS(updated)
	if end.Valid {
		c.End = fromNS(end.Int64)
	}
	return c, nil
}

func (s contractStore) Contract(ctx context.Context, tenant ids.TenantID) (provider.Contract, bool, error) {
	c, err := scanContract(s.QueryRow(ctx, `SELECT tenant_id, end_at, updated_at FROM tenant_contracts WHERE tenant_id = ?`, string(tenant)))
	if errors.Is(err, sql.ErrNoRows) {
		return provider.Contract{}, false, nil
	}
	return c, err == nil, err
}

func (s contractStore) Contracts(ctx context.Context) ([]provider.Contract, error) {
	rows, err := s.Query(ctx, `SELECT tenant_id, end_at, updated_at FROM tenant_contracts ORDER BY end_at`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []provider.Contract{}
	for rows.Next() {
		c, err := scanContract(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// TenantHealth counts a tenant's accounts, teams, channels, messages,
// files and recordings (metadata only).
func (db *DB) TenantHealth(ctx context.Context, tenant ids.TenantID) (provider.Health, error) {
	var h provider.Health
	var last sql.NullInt64
	t := string(tenant)
	if ok, err := (contractStore{db}).TenantExists(ctx, tenant); err != nil {
		return h, err
	} else if !ok {
		return h, errs.E(errs.NotFound, "There is no such tenant.")
	}
	err := db.QueryRow(ctx, `SELECT
		(SELECT COUNT(*) FROM accounts WHERE tenant_id = ? AND realm = 'tenant' AND state = 'active'),
		(SELECT COUNT(*) FROM teams WHERE tenant_id = ?),
		(SELECT COUNT(*) FROM channels WHERE tenant_id = ?),
		(SELECT COUNT(*) FROM messages WHERE tenant_id = ?),
		(SELECT COUNT(*) FROM attachments WHERE tenant_id = ?),
		(SELECT COALESCE(SUM(size), 0) FROM attachments WHERE tenant_id = ?),
		(SELECT COUNT(*) FROM meeting_recordings WHERE tenant_id = ?),
		(SELECT MAX(created_at) FROM messages WHERE tenant_id = ?)`, t, t, t, t, t, t, t, t).
		Scan(&h.Accounts, &h.Teams, &h.Channels, &h.Messages, &h.Files, &h.FileBytes, &h.Recordings, &last)
	if last.Valid {
		h.LastActivity = fromNS(last.Int64)
	}
	return h, err
}

func (s contractStore) TenantExists(ctx context.Context, tenant ids.TenantID) (bool, error) {
	if !ids.Valid(string(tenant)) {
		return false, nil
	}
	var n int
	err := s.QueryRow(ctx, `SELECT COUNT(*) FROM tenants WHERE id = ?`, string(tenant)).Scan(&n)
	return n > 0, err
}
