package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"time"

	"github.com/kaigi/kaigi/internal/chat"
	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/lockbox"
)

// Lockbox adapts db to the lockbox service's Store.
func Lockbox(db *DB) lockbox.Store { return lockboxStore{db} }

type lockboxStore struct{ *DB }

var (
	_ lockbox.Tx    = (*Tx)(nil)
	_ lockbox.Store = lockboxStore{}
)

func (s lockboxStore) UpdateLockbox(ctx context.Context, fn func(tx lockbox.Tx) error) error {
	return s.InTx(ctx, func(tx *Tx) error { return fn(tx) })
}

const lockboxCols = `id, tenant_id, operator_id, resources, justification, reason, ticket, duration_ns, state, created_at, expires_at,
	decided_by, decided_at, grant_ends, ended_at, ended_by, accesses`

func lockboxArgs(r lockbox.Request) ([]any, error) {
	res, err := json.Marshal(r.Resources)
	if err != nil {
		return nil, err
	}
	return []any{r.ID, string(r.Tenant), string(r.Operator), string(res), r.Justification, r.Reason, r.Ticket, int64(r.Duration), r.State,
		ns(r.Created), ns(r.ExpiresAt), string(r.DecidedBy), nullNS(r.Decided), nullNS(r.GrantEnds), nullNS(r.Ended), string(r.EndedBy), r.Accesses}, nil
}

func scanLockbox(sc interface{ Scan(...any) error }) (lockbox.Request, error) {
	var r lockbox.Request
	var tenant, op, res, decidedBy, endedBy string
	var dur, created, expires int64
	var decided, ends, ended sql.NullInt64
	err := sc.Scan(&r.ID, &tenant, &op, &res, &r.Justification, &r.Reason, &r.Ticket, &dur, &r.State, &created, &expires,
		&decidedBy, &decided, &ends, &ended, &endedBy, &r.Accesses)
	if errors.Is(err, sql.ErrNoRows) {
		return r, ErrNotFound
	}
	if err != nil {
		return r, err
	}
	r.Tenant, r.Operator, r.DecidedBy, r.EndedBy = ids.TenantID(tenant), ids.UserID(op), ids.UserID(decidedBy), ids.UserID(endedBy)
	r.Duration, r.Created, r.ExpiresAt = lockbox.Duration(dur), fromNS(created), fromNS(expires)
	for _, v := range []struct {
		n *sql.NullInt64
		t *time.Time
	}{{&decided, &r.Decided}, {&ends, &r.GrantEnds}, {&ended, &r.Ended}} {
		if v.n.Valid {
			*v.t = fromNS(v.n.Int64)
		}
	}
	return r, json.Unmarshal([]byte(res), &r.Resources)
}

func (tx *Tx) InsertLockboxRequest(ctx context.Context, r lockbox.Request) error {
	args, err := lockboxArgs(r)
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `INSERT INTO lockbox_requests (`+lockboxCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, args...)
	return err
}

func (tx *Tx) UpdateLockboxRequest(ctx context.Context, r lockbox.Request) error {
	_, err := tx.Exec(ctx, `UPDATE lockbox_requests SET state = ?, decided_by = ?, decided_at = ?, grant_ends = ?, ended_at = ?, ended_by = ?, accesses = ? WHERE id = ?`,
		r.State, string(r.DecidedBy), nullNS(r.Decided), nullNS(r.GrantEnds), nullNS(r.Ended), string(r.EndedBy), r.Accesses, r.ID)
	return err
}

func (tx *Tx) LockboxRequestForUpdate(ctx context.Context, id string) (lockbox.Request, error) {
	q := `SELECT ` + lockboxCols + ` FROM lockbox_requests WHERE id = ?`
	if tx.dialect == Postgres {
		q += ` FOR UPDATE`
	}
	return scanLockbox(tx.QueryRow(ctx, q, id))
}

func (s lockboxStore) LockboxRequest(ctx context.Context, id string) (lockbox.Request, error) {
	return scanLockbox(s.QueryRow(ctx, `SELECT `+lockboxCols+` FROM lockbox_requests WHERE id = ?`, id))
}

func (s lockboxStore) LockboxRequests(ctx context.Context, tenant ids.TenantID, operator ids.UserID, limit int) ([]lockbox.Request, error) {
	q, args := `SELECT `+lockboxCols+` FROM lockbox_requests ORDER BY created_at DESC LIMIT ?`, []any{limit}
	switch {
	case tenant != "":
		q, args = `SELECT `+lockboxCols+` FROM lockbox_requests WHERE tenant_id = ? ORDER BY created_at DESC LIMIT ?`, []any{string(tenant), limit}
	case operator != "":
		q, args = `SELECT `+lockboxCols+` FROM lockbox_requests WHERE operator_id = ? ORDER BY created_at DESC LIMIT ?`, []any{string(operator), limit}
	}
	rows, err := s.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []lockbox.Request{}
	for rows.Next() {
		r, err := scanLockbox(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

func (s lockboxStore) LockboxDue(ctx context.Context, now time.Time, limit int) ([]string, error) {
	rows, err := s.Query(ctx, `SELECT id FROM lockbox_requests WHERE (state = ? AND expires_at <= ?) OR (state IN (?, ?) AND grant_ends <= ?) LIMIT ?`,
		lockbox.Pending, ns(now), lockbox.Approved, lockbox.Active, ns(now), limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// MessagesByAuthor returns a tenant's newest messages written by author,
// sealed, newest first (an operator's read under a lockbox grant).
func (db *DB) MessagesByAuthor(ctx context.Context, tenant ids.TenantID, author ids.UserID, limit int) ([]chat.Message, error) {
	rows, err := db.Query(ctx, `SELECT `+messageCols+` FROM messages WHERE tenant_id = ? AND author_id = ? AND deleted_at IS NULL ORDER BY created_at DESC, id DESC LIMIT ?`,
		string(tenant), string(author), limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []chat.Message
	for rows.Next() {
		m, err := scanMessage(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}
