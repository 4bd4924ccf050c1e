package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/kaigi/kaigi/internal/clock"
	"github.com/kaigi/kaigi/internal/identity"
	"github.com/kaigi/kaigi/internal/identity/mfa/passkey"
	"github.com/kaigi/kaigi/internal/ids"
)

// ---- WebAuthn user handles

// InsertPasskeyHandle gives account its WebAuthn user handle. It fails with
// errs.Conflict if the account has one already (or, with negligible
// probability, another account has the same random handle).
func (tx *Tx) InsertPasskeyHandle(ctx context.Context, account ids.UserID, handle []byte, at time.Time) error {
	_, err := tx.Exec(ctx, `INSERT INTO passkey_handles (account_id, handle, created_at) VALUES (?, ?, ?)`, string(account), handle, ns(at))
	return conflict(err, "This account already has a passkey user handle.")
}

// PasskeyHandle returns account's WebAuthn user handle; ErrNotFound if it
// has none yet.
func (db *DB) PasskeyHandle(ctx context.Context, account ids.UserID) ([]byte, error) {
	var h []byte
	err := db.QueryRow(ctx, `SELECT handle FROM passkey_handles WHERE account_id = ?`, string(account)).Scan(&h)
	return h, notFound(err)
}

// AccountByPasskeyHandle returns the account whose WebAuthn user handle is
// handle; ErrNotFound if there is none.
func (db *DB) AccountByPasskeyHandle(ctx context.Context, handle []byte) (identity.Account, error) {
	return scanAccount(db.QueryRow(ctx, `SELECT `+accountCols+` FROM accounts WHERE id = (SELECT account_id FROM passkey_handles WHERE handle = ?)`, handle))
}

// ---- ceremonies

// PasskeyCeremonies keeps passkey ceremony state in the database, so that
// a ceremony begun on one node can finish on another. It implements
// passkey.SessionStore: TakePasskeySession deletes the row it returns in one
// statement, so of several requests finishing one ceremony at most one gets
// its state. It is safe for concurrent use.
type PasskeyCeremonies struct {
	db    *DB
	clock clock.Clock
}

var _ passkey.SessionStore = (*PasskeyCeremonies)(nil)

// PasskeyCeremonies returns the database's ceremony store, which tells
// expiry by c (clock.Real if nil).
func (db *DB) PasskeyCeremonies(c clock.Clock) *PasskeyCeremonies {
	if c == nil {
		c = clock.Real{}
	}
	return &PasskeyCeremonies{db: db, clock: c}
}

// PutPasskeySession implements passkey.SessionStore. It also deletes every
// expired ceremony, which bounds the table to the ceremonies begun within
// one ceremony lifetime.
func (p *PasskeyCeremonies) PutPasskeySession(ctx context.Context, key string, state []byte, expires time.Time) error {
	return p.db.InTx(ctx, func(tx *Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM passkey_ceremonies WHERE expires_at <= ?`, ns(p.clock.Now())); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO passkey_ceremonies (id, state, expires_at) VALUES (?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET state = excluded.state, expires_at = excluded.expires_at`, key, state, ns(expires))
		return err
	})
}

// TakePasskeySession implements passkey.SessionStore.
func (p *PasskeyCeremonies) TakePasskeySession(ctx context.Context, key string) ([]byte, error) {
	var state []byte
	var expires int64
	err := p.db.QueryRow(ctx, `DELETE FROM passkey_ceremonies WHERE id = ? RETURNING state, expires_at`, key).Scan(&state, &expires)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, passkey.ErrSessionNotFound
	case err != nil:
		return nil, err
	case !p.clock.Now().Before(fromNS(expires)):
		return nil, passkey.ErrSessionNotFound
	}
	return state, nil
}

// ---- first operator

// CompleteSetup uses the setup token whose hash is tokenHash — refusing,
// with ErrSetupToken, one that is unknown, used or expired — and retires
// every other outstanding setup token, because setting up the first
// operator ends set-up. Two set-ups racing with different tokens cannot both
// commit: each updates the other's token row.
func (tx *Tx) CompleteSetup(ctx context.Context, tokenHash string, at time.Time) error {
	res, err := tx.Exec(ctx, `UPDATE setup_tokens SET used_at = ? WHERE token_hash = ? AND used_at IS NULL AND expires_at > ?`, ns(at), tokenHash, ns(at))
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return ErrSetupToken
	}
	_, err = tx.Exec(ctx, `UPDATE setup_tokens SET used_at = ? WHERE used_at IS NULL`, ns(at))
	return err
}
