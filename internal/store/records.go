package store

import (
	"context"
	"database/sql"
	"errors"

	"github.com/kaigi/kaigi/internal/ids"
)

// PutSealedRecord stores a small sealed document, replacing an older body.
// body must be ciphertext from package keys, bound to (tenant, kind, id).
func (tx *Tx) PutSealedRecord(ctx context.Context, tenant ids.TenantID, kind, id string, body []byte, now int64) error {
	_, err := tx.Exec(ctx, `INSERT INTO sealed_records (tenant_id, kind, id, body, updated_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (tenant_id, kind, id) DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at`,
		string(tenant), kind, id, body, now)
	return err
}

// SealedRecord returns the sealed body of a document, or ErrNotFound.
func (db *DB) SealedRecord(ctx context.Context, tenant ids.TenantID, kind, id string) ([]byte, error) {
	var body []byte
	err := db.QueryRow(ctx, `SELECT body FROM sealed_records WHERE tenant_id = ? AND kind = ? AND id = ?`, string(tenant), kind, id).Scan(&body)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	return body, err
}
