package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/kaigi/kaigi/internal/chat"
	"github.com/kaigi/kaigi/internal/compliance/retention"
	"github.com/kaigi/kaigi/internal/errs"
	"github.com/kaigi/kaigi/internal/identity"
	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/principal"
)

// Retention adapts db to the retention service's Store and Accounts.
func Retention(db *DB) RetentionStore { return RetentionStore{db} }

// RetentionStore is the retention service's Store.
type RetentionStore struct{ *DB }

var (
	_ retention.Tx       = (*Tx)(nil)
	_ retention.Store    = RetentionStore{}
	_ retention.Accounts = RetentionStore{}
)

// UpdateRetention runs fn in a transaction.
func (s RetentionStore) UpdateRetention(ctx context.Context, fn func(tx retention.Tx) error) error {
	return s.InTx(ctx, func(tx *Tx) error { return fn(tx) })
}

// placeholders returns "?, ?, …" for n values and the values as []any.
func retIn[T ~string](vals []T) (string, []any) {
	args := make([]any, len(vals))
	for i, v := range vals {
		args[i] = string(v)
	}
	return strings.TrimSuffix(strings.Repeat("?, ", len(vals)), ", "), args
}

// ---- policies

// InsertRetentionPolicy stores a new policy.
func (tx *Tx) InsertRetentionPolicy(ctx context.Context, p retention.Policy) error {
	scope, err := json.Marshal(p.Scope)
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `INSERT INTO retention_policies (id, tenant_id, name, kind, days, scope, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		p.ID, string(p.Tenant), p.Name, p.Kind, p.Days, string(scope), string(p.CreatedBy), ns(p.Created))
	return conflict(err, "That policy exists already.")
}

// DeleteRetentionPolicy removes a tenant's policy.
func (tx *Tx) DeleteRetentionPolicy(ctx context.Context, tenant ids.TenantID, id string) (bool, error) {
	res, err := tx.Exec(ctx, `DELETE FROM retention_policies WHERE tenant_id = ? AND id = ?`, string(tenant), id)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// RetentionPolicies returns a tenant's policies, oldest first.
func (s RetentionStore) RetentionPolicies(ctx context.Context, tenant ids.TenantID) ([]retention.Policy, error) {
	rows, err := s.Query(ctx, `SELECT id, tenant_id, name, kind, days, scope, created_by, created_at FROM retention_policies WHERE tenant_id = ? ORDER BY created_at, id`, string(tenant))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []retention.Policy{}
	for rows.Next() {
		var p retention.Policy
		var t, scope, by string
		var created int64
		if err := rows.Scan(&p.ID, &t, &p.Name, &p.Kind, &p.Days, &scope, &by, &created); err != nil {
			return nil, err
		}
		p.Tenant, p.CreatedBy, p.Created = ids.TenantID(t), ids.UserID(by), fromNS(created)
		if err := json.Unmarshal([]byte(scope), &p.Scope); err != nil {
			return nil, fmt.Errorf("policy %s: %w", p.ID, err)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// ---- holds

// retHoldScope is a hold's metadata as stored (JSON); the keywords are apart, sealed.
type retHoldScope struct {
	Custodians []ids.UserID `json:"custodians,omitempty"`
	Locations  []string     `json:"locations,omitempty"`
	Senders    []ids.UserID `json:"senders,omitempty"`
	From       int64        `json:"from,omitempty"`
	To         int64        `json:"to,omitempty"`
}

// InsertLegalHold stores a new hold.
func (tx *Tx) InsertLegalHold(ctx context.Context, h retention.Hold) error {
	scope, err := json.Marshal(retHoldScope{Custodians: h.Custodians, Locations: h.Locations, Senders: h.Query.Senders,
		From: zeroNS(h.Query.From), To: zeroNS(h.Query.To)})
	if err != nil {
		return err
	}
	var q any
	if len(h.SealedQuery) > 0 {
		q = h.SealedQuery
	}
	_, err = tx.Exec(ctx, `INSERT INTO legal_holds (id, tenant_id, name, scope, query, keywords, created_by, created_at, released_by, released_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, '', NULL)`,
		h.ID, string(h.Tenant), h.Name, string(scope), q, h.Keywords, string(h.CreatedBy), ns(h.Created))
	return conflict(err, "That hold exists already.")
}

// ReleaseLegalHold releases a tenant's active hold.
func (tx *Tx) ReleaseLegalHold(ctx context.Context, tenant ids.TenantID, id string, by ids.UserID, at time.Time) (bool, error) {
	res, err := tx.Exec(ctx, `UPDATE legal_holds SET released_by = ?, released_at = ? WHERE tenant_id = ? AND id = ? AND released_at IS NULL`,
		string(by), ns(at), string(tenant), id)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// LockLegalHolds serialises hold changes and deletion batches of a tenant:
// on PostgreSQL with a transaction-scoped advisory lock; SQLite has one
// writer at a time anyway.
func (tx *Tx) LockLegalHolds(ctx context.Context, tenant ids.TenantID) error {
	if tx.dialect != Postgres {
		return nil
	}
	_, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext(?))`, "legal_holds/"+string(tenant))
	return err
}

