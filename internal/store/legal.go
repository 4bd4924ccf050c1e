package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"time"

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
	gag_until, notified_at, notify_due, updated_at, detail`

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
	_, err := tx.Exec(ctx, `INSERT INTO legal_requests (`+legalCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET approved = excluded.approved, disclosed = excluded.disclosed, status = excluded.status, outcome = excluded.outcome,
		gag_until = excluded.gag_until, notified_at = excluded.notified_at, notify_due = excluded.notify_due, updated_at = excluded.updated_at`,
		r.ID, ns(r.Received), r.Country, r.Instrument, b2i(r.Compulsory), r.Customer, string(r.Tenant), r.Accounts, list(r.Asked), list(r.Approved),
		list(r.Disclosed), r.Status, r.Outcome, nullNS(r.GagUntil), nullNS(r.Notified), b2i(r.NotifyDue), ns(r.Updated), r.SealedDetail)
	return err
}

func scanLegal(sc interface{ Scan(...any) error }) (provider.LegalRequest, error) {
	var r provider.LegalRequest
	var received, updated int64
	var compulsory, due int
	var tenant, asked, approved, disclosed string
	var gag, notified sql.NullInt64
	err := sc.Scan(&r.ID, &received, &r.Country, &r.Instrument, &compulsory, &r.Customer, &tenant, &r.Accounts, &asked, &approved, &disclosed,
		&r.Status, &r.Outcome, &gag, &notified, &due, &updated, &r.SealedDetail)
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
