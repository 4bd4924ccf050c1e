package store

import (
	"context"
	"database/sql"
	"encoding/base64"
	"fmt"
	"strings"
	"time"

	"github.com/kaigi/kaigi/internal/chat"
	"github.com/kaigi/kaigi/internal/ids"
)

// Chat adapts db to the chat service's Store.
func Chat(db *DB) chat.Store { return chatStore{db} }

type chatStore struct{ *DB }

var (
	_ chat.Tx    = (*Tx)(nil)
	_ chat.Store = chatStore{}
)

func (s chatStore) UpdateChat(ctx context.Context, fn func(tx chat.Tx) error) error {
	return s.InTx(ctx, func(tx *Tx) error { return fn(tx) })
}

// ---- teams

func (tx *Tx) InsertTeam(ctx context.Context, t chat.Team) error {
	_, err := tx.Exec(ctx, `INSERT INTO teams (id, tenant_id, name, description, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
		t.ID, string(t.Tenant), t.Name, t.Description, string(t.CreatedBy), ns(t.Created))
	return err
}

func (tx *Tx) PutTeamMember(ctx context.Context, team string, m chat.TeamMember) error {
	_, err := tx.Exec(ctx, `INSERT INTO team_members (team_id, account_id, role, added_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (team_id, account_id) DO UPDATE SET role = excluded.role`, team, string(m.Account), m.Role, ns(m.Added))
	return err
}

func (tx *Tx) DeleteTeamMember(ctx context.Context, team string, account ids.UserID) (bool, error) {
	res, err := tx.Exec(ctx, `DELETE FROM team_members WHERE team_id = ? AND account_id = ?`, team, string(account))
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	if err != nil || n == 0 {
		return false, err
	}
	// Gone from the team's private channels too.
	_, err = tx.Exec(ctx, `UPDATE channel_members SET member = 0 WHERE account_id = ? AND channel_id IN (SELECT id FROM channels WHERE team_id = ?)`, string(account), team)
	return true, err
}

const teamCols = `t.id, t.tenant_id, t.name, t.description, t.created_by, t.created_at, t.archived_at`

func scanTeam(sc interface{ Scan(...any) error }, extra ...any) (chat.Team, error) {
	var t chat.Team
	var tenant, by string
	var created int64
	var archived sql.NullInt64
	if err := sc.Scan(append([]any{&t.ID, &tenant, &t.Name, &t.Description, &by, &created, &archived}, extra...)...); err != nil {
		return t, notFound(err)
	}
	t.Tenant, t.CreatedBy, t.Created, t.Archived = ids.TenantID(tenant), ids.UserID(by), fromNS(created), fromNull(archived)
	return t, nil
}

func (db *DB) Team(ctx context.Context, id string) (chat.Team, error) {
	return scanTeam(db.QueryRow(ctx, `SELECT `+teamCols+` FROM teams t WHERE t.id = ?`, id))
}

func (db *DB) TeamsOf(ctx context.Context, account ids.UserID) ([]chat.Team, error) {
	rows, err := db.Query(ctx, `SELECT `+teamCols+`, m.role FROM teams t JOIN team_members m ON m.team_id = t.id WHERE m.account_id = ? ORDER BY t.name`, string(account))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []chat.Team{}
	for rows.Next() {
		var role string
		t, err := scanTeam(rows, &role)
		if err != nil {
			return nil, err
		}
		t.Role = role
		out = append(out, t)
	}
	return out, rows.Err()
}

func (db *DB) TeamMember(ctx context.Context, team string, account ids.UserID) (chat.TeamMember, error) {
	m := chat.TeamMember{Account: account}
	var added int64
	err := db.lookup(ctx, `SELECT role, added_at FROM team_members WHERE team_id = ? AND account_id = ?`, team, string(account)).Scan(&m.Role, &added)
	m.Added = fromNS(added)
	return m, notFound(err)
}

func (db *DB) TeamMembers(ctx context.Context, team string) ([]chat.TeamMember, error) {
	rows, err := db.Query(ctx, `SELECT account_id, role, added_at FROM team_members WHERE team_id = ? ORDER BY added_at`, team)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []chat.TeamMember{}
	for rows.Next() {
		var m chat.TeamMember
		var acct string
		var added int64
		if err := rows.Scan(&acct, &m.Role, &added); err != nil {
			return nil, err
		}
		m.Account, m.Added = ids.UserID(acct), fromNS(added)
		out = append(out, m)
	}
	return out, rows.Err()
}

// ---- channels

func (tx *Tx) InsertChannel(ctx context.Context, c chat.Channel) error {
	var key any
	if c.ChatKey != "" {
		key = c.ChatKey
	}
	_, err := tx.Exec(ctx, `INSERT INTO channels (id, tenant_id, team_id, kind, name, created_by, created_at, archived_at, last_seq, chat_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, ?)`,
		c.ID, string(c.Tenant), c.Team, c.Kind, c.Name, string(c.CreatedBy), ns(c.Created), nullNS(c.Archived), key)
	return conflict(err, "That chat exists already.")
}

func (tx *Tx) UpdateChannel(ctx context.Context, c chat.Channel) error {
	_, err := tx.Exec(ctx, `UPDATE channels SET name = ?, archived_at = ? WHERE id = ?`, c.Name, nullNS(c.Archived), c.ID)
	return err
}

func (tx *Tx) PutChannelMember(ctx context.Context, channel string, account ids.UserID, member bool, at time.Time) error {
	m := 0
	if member {
		m = 1
	}
	_, err := tx.Exec(ctx, `INSERT INTO channel_members (channel_id, account_id, member, added_at, last_read_seq) VALUES (?, ?, ?, ?, 0)
		ON CONFLICT (channel_id, account_id) DO UPDATE SET member = excluded.member`, channel, string(account), m, ns(at))
	return err
}

// NextSeq increments the channel's sequence number; the UPDATE locks the
// channel's row until the transaction ends, so numbers are gapless and
// ordered by commit.
func (tx *Tx) NextSeq(ctx context.Context, channel string) (int64, error) {
	var seq int64
	err := tx.QueryRow(ctx, `UPDATE channels SET last_seq = last_seq + 1 WHERE id = ? RETURNING last_seq`, channel).Scan(&seq)
	return seq, notFound(err)
}

func (tx *Tx) SetReadSeq(ctx context.Context, channel string, account ids.UserID, seq int64) error {
	_, err := tx.Exec(ctx, `INSERT INTO channel_members (channel_id, account_id, member, added_at, last_read_seq) VALUES (?, ?, 0, 0, ?)
		ON CONFLICT (channel_id, account_id) DO UPDATE SET last_read_seq = CASE WHEN excluded.last_read_seq > channel_members.last_read_seq THEN excluded.last_read_seq ELSE channel_members.last_read_seq END`,
		channel, string(account), seq)
	return err
}

const channelCols = `c.id, c.tenant_id, c.team_id, c.kind, c.name, c.created_by, c.created_at, c.archived_at, c.last_seq, COALESCE(c.chat_key, '')`

func scanChannel(sc interface{ Scan(...any) error }, extra ...any) (chat.Channel, error) {
	var c chat.Channel
	var tenant, by string
	var created int64
	var archived sql.NullInt64
	if err := sc.Scan(append([]any{&c.ID, &tenant, &c.Team, &c.Kind, &c.Name, &by, &created, &archived, &c.LastSeq, &c.ChatKey}, extra...)...); err != nil {
		return c, notFound(err)
	}
	c.Tenant, c.CreatedBy, c.Created, c.Archived = ids.TenantID(tenant), ids.UserID(by), fromNS(created), fromNull(archived)
	return c, nil
}

func (db *DB) Channel(ctx context.Context, id string) (chat.Channel, error) {
	return scanChannel(db.lookup(ctx, `SELECT `+channelCols+` FROM channels c WHERE c.id = ?`, id))
}

func (db *DB) ChatByKey(ctx context.Context, tenant ids.TenantID, key string) (chat.Channel, error) {
	return scanChannel(db.QueryRow(ctx, `SELECT `+channelCols+` FROM channels c WHERE c.tenant_id = ? AND c.chat_key = ?`, string(tenant), key))
}

func (db *DB) ChannelsOf(ctx context.Context, account ids.UserID) ([]chat.Channel, error) {
	a := string(account)
	rows, err := db.Query(ctx, `SELECT `+channelCols+`, COALESCE(cm.last_read_seq, 0) FROM channels c
		LEFT JOIN channel_members cm ON cm.channel_id = c.id AND cm.account_id = ?
		WHERE (c.kind = 'standard' AND c.team_id IN (SELECT team_id FROM team_members WHERE account_id = ?))
		   OR (c.kind <> 'standard' AND cm.member = 1)
		ORDER BY c.team_id, c.name`, a, a)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []chat.Channel{}
	for rows.Next() {
		var read int64
		c, err := scanChannel(rows, &read)
		if err != nil {
			return nil, err
		}
		c.ReadSeq = read
		out = append(out, c)
	}
	return resumable(db, out, rows.Err())
}

func (db *DB) IsChannelMember(ctx context.Context, channel string, account ids.UserID) (bool, error) {
	var n int
	err := db.QueryRow(ctx, `SELECT COUNT(*) FROM channel_members WHERE channel_id = ? AND account_id = ? AND member = 1`, channel, string(account)).Scan(&n)
	return n > 0, err
}

func (db *DB) ChannelMembers(ctx context.Context, channel string) ([]ids.UserID, error) {
	rows, err := db.Query(ctx, `SELECT account_id FROM channel_members WHERE channel_id = ? AND member = 1 ORDER BY account_id`, channel)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []ids.UserID
	for rows.Next() {
		var a string
		if err := rows.Scan(&a); err != nil {
			return nil, err
		}
		out = append(out, ids.UserID(a))
	}
	return out, rows.Err()
}

// ---- messages

const messageCols = `id, tenant_id, channel_id, seq, thread_id, author_id, created_at, edited_at, deleted_at, version, body`

func scanMessage(sc interface{ Scan(...any) error }) (chat.Message, error) {
	var m chat.Message
	var tenant, author string
	var created int64
	var edited, deleted sql.NullInt64
	if err := sc.Scan(&m.ID, &tenant, &m.Channel, &m.Seq, &m.Thread, &author, &created, &edited, &deleted, &m.Version, &m.Body); err != nil {
		return m, notFound(err)
	}
	m.Tenant, m.Author, m.Created, m.Edited, m.Deleted = ids.TenantID(tenant), ids.UserID(author), fromNS(created), fromNull(edited), fromNull(deleted)
	return m, nil
}

func (tx *Tx) InsertMessage(ctx context.Context, m chat.Message) error {
	_, err := tx.Exec(ctx, `INSERT INTO messages (`+messageCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		m.ID, string(m.Tenant), m.Channel, m.Seq, m.Thread, string(m.Author), ns(m.Created), nullNS(m.Edited), nullNS(m.Deleted), m.Version, m.Body)
	return err
}

// UpdateMessage stores a new version of a message and keeps the previous body.
func (tx *Tx) UpdateMessage(ctx context.Context, m chat.Message, previous []byte, replaced time.Time) error {
	if _, err := tx.Exec(ctx, `INSERT INTO message_versions (message_id, version, body, replaced_at) VALUES (?, ?, ?, ?)`, m.ID, m.Version-1, previous, ns(replaced)); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `UPDATE messages SET body = ?, version = ?, edited_at = ?, deleted_at = ? WHERE id = ?`, m.Body, m.Version, nullNS(m.Edited), nullNS(m.Deleted), m.ID)
	return err
}

func (tx *Tx) SetReaction(ctx context.Context, message string, account ids.UserID, emoji string, on bool, at time.Time) error {
	if on {
		_, err := tx.Exec(ctx, `INSERT INTO reactions (message_id, account_id, emoji, created_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`, message, string(account), emoji, ns(at))
		return err
	}
	_, err := tx.Exec(ctx, `DELETE FROM reactions WHERE message_id = ? AND account_id = ? AND emoji = ?`, message, string(account), emoji)
	return err
}

func (tx *Tx) InsertEvent(ctx context.Context, e chat.Event) error {
	_, err := tx.Exec(ctx, `INSERT INTO channel_events (channel_id, seq, tenant_id, kind, at, payload, message_id) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		e.Channel, e.Seq, string(e.Tenant), e.Kind, ns(e.At), e.Payload, e.Message)
	return err
}

func (db *DB) Message(ctx context.Context, id string) (chat.Message, error) {
	return scanMessage(db.QueryRow(ctx, `SELECT `+messageCols+` FROM messages WHERE id = ?`, id))
}

func (db *DB) Messages(ctx context.Context, channel string, before int64, limit int) ([]chat.Message, error) {
	rows, err := db.Query(ctx, `SELECT `+messageCols+` FROM messages WHERE channel_id = ? AND seq < ? ORDER BY seq DESC LIMIT ?`, channel, before, limit)
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
	return resumable(db, out, rows.Err())
}

// Reactions returns the reactions of messages, by message and emoji.
func (db *DB) Reactions(ctx context.Context, messages []string) (map[string]map[string][]ids.UserID, error) {
	return reactions(ctx, db.queryOnce, messages)
}

// Reactions reads reactions within the transaction, seeing its own changes.
func (tx *Tx) Reactions(ctx context.Context, messages []string) (map[string]map[string][]ids.UserID, error) {
	return reactions(ctx, tx.queryOnce, messages)
}

func reactions(ctx context.Context, query func(context.Context, string, ...any) (*sql.Rows, error), messages []string) (map[string]map[string][]ids.UserID, error) {
	out := map[string]map[string][]ids.UserID{}
	if len(messages) == 0 {
		return out, nil
	}
	args := make([]any, len(messages))
	for i, m := range messages {
		args[i] = m
	}
	rows, err := query(ctx, `SELECT message_id, emoji, account_id FROM reactions WHERE message_id IN (?`+strings.Repeat(", ?", len(messages)-1)+`) ORDER BY created_at`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var m, e, a string
		if err := rows.Scan(&m, &e, &a); err != nil {
			return nil, err
		}
		if out[m] == nil {
			out[m] = map[string][]ids.UserID{}
		}
		out[m][e] = append(out[m][e], ids.UserID(a))
	}
	return out, rows.Err()
}

func (db *DB) Events(ctx context.Context, channel string, after int64, limit int) ([]chat.Event, error) {
	rows, err := db.Query(ctx, `SELECT channel_id, seq, tenant_id, kind, at, payload FROM channel_events WHERE channel_id = ? AND seq > ? ORDER BY seq LIMIT ?`, channel, after, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []chat.Event{}
	for rows.Next() {
		var e chat.Event
		var tenant string
		var at int64
		if err := rows.Scan(&e.Channel, &e.Seq, &tenant, &e.Kind, &at, &e.Payload); err != nil {
			return nil, err
		}
		e.Tenant, e.At = ids.TenantID(tenant), fromNS(at)
		out = append(out, e)
	}
	return resumable(db, out, rows.Err())
}

// ---- files

const fileCols = `id, tenant_id, channel_id, message_id, uploader_id, name, size, content_type, sha256`

func scanFile(sc interface{ Scan(...any) error }) (chat.File, error) {
	var f chat.File
	var tenant, uploader string
	var name string
	if err := sc.Scan(&f.ID, &tenant, &f.Channel, &f.Message, &uploader, &name, &f.Size, &f.ContentType, &f.SHA256); err != nil {
		return f, notFound(err)
	}
	f.Tenant, f.Uploader = ids.TenantID(tenant), ids.UserID(uploader)
	sealed, err := base64.StdEncoding.DecodeString(name)
	if err != nil {
		return f, fmt.Errorf("file %s: stored name is not sealed: %w", f.ID, err)
	}
	f.SealedName = sealed
	return f, nil
}

func (tx *Tx) InsertFile(ctx context.Context, f chat.File) error {
	_, err := tx.Exec(ctx, `INSERT INTO attachments (`+fileCols+`, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		f.ID, string(f.Tenant), f.Channel, f.Message, string(f.Uploader), base64.StdEncoding.EncodeToString(f.SealedName), f.Size, f.ContentType, f.SHA256, time.Now().UnixNano())
	return err
}

func (db *DB) File(ctx context.Context, id string) (chat.File, error) {
	return scanFile(db.QueryRow(ctx, `SELECT `+fileCols+` FROM attachments WHERE id = ?`, id))
}

func (db *DB) Files(ctx context.Context, messages []string) (map[string][]chat.File, error) {
	out := map[string][]chat.File{}
	if len(messages) == 0 {
		return out, nil
	}
	args := make([]any, len(messages))
	for i, m := range messages {
		args[i] = m
	}
	rows, err := db.queryOnce(ctx, `SELECT `+fileCols+` FROM attachments WHERE message_id IN (?`+strings.Repeat(", ?", len(messages)-1)+`) ORDER BY created_at`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		f, err := scanFile(rows)
		if err != nil {
			return nil, err
		}
		out[f.Message] = append(out[f.Message], f)
	}
	return out, rows.Err()
}

// ---- notifications

func (tx *Tx) InsertNotification(ctx context.Context, n chat.Notification) error {
	_, err := tx.Exec(ctx, `INSERT INTO notifications (id, tenant_id, account_id, kind, channel_id, message_id, actor_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		n.ID, string(n.Tenant), string(n.Account), n.Kind, n.Channel, n.Message, string(n.Actor), ns(n.Created))
	return err
}

func (tx *Tx) MarkNotificationsRead(ctx context.Context, account ids.UserID, upTo, at time.Time) (int64, error) {
	res, err := tx.Exec(ctx, `UPDATE notifications SET read_at = ? WHERE account_id = ? AND read_at IS NULL AND created_at <= ?`, ns(at), string(account), ns(upTo))
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (db *DB) Notifications(ctx context.Context, account ids.UserID, limit int) ([]chat.Notification, error) {
	rows, err := db.Query(ctx, `SELECT id, tenant_id, kind, channel_id, message_id, actor_id, created_at, read_at FROM notifications WHERE account_id = ? ORDER BY created_at DESC LIMIT ?`, string(account), limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []chat.Notification{}
	for rows.Next() {
		n := chat.Notification{Account: account}
		var tenant, actor string
		var created int64
		var read sql.NullInt64
		if err := rows.Scan(&n.ID, &tenant, &n.Kind, &n.Channel, &n.Message, &actor, &created, &read); err != nil {
			return nil, err
		}
		n.Tenant, n.Actor, n.Created, n.Read = ids.TenantID(tenant), ids.UserID(actor), fromNS(created), fromNull(read)
		out = append(out, n)
	}
	return out, rows.Err()
}

// resumable returns what a read found once it is on disk: clients keep the
// sequence numbers it carries and resume from them (see DB.durable).
func resumable[T any](db *DB, out []T, err error) ([]T, error) {
	if err != nil {
		return nil, err
	}
	return out, db.durable()
}
