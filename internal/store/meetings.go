package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"time"

	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/meeting"
)

// Meetings adapts db to the meeting service's Store.
func Meetings(db *DB) meeting.Store { return meetingStore{db} }

// Recordings reads meetings' recordings.
func Recordings(db *DB) meeting.RecordingReader { return meetingStore{db} }

type meetingStore struct{ *DB }

var (
	_ meeting.Tx    = (*Tx)(nil)
	_ meeting.Store = meetingStore{}
)

func (s meetingStore) UpdateMeetings(ctx context.Context, fn func(tx meeting.Tx) error) error {
	return s.InTx(ctx, func(tx *Tx) error { return fn(tx) })
}

func (tx *Tx) InsertMeeting(ctx context.Context, m meeting.Meeting) error {
	opts, err := json.Marshal(m.Options)
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `INSERT INTO meetings (id, tenant_id, title, organizer_id, starts_at, ends_at, channel_id, chat_id, options, created_at, ended_at, code_hash, code_sealed)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		m.ID, string(m.Tenant), m.Title, string(m.Organizer), ns(m.Start), ns(m.End), m.Channel, m.Chat, string(opts), ns(m.Created), nullNS(m.Ended), m.CodeHash, m.CodeSealed)
	if err != nil {
		return conflict(err, "That meeting exists already.")
	}
	return tx.putInvitees(ctx, m)
}

func (tx *Tx) putInvitees(ctx context.Context, m meeting.Meeting) error {
	if _, err := tx.Exec(ctx, `DELETE FROM meeting_invitees WHERE meeting_id = ?`, m.ID); err != nil {
		return err
	}
	for _, in := range m.Invitees {
		if _, err := tx.Exec(ctx, `INSERT INTO meeting_invitees (meeting_id, account_id, email, role) VALUES (?, ?, ?, ?)`,
			m.ID, string(in.Account), in.Email, in.Role); err != nil {
			return err
		}
	}
	return nil
}

func (tx *Tx) UpdateMeeting(ctx context.Context, m meeting.Meeting) error {
	opts, err := json.Marshal(m.Options)
	if err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `UPDATE meetings SET title = ?, starts_at = ?, ends_at = ?, options = ?, ended_at = ? WHERE id = ?`,
		m.Title, ns(m.Start), ns(m.End), string(opts), nullNS(m.Ended), m.ID); err != nil {
		return err
	}
	return tx.putInvitees(ctx, m)
}

const meetingCols = `m.id, m.tenant_id, m.title, m.organizer_id, m.starts_at, m.ends_at, m.channel_id, m.chat_id, m.options, m.created_at, m.ended_at, m.code_hash, m.code_sealed`

func scanMeeting(sc interface{ Scan(...any) error }) (meeting.Meeting, error) {
	var m meeting.Meeting
	var tenant, org, opts string
	var start, end, created int64
	var ended sql.NullInt64
	if err := sc.Scan(&m.ID, &tenant, &m.Title, &org, &start, &end, &m.Channel, &m.Chat, &opts, &created, &ended, &m.CodeHash, &m.CodeSealed); err != nil {
		return m, notFound(err)
	}
	m.Tenant, m.Organizer = ids.TenantID(tenant), ids.UserID(org)
	m.Start, m.End, m.Created, m.Ended = fromNS(start), fromNS(end), fromNS(created), fromNull(ended)
	return m, json.Unmarshal([]byte(opts), &m.Options)
}

func (db *DB) invitees(ctx context.Context, m *meeting.Meeting) error {
	rows, err := db.Query(ctx, `SELECT account_id, email, role FROM meeting_invitees WHERE meeting_id = ? ORDER BY account_id, email`, m.ID)
	if err != nil {
		return err
	}
	defer rows.Close()
	m.Invitees = []meeting.Invitee{}
	for rows.Next() {
		var in meeting.Invitee
		var acct string
		if err := rows.Scan(&acct, &in.Email, &in.Role); err != nil {
			return err
		}
		in.Account = ids.UserID(acct)
		m.Invitees = append(m.Invitees, in)
	}
	return rows.Err()
}

func (s meetingStore) Meeting(ctx context.Context, id string) (meeting.Meeting, error) {
	m, err := scanMeeting(s.QueryRow(ctx, `SELECT `+meetingCols+` FROM meetings m WHERE m.id = ?`, id))
	if err != nil {
		return m, err
	}
	return m, s.invitees(ctx, &m)
}

func (s meetingStore) MeetingByCode(ctx context.Context, hash []byte) (meeting.Meeting, error) {
	m, err := scanMeeting(s.QueryRow(ctx, `SELECT `+meetingCols+` FROM meetings m WHERE m.code_hash = ?`, hash))
	if err != nil {
		return m, err
	}
	return m, s.invitees(ctx, &m)
}

func (s meetingStore) MeetingsOf(ctx context.Context, tenant ids.TenantID, account ids.UserID, since time.Time, limit int) ([]meeting.Meeting, error) {
	const of = `FROM meetings m WHERE m.tenant_id = ? AND m.ends_at > ?
		AND (m.organizer_id = ? OR m.id IN (SELECT meeting_id FROM meeting_invitees WHERE account_id = ?))
		ORDER BY m.starts_at DESC LIMIT ?`
	args := []any{string(tenant), ns(since), string(account), string(account), limit}
	rows, err := s.Query(ctx, `SELECT `+meetingCols+` `+of, args...)
	if err != nil {
		return nil, err
	}
	out := []meeting.Meeting{}
	at := map[string]int{}
	for rows.Next() {
		m, err := scanMeeting(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		m.Invitees = []meeting.Invitee{}
		at[m.ID] = len(out)
		out = append(out, m)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return nil, err
	}
	// The invitees of every meeting listed, in one query.
	rows, err = s.Query(ctx, `SELECT meeting_id, account_id, email, role FROM meeting_invitees
		WHERE meeting_id IN (SELECT m.id `+of+`) ORDER BY meeting_id, account_id, email`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id, acct string
		var in meeting.Invitee
		if err := rows.Scan(&id, &acct, &in.Email, &in.Role); err != nil {
			return nil, err
		}
		if i, ok := at[id]; ok {
			in.Account = ids.UserID(acct)
			out[i].Invitees = append(out[i].Invitees, in)
		}
	}
	return out, rows.Err()
}

// ---- recordings

var _ meeting.RecordingStore = (*Tx)(nil)
var _ meeting.RecordingReader = meetingStore{}

func (tx *Tx) InsertRecording(ctx context.Context, r meeting.Recording) error {
	_, err := tx.Exec(ctx, `INSERT INTO meeting_recordings (id, tenant_id, meeting_id, name, kind, bytes, millis, started_at, created_at, blob_key, started_by)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.ID, string(r.Tenant), r.Meeting, r.Name, r.Kind, r.Bytes, int64(r.Seconds*1000), ns(r.Started), ns(r.Created), r.BlobKey, string(r.StartedBy))
	return err
}

const recordingCols = `id, tenant_id, meeting_id, name, kind, bytes, millis, started_at, created_at, blob_key, started_by`

func scanRecording(sc interface{ Scan(...any) error }) (meeting.Recording, error) {
	var r meeting.Recording
	var tenant, by string
	var millis, started, created int64
	if err := sc.Scan(&r.ID, &tenant, &r.Meeting, &r.Name, &r.Kind, &r.Bytes, &millis, &started, &created, &r.BlobKey, &by); err != nil {
		return r, notFound(err)
	}
	r.Tenant, r.StartedBy, r.Seconds, r.Started, r.Created = ids.TenantID(tenant), ids.UserID(by), float64(millis)/1000, fromNS(started), fromNS(created)
	return r, nil
}

func (s meetingStore) Recordings(ctx context.Context, meetingID string) ([]meeting.Recording, error) {
	rows, err := s.Query(ctx, `SELECT `+recordingCols+` FROM meeting_recordings WHERE meeting_id = ? ORDER BY created_at, name`, meetingID)
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

func (s meetingStore) Recording(ctx context.Context, id string) (meeting.Recording, error) {
	return scanRecording(s.QueryRow(ctx, `SELECT `+recordingCols+` FROM meeting_recordings WHERE id = ?`, id))
}
