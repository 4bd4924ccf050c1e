package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/transparency-dev/merkle/compact"

	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/transparency"
)

// Transparency adapts db to the access-transparency log's Store.
func Transparency(db *DB) transparency.Store { return tlogStore{db} }

type tlogStore struct{ *DB }

var (
	_ transparency.Tx    = (*Tx)(nil)
	_ transparency.Store = tlogStore{}
)

// LockLogHead locks the tenant's head row (creating it for a new log) and
// returns the log's size. See LockAuditHead for the locking.
func (tx *Tx) LockLogHead(ctx context.Context, tenant ids.TenantID) (uint64, error) {
	q := `SELECT size FROM tlog_heads WHERE tenant_id = ?`
	if tx.dialect == Postgres {
		q += ` FOR UPDATE`
	}
	var size int64
	err := tx.QueryRow(ctx, q, string(tenant)).Scan(&size)
	if errors.Is(err, sql.ErrNoRows) {
		if _, err := tx.Exec(ctx, `INSERT INTO tlog_heads (tenant_id, size, root, checkpoint, updated_at) VALUES (?, 0, ?, '', 0) ON CONFLICT (tenant_id) DO NOTHING`,
			string(tenant), []byte{}); err != nil {
			return 0, err
		}
		err = tx.QueryRow(ctx, q, string(tenant)).Scan(&size)
	}
	return uint64(size), err
}

func (tx *Tx) LogNodes(ctx context.Context, tenant ids.TenantID, nodes []compact.NodeID) ([][]byte, error) {
	return logNodes(ctx, tx.queryOnce, tenant, nodes)
}

func (s tlogStore) LogNodes(ctx context.Context, tenant ids.TenantID, nodes []compact.NodeID) ([][]byte, error) {
	return logNodes(ctx, s.queryOnce, tenant, nodes)
}