// LegalHoldsVersion changes whenever a hold of the tenant is created or released.
func (tx *Tx) LegalHoldsVersion(ctx context.Context, tenant ids.TenantID) (string, error) {
	var n, released, maxCreated, maxReleased int64
	err := tx.QueryRow(ctx, `SELECT COUNT(*), COUNT(released_at), COALESCE(MAX(created_at), 0), COALESCE(MAX(released_at), 0) FROM legal_holds WHERE tenant_id = ?`,
		string(tenant)).Scan(&n, &released, &maxCreated, &maxReleased)
	return fmt.Sprintf("%d/%d/%d/%d", n, released, maxCreated, maxReleased), err
}

const retHoldCols = `id, tenant_id, name, scope, query, keywords, created_by, created_at, released_by, released_at`

func retScanHold(sc interface{ Scan(...any) error }) (retention.Hold, error) {
	var h retention.Hold
	var t, scope, by, rby string
	var created int64
	var released sql.NullInt64
	if err := sc.Scan(&h.ID, &t, &h.Name, &scope, &h.SealedQuery, &h.Keywords, &by, &created, &rby, &released); err != nil {
		return h, notFound(err)
	}
	var hs retHoldScope
	if err := json.Unmarshal([]byte(scope), &hs); err != nil {
		return h, fmt.Errorf("hold %s: %w", h.ID, err)
	}
	h.Tenant, h.CreatedBy, h.Created, h.ReleasedBy, h.Released = ids.TenantID(t), ids.UserID(by), fromNS(created), ids.UserID(rby), fromNull(released)
	h.Custodians, h.Locations = hs.Custodians, hs.Locations
	h.Query.Senders, h.Query.From, h.Query.To = hs.Senders, fromZeroNS(hs.From), fromZeroNS(hs.To)
	return h, nil
}

// LegalHolds returns a tenant's holds, newest first; released ones too when all.
func (s RetentionStore) LegalHolds(ctx context.Context, tenant ids.TenantID, all bool) ([]retention.Hold, error) {
	q := `SELECT ` + retHoldCols + ` FROM legal_holds WHERE tenant_id = ?`
	if !all {
		q += ` AND released_at IS NULL`
	}
	rows, err := s.Query(ctx, q+` ORDER BY created_at DESC, id`, string(tenant))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []retention.Hold{}
	for rows.Next() {
		h, err := retScanHold(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, h)
	}
	return out, rows.Err()
}

// LegalHold returns a tenant's hold.
func (s RetentionStore) LegalHold(ctx context.Context, tenant ids.TenantID, id string) (retention.Hold, error) {
	return retScanHold(s.QueryRow(ctx, `SELECT `+retHoldCols+` FROM legal_holds WHERE tenant_id = ? AND id = ?`, string(tenant), id))
}

