package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"time"

	"github.com/kaigi/kaigi/internal/chat"
	"github.com/kaigi/kaigi/internal/compliance/discovery"
	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/meeting"
)

// Discovery adapts db to the discovery service's Store.
func Discovery(db *DB) discovery.Store { return discoveryStore{db} }

type discoveryStore struct{ *DB }

var (
	_ discovery.Tx    = (*Tx)(nil)
	_ discovery.Store = discoveryStore{}
)

func (s discoveryStore) UpdateDiscovery(ctx context.Context, fn func(tx discovery.Tx) error) error {
	return s.InTx(ctx, func(tx *Tx) error { return fn(tx) })
}

// ---- cases

func (tx *Tx) InsertCase(ctx context.Context, c discovery.Case) error {
	_, err := tx.Exec(ctx, `INSERT INTO discovery_cases (id, tenant_id, name, state, created_by, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		c.ID, string(c.Tenant), c.Sealed, c.State, string(c.CreatedBy), ns(c.Created), ns(c.Updated))
	return err
}

func (tx *Tx) UpdateCaseState(ctx context.Context, id, state string, at time.Time) error {
	_, err := tx.Exec(ctx, `UPDATE discovery_cases SET state = ?, updated_at = ? WHERE id = ?`, state, ns(at), id)
	return err
}

func (tx *Tx) PutCaseMember(ctx context.Context, caseID string, m discovery.Member) error {
	_, err := tx.Exec(ctx, `INSERT INTO discovery_case_members (case_id, account_id, added_by, added_at) VALUES (?, ?, ?, ?) ON CONFLICT (case_id, account_id) DO NOTHING`,
		caseID, string(m.Account), string(m.AddedBy), ns(m.Added))
	return err
}

func (tx *Tx) DeleteCaseMember(ctx context.Context, caseID string, account ids.UserID) (bool, error) {
	res, err := tx.Exec(ctx, `DELETE FROM discovery_case_members WHERE case_id = ? AND account_id = ?`, caseID, string(account))
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

const caseCols = `c.id, c.tenant_id, c.name, c.state, c.created_by, c.created_at, c.updated_at`

func scanCase(sc interface{ Scan(...any) error }) (discovery.Case, error) {
	var c discovery.Case
	var tenant, by string
	var created, updated int64
	if err := sc.Scan(&c.ID, &tenant, &c.Sealed, &c.State, &by, &created, &updated); err != nil {
		return c, notFound(err)
	}
	c.Tenant, c.CreatedBy, c.Created, c.Updated = ids.TenantID(tenant), ids.UserID(by), fromNS(created), fromNS(updated)
	return c, nil
}

func (s discoveryStore) Case(ctx context.Context, id string) (discovery.Case, error) {
	return scanCase(s.QueryRow(ctx, `SELECT `+caseCols+` FROM discovery_cases c WHERE c.id = ?`, id))
}

func (s discoveryStore) CasesOf(ctx context.Context, tenant ids.TenantID, account ids.UserID) ([]discovery.Case, error) {
	rows, err := s.Query(ctx, `SELECT `+caseCols+` FROM discovery_cases c JOIN discovery_case_members m ON m.case_id = c.id
		WHERE c.tenant_id = ? AND m.account_id = ? ORDER BY c.created_at DESC, c.id`, string(tenant), string(account))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []discovery.Case{}
	for rows.Next() {
		c, err := scanCase(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

func (s discoveryStore) CaseMembers(ctx context.Context, caseID string) ([]discovery.Member, error) {
	rows, err := s.Query(ctx, `SELECT account_id, added_by, added_at FROM discovery_case_members WHERE case_id = ? ORDER BY added_at, account_id`, caseID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []discovery.Member{}
	for rows.Next() {
		var m discovery.Member
		var a, by string
		var at int64
		if err := rows.Scan(&a, &by, &at); err != nil {
			return nil, err
		}
		m.Account, m.AddedBy, m.Added = ids.UserID(a), ids.UserID(by), fromNS(at)
		out = append(out, m)
	}
	return out, rows.Err()
}

// ---- searches, hits and the review set

func (tx *Tx) InsertSearch(ctx context.Context, s discovery.Search) error {
	_, err := tx.Exec(ctx, `INSERT INTO discovery_searches (id, tenant_id, case_id, query, job_id, created_by, created_at, state, scanned, hits, hits_sha256, truncated)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, 0, '', 0)`, s.ID, string(s.Tenant), s.Case, s.Sealed, s.Job, string(s.CreatedBy), ns(s.Created), s.State)
	return err
}

func (tx *Tx) FinishSearch(ctx context.Context, s discovery.Search) error {
	_, err := tx.Exec(ctx, `UPDATE discovery_searches SET state = ?, scanned = ?, hits = ?, hits_sha256 = ?, truncated = ? WHERE id = ?`,
		s.State, s.Scanned, s.Hits, s.HitsHash, boolInt(s.Truncated), s.ID)
	return err
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (tx *Tx) InsertHits(ctx context.Context, search string, hits []discovery.Hit) error {
	for _, h := range hits {
		if _, err := tx.Exec(ctx, `INSERT INTO discovery_hits (search_id, item_id, channel_id) VALUES (?, ?, ?) ON CONFLICT (search_id, item_id) DO NOTHING`,
			search, h.Item, h.Channel); err != nil {
			return err
		}
	}
	return nil
}

func (tx *Tx) AddReview(ctx context.Context, caseID string, hits []discovery.Hit, by ids.UserID, at time.Time) (int64, error) {
	var n int64
	for _, h := range hits {
		res, err := tx.Exec(ctx, `INSERT INTO discovery_review (case_id, item_id, channel_id, added_by, added_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (case_id, item_id) DO NOTHING`,
			caseID, h.Item, h.Channel, string(by), ns(at))
		if err != nil {
			return 0, err
		}
		k, err := res.RowsAffected()
		if err != nil {
			return 0, err
		}
		n += k
	}
	return n, nil
}

func (tx *Tx) RemoveReview(ctx context.Context, caseID, item string) (bool, error) {
	res, err := tx.Exec(ctx, `DELETE FROM discovery_review WHERE case_id = ? AND item_id = ?`, caseID, item)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

const searchCols = `id, tenant_id, case_id, query, job_id, created_by, created_at, state, scanned, hits, hits_sha256, truncated`

func scanSearch(sc interface{ Scan(...any) error }) (discovery.Search, error) {
	var s discovery.Search
	var tenant, by string
	var created int64
	var trunc int
	if err := sc.Scan(&s.ID, &tenant, &s.Case, &s.Sealed, &s.Job, &by, &created, &s.State, &s.Scanned, &s.Hits, &s.HitsHash, &trunc); err != nil {
		return s, notFound(err)
	}
	s.Tenant, s.CreatedBy, s.Created, s.Truncated = ids.TenantID(tenant), ids.UserID(by), fromNS(created), trunc != 0
	return s, nil
}

func (s discoveryStore) Search(ctx context.Context, id string) (discovery.Search, error) {
	return scanSearch(s.QueryRow(ctx, `SELECT `+searchCols+` FROM discovery_searches WHERE id = ?`, id))
}

func (s discoveryStore) Searches(ctx context.Context, caseID string) ([]discovery.Search, error) {
	rows, err := s.Query(ctx, `SELECT `+searchCols+` FROM discovery_searches WHERE case_id = ? ORDER BY created_at DESC, id`, caseID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []discovery.Search{}
	for rows.Next() {
		x, err := scanSearch(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, x)
	}
	return out, rows.Err()
}

func (s discoveryStore) hits(ctx context.Context, query string, args ...any) ([]discovery.Hit, error) {
	rows, err := s.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []discovery.Hit{}
	for rows.Next() {
		var h discovery.Hit
		if err := rows.Scan(&h.Item, &h.Channel); err != nil {
			return nil, err
		}
		out = append(out, h)
	}
	return out, rows.Err()
}

func (s discoveryStore) Hits(ctx context.Context, search, after string, limit int) ([]discovery.Hit, error) {
	return s.hits(ctx, `SELECT item_id, channel_id FROM discovery_hits WHERE search_id = ? AND item_id > ? ORDER BY item_id LIMIT ?`, search, after, limit)
}

func (s discoveryStore) Review(ctx context.Context, caseID, after string, limit int) ([]discovery.Hit, error) {
	return s.hits(ctx, `SELECT item_id, channel_id FROM discovery_review WHERE case_id = ? AND item_id > ? ORDER BY item_id LIMIT ?`, caseID, after, limit)
}

func (s discoveryStore) InReview(ctx context.Context, caseID string, items []string) (map[string]bool, error) {
	out := map[string]bool{}
	if len(items) == 0 {
		return out, nil
	}
	args := []any{caseID}
	for _, it := range items {
		args = append(args, it)
	}
	rows, err := s.queryOnce(ctx, `SELECT item_id FROM discovery_review WHERE case_id = ? AND item_id IN (?`+strings.Repeat(", ?", len(items)-1)+`)`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out[id] = true
	}
	return out, rows.Err()
}

func (s discoveryStore) HitsHash(ctx context.Context, search string) (int64, string, error) {
	h := sha256.New()
	var n int64
	after := ""
	for {
		hs, err := s.Hits(ctx, search, after, 5000)
		if err != nil {
			return 0, "", err
		}
		for _, x := range hs {
			h.Write([]byte(x.Item + "\n"))
			n++
		}
		if len(hs) < 5000 {
			return n, hex.EncodeToString(h.Sum(nil)), nil
		}
		after = hs[len(hs)-1].Item
	}
}

// ---- exports

func (tx *Tx) InsertExport(ctx context.Context, e discovery.Export) error {
	_, err := tx.Exec(ctx, `INSERT INTO discovery_exports (id, tenant_id, kind, subject, source, job_id, created_by, created_at, state, parts, bytes, sha256, messages, files)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, 0, '', 0, 0)`, e.ID, string(e.Tenant), e.Kind, e.Subject, e.Source, e.Job, string(e.CreatedBy), ns(e.Created), e.State)
	return err
}

func (tx *Tx) FinishExport(ctx context.Context, e discovery.Export) error {
	_, err := tx.Exec(ctx, `UPDATE discovery_exports SET state = ?, parts = ?, bytes = ?, sha256 = ?, messages = ?, files = ? WHERE id = ?`,
		e.State, e.Parts, e.Bytes, e.SHA256, e.Messages, e.Files, e.ID)
	return err
}

func (tx *Tx) PutPart(ctx context.Context, export string, p discovery.Part) error {
	_, err := tx.Exec(ctx, `INSERT INTO discovery_export_parts (export_id, kind, n, bytes, manifest, hash_state) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (export_id, kind, n) DO UPDATE SET bytes = excluded.bytes, manifest = excluded.manifest, hash_state = excluded.hash_state`,
		export, p.Kind, p.N, p.Bytes, p.Manifest, p.HashState)
	return err
}

const exportCols = `id, tenant_id, kind, subject, source, job_id, created_by, created_at, state, parts, bytes, sha256, messages, files`

func scanExport(sc interface{ Scan(...any) error }) (discovery.Export, error) {
	var e discovery.Export
	var tenant, by string
	var created int64
	if err := sc.Scan(&e.ID, &tenant, &e.Kind, &e.Subject, &e.Source, &e.Job, &by, &created, &e.State, &e.Parts, &e.Bytes, &e.SHA256, &e.Messages, &e.Files); err != nil {
		return e, notFound(err)
	}
	e.Tenant, e.CreatedBy, e.Created = ids.TenantID(tenant), ids.UserID(by), fromNS(created)
	return e, nil
}

func (s discoveryStore) Export(ctx context.Context, id string) (discovery.Export, error) {
	return scanExport(s.QueryRow(ctx, `SELECT `+exportCols+` FROM discovery_exports WHERE id = ?`, id))
}

func (s discoveryStore) Exports(ctx context.Context, tenant ids.TenantID, kind, subject string, limit int) ([]discovery.Export, error) {
	rows, err := s.Query(ctx, `SELECT `+exportCols+` FROM discovery_exports WHERE tenant_id = ? AND kind = ? AND (CAST(? AS TEXT) = '' OR subject = ?)
		ORDER BY created_at DESC, id LIMIT ?`, string(tenant), kind, subject, subject, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []discovery.Export{}
	for rows.Next() {
		e, err := scanExport(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

func (s discoveryStore) Parts(ctx context.Context, export, kind string) ([]discovery.Part, error) {
	rows, err := s.Query(ctx, `SELECT kind, n, bytes, manifest, hash_state FROM discovery_export_parts WHERE export_id = ? AND kind = ? ORDER BY n`, export, kind)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []discovery.Part{}
	for rows.Next() {
		var p discovery.Part
		if err := rows.Scan(&p.Kind, &p.N, &p.Bytes, &p.Manifest, &p.HashState); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// ---- reading the tenant's data

func (s discoveryStore) TenantChannels(ctx context.Context, tenant ids.TenantID) ([]chat.Channel, error) {
	rows, err := s.Query(ctx, `SELECT `+channelCols+` FROM channels c WHERE c.tenant_id = ? ORDER BY c.id`, string(tenant))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []chat.Channel{}
	for rows.Next() {
		c, err := scanChannel(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

func (s discoveryStore) TenantTeams(ctx context.Context, tenant ids.TenantID) ([]chat.Team, error) {
	rows, err := s.Query(ctx, `SELECT `+teamCols+` FROM teams t WHERE t.tenant_id = ? ORDER BY t.id`, string(tenant))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []chat.Team{}
	for rows.Next() {
		t, err := scanTeam(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

func (s discoveryStore) TenantMeetings(ctx context.Context, tenant ids.TenantID, organizer ids.UserID) ([]meeting.Meeting, error) {
	rows, err := s.Query(ctx, `SELECT `+meetingCols+` FROM meetings m WHERE m.tenant_id = ? AND (CAST(? AS TEXT) = '' OR m.organizer_id = ?) ORDER BY m.starts_at, m.id`,
		string(tenant), string(organizer), string(organizer))
	if err != nil {
		return nil, err
	}
	out := []meeting.Meeting{}
	for rows.Next() {
		m, err := scanMeeting(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, m)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i := range out {
		if err := s.invitees(ctx, &out[i]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (s discoveryStore) TenantRecordings(ctx context.Context, tenant ids.TenantID, after string, limit int) ([]meeting.Recording, error) {
	rows, err := s.Query(ctx, `SELECT `+recordingCols+` FROM meeting_recordings WHERE tenant_id = ? AND id > ? ORDER BY id LIMIT ?`, string(tenant), after, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []meeting.Recording{}
	for rows.Next() {
		r, err := scanRecording(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

func (s discoveryStore) messages(ctx context.Context, query string, args ...any) ([]chat.Message, error) {
	rows, err := s.Query(ctx, query, args...)
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

func (s discoveryStore) ChannelMessages(ctx context.Context, channel string, after int64, limit int) ([]chat.Message, error) {
	return s.messages(ctx, `SELECT `+messageCols+` FROM messages WHERE channel_id = ? AND seq > ? ORDER BY seq LIMIT ?`, channel, after, limit)
}

func (s discoveryStore) CountChannelMessages(ctx context.Context, channels []string) (int64, error) {
	var total int64
	for _, c := range channels {
		var n int64
		if err := s.QueryRow(ctx, `SELECT COUNT(*) FROM messages WHERE channel_id = ?`, c).Scan(&n); err != nil {
			return 0, err
		}
		total += n
	}
	return total, nil
}

// selection returns the FROM and WHERE of a selection's messages.
func selection(sel discovery.Selection) (string, []any) {
	switch {
	case sel.Search != "":
		return `FROM messages WHERE id IN (SELECT item_id FROM discovery_hits WHERE search_id = ?) AND tenant_id = ?`, []any{sel.Search, string(sel.Tenant)}
	case sel.Case != "":
		return `FROM messages WHERE id IN (SELECT item_id FROM discovery_review WHERE case_id = ?) AND tenant_id = ?`, []any{sel.Case, string(sel.Tenant)}
	case sel.Author != "":
		return `FROM messages WHERE tenant_id = ? AND author_id = ?`, []any{string(sel.Tenant), string(sel.Author)}
	case sel.All:
		return `FROM messages WHERE tenant_id = ?`, []any{string(sel.Tenant)}
	}
	return `FROM messages WHERE 1 = 0`, nil
}

func (s discoveryStore) SelectedMessages(ctx context.Context, sel discovery.Selection, after string, limit int) ([]chat.Message, error) {
	from, args := selection(sel)
	return s.messages(ctx, `SELECT `+messageCols+` `+from+` AND id > ? ORDER BY id LIMIT ?`, append(args, after, limit)...)
}

func (s discoveryStore) CountSelected(ctx context.Context, sel discovery.Selection) (int64, error) {
	from, args := selection(sel)
	var n int64
	err := s.QueryRow(ctx, `SELECT COUNT(*) `+from, args...).Scan(&n)
	return n, err
}

func (s discoveryStore) Versions(ctx context.Context, messages []string) (map[string][]discovery.Version, error) {
	out := map[string][]discovery.Version{}
	if len(messages) == 0 {
		return out, nil
	}
	args := make([]any, len(messages))
	for i, m := range messages {
		args[i] = m
	}
	rows, err := s.queryOnce(ctx, `SELECT message_id, version, body, replaced_at FROM message_versions WHERE message_id IN (?`+strings.Repeat(", ?", len(messages)-1)+`) ORDER BY message_id, version`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var v discovery.Version
		var at int64
		if err := rows.Scan(&id, &v.Version, &v.Body, &at); err != nil {
			return nil, err
		}
		v.Replaced = fromNS(at)
		out[id] = append(out[id], v)
	}
	return out, rows.Err()
}