// logNodes reads the hashes of nodes, in their order; a missing node is an
// error (the tree is damaged).
func logNodes(ctx context.Context, query func(context.Context, string, ...any) (*sql.Rows, error), tenant ids.TenantID, nodes []compact.NodeID) ([][]byte, error) {
	out := make([][]byte, len(nodes))
	if len(nodes) == 0 {
		return out, nil
	}
	at := make(map[compact.NodeID]int, len(nodes))
	var cond strings.Builder
	args := []any{string(tenant)}
	for i, n := range nodes {
		at[n] = i
		if i > 0 {
			cond.WriteString(" OR ")
		}
		cond.WriteString("(level = ? AND idx = ?)")
		args = append(args, int64(n.Level), int64(n.Index))
	}
	rows, err := query(ctx, `SELECT level, idx, hash FROM tlog_nodes WHERE tenant_id = ? AND (`+cond.String()+`)`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var level, idx int64
		var h []byte
		if err := rows.Scan(&level, &idx, &h); err != nil {
			return nil, err
		}
		if i, ok := at[compact.NewNodeID(uint(level), uint64(idx))]; ok {
			out[i] = h
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i, h := range out {
		if h == nil {
			return nil, fmt.Errorf("transparency log of %s: node %+v is missing", tenant, nodes[i])
		}
	}
	return out, nil
}

func (tx *Tx) InsertLogLeaf(ctx context.Context, tenant ids.TenantID, l transparency.Leaf, at time.Time, kind string) error {
	_, err := tx.Exec(ctx, `INSERT INTO tlog_leaves (tenant_id, idx, at, kind, data, leaf_hash) VALUES (?, ?, ?, ?, ?, ?)`,
		string(tenant), int64(l.Index), ns(at), kind, l.Data, l.Hash)
	return err
}

func (tx *Tx) PutLogNodes(ctx context.Context, tenant ids.TenantID, nodes []transparency.Node) error {
	for _, n := range nodes {
		if _, err := tx.Exec(ctx, `INSERT INTO tlog_nodes (tenant_id, level, idx, hash) VALUES (?, ?, ?, ?)`,
			string(tenant), int64(n.ID.Level), int64(n.ID.Index), n.Hash); err != nil {
			return err
		}
	}
	return nil
}

func (tx *Tx) PutLogHead(ctx context.Context, tenant ids.TenantID, h transparency.Head, at time.Time) error {
	if _, err := tx.Exec(ctx, `UPDATE tlog_heads SET size = ?, root = ?, checkpoint = ?, updated_at = ? WHERE tenant_id = ?`,
		int64(h.Size), h.Root, h.Checkpoint, ns(at), string(tenant)); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `INSERT INTO tlog_checkpoints (tenant_id, size, at, note) VALUES (?, ?, ?, ?)`,
		string(tenant), int64(h.Size), ns(at), h.Checkpoint)
	return err
}

func (s tlogStore) LogHead(ctx context.Context, tenant ids.TenantID) (transparency.Head, error) {
	var h transparency.Head
	var size int64
	err := s.QueryRow(ctx, `SELECT size, root, checkpoint FROM tlog_heads WHERE tenant_id = ?`, string(tenant)).Scan(&size, &h.Root, &h.Checkpoint)
	if errors.Is(err, sql.ErrNoRows) {
		return transparency.Head{}, nil
	}
	h.Size = uint64(size)
	return h, err
}

func (s tlogStore) LogCheckpoint(ctx context.Context, tenant ids.TenantID, size uint64) (string, error) {
	var note string
	err := s.QueryRow(ctx, `SELECT note FROM tlog_checkpoints WHERE tenant_id = ? AND size = ?`, string(tenant), int64(size)).Scan(&note)
	return note, notFound(err)
}

func (s tlogStore) LogLeaves(ctx context.Context, tenant ids.TenantID, from, to uint64) ([]transparency.Leaf, error) {
	rows, err := s.Query(ctx, `SELECT idx, data, leaf_hash FROM tlog_leaves WHERE tenant_id = ? AND idx >= ? AND idx < ? ORDER BY idx`,
		string(tenant), int64(from), int64(to))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []transparency.Leaf{}
	for rows.Next() {
		var l transparency.Leaf
		var idx int64
		if err := rows.Scan(&idx, &l.Data, &l.Hash); err != nil {
			return nil, err
		}
		l.Index = uint64(idx)
		out = append(out, l)
	}
	return out, rows.Err()
}

// TransparencyHooks adapts db to the transparency log's webhook store.
func TransparencyHooks(db *DB) transparency.HookStore { return tlogHookStore{db} }

type tlogHookStore struct{ *DB }

var (
	_ transparency.HookTx    = (*Tx)(nil)
	_ transparency.HookStore = tlogHookStore{}
)

func (s tlogHookStore) UpdateHooks(ctx context.Context, fn func(tx transparency.HookTx) error) error {
	return s.InTx(ctx, func(tx *Tx) error { return fn(tx) })
}

const hookCols = `id, tenant_id, url, secret, next_index, failures, last_error, next_attempt, last_delivery, created_at, created_by`

func (tx *Tx) InsertHook(ctx context.Context, h transparency.Hook) error {
	_, err := tx.Exec(ctx, `INSERT INTO tlog_hooks (`+hookCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		h.ID, string(h.Tenant), h.URL, h.Secret, int64(h.Next), h.Failures, h.LastError, ns(h.NextAttempt), nullNS(h.LastDelivery), ns(h.Created), string(h.CreatedBy))
	return err
}

func (tx *Tx) DeleteHook(ctx context.Context, tenant ids.TenantID, id string) (bool, error) {
	res, err := tx.Exec(ctx, `DELETE FROM tlog_hooks WHERE tenant_id = ? AND id = ?`, string(tenant), id)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

func (s tlogHookStore) hooks(ctx context.Context, where string, args ...any) ([]transparency.Hook, error) {
	rows, err := s.Query(ctx, `SELECT `+hookCols+` FROM tlog_hooks WHERE `+where+` ORDER BY created_at`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []transparency.Hook{}
	for rows.Next() {
		var h transparency.Hook
		var tenant, by string
		var next, attempt, created int64
		var last sql.NullInt64
		if err := rows.Scan(&h.ID, &tenant, &h.URL, &h.Secret, &next, &h.Failures, &h.LastError, &attempt, &last, &created, &by); err != nil {
			return nil, err
		}
		h.Tenant, h.CreatedBy, h.Next, h.NextAttempt, h.Created = ids.TenantID(tenant), ids.UserID(by), uint64(next), fromNS(attempt), fromNS(created)
		if last.Valid {
			h.LastDelivery = fromNS(last.Int64)
		}
		out = append(out, h)
	}
	return out, rows.Err()
}

func (s tlogHookStore) Hooks(ctx context.Context, tenant ids.TenantID) ([]transparency.Hook, error) {
	return s.hooks(ctx, `tenant_id = ?`, string(tenant))
}

func (s tlogHookStore) DueHooks(ctx context.Context, now time.Time) ([]transparency.Hook, error) {
	return s.hooks(ctx, `next_attempt <= ? AND next_index < (SELECT size FROM tlog_heads h WHERE h.tenant_id = tlog_hooks.tenant_id)`, ns(now))
}

func (s tlogHookStore) SaveHookProgress(ctx context.Context, h transparency.Hook) error {
	_, err := s.Exec(ctx, `UPDATE tlog_hooks SET next_index = ?, failures = ?, last_error = ?, next_attempt = ?, last_delivery = ? WHERE id = ?`,
		int64(h.Next), h.Failures, h.LastError, ns(h.NextAttempt), nullNS(h.LastDelivery), h.ID)
	return err
}
