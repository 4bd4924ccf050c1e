package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/kaigi/kaigi/internal/audit"
	"github.com/kaigi/kaigi/internal/ids"
)

var (
	_ audit.Appender        = (*Tx)(nil)
	_ audit.Reader          = (*DB)(nil)
	_ audit.CheckpointStore = (*DB)(nil)
)

// LockAuditHead locks tenant's chain head for the rest of the transaction and
// returns it; (0, nil) for a chain without records.
//
// The head row is read first and created only when missing, so an append to
// an existing chain costs one statement here, not two. On SQLite the
// transaction holds the write lock from its start; on PostgreSQL the row is
// locked FOR UPDATE, and two first appends racing to create it both insert
// with ON CONFLICT DO NOTHING (the second waits for the first to commit) and
// then lock the one row, as READ COMMITTED sees it once committed.
func (tx *Tx) LockAuditHead(ctx context.Context, tenant ids.TenantID) (int64, []byte, error) {
	q := `SELECT seq, hash FROM audit_heads WHERE tenant_id = ?`
	if tx.dialect == Postgres {
		q += ` FOR UPDATE`
	}
	var seq int64
	var hash []byte
	err := tx.QueryRow(ctx, q, string(tenant)).Scan(&seq, &hash)
	if errors.Is(err, sql.ErrNoRows) {
		if _, err := tx.Exec(ctx, `INSERT INTO audit_heads (tenant_id, seq, hash) VALUES (?, 0, ?) ON CONFLICT (tenant_id) DO NOTHING`,
			string(tenant), audit.ZeroHash); err != nil {
			return 0, nil, err
		}
		err = tx.QueryRow(ctx, q, string(tenant)).Scan(&seq, &hash)
	}
	if err != nil {
		return 0, nil, err
	}
	return seq, hash, nil
}

// InsertAuditRecord appends r and moves the head to it.
func (tx *Tx) InsertAuditRecord(ctx context.Context, r audit.Record) error {
	_, err := tx.Exec(ctx, `INSERT INTO audit_log
		(tenant_id, seq, at, actor_id, actor_kind, source, action, target, result, details, prev_hash, hash)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		string(r.Tenant), r.Seq, r.Time.UnixNano(), r.ActorID, r.ActorKind, r.Source, r.Action, r.Target,
		string(r.Result), r.Details, r.PrevHash, r.Hash)
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `UPDATE audit_heads SET seq = ?, hash = ? WHERE tenant_id = ?`, r.Seq, r.Hash, string(r.Tenant))
	return err
}

// AuditHead returns tenant's chain head without locking it.
func (db *DB) AuditHead(ctx context.Context, tenant ids.TenantID) (int64, []byte, error) {
	var seq int64
	var hash []byte
	err := db.QueryRow(ctx, `SELECT seq, hash FROM audit_heads WHERE tenant_id = ?`, string(tenant)).Scan(&seq, &hash)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil, nil
	}
	return seq, hash, err
}

// AuditRecords returns up to limit records of tenant with seq > after, in order.
func (db *DB) AuditRecords(ctx context.Context, tenant ids.TenantID, after int64, limit int) ([]audit.Record, error) {
	rows, err := db.Query(ctx, `SELECT tenant_id, seq, at, actor_id, actor_kind, source, action, target, result, details, prev_hash, hash
		FROM audit_log WHERE tenant_id = ? AND seq > ? ORDER BY seq LIMIT ?`, string(tenant), after, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []audit.Record
	for rows.Next() {
		var r audit.Record
		var t, res string
		var at int64
		if err := rows.Scan(&t, &r.Seq, &at, &r.ActorID, &r.ActorKind, &r.Source, &r.Action, &r.Target, &res, &r.Details, &r.PrevHash, &r.Hash); err != nil {
			return nil, fmt.Errorf("scan audit record: %w", err)
		}
		r.Tenant, r.Result, r.Time = ids.TenantID(t), audit.Result(res), time.Unix(0, at).UTC()
		out = append(out, r)
	}
	return out, rows.Err()
}

// AuditTenants lists the tenants that have an audit chain.
func (db *DB) AuditTenants(ctx context.Context) ([]ids.TenantID, error) {
	rows, err := db.Query(ctx, `SELECT tenant_id FROM audit_heads ORDER BY tenant_id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []ids.TenantID
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			return nil, err
		}
		out = append(out, ids.TenantID(t))
	}
	return out, rows.Err()
}

// InsertAuditCheckpoint stores a checkpoint; a second one for the same head is ignored.
func (db *DB) InsertAuditCheckpoint(ctx context.Context, c audit.Checkpoint) (bool, error) {
	res, err := db.Exec(ctx, `INSERT INTO audit_checkpoints (tenant_id, seq, at, note) VALUES (?, ?, ?, ?)
		ON CONFLICT (tenant_id, seq) DO NOTHING`, string(c.Tenant), c.Seq, c.Time.UnixNano(), c.Note)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// AuditCheckpoints returns tenant's checkpoints in order.
func (db *DB) AuditCheckpoints(ctx context.Context, tenant ids.TenantID) ([]audit.Checkpoint, error) {
	rows, err := db.Query(ctx, `SELECT seq, at, note FROM audit_checkpoints WHERE tenant_id = ? ORDER BY seq`, string(tenant))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []audit.Checkpoint
	for rows.Next() {
		c := audit.Checkpoint{Tenant: tenant}
		var at int64
		if err := rows.Scan(&c.Seq, &at, &c.Note); err != nil {
			return nil, err
		}
		c.Time = time.Unix(0, at).UTC()
		out = append(out, c)
	}
	return out, rows.Err()
}
