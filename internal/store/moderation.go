package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/kaigi/kaigi/internal/chat"
	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/moderation"
)

// Moderation adapts db to the moderation service's Store.
func Moderation(db *DB) moderation.Store { return moderationStore{db} }

type moderationStore struct{ *DB }

var (
	_ moderation.Tx    = (*Tx)(nil)
	_ moderation.Store = moderationStore{}
)

func (s moderationStore) UpdateModeration(ctx context.Context, fn func(tx moderation.Tx) error) error {
	return s.InTx(ctx, func(tx *Tx) error { return fn(tx) })
}

// ---- policies

func (tx *Tx) PutPolicy(ctx context.Context, tenant ids.TenantID, p moderation.Policy, by ids.UserID, at time.Time) error {
	b, err := json.Marshal(p)
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `INSERT INTO moderation_policies (tenant_id, policy, rules, updated_by, updated_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (tenant_id) DO UPDATE SET policy = excluded.policy, rules = excluded.rules, updated_by = excluded.updated_by, updated_at = excluded.updated_at`,
		string(tenant), string(b), len(p.Rules), string(by), ns(at))
	return err
}

func (s moderationStore) Policy(ctx context.Context, tenant ids.TenantID) (moderation.Policy, bool, error) {
	var p moderation.Policy
	var raw string
	err := s.QueryRow(ctx, `SELECT policy FROM moderation_policies WHERE tenant_id = ?`, string(tenant)).Scan(&raw)
	if err == sql.ErrNoRows {
		return p, false, nil
	}
	if err != nil {
		return p, false, err
	}
	return p, true, json.Unmarshal([]byte(raw), &p)
}

func (s moderationStore) HasPolicies(ctx context.Context) (bool, error) {
	var n int
	err := s.QueryRow(ctx, `SELECT COUNT(*) FROM moderation_policies WHERE rules > 0`).Scan(&n)
	return n > 0, err
}

// ---- alerts

const alertCols = `id, tenant_id, kind, status, channel_id, message_id, seq, sender_id, reporter_id, target_id, assignee_id, info, sealed, pseudonyms,
	created_at, updated_at, closed_at, closed_by`

func alertArgs(a moderation.Alert) ([]any, error) {
	info, err := json.Marshal(a.Info)
	if err != nil {
		return nil, err
	}
	ps := a.Pseudonyms
	if ps == nil {
		ps = map[ids.UserID]string{}
	}
	pb, err := json.Marshal(ps)
	if err != nil {
		return nil, err
	}
	return []any{a.ID, string(a.Tenant), a.Kind, a.Status, a.Channel, a.Message, a.Seq, string(a.Sender), string(a.Reporter), string(a.Target),
		string(a.Assignee), string(info), a.Sealed, string(pb), ns(a.Created), ns(a.Updated), nullNS(a.Closed), string(a.ClosedBy)}, nil
}

func (tx *Tx) InsertAlert(ctx context.Context, a moderation.Alert) error {
	args, err := alertArgs(a)
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `INSERT INTO moderation_alerts (`+alertCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, args...)
	return conflict(err, "That alert exists already.")
}

// UpdateAlert stores an alert's changeable fields: status, assignee,
// metadata, pseudonyms, what it points at, times. Its sealed content and
// who it is about never change.
func (tx *Tx) UpdateAlert(ctx context.Context, a moderation.Alert) error {
	args, err := alertArgs(a)
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `UPDATE moderation_alerts SET status = ?, channel_id = ?, message_id = ?, assignee_id = ?, info = ?, pseudonyms = ?,
		updated_at = ?, closed_at = ?, closed_by = ? WHERE id = ?`,
		a.Status, a.Channel, a.Message, string(a.Assignee), args[11], args[13], ns(a.Updated), nullNS(a.Closed), string(a.ClosedBy), a.ID)
	return err
}

func scanAlert(sc interface{ Scan(...any) error }) (moderation.Alert, error) {
	var a moderation.Alert
	var tenant, sender, reporter, target, assignee, info, ps, closedBy string
	var created, updated int64
	var closed sql.NullInt64
	if err := sc.Scan(&a.ID, &tenant, &a.Kind, &a.Status, &a.Channel, &a.Message, &a.Seq, &sender, &reporter, &target, &assignee, &info, &a.Sealed, &ps,
		&created, &updated, &closed, &closedBy); err != nil {
		return a, notFound(err)
	}
	a.Tenant, a.Sender, a.Reporter, a.Target, a.Assignee, a.ClosedBy = ids.TenantID(tenant), ids.UserID(sender), ids.UserID(reporter), ids.UserID(target), ids.UserID(assignee), ids.UserID(closedBy)
	a.Created, a.Updated, a.Closed = fromNS(created), fromNS(updated), fromNull(closed)
	if err := json.Unmarshal([]byte(info), &a.Info); err != nil {
		return a, err
	}
	return a, json.Unmarshal([]byte(ps), &a.Pseudonyms)
}

func (s moderationStore) Alert(ctx context.Context, id string) (moderation.Alert, error) {
	return scanAlert(s.QueryRow(ctx, `SELECT `+alertCols+` FROM moderation_alerts WHERE id = ?`, id))
}

