package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"time"

	"github.com/kaigi/kaigi/internal/compliance/discovery"
	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/provider"
)

// Ledger adapts db to the legal-request ledger's store.
func Ledger(db *DB) provider.LedgerStore { return ledgerStore{db} }

type ledgerStore struct{ *DB }

var (
	_ provider.LedgerTx    = (*Tx)(nil)
	_ provider.LedgerStore = ledgerStore{}
)

func (s ledgerStore) UpdateLedger(ctx context.Context, fn func(tx provider.LedgerTx) error) error {
	return s.InTx(ctx, func(tx *Tx) error { return fn(tx) })
}

func (tx *Tx) LockLedgerHead(ctx context.Context) (int64, []byte, error) {
	q := `SELECT seq, hash FROM legal_ledger_head WHERE id = 1`
	if tx.dialect == Postgres {
		q += ` FOR UPDATE`
	}
	var seq int64
	var hash []byte
	err := tx.QueryRow(ctx, q).Scan(&seq, &hash)
	return seq, hash, err
}

func (tx *Tx) InsertLedgerEntry(ctx context.Context, e provider.LedgerEntry) error {
	if _, err := tx.Exec(ctx, `INSERT INTO legal_ledger (seq, at, request_id, kind, sealed, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		e.Seq, ns(e.At), e.Request, e.Kind, e.Sealed, e.PrevHash, e.Hash); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `UPDATE legal_ledger_head SET seq = ?, hash = ? WHERE id = 1`, e.Seq, e.Hash)
	return err
}

const legalCols = `id, received_at, country, instrument, compulsory, customer, tenant_id, accounts, asked, approved, disclosed, status, outcome,
	gag_until, notified_at, notify_due, updated_at, detail, disclosure`

func (tx *Tx) PutLegalRequest(ctx context.Context, r provider.LegalRequest) error {
	list := func(v []string) string {
		if v == nil {
			v = []string{}
		}
		b, _ := json.Marshal(v)
		return string(b)
	}
	b2i := func(b bool) int {
		if b {
			return 1
		}
		return 0
	}
	_, err := tx.Exec(ctx, `INSERT INTO legal_requests (`+legalCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET approved = excluded.approved, disclosed = excluded.disclosed, status = excluded.status, outcome = excluded.outcome,
		gag_until = excluded.gag_until, notified_at = excluded.notified_at, notify_due = excluded.notify_due, updated_at = excluded.updated_at,
		disclosure = excluded.disclosure`,
		r.ID, ns(r.Received), r.Country, r.Instrument, b2i(r.Compulsory), r.Customer, string(r.Tenant), r.Accounts, list(r.Asked), list(r.Approved),
		list(r.Disclosed), r.Status, r.Outcome, nullNS(r.GagUntil), nullNS(r.Notified), b2i(r.NotifyDue), ns(r.Updated), r.SealedDetail, r.Disclosure)
	return err
}

func scanLegal(sc interface{ Scan(...any) error }) (provider.LegalRequest, error) {
	var r provider.LegalRequest
	var received, updated int64
	var compulsory, due int
	var tenant, asked, approved, disclosed string
	var gag, notified sql.NullInt64
	err := sc.Scan(&r.ID, &received, &r.Country, &r.Instrument, &compulsory, &r.Customer, &tenant, &r.Accounts, &asked, &approved, &disclosed,
		&r.Status, &r.Outcome, &gag, &notified, &due, &updated, &r.SealedDetail, &r.Disclosure)
	if errors.Is(err, sql.ErrNoRows) {
		return r, ErrNotFound
	}
	if err != nil {
		return r, err
	}
	r.Received, r.Updated, r.Compulsory, r.NotifyDue, r.Tenant = fromNS(received), fromNS(updated), compulsory == 1, due == 1, ids.TenantID(tenant)
	if gag.Valid {
		r.GagUntil = fromNS(gag.Int64)
	}
	if notified.Valid {
		r.Notified = fromNS(notified.Int64)
	}
	for _, f := range []struct {
		s string
		v *[]string
	}{{asked, &r.Asked}, {approved, &r.Approved}, {disclosed, &r.Disclosed}} {
		if err := json.Unmarshal([]byte(f.s), f.v); err != nil {
			return r, err
		}
	}
	return r, nil
}

func (tx *Tx) LegalRequestForUpdate(ctx context.Context, id string) (provider.LegalRequest, error) {
	q := `SELECT ` + legalCols + ` FROM legal_requests WHERE id = ?`
	if tx.dialect == Postgres {
		q += ` FOR UPDATE`
	}
	return scanLegal(tx.QueryRow(ctx, q, id))
}

func (s ledgerStore) LegalRequest(ctx context.Context, id string) (provider.LegalRequest, error) {
	return scanLegal(s.QueryRow(ctx, `SELECT `+legalCols+` FROM legal_requests WHERE id = ?`, id))
}

func (s ledgerStore) LegalRequests(ctx context.Context, from, to time.Time) ([]provider.LegalRequest, error) {
	rows, err := s.Query(ctx, `SELECT `+legalCols+` FROM legal_requests WHERE received_at >= ? AND received_at < ? ORDER BY received_at, id`, ns(from), ns(to))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []provider.LegalRequest{}
	for rows.Next() {
		r, err := scanLegal(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

func (s ledgerStore) GagsEnded(ctx context.Context, now time.Time) ([]string, error) {
	rows, err := s.Query(ctx, `SELECT id FROM legal_requests WHERE tenant_id <> '' AND notified_at IS NULL
		AND ((gag_until IS NOT NULL AND gag_until <= ?) OR notify_due = 1) ORDER BY received_at`, ns(now))
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

func (s ledgerStore) LedgerHead(ctx context.Context) (int64, []byte, error) {
	var seq int64
	var hash []byte
	err := s.QueryRow(ctx, `SELECT seq, hash FROM legal_ledger_head WHERE id = 1`).Scan(&seq, &hash)
	return seq, hash, err
}

func (s ledgerStore) ledgerEntries(ctx context.Context, where string, args ...any) ([]provider.LedgerEntry, error) {
	rows, err := s.queryOnce(ctx, `SELECT seq, at, request_id, kind, sealed, prev_hash, hash FROM legal_ledger `+where+` ORDER BY seq`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []provider.LedgerEntry
	for rows.Next() {
		var e provider.LedgerEntry
		var at int64
		if err := rows.Scan(&e.Seq, &at, &e.Request, &e.Kind, &e.Sealed, &e.PrevHash, &e.Hash); err != nil {
			return nil, err
		}
		e.At = fromNS(at)
		out = append(out, e)
	}
	return out, rows.Err()
}

func (s ledgerStore) LedgerEntries(ctx context.Context, request string) ([]provider.LedgerEntry, error) {
	return s.ledgerEntries(ctx, `WHERE request_id = ?`, request)
}

func (s ledgerStore) AllLedgerEntries(ctx context.Context) ([]provider.LedgerEntry, error) {
	return s.ledgerEntries(ctx, ``)
}

// ---- what a legal disclosure reads

// Disclosures adapts db to the reads of a legal disclosure's non-content
// metadata (discovery.Disclosures): sign-ins, meetings without their
// titles, and message counts — never a body, a title or a name anyone wrote.
func Disclosures(db *DB) discovery.Disclosures { return disclosureStore{db} }

type disclosureStore struct{ *DB }

var _ discovery.Disclosures = disclosureStore{}

func (s disclosureStore) AccountSignIns(ctx context.Context, tenant ids.TenantID, account ids.UserID) ([]discovery.SignIn, error) {
	rows, err := s.queryOnce(ctx, `SELECT at, source, client_kind, result FROM signin_log WHERE tenant_id = ? AND account_id = ? ORDER BY at, id`,
		string(tenant), string(account))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []discovery.SignIn{}
	for rows.Next() {
		var e discovery.SignIn
		var at int64
		if err := rows.Scan(&at, &e.Address, &e.Client, &e.Result); err != nil {
			return nil, err
		}
		e.At = fromNS(at)
		out = append(out, e)
	}
	return out, rows.Err()
}

func (s disclosureStore) AccountMeetings(ctx context.Context, tenant ids.TenantID, account ids.UserID) ([]discovery.MeetingMeta, error) {
	// The title is never read: it is what people wrote.
	rows, err := s.queryOnce(ctx, `SELECT m.id, m.organizer_id, m.starts_at, m.ends_at, m.created_at, m.ended_at,
		COALESCE((SELECT MIN(i.role) FROM meeting_invitees i WHERE i.meeting_id = m.id AND i.account_id = ?), '')
		FROM meetings m WHERE m.tenant_id = ? AND (m.organizer_id = ? OR m.id IN (SELECT meeting_id FROM meeting_invitees WHERE account_id = ?))
		ORDER BY m.starts_at, m.id`, string(account), string(tenant), string(account), string(account))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []discovery.MeetingMeta{}
	for rows.Next() {
		var m discovery.MeetingMeta
		var organizer, role string
		var start, end, created int64
		var ended sql.NullInt64
		if err := rows.Scan(&m.ID, &organizer, &start, &end, &created, &ended, &role); err != nil {
			return nil, err
		}
		m.Start, m.End, m.Created, m.Ended, m.Role = fromNS(start), fromNS(end), fromNS(created), fromNull(ended), role
		if organizer == string(account) {
			m.Role = "organizer"
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// day is a day in unix nanoseconds (created_at / day is the UTC day,
// integer division on both engines).
const day = int64(24 * time.Hour)

func (s disclosureStore) MessageCounts(ctx context.Context, tenant ids.TenantID, account ids.UserID) ([]discovery.MessageCount, error) {
	rows, err := s.queryOnce(ctx, `SELECT channel_id, created_at / 86400000000000, COUNT(*) FROM messages WHERE tenant_id = ? AND author_id = ?
		GROUP BY 1, 2 ORDER BY 2, 1`, string(tenant), string(account))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []discovery.MessageCount{}
	for rows.Next() {
		var c discovery.MessageCount
		var d int64
		if err := rows.Scan(&c.Channel, &d, &c.Messages); err != nil {
			return nil, err
		}
		c.Date = fromNS(d * day).Format(time.DateOnly)
		out = append(out, c)
	}
	return out, rows.Err()
}