// ---- scope checks

// Missing returns those of list that are not things of kind in the tenant.
func (s RetentionStore) Missing(ctx context.Context, tenant ids.TenantID, kind string, list []string) ([]string, error) {
	if len(list) == 0 {
		return nil, nil
	}
	ph, args := retIn(list)
	var q string
	switch kind {
	case "team":
		q = `SELECT id FROM teams WHERE tenant_id = ? AND id IN (` + ph + `)`
	case "chat":
		q = `SELECT id FROM channels WHERE tenant_id = ? AND team_id = '' AND id IN (` + ph + `)`
	case "channel":
		q = `SELECT id FROM channels WHERE tenant_id = ? AND id IN (` + ph + `)`
	case "place":
		q = `SELECT id FROM channels WHERE tenant_id = ? AND id IN (` + ph + `) UNION SELECT id FROM teams WHERE tenant_id = ? AND id IN (` + ph + `)`
		args = append(append(append([]any{}, args...), string(tenant)), args...)
	case "account":
		q = `SELECT id FROM accounts WHERE tenant_id = ? AND realm = 'tenant' AND id IN (` + ph + `)`
	default:
		return nil, fmt.Errorf("store: unknown kind %q", kind)
	}
	rows, err := s.queryOnce(ctx, q, append([]any{string(tenant)}, args...)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	found := map[string]bool{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		found[id] = true
	}
	var missing []string
	for _, id := range list {
		if !found[id] {
			missing = append(missing, id)
		}
	}
	return missing, rows.Err()
}

// ChatsOf returns the chats (channels outside teams) the accounts are members of.
func (s RetentionStore) ChatsOf(ctx context.Context, tenant ids.TenantID, accounts []ids.UserID) ([]string, error) {
	if len(accounts) == 0 {
		return nil, nil
	}
	ph, args := retIn(accounts)
	rows, err := s.queryOnce(ctx, `SELECT DISTINCT c.id FROM channels c JOIN channel_members cm ON cm.channel_id = c.id
		WHERE c.tenant_id = ? AND c.team_id = '' AND cm.account_id IN (`+ph+`) ORDER BY c.id`, append([]any{string(tenant)}, args...)...)
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

// AccountRoles returns the roles of an account of the tenant; found is
// false for anyone else.
func (s RetentionStore) AccountRoles(ctx context.Context, tenant ids.TenantID, id ids.UserID) ([]principal.Role, bool, error) {
	a, err := s.AccountByID(ctx, id)
	if errs.CodeOf(err) == errs.NotFound {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	if a.Tenant != tenant || a.Realm != identity.TenantRealm {
		return nil, false, nil
	}
	return a.Roles, true, nil
}

// ---- items

const (
	retMessageSQL = `SELECT m.id, m.tenant_id, m.author_id, m.created_at, m.deleted_at, m.channel_id, COALESCE(c.team_id, '') FROM messages m
		LEFT JOIN channels c ON c.id = m.channel_id`
	retRecordingSQL = `SELECT r.id, r.tenant_id, r.started_by, r.created_at, mt.channel_id, mt.chat_id, COALESCE(c.team_id, '') FROM meeting_recordings r
		JOIN meetings mt ON mt.id = r.meeting_id LEFT JOIN channels c ON c.id = mt.channel_id`
)

func retScanMessage(sc interface{ Scan(...any) error }) (retention.Item, error) {
	it := retention.Item{Kind: retention.KindMessage}
	var t, author, channel, team string
	var created int64
	var deleted sql.NullInt64
	if err := sc.Scan(&it.ID, &t, &author, &created, &deleted, &channel, &team); err != nil {
		return it, notFound(err)
	}
	it.Tenant, it.Author, it.Created, it.Deleted = ids.TenantID(t), ids.UserID(author), fromNS(created), fromNull(deleted)
	it.Places = []string{channel}
	if team != "" {
		it.Places = append(it.Places, team)
	}
	return it, nil
}

func retScanRecording(sc interface{ Scan(...any) error }) (retention.Item, error) {
	it := retention.Item{Kind: retention.KindRecording}
	var t, by, channel, chatID, team string
	var created int64
	if err := sc.Scan(&it.ID, &t, &by, &created, &channel, &chatID, &team); err != nil {
		return it, notFound(err)
	}
	it.Tenant, it.Author, it.Created = ids.TenantID(t), ids.UserID(by), fromNS(created)
	for _, p := range []string{channel, team, chatID} {
		if p != "" {
			it.Places = append(it.Places, p)
		}
	}
	return it, nil
}

// Items returns up to limit items of a kind of the tenant with id > after,
// by id; only those by author when set.
func (s RetentionStore) Items(ctx context.Context, tenant ids.TenantID, kind, after string, author ids.UserID, limit int) ([]retention.Item, error) {
	var q string
	scan := retScanMessage
	switch kind {
	case retention.KindMessage:
		q = retMessageSQL + ` WHERE m.tenant_id = ? AND m.id > ?`
		if author != "" {
			q += ` AND m.author_id = ?`
		}
		q += ` ORDER BY m.id LIMIT ?`
	case retention.KindRecording:
		scan = retScanRecording
		q = retRecordingSQL + ` WHERE r.tenant_id = ? AND r.id > ?`
		if author != "" {
			q += ` AND r.started_by = ?`
		}
		q += ` ORDER BY r.id LIMIT ?`
	default:
		return nil, fmt.Errorf("store: unknown item kind %q", kind)
	}
	args := []any{string(tenant), after}
	if author != "" {
		args = append(args, string(author))
	}
	rows, err := s.Query(ctx, q, append(args, limit)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []retention.Item{}
	for rows.Next() {
		it, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, it)
	}
	return out, rows.Err()
}

// CountItems counts a tenant's messages and recordings (only author's when set).
func (s RetentionStore) CountItems(ctx context.Context, tenant ids.TenantID, author ids.UserID) (int64, error) {
	var m, r int64
	var err error
	if author == "" {
		err = s.QueryRow(ctx, `SELECT (SELECT COUNT(*) FROM messages WHERE tenant_id = ?), (SELECT COUNT(*) FROM meeting_recordings WHERE tenant_id = ?)`,
			string(tenant), string(tenant)).Scan(&m, &r)
	} else {
		err = s.QueryRow(ctx, `SELECT (SELECT COUNT(*) FROM messages WHERE tenant_id = ? AND author_id = ?), (SELECT COUNT(*) FROM meeting_recordings WHERE tenant_id = ? AND started_by = ?)`,
			string(tenant), string(author), string(tenant), string(author)).Scan(&m, &r)
	}
	return m + r, err
}

// FindItem returns the tenant's message or recording with id.
func (s RetentionStore) FindItem(ctx context.Context, tenant ids.TenantID, id string) (retention.Item, error) {
	it, err := retScanMessage(s.QueryRow(ctx, retMessageSQL+` WHERE m.tenant_id = ? AND m.id = ?`, string(tenant), id))
	if errs.CodeOf(err) != errs.NotFound {
		return it, err
	}
	return retScanRecording(s.QueryRow(ctx, retRecordingSQL+` WHERE r.tenant_id = ? AND r.id = ?`, string(tenant), id))
}

// MessageBodies returns a message's sealed bodies, current and earlier.
func (s RetentionStore) MessageBodies(ctx context.Context, id string) ([]retention.SealedBody, error) {
	rows, err := s.Query(ctx, `SELECT version, body FROM messages WHERE id = ? UNION ALL SELECT version, body FROM message_versions WHERE message_id = ?`, id, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []retention.SealedBody
	for rows.Next() {
		var b retention.SealedBody
		if err := rows.Scan(&b.Version, &b.Body); err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, rows.Err()
}

// AttachmentNames returns the sealed names of a message's attachments, by attachment id.
func (s RetentionStore) AttachmentNames(ctx context.Context, message string) (map[string][]byte, error) {
	files, err := s.Files(ctx, []string{message})
	if err != nil {
		return nil, err
	}
	out := map[string][]byte{}
	for _, f := range files[message] {
		out[f.ID] = f.SealedName
	}
	return out, nil
}

// ---- purge

func (tx *Tx) retIDs(ctx context.Context, q string, args ...any) ([]string, error) {
	rows, err := tx.queryOnce(ctx, q, args...)
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

func (tx *Tx) retExec(ctx context.Context, q string, args ...any) (int64, error) {
	res, err := tx.execOnce(ctx, q, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (tx *Tx) retAddPending(ctx context.Context, tenant ids.TenantID, keys []string, at time.Time) error {
	for _, k := range keys {
		if _, err := tx.Exec(ctx, `INSERT INTO retention_pending_blobs (tenant_id, blob_key, added_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`,
			string(tenant), k, ns(at)); err != nil {
			return err
		}
	}
	return nil
}

// PurgeMessages deletes the tenant's messages of list and everything of
// them, and records their attachments' blobs as pending deletion.
func (tx *Tx) PurgeMessages(ctx context.Context, tenant ids.TenantID, list []string, at time.Time) (retention.Counts, []string, error) {
	var c retention.Counts
	if len(list) == 0 {
		return c, nil, nil
	}
	ph, args := retIn(list)
	rows, err := tx.queryOnce(ctx, `SELECT id, channel_id, seq FROM messages WHERE tenant_id = ? AND id IN (`+ph+`)`, append([]any{string(tenant)}, args...)...)
	if err != nil {
		return c, nil, err
	}
	var mine, created []string // created: each message's first event, by key
	var createdArgs []any
	for rows.Next() {
		var id, channel string
		var seq int64
		if err := rows.Scan(&id, &channel, &seq); err != nil {
			rows.Close()
			return c, nil, err
		}
		mine = append(mine, id)
		created = append(created, `(channel_id = ? AND seq = ?)`)
		createdArgs = append(createdArgs, channel, seq)
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(mine) == 0 {
		return c, nil, err
	}
	ph, args = retIn(mine)
	files, err := tx.retIDs(ctx, `SELECT id FROM attachments WHERE message_id IN (`+ph+`)`, args...)
	if err != nil {
		return c, nil, err
	}
	keys := make([]string, len(files))
	for i, f := range files {
		keys[i] = chat.FileKey(f)
	}
	steps := []struct {
		n *int64
		q string
	}{
		{&c.Attachments, `DELETE FROM attachments WHERE message_id IN (` + ph + `)`},
		{&c.Reactions, `DELETE FROM reactions WHERE message_id IN (` + ph + `)`},
		{&c.Versions, `DELETE FROM message_versions WHERE message_id IN (` + ph + `)`},
		{&c.Events, `DELETE FROM channel_events WHERE message_id IN (` + ph + `)`},
		{&c.Notifications, `DELETE FROM notifications WHERE message_id IN (` + ph + `)`},
		{&c.Alerts, `UPDATE moderation_alerts SET sealed = NULL WHERE sealed IS NOT NULL AND message_id IN (` + ph + `)`},
	}
	for _, s := range steps {
		if *s.n, err = tx.retExec(ctx, s.q, args...); err != nil {
			return c, nil, err
		}
	}
	// Events written before events named their message: the one that
	// created it has its sequence number. Looked up by key, not through
	// message_id: '' is also every tenant's membership and channel events.
	n, err := tx.retExec(ctx, `DELETE FROM channel_events WHERE message_id IN ('', '-') AND (`+strings.Join(created, ` OR `)+`)`, createdArgs...)
	if err != nil {
		return c, nil, err
	}
	c.Events += n
	if c.Messages, err = tx.retExec(ctx, `DELETE FROM messages WHERE id IN (`+ph+`)`, args...); err != nil {
		return c, nil, err
	}
	return c, keys, tx.retAddPending(ctx, tenant, keys, at)
}

// PurgeRecordings deletes the tenant's recordings of list and records
// their blobs as pending deletion.
func (tx *Tx) PurgeRecordings(ctx context.Context, tenant ids.TenantID, list []string, at time.Time) (retention.Counts, []string, error) {
	var c retention.Counts
	if len(list) == 0 {
		return c, nil, nil
	}
	ph, args := retIn(list)
	all := append([]any{string(tenant)}, args...)
	rows, err := tx.queryOnce(ctx, `SELECT blob_key FROM meeting_recordings WHERE tenant_id = ? AND id IN (`+ph+`)`, all...)
	if err != nil {
		return c, nil, err
	}
	var keys []string
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			rows.Close()
			return c, nil, err
		}
		keys = append(keys, k)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return c, nil, err
	}
	if c.Recordings, err = tx.retExec(ctx, `DELETE FROM meeting_recordings WHERE tenant_id = ? AND id IN (`+ph+`)`, all...); err != nil {
		return c, nil, err
	}
	return c, keys, tx.retAddPending(ctx, tenant, keys, at)
}

// UnlinkedEvents returns up to limit message events of the tenant written
// before events named their message.
func (s RetentionStore) UnlinkedEvents(ctx context.Context, tenant ids.TenantID, limit int) ([]retention.SealedEvent, error) {
	rows, err := s.Query(ctx, `SELECT channel_id, seq, payload FROM channel_events WHERE message_id = '' AND tenant_id = ? AND kind IN (?, ?, ?, ?)
		ORDER BY channel_id, seq LIMIT ?`, string(tenant), chat.EventMessage, chat.EventEdit, chat.EventDelete, chat.EventReaction, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []retention.SealedEvent
	for rows.Next() {
		var e retention.SealedEvent
		if err := rows.Scan(&e.Channel, &e.Seq, &e.Payload); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// LinkEvents records which message each event carries.
func (s RetentionStore) LinkEvents(ctx context.Context, links []retention.EventLink) error {
	return s.InTx(ctx, func(tx *Tx) error {
		for _, l := range links {
			if _, err := tx.Exec(ctx, `UPDATE channel_events SET message_id = ? WHERE channel_id = ? AND seq = ? AND message_id = ''`, l.Message, l.Channel, l.Seq); err != nil {
				return err
			}
		}
		return nil
	})
}

// PendingBlobs returns up to limit blob keys of the tenant pending deletion.
func (s RetentionStore) PendingBlobs(ctx context.Context, tenant ids.TenantID, limit int) ([]string, error) {
	rows, err := s.Query(ctx, `SELECT blob_key FROM retention_pending_blobs WHERE tenant_id = ? ORDER BY blob_key LIMIT ?`, string(tenant), limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

// DropPendingBlobs forgets blobs that were deleted.
func (s RetentionStore) DropPendingBlobs(ctx context.Context, tenant ids.TenantID, keys []string) error {
	if len(keys) == 0 {
		return nil
	}
	return s.InTx(ctx, func(tx *Tx) error {
		for chunk := range slices.Chunk(keys, 200) {
			ph, args := retIn(chunk)
			if _, err := tx.execOnce(ctx, `DELETE FROM retention_pending_blobs WHERE tenant_id = ? AND blob_key IN (`+ph+`)`, append([]any{string(tenant)}, args...)...); err != nil {
				return err
			}
		}
		return nil
	})
}

// Compact checkpoints SQLite's WAL into the database file and truncates it,
// so that the page images of deleted rows do not linger in the WAL
// (secure_delete has zeroed them in the file). PostgreSQL needs nothing
// here: VACUUM reclaims dead tuples in its own time.
func (s RetentionStore) Compact(ctx context.Context) error {
	if s.dialect != SQLite {
		return nil
	}
	for attempt := 0; ; attempt++ {
		busy, err := s.checkpointWAL(ctx)
		if err != nil || !busy {
			return err
		}
		if attempt == 20 {
			return fmt.Errorf("checkpoint the WAL: readers kept it busy")
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (s RetentionStore) checkpointWAL(ctx context.Context) (bool, error) {
	if err := s.writes.enter(ctx); err != nil {
		return false, err
	}
	defer s.writes.leave()
	var busy, logPages, done int
	if err := s.sql.QueryRowContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`).Scan(&busy, &logPages, &done); err != nil {
		return false, fmt.Errorf("checkpoint the WAL: %w", err)
	}
	return busy != 0, nil
}

// RetentionTenants lists the active tenants.
func (s RetentionStore) RetentionTenants(ctx context.Context) ([]ids.TenantID, error) {
	rows, err := s.Query(ctx, `SELECT id FROM tenants WHERE id <> ? ORDER BY id`, string(ids.ServiceTenant))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []ids.TenantID
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, ids.TenantID(id))
	}
	return out, rows.Err()
}

// ---- erasure

// EraseAccount pseudonymises an account of the tenant and removes what
// lets anyone sign in as it or recognise it.
func (tx *Tx) EraseAccount(ctx context.Context, tenant ids.TenantID, account ids.UserID, pseudonym, email string, at time.Time) (retention.Erased, error) {
	var e retention.Erased
	var oldEmail, oldName string
	err := tx.QueryRow(ctx, `SELECT email, display_name FROM accounts WHERE id = ? AND tenant_id = ? AND realm = 'tenant'`, string(account), string(tenant)).Scan(&oldEmail, &oldName)
	if err != nil {
		return e, notFound(err)
	}
	a := string(account)
	if _, err := tx.Exec(ctx, `UPDATE accounts SET display_name = ?, email = ?, state = ?, password_hash = NULL, mfa_grace_until = NULL, updated_at = ? WHERE id = ?`,
		pseudonym, email, identity.AccountDeactivated, ns(at), a); err != nil {
		return e, err
	}
	if e.Sessions, err = tx.retExec(ctx, `DELETE FROM sessions WHERE account_id = ?`, a); err != nil {
		return e, err
	}
	if e.Tokens, err = tx.retExec(ctx, `DELETE FROM api_tokens WHERE account_id = ?`, a); err != nil {
		return e, err
	}
	if e.Factors, err = tx.retExec(ctx, `DELETE FROM mfa_factors WHERE account_id = ?`, a); err != nil {
		return e, err
	}
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`DELETE FROM passkey_handles WHERE account_id = ?`, []any{a}},
		{`DELETE FROM password_resets WHERE account_id = ?`, []any{a}},
		{`DELETE FROM notifications WHERE account_id = ?`, []any{a}},
		{`UPDATE signin_log SET identifier = ? WHERE tenant_id = ? AND (account_id = ? OR identifier = ?)`, []any{email, string(tenant), a, oldEmail}},
		{`UPDATE invitations SET email = ? WHERE tenant_id = ? AND email = ?`, []any{email, string(tenant), oldEmail}},
		{`UPDATE meeting_invitees SET email = ? WHERE email = ? AND meeting_id IN (SELECT id FROM meetings WHERE tenant_id = ?)`, []any{email, oldEmail, string(tenant)}},
		{`UPDATE meeting_recordings SET name = ? WHERE tenant_id = ? AND name = ?`, []any{pseudonym, string(tenant), oldName}},
	} {
		if _, err := tx.execOnce(ctx, q.sql, q.args...); err != nil {
			return e, err
		}
	}
	return e, nil
}
