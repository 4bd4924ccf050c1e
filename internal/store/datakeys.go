package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/keys"
)

var _ keys.Store = (*DB)(nil)

const shreddedQuery = `SELECT COUNT(*) FROM shredded_tenants WHERE tenant_id = ?`

// isShredded reads the answer to shreddedQuery.
func isShredded(row *sql.Row) (bool, error) {
	var n int
	err := row.Scan(&n)
	return n > 0, err
}

// DataKeys returns tenant's wrapped data keys in ascending version order.
func (db *DB) DataKeys(ctx context.Context, tenant ids.TenantID) ([]keys.WrappedDataKey, error) {
	gone, err := isShredded(db.QueryRow(ctx, shreddedQuery, string(tenant)))
	if err != nil {
		return nil, err
	}
	if gone {
		return nil, keys.ErrShredded
	}
	rows, err := db.Query(ctx, `SELECT version, kek_id, wrapped, created_at FROM data_keys WHERE tenant_id = ? ORDER BY version`, string(tenant))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []keys.WrappedDataKey{}
	for rows.Next() {
		k := keys.WrappedDataKey{Tenant: tenant}
		var v int64
		var created int64
		if err := rows.Scan(&v, &k.KEKID, &k.Wrapped, &created); err != nil {
			return nil, fmt.Errorf("scan data key: %w", err)
		}
		k.Version, k.Created = uint32(v), time.Unix(0, created).UTC()
		out = append(out, k)
	}
	return out, rows.Err()
}

// AddDataKey stores a new wrapped data key version.
func (db *DB) AddDataKey(ctx context.Context, k keys.WrappedDataKey) error {
	return db.InTx(ctx, func(tx *Tx) error {
		gone, err := isShredded(tx.QueryRow(ctx, shreddedQuery, string(k.Tenant)))
		if err != nil {
			return err
		}
		if gone {
			return keys.ErrShredded
		}
		_, err = tx.Exec(ctx, `INSERT INTO data_keys (tenant_id, version, kek_id, wrapped, created_at) VALUES (?, ?, ?, ?, ?)`,
			string(k.Tenant), int64(k.Version), k.KEKID, k.Wrapped, k.Created.UnixNano())
		if IsUniqueViolation(err) {
			return keys.ErrVersionExists
		}
		return err
	})
}

// DeleteDataKeys deletes tenant's wrapped data keys and marks it shredded.
func (db *DB) DeleteDataKeys(ctx context.Context, tenant ids.TenantID) error {
	return db.InTx(ctx, func(tx *Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO shredded_tenants (tenant_id, shredded_at) VALUES (?, ?) ON CONFLICT (tenant_id) DO NOTHING`,
			string(tenant), time.Now().UnixNano()); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `DELETE FROM data_keys WHERE tenant_id = ?`, string(tenant))
		return err
	})
}
