package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/kaigi/kaigi/internal/audit"
	"github.com/kaigi/kaigi/internal/ids"
)

var (
	_ audit.Appender        = (*Tx)(nil)
	_ audit.Tx              = (*Tx)(nil)
	_ audit.Store           = auditStore{}
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

// auditCols are the columns scanAuditRecords reads, in order.
const auditCols = `tenant_id, seq, at, actor_id, actor_kind, source, action, target, result, details, prev_hash, hash`

// AuditRecords returns up to limit records of tenant with seq > after, in order.
func (db *DB) AuditRecords(ctx context.Context, tenant ids.TenantID, after int64, limit int) ([]audit.Record, error) {
	rows, err := db.Query(ctx, `SELECT `+auditCols+`
		FROM audit_log WHERE tenant_id = ? AND seq > ? ORDER BY seq LIMIT ?`, string(tenant), after, limit)
	if err != nil {
		return nil, err
	}
	return scanAuditRecords(rows)
}

func scanAuditRecords(rows *sql.Rows) ([]audit.Record, error) {
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
	// Only while the chain has a head: a tenant being deleted loses its
	// head before its checkpoints, and a checkpoint signed just before
	// must not come back after the purge.
	res, err := db.Exec(ctx, `INSERT INTO audit_checkpoints (tenant_id, seq, at, note)
		SELECT ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM audit_heads WHERE tenant_id = ?)
		ON CONFLICT (tenant_id, seq) DO NOTHING`, string(c.Tenant), c.Seq, c.Time.UnixNano(), c.Note, string(c.Tenant))
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

// Audit adapts db to the audit service's Store.
func Audit(db *DB) audit.Store { return auditStore{db} }

type auditStore struct{ *DB }

func (s auditStore) UpdateAudit(ctx context.Context, fn func(tx audit.Tx) error) error {
	return s.InTx(ctx, func(tx *Tx) error { return fn(tx) })
}

// likeEscaper escapes LIKE's wildcards (with ESCAPE '\').
var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// SearchAudit returns up to f.Limit records of tenant matching f: newest
// first below f.Before, or oldest first above f.After when f.Ascending.
func (db *DB) SearchAudit(ctx context.Context, tenant ids.TenantID, f audit.Filter) ([]audit.Record, error) {
	var q strings.Builder
	q.WriteString(`SELECT ` + auditCols + ` FROM audit_log WHERE tenant_id = ?`)
	args := []any{string(tenant)}
	add := func(cond string, v any) {
		q.WriteString(" AND " + cond)
		args = append(args, v)
	}
	if !f.From.IsZero() {
		add("at >= ?", ns(f.From))
	}
	if !f.To.IsZero() {
		add("at < ?", ns(f.To))
	}
	if f.ActorID != "" {
		add("actor_id = ?", f.ActorID)
	}
	if f.ActorKind != "" {
		add("actor_kind = ?", f.ActorKind)
	}
	if prefix, ok := f.ActionPrefix(); ok {
		if prefix != "" {
			add(`action LIKE ? ESCAPE '\'`, likeEscaper.Replace(prefix)+"%")
		}
	} else if f.Action != "" {
		add("action = ?", f.Action)
	}
	if f.Target != "" {
		add("target = ?", f.Target)
	}
	if f.Result != "" {
		add("result = ?", string(f.Result))
	}
	order := "DESC"
	if f.Ascending {
		order = "ASC"
		if f.After > 0 {
			add("seq > ?", f.After)
		}
	} else if f.Before > 0 {
		add("seq < ?", f.Before)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = audit.DefaultSearchLimit
	}
	q.WriteString(" ORDER BY seq " + order + " LIMIT ?")
	args = append(args, limit)
	rows, err := db.Query(ctx, q.String(), args...)
	if err != nil {
		return nil, err
	}
	return scanAuditRecords(rows)
}

// AuditRecord returns one record of tenant.
func (db *DB) AuditRecord(ctx context.Context, tenant ids.TenantID, seq int64) (audit.Record, bool, error) {
	rows, err := db.Query(ctx, `SELECT `+auditCols+` FROM audit_log WHERE tenant_id = ? AND seq = ?`, string(tenant), seq)
	if err != nil {
		return audit.Record{}, false, err
	}
	recs, err := scanAuditRecords(rows)
	if err != nil || len(recs) == 0 {
		return audit.Record{}, false, err
	}
	return recs[0], true, nil
}

// FirstAuditSeqSince returns the seq of tenant's first record at or after t
// (the first by time, read from the (tenant_id, at) index without scanning
// everything newer).
func (db *DB) FirstAuditSeqSince(ctx context.Context, tenant ids.TenantID, t time.Time) (int64, bool, error) {
	var seq int64
	err := db.QueryRow(ctx, `SELECT seq FROM audit_log WHERE tenant_id = ? AND at >= ? ORDER BY at, seq LIMIT 1`, string(tenant), ns(t)).Scan(&seq)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	return seq, err == nil, err
}

// DeleteAuditRecords deletes up to limit of tenant's records at or below
// through, oldest first. The database refuses any above the tenant's anchor.
func (db *DB) DeleteAuditRecords(ctx context.Context, tenant ids.TenantID, through int64, limit int) (int64, error) {
	res, err := db.Exec(ctx, `DELETE FROM audit_log WHERE tenant_id = ? AND seq IN
		(SELECT seq FROM audit_log WHERE tenant_id = ? AND seq <= ? ORDER BY seq LIMIT ?)`, string(tenant), string(tenant), through, limit)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// DeleteAuditCheckpoints deletes tenant's checkpoints below seq.
func (db *DB) DeleteAuditCheckpoints(ctx context.Context, tenant ids.TenantID, below int64) error {
	_, err := db.Exec(ctx, `DELETE FROM audit_checkpoints WHERE tenant_id = ? AND seq < ?`, string(tenant), below)
	return err
}

// AuditAnchor returns tenant's prune anchor.
func (db *DB) AuditAnchor(ctx context.Context, tenant ids.TenantID) (audit.Anchor, bool, error) {
	a := audit.Anchor{Tenant: tenant}
	var at int64
	err := db.QueryRow(ctx, `SELECT seq, hash, at, note FROM audit_anchors WHERE tenant_id = ?`, string(tenant)).Scan(&a.Seq, &a.Hash, &at, &a.Note)
	if errors.Is(err, sql.ErrNoRows) {
		return audit.Anchor{}, false, nil
	}
	if err != nil {
		return audit.Anchor{}, false, err
	}
	a.Time = fromNS(at)
	return a, true, nil
}

// PutAuditAnchor inserts or moves tenant's prune anchor (the database
// refuses to move it back).
func (tx *Tx) PutAuditAnchor(ctx context.Context, a audit.Anchor) error {
	_, err := tx.Exec(ctx, `INSERT INTO audit_anchors (tenant_id, seq, hash, at, note) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (tenant_id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash, at = excluded.at, note = excluded.note`,
		string(a.Tenant), a.Seq, a.Hash, ns(a.Time), a.Note)
	return err
}

// AuditSettings returns tenant's audit settings.
func (db *DB) AuditSettings(ctx context.Context, tenant ids.TenantID) (audit.Settings, bool, error) {
	st := audit.Settings{Tenant: tenant}
	var at int64
	err := db.QueryRow(ctx, `SELECT retention_years, updated_by, updated_at FROM audit_settings WHERE tenant_id = ?`, string(tenant)).
		Scan(&st.RetentionYears, &st.UpdatedBy, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return audit.Settings{}, false, nil
	}
	if err != nil {
		return audit.Settings{}, false, err
	}
	st.UpdatedAt = fromNS(at)
	return st, true, nil
}

// PutAuditSettings stores a tenant's audit settings.
func (tx *Tx) PutAuditSettings(ctx context.Context, st audit.Settings) error {
	_, err := tx.Exec(ctx, `INSERT INTO audit_settings (tenant_id, retention_years, updated_by, updated_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (tenant_id) DO UPDATE SET retention_years = excluded.retention_years, updated_by = excluded.updated_by, updated_at = excluded.updated_at`,
		string(st.Tenant), st.RetentionYears, st.UpdatedBy, ns(st.UpdatedAt))
	return err
}

// ---- SIEM sinks

const sinkCols = `id, tenant_id, kind, name, endpoint, ca_pem, secret, cursor, created_by, created_at, delivered_at, failures, last_error, next_attempt`

func scanSinks(rows *sql.Rows) ([]audit.Sink, error) {
	defer rows.Close()
	var out []audit.Sink
	for rows.Next() {
		var s audit.Sink
		var t string
		var created, delivered, next int64
		if err := rows.Scan(&s.ID, &t, &s.Kind, &s.Name, &s.Endpoint, &s.CAPEM, &s.Secret, &s.Cursor, &s.CreatedBy, &created, &delivered,
			&s.Failures, &s.LastError, &next); err != nil {
			return nil, err
		}
		s.Tenant, s.Created, s.Delivered, s.NextAttempt = ids.TenantID(t), fromNS(created), fromZeroNS(delivered), fromZeroNS(next)
		out = append(out, s)
	}
	return out, rows.Err()
}

// InsertAuditSink adds a sink.
func (tx *Tx) InsertAuditSink(ctx context.Context, s audit.Sink) error {
	_, err := tx.Exec(ctx, `INSERT INTO audit_sinks (`+sinkCols+`, lease_owner, lease_until) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, 0, '', ?, '', 0)`,
		s.ID, string(s.Tenant), s.Kind, s.Name, s.Endpoint, s.CAPEM, s.Secret, s.Cursor, s.CreatedBy, ns(s.Created), ns(s.NextAttempt))
	return err
}

// DeleteAuditSink removes a sink of tenant.
func (tx *Tx) DeleteAuditSink(ctx context.Context, tenant ids.TenantID, id string) (bool, error) {
	res, err := tx.Exec(ctx, `DELETE FROM audit_sinks WHERE tenant_id = ? AND id = ?`, string(tenant), id)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// AuditSinks lists tenant's sinks, oldest first.
func (db *DB) AuditSinks(ctx context.Context, tenant ids.TenantID) ([]audit.Sink, error) {
	rows, err := db.Query(ctx, `SELECT `+sinkCols+` FROM audit_sinks WHERE tenant_id = ? ORDER BY created_at, id`, string(tenant))
	if err != nil {
		return nil, err
	}
	return scanSinks(rows)
}

// DueAuditSinks returns sinks whose next attempt is due and whose lease is free.
func (db *DB) DueAuditSinks(ctx context.Context, now time.Time, limit int) ([]audit.Sink, error) {
	rows, err := db.Query(ctx, `SELECT `+sinkCols+` FROM audit_sinks WHERE next_attempt <= ? AND lease_until <= ? ORDER BY next_attempt LIMIT ?`,
		ns(now), ns(now), limit)
	if err != nil {
		return nil, err
	}
	return scanSinks(rows)
}

// ClaimAuditSink takes a sink's lease.
func (db *DB) ClaimAuditSink(ctx context.Context, id, owner string, now, until time.Time) (audit.Sink, bool, error) {
	res, err := db.Exec(ctx, `UPDATE audit_sinks SET lease_owner = ?, lease_until = ? WHERE id = ? AND (lease_until <= ? OR lease_owner = ?)`,
		owner, ns(until), id, ns(now), owner)
	if err != nil {
		return audit.Sink{}, false, err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return audit.Sink{}, false, err
	}
	rows, err := db.Query(ctx, `SELECT `+sinkCols+` FROM audit_sinks WHERE id = ?`, id)
	if err != nil {
		return audit.Sink{}, false, err
	}
	list, err := scanSinks(rows)
	if err != nil || len(list) == 0 {
		return audit.Sink{}, false, err
	}
	return list[0], true, nil
}

// AdvanceAuditSink moves a sink's cursor after a delivery and frees its lease.
func (db *DB) AdvanceAuditSink(ctx context.Context, id, owner string, from, to int64, at time.Time) (bool, error) {
	res, err := db.Exec(ctx, `UPDATE audit_sinks SET cursor = ?, delivered_at = ?, failures = 0, last_error = '', lease_owner = '', lease_until = 0
		WHERE id = ? AND lease_owner = ? AND cursor = ?`, to, zeroNS(at), id, owner, from)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// FailAuditSink records a failed delivery and frees the lease.
func (db *DB) FailAuditSink(ctx context.Context, id, owner string, failures int, lastErr string, next time.Time) error {
	_, err := db.Exec(ctx, `UPDATE audit_sinks SET failures = ?, last_error = ?, next_attempt = ?, lease_owner = '', lease_until = 0
		WHERE id = ? AND lease_owner = ?`, failures, lastErr, ns(next), id, owner)
	return err
}
