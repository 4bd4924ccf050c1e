package store

import (
	"context"
	"database/sql"
	"errors"

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