func (s moderationStore) Alerts(ctx context.Context, tenant ids.TenantID, statuses []string, limit int) ([]moderation.Alert, error) {
	q := `SELECT ` + alertCols + ` FROM moderation_alerts WHERE tenant_id = ?`
	args := []any{string(tenant)}
	if len(statuses) > 0 {
		q += ` AND status IN (?` + strings.Repeat(", ?", len(statuses)-1) + `)`
		for _, st := range statuses {
			args = append(args, st)
		}
	}
	q += ` ORDER BY created_at DESC, id DESC LIMIT ?`
	args = append(args, limit)
	rows, err := s.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []moderation.Alert{}
	for rows.Next() {
		a, err := scanAlert(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

func (s moderationStore) OpenPatternAlert(ctx context.Context, tenant ids.TenantID, target ids.UserID) (moderation.Alert, error) {
	return scanAlert(s.QueryRow(ctx, `SELECT `+alertCols+` FROM moderation_alerts WHERE tenant_id = ? AND target_id = ? AND kind = ? AND status IN (?, ?)
		ORDER BY created_at DESC LIMIT 1`, string(tenant), string(target), moderation.KindPattern, moderation.StatusPending, moderation.StatusEscalated))
}

func (s moderationStore) Reported(ctx context.Context, message string, reporter ids.UserID) (bool, error) {
	var n int
	err := s.QueryRow(ctx, `SELECT COUNT(*) FROM moderation_alerts WHERE message_id = ? AND kind = ? AND reporter_id = ?`,
		message, moderation.KindReport, string(reporter)).Scan(&n)
	return n > 0, err
}

// ---- possible-bullying counts

func (s moderationStore) AddPatternEvent(ctx context.Context, e moderation.PatternEvent, cutoff time.Time, limit int) ([]moderation.PatternEvent, error) {
	var out []moderation.PatternEvent
	err := s.InTx(ctx, func(tx *Tx) error {
		out = nil
		if _, err := tx.Exec(ctx, `INSERT INTO moderation_pattern_events (tenant_id, target_id, message_id, sender_id, score, seen_at) VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (tenant_id, target_id, message_id) DO UPDATE SET sender_id = excluded.sender_id, score = excluded.score, seen_at = excluded.seen_at`,
			e.Tenant, e.Target, e.Message, e.Sender, e.Score, ns(e.At)); err != nil {
			return err
		}
		// Expired events are left to PrunePatternEvents, which deletes
		// every target's at once: one write per counted message here.
		rows, err := tx.Query(ctx, `SELECT message_id, sender_id, score, seen_at FROM moderation_pattern_events WHERE tenant_id = ? AND target_id = ? AND seen_at >= ?
			ORDER BY seen_at DESC, message_id DESC LIMIT ?`, e.Tenant, e.Target, ns(cutoff), limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			x := moderation.PatternEvent{Tenant: e.Tenant, Target: e.Target}
			var at int64
			if err := rows.Scan(&x.Message, &x.Sender, &x.Score, &at); err != nil {
				return err
			}
			x.At = fromNS(at)
			out = append(out, x)
		}
		return rows.Err()
	})
	slices.Reverse(out) // oldest first
	return out, err
}

func (s moderationStore) PrunePatternEvents(ctx context.Context, cutoff time.Time) error {
	_, err := s.Exec(ctx, `DELETE FROM moderation_pattern_events WHERE seen_at < ?`, ns(cutoff))
	return err
}

// ---- notices

func (tx *Tx) InsertNotice(ctx context.Context, n moderation.Notice) error {
	_, err := tx.Exec(ctx, `INSERT INTO moderation_notices (id, tenant_id, account_id, alert_id, template, channel_id, message_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		n.ID, string(n.Tenant), string(n.Account), n.Alert, n.Template, n.Channel, n.Message, ns(n.Created))
	return err
}

func (s moderationStore) Notices(ctx context.Context, account ids.UserID, limit int) ([]moderation.Notice, error) {
	rows, err := s.Query(ctx, `SELECT id, tenant_id, account_id, alert_id, template, channel_id, message_id, created_at FROM moderation_notices
		WHERE account_id = ? ORDER BY created_at DESC, id DESC LIMIT ?`, string(account), limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []moderation.Notice{}
	for rows.Next() {
		var n moderation.Notice
		var tenant, acct string
		var created int64
		if err := rows.Scan(&n.ID, &tenant, &acct, &n.Alert, &n.Template, &n.Channel, &n.Message, &created); err != nil {
			return nil, err
		}
		n.Tenant, n.Account, n.Created, n.Text = ids.TenantID(tenant), ids.UserID(acct), fromNS(created), moderation.Templates[n.Template]
		out = append(out, n)
	}
	return out, rows.Err()
}

// ---- messages for review

// MessagesAfter returns up to limit messages of channel with seq > after,
// oldest first.
func (db *DB) MessagesAfter(ctx context.Context, channel string, after int64, limit int) ([]chat.Message, error) {
	rows, err := db.Query(ctx, `SELECT `+messageCols+` FROM messages WHERE channel_id = ? AND seq > ? ORDER BY seq LIMIT ?`, channel, after, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []chat.Message{}
	for rows.Next() {
		m, err := scanMessage(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// MessageVersion returns a message's sealed body at version: the current
// body if the message is at that version, else the kept earlier body.
func (db *DB) MessageVersion(ctx context.Context, id string, version int) ([]byte, error) {
	var body []byte
	err := db.QueryRow(ctx, `SELECT body FROM messages WHERE id = ? AND version = ?
		UNION ALL SELECT body FROM message_versions WHERE message_id = ? AND version = ?`, id, version, id, version).Scan(&body)
	return body, notFound(err)
}
