package store

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/hex"
	"errors"
	"time"

	"github.com/kaigi/kaigi/internal/errs"
)

// ErrSetupToken is the one answer for a setup token that is unknown, used or
// expired, so that the answer tells an attacker nothing.
var ErrSetupToken = errs.E(errs.Forbidden, "This setup link is not valid: it is unknown, already used or expired. Restart kaigi (or run `kaigi setup-link`) for a new one.")

func tokenHash(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

// AddSetupToken stores the hash of a new setup token.
func (db *DB) AddSetupToken(ctx context.Context, token string, now, expires time.Time) error {
	_, err := db.Exec(ctx, `INSERT INTO setup_tokens (token_hash, created_at, expires_at) VALUES (?, ?, ?)`,
		tokenHash(token), now.UnixNano(), expires.UnixNano())
	return err
}

// CheckSetupToken returns the expiry of an unused, unexpired setup token.
func (db *DB) CheckSetupToken(ctx context.Context, token string, now time.Time) (time.Time, error) {
	want := tokenHash(token)
	var got string
	var exp int64
	var used sql.NullInt64
	err := db.QueryRow(ctx, `SELECT token_hash, expires_at, used_at FROM setup_tokens WHERE token_hash = ?`, want).Scan(&got, &exp, &used)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, ErrSetupToken
	}
	if err != nil {
		return time.Time{}, err
	}
	if subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 || used.Valid || now.UnixNano() >= exp {
		return time.Time{}, ErrSetupToken
	}
	return time.Unix(0, exp).UTC(), nil
}
