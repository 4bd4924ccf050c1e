package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/kaigi/kaigi/internal/errs"
	"github.com/kaigi/kaigi/internal/identity"
	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/principal"
)

// Identity adapts db to the identity service's Store.
func Identity(db *DB) identity.Store { return identityStore{db} }

type identityStore struct{ *DB }

var (
	_ identity.Tx    = (*Tx)(nil)
	_ identity.Store = identityStore{}
)

func (s identityStore) Update(ctx context.Context, fn func(tx identity.Tx) error) error {
	return s.InTx(ctx, func(tx *Tx) error { return fn(tx) })
}

func ns(t time.Time) int64 { return t.UnixNano() }

func nullNS(t time.Time) sql.NullInt64 {
	if t.IsZero() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: t.UnixNano(), Valid: true}
}

func fromNS(v int64) time.Time { return time.Unix(0, v).UTC() }

// zeroNS stores a time in a NOT NULL column where 0 means none; fromZeroNS
// reads it back.
func zeroNS(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return ns(t)
}

func fromZeroNS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return fromNS(v)
}

func fromNull(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return fromNS(v.Int64)
}

func joinList[T ~string](xs []T) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = string(x)
	}
	return strings.Join(parts, ",")
}

func splitList[T ~string](s string) []T {
	if s == "" {
		return []T{}
	}
	parts := strings.Split(s, ",")
	out := make([]T, len(parts))
	for i, p := range parts {
		out[i] = T(p)
	}
	return out
}

// notFound turns sql.ErrNoRows into ErrNotFound.
func notFound(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	return err
}

// conflict turns a unique violation into an errs.Conflict with msg.
func conflict(err error, msg string) error {
	if IsUniqueViolation(err) {
		return errs.Wrap(errs.Conflict, err, "%s", msg)
	}
	return err
}

// ---- tenants

func (tx *Tx) InsertTenant(ctx context.Context, t identity.Tenant) error {
	pol, err := json.Marshal(t.Policy)
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `INSERT INTO tenants (id, slug, name, state, policy, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
		string(t.ID), t.Slug, t.Name, t.State, string(pol), ns(t.Created))
	if err != nil {
		return conflict(err, "A tenant with this short name already exists.")
	}
	for _, d := range t.Domains {
		if _, err := tx.Exec(ctx, `INSERT INTO tenant_domains (domain, tenant_id, verified_at) VALUES (?, ?, ?)`, d, string(t.ID), ns(t.Created)); err != nil {
			return conflict(err, fmt.Sprintf("The domain %s already belongs to another tenant.", d))
		}
	}
	return nil
}

// InsertDomain adds a verified domain to a tenant.
func (tx *Tx) InsertDomain(ctx context.Context, tenant ids.TenantID, domain string, verified time.Time) error {
	_, err := tx.Exec(ctx, `INSERT INTO tenant_domains (domain, tenant_id, verified_at) VALUES (?, ?, ?)`, domain, string(tenant), ns(verified))
	return conflict(err, fmt.Sprintf("The domain %s already belongs to a tenant.", domain))
}

func (tx *Tx) UpdateTenantPolicy(ctx context.Context, id ids.TenantID, p identity.Policy) error {
	pol, err := json.Marshal(p)
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `UPDATE tenants SET policy = ? WHERE id = ?`, string(pol), string(id))
	return err
}

const tenantCols = `id, slug, name, state, policy, created_at`

func (db *DB) scanTenant(ctx context.Context, row *sql.Row) (identity.Tenant, error) {
	var t identity.Tenant
	var id, pol string
	var created int64
	if err := row.Scan(&id, &t.Slug, &t.Name, &t.State, &pol, &created); err != nil {
		return t, notFound(err)
	}
	t.ID, t.Created = ids.TenantID(id), fromNS(created)
	if err := json.Unmarshal([]byte(pol), &t.Policy); err != nil {
		return t, fmt.Errorf("tenant %s policy: %w", id, err)
	}
	rows, err := db.Query(ctx, `SELECT domain FROM tenant_domains WHERE tenant_id = ? ORDER BY domain`, id)
	if err != nil {
		return t, err
	}
	defer rows.Close()
	t.Domains = []string{}
	for rows.Next() {
		var d string
		if err := rows.Scan(&d); err != nil {
			return t, err
		}
		t.Domains = append(t.Domains, d)
	}
	return t, rows.Err()
}

func (db *DB) TenantByID(ctx context.Context, id ids.TenantID) (identity.Tenant, error) {
	return db.scanTenant(ctx, db.QueryRow(ctx, `SELECT `+tenantCols+` FROM tenants WHERE id = ?`, string(id)))
}

func (db *DB) TenantBySlug(ctx context.Context, slug string) (identity.Tenant, error) {
	return db.scanTenant(ctx, db.QueryRow(ctx, `SELECT `+tenantCols+` FROM tenants WHERE slug = ?`, slug))
}

func (db *DB) TenantByDomain(ctx context.Context, domain string) (identity.Tenant, error) {
	return db.scanTenant(ctx, db.QueryRow(ctx, `SELECT `+tenantCols+` FROM tenants WHERE id = (SELECT tenant_id FROM tenant_domains WHERE domain = ?)`, domain))
}

func (db *DB) Tenants(ctx context.Context) ([]identity.Tenant, error) {
	rows, err := db.Query(ctx, `SELECT id FROM tenants ORDER BY name`)
	if err != nil {
		return nil, err
	}
	var tenantIDs []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, err
		}
		tenantIDs = append(tenantIDs, id)
	}
	rows.Close()
	out := []identity.Tenant{}
	for _, id := range tenantIDs {
		t, err := db.TenantByID(ctx, ids.TenantID(id))
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

// ---- accounts

const accountCols = `id, realm, tenant_id, email, display_name, kind, roles, state, password_hash, mfa_grace_until, created_at, updated_at, sponsor_id, expires_at`

// accountRow receives the columns accountCols.
type accountRow struct {
	a                              identity.Account
	id, realm, tenant, kind, roles string
	pw                             sql.NullString
	grace, expires                 sql.NullInt64
	created, updated               int64
	sponsor                        string
}

func (r *accountRow) dest() []any {
	return []any{&r.id, &r.realm, &r.tenant, &r.a.Email, &r.a.DisplayName, &r.kind, &r.roles, &r.a.State, &r.pw, &r.grace, &r.created, &r.updated, &r.sponsor, &r.expires}
}

func (r *accountRow) account() identity.Account {
	a := r.a
	a.Sponsor, a.Expires = ids.UserID(r.sponsor), fromNull(r.expires)
	a.ID, a.Realm, a.Tenant, a.Kind = ids.UserID(r.id), identity.Realm(r.realm), ids.TenantID(r.tenant), principal.Kind(r.kind)
	a.Roles, a.PasswordHash, a.MFAGraceUntil = splitList[principal.Role](r.roles), r.pw.String, fromNull(r.grace)
	a.Created, a.Updated = fromNS(r.created), fromNS(r.updated)
	return a
}

func scanAccount(sc interface{ Scan(...any) error }) (identity.Account, error) {
	var r accountRow
	if err := sc.Scan(r.dest()...); err != nil {
		return r.a, notFound(err)
	}
	return r.account(), nil
}

func nullString(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }

func (tx *Tx) InsertAccount(ctx context.Context, a identity.Account) error {
	_, err := tx.Exec(ctx, `INSERT INTO accounts (`+accountCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		string(a.ID), string(a.Realm), string(a.Tenant), a.Email, a.DisplayName, string(a.Kind), joinList(a.Roles), a.State,
		nullString(a.PasswordHash), nullNS(a.MFAGraceUntil), ns(a.Created), ns(a.Updated), string(a.Sponsor), nullNS(a.Expires))
	return conflict(err, "An account with this email address already exists.")
}

func (tx *Tx) UpdateAccount(ctx context.Context, a identity.Account) error {
	_, err := tx.Exec(ctx, `UPDATE accounts SET display_name = ?, kind = ?, roles = ?, state = ?, password_hash = ?, mfa_grace_until = ?, updated_at = ?, sponsor_id = ?, expires_at = ? WHERE id = ?`,
		a.DisplayName, string(a.Kind), joinList(a.Roles), a.State, nullString(a.PasswordHash), nullNS(a.MFAGraceUntil), ns(a.Updated), string(a.Sponsor), nullNS(a.Expires), string(a.ID))
	return err
}

func (db *DB) AccountByID(ctx context.Context, id ids.UserID) (identity.Account, error) {
	return scanAccount(db.QueryRow(ctx, `SELECT `+accountCols+` FROM accounts WHERE id = ?`, string(id)))
}

func (db *DB) AccountByEmail(ctx context.Context, realm identity.Realm, tenant ids.TenantID, email string) (identity.Account, error) {
	return scanAccount(db.QueryRow(ctx, `SELECT `+accountCols+` FROM accounts WHERE realm = ? AND tenant_id = ? AND email = ?`, string(realm), string(tenant), email))
}

func (db *DB) Accounts(ctx context.Context, realm identity.Realm, tenant ids.TenantID) ([]identity.Account, error) {
	rows, err := db.Query(ctx, `SELECT `+accountCols+` FROM accounts WHERE realm = ? AND tenant_id = ? ORDER BY email`, string(realm), string(tenant))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []identity.Account{}
	for rows.Next() {
		a, err := scanAccount(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// ---- factors

const factorCols = `id, account_id, kind, name, credential_id, secret, counter, created_at, last_used_at`

func scanFactor(sc interface{ Scan(...any) error }) (identity.Factor, error) {
	var f identity.Factor
	var account string
	var created int64
	var used sql.NullInt64
	if err := sc.Scan(&f.ID, &account, &f.Kind, &f.Name, &f.CredentialID, &f.Secret, &f.Counter, &created, &used); err != nil {
		return f, notFound(err)
	}
	f.Account, f.Created, f.LastUsed = ids.UserID(account), fromNS(created), fromNull(used)
	return f, nil
}

func (tx *Tx) InsertFactor(ctx context.Context, f identity.Factor) error {
	var cred any
	if len(f.CredentialID) > 0 {
		cred = f.CredentialID
	}
	_, err := tx.Exec(ctx, `INSERT INTO mfa_factors (`+factorCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		f.ID, string(f.Account), f.Kind, f.Name, cred, f.Secret, f.Counter, ns(f.Created), nullNS(f.LastUsed))
	return conflict(err, "This security key or passkey is already registered.")
}

// UpdateFactorCounter moves a factor's counter from old to new, atomically:
// it reports false when another request moved it first (a replayed code).
func (tx *Tx) UpdateFactorCounter(ctx context.Context, id string, old, new int64, used time.Time) (bool, error) {
	res, err := tx.Exec(ctx, `UPDATE mfa_factors SET counter = ?, last_used_at = ? WHERE id = ? AND counter = ?`, new, ns(used), id, old)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

func (tx *Tx) UpdateFactorSecret(ctx context.Context, id string, secret []byte) error {
	_, err := tx.Exec(ctx, `UPDATE mfa_factors SET secret = ? WHERE id = ?`, secret, id)
	return err
}

func (tx *Tx) DeleteFactor(ctx context.Context, account ids.UserID, id string) (bool, error) {
	res, err := tx.Exec(ctx, `DELETE FROM mfa_factors WHERE id = ? AND account_id = ?`, id, string(account))
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

func (db *DB) Factors(ctx context.Context, account ids.UserID) ([]identity.Factor, error) {
	rows, err := db.Query(ctx, `SELECT `+factorCols+` FROM mfa_factors WHERE account_id = ? ORDER BY created_at`, string(account))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []identity.Factor{}
	for rows.Next() {
		f, err := scanFactor(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, rows.Err()
}

func (db *DB) FactorByCredential(ctx context.Context, credentialID []byte) (identity.Factor, error) {
	return scanFactor(db.QueryRow(ctx, `SELECT `+factorCols+` FROM mfa_factors WHERE credential_id = ?`, credentialID))
}

// ---- sessions

const sessionCols = `id, token_hash, account_id, tenant_id, state, methods, created_at, last_seen_at, idle_timeout, expires_at, source, user_agent, ended_at`

// sessionRow receives the columns sessionCols.
type sessionRow struct {
	s                            identity.Session
	account, tenant, methods     string
	created, seen, idle, expires int64
	ended                        sql.NullInt64
}

func (r *sessionRow) dest() []any {
	return []any{&r.s.ID, &r.s.TokenHash, &r.account, &r.tenant, &r.s.State, &r.methods, &r.created, &r.seen, &r.idle, &r.expires, &r.s.Source, &r.s.UserAgent, &r.ended}
}

func (r *sessionRow) session() identity.Session {
	s := r.s
	s.Account, s.Tenant, s.Methods = ids.UserID(r.account), ids.TenantID(r.tenant), splitList[string](r.methods)
	s.Created, s.LastSeen, s.IdleTimeout, s.Expires, s.Ended = fromNS(r.created), fromNS(r.seen), time.Duration(r.idle), fromNS(r.expires), fromNull(r.ended)
	return s
}

func scanSession(sc interface{ Scan(...any) error }) (identity.Session, error) {
	var r sessionRow
	if err := sc.Scan(r.dest()...); err != nil {
		return r.s, notFound(err)
	}
	return r.session(), nil
}

func (tx *Tx) InsertSession(ctx context.Context, s identity.Session) error {
	_, err := tx.Exec(ctx, `INSERT INTO sessions (`+sessionCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		s.ID, s.TokenHash, string(s.Account), string(s.Tenant), s.State, joinList(s.Methods), ns(s.Created), ns(s.LastSeen),
		int64(s.IdleTimeout), ns(s.Expires), s.Source, s.UserAgent, nullNS(s.Ended))
	return err
}

func (tx *Tx) UpdateSession(ctx context.Context, s identity.Session) error {
	_, err := tx.Exec(ctx, `UPDATE sessions SET token_hash = ?, state = ?, methods = ?, created_at = ?, last_seen_at = ?, idle_timeout = ?, expires_at = ?, source = ?, ended_at = ? WHERE id = ?`,
		s.TokenHash, s.State, joinList(s.Methods), ns(s.Created), ns(s.LastSeen), int64(s.IdleTimeout), ns(s.Expires), s.Source, nullNS(s.Ended), s.ID)
	return err
}

// EndSessions ends every open session of account except the one with id except.
func (tx *Tx) EndSessions(ctx context.Context, account ids.UserID, except string, at time.Time) (int64, error) {
	res, err := tx.Exec(ctx, `UPDATE sessions SET ended_at = ? WHERE account_id = ? AND id <> ? AND ended_at IS NULL`, ns(at), string(account), except)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (db *DB) SessionByTokenHash(ctx context.Context, hash string) (identity.Session, error) {
	return scanSession(db.QueryRow(ctx, `SELECT `+sessionCols+` FROM sessions WHERE token_hash = ?`, hash))
}

// SessionWithAccount returns the session with the token hash and its account
// in one read, what every request with a session cookie needs.
func (db *DB) SessionWithAccount(ctx context.Context, hash string) (identity.Session, identity.Account, error) {
	var s sessionRow
	var a accountRow
	err := db.lookup(ctx, sessionWithAccount, hash).Scan(append(s.dest(), a.dest()...)...)
	if err != nil {
		return identity.Session{}, identity.Account{}, notFound(err)
	}
	return s.session(), a.account(), nil
}

// sessionWithAccount selects sessionCols and then accountCols.
var sessionWithAccount = `SELECT ` + qualify("s", sessionCols) + `, ` + qualify("a", accountCols) + `
	FROM sessions s JOIN accounts a ON a.id = s.account_id WHERE s.token_hash = ?`

// qualify prefixes each of a comma-separated list of columns with table.
func qualify(table, cols string) string {
	parts := strings.Split(cols, ", ")
	for i, c := range parts {
		parts[i] = table + "." + c
	}
	return strings.Join(parts, ", ")
}

func (db *DB) Sessions(ctx context.Context, account ids.UserID) ([]identity.Session, error) {
	rows, err := db.Query(ctx, `SELECT `+sessionCols+` FROM sessions WHERE account_id = ? AND ended_at IS NULL ORDER BY created_at DESC`, string(account))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []identity.Session{}
	for rows.Next() {
		s, err := scanSession(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// ---- API tokens

const tokenCols = `id, secret_hash, account_id, tenant_id, name, scopes, created_at, expires_at, last_used_at, last_source, revoked_at`

func scanToken(sc interface{ Scan(...any) error }) (identity.Token, error) {
	var t identity.Token
	var account, tenant, scopes string
	var created, expires int64
	var used, revoked sql.NullInt64
	if err := sc.Scan(&t.ID, &t.SecretHash, &account, &tenant, &t.Name, &scopes, &created, &expires, &used, &t.LastSource, &revoked); err != nil {
		return t, notFound(err)
	}
	t.Account, t.Tenant, t.Scopes = ids.UserID(account), ids.TenantID(tenant), splitList[string](scopes)
	t.Created, t.Expires, t.LastUsed, t.Revoked = fromNS(created), fromNS(expires), fromNull(used), fromNull(revoked)
	return t, nil
}

func (tx *Tx) InsertToken(ctx context.Context, t identity.Token) error {
	_, err := tx.Exec(ctx, `INSERT INTO api_tokens (`+tokenCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		t.ID, t.SecretHash, string(t.Account), string(t.Tenant), t.Name, joinList(t.Scopes), ns(t.Created), ns(t.Expires),
		nullNS(t.LastUsed), t.LastSource, nullNS(t.Revoked))
	return err
}

func (tx *Tx) RevokeToken(ctx context.Context, account ids.UserID, id string, at time.Time) (bool, error) {
	res, err := tx.Exec(ctx, `UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND account_id = ? AND revoked_at IS NULL`, ns(at), id, string(account))
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// TouchToken records a token's use.
func (db *DB) TouchToken(ctx context.Context, id string, at time.Time, source string) error {
	_, err := db.Exec(ctx, `UPDATE api_tokens SET last_used_at = ?, last_source = ? WHERE id = ?`, ns(at), source, id)
	return err
}

func (db *DB) TokenByID(ctx context.Context, id string) (identity.Token, error) {
	return scanToken(db.QueryRow(ctx, `SELECT `+tokenCols+` FROM api_tokens WHERE id = ?`, id))
}

func (db *DB) Tokens(ctx context.Context, account ids.UserID) ([]identity.Token, error) {
	rows, err := db.Query(ctx, `SELECT `+tokenCols+` FROM api_tokens WHERE account_id = ? ORDER BY created_at DESC`, string(account))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []identity.Token{}
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// ---- invitations and resets

const invitationCols = `id, token_hash, tenant_id, email, kind, roles, invited_by, created_at, expires_at, used_at`

func scanInvitation(sc interface{ Scan(...any) error }) (identity.Invitation, error) {
	var inv identity.Invitation
	var tenant, kind, roles, by string
	var created, expires int64
	var used sql.NullInt64
	if err := sc.Scan(&inv.ID, &inv.TokenHash, &tenant, &inv.Email, &kind, &roles, &by, &created, &expires, &used); err != nil {
		return inv, notFound(err)
	}
	inv.Tenant, inv.Kind, inv.Roles, inv.InvitedBy = ids.TenantID(tenant), principal.Kind(kind), splitList[principal.Role](roles), ids.UserID(by)
	inv.Created, inv.Expires, inv.Used = fromNS(created), fromNS(expires), fromNull(used)
	return inv, nil
}

func (tx *Tx) InsertInvitation(ctx context.Context, inv identity.Invitation) error {
	_, err := tx.Exec(ctx, `INSERT INTO invitations (`+invitationCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		inv.ID, inv.TokenHash, string(inv.Tenant), inv.Email, string(inv.Kind), joinList(inv.Roles), string(inv.InvitedBy),
		ns(inv.Created), ns(inv.Expires), nullNS(inv.Used))
	return err
}

// UseInvitation marks an unused, unexpired invitation used and returns it;
// ErrNotFound for anything else (unknown, used or expired alike).
func (tx *Tx) UseInvitation(ctx context.Context, tokenHash string, at time.Time) (identity.Invitation, error) {
	res, err := tx.Exec(ctx, `UPDATE invitations SET used_at = ? WHERE token_hash = ? AND used_at IS NULL AND expires_at > ?`, ns(at), tokenHash, ns(at))
	if err != nil {
		return identity.Invitation{}, err
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return identity.Invitation{}, ErrNotFound
	}
	return scanInvitation(tx.QueryRow(ctx, `SELECT `+invitationCols+` FROM invitations WHERE token_hash = ?`, tokenHash))
}

func (db *DB) Invitations(ctx context.Context, tenant ids.TenantID) ([]identity.Invitation, error) {
	rows, err := db.Query(ctx, `SELECT `+invitationCols+` FROM invitations WHERE tenant_id = ? ORDER BY created_at DESC`, string(tenant))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []identity.Invitation{}
	for rows.Next() {
		inv, err := scanInvitation(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, inv)
	}
	return out, rows.Err()
}

func (tx *Tx) InsertPasswordReset(ctx context.Context, tokenHash string, account ids.UserID, created, expires time.Time) error {
	_, err := tx.Exec(ctx, `INSERT INTO password_resets (token_hash, account_id, created_at, expires_at) VALUES (?, ?, ?, ?)`,
		tokenHash, string(account), ns(created), ns(expires))
	return err
}

// UsePasswordReset consumes an unused, unexpired reset and returns its
// account; ErrNotFound otherwise.
func (tx *Tx) UsePasswordReset(ctx context.Context, tokenHash string, at time.Time) (ids.UserID, error) {
	res, err := tx.Exec(ctx, `UPDATE password_resets SET used_at = ? WHERE token_hash = ? AND used_at IS NULL AND expires_at > ?`, ns(at), tokenHash, ns(at))
	if err != nil {
		return "", err
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return "", ErrNotFound
	}
	var account string
	err = tx.QueryRow(ctx, `SELECT account_id FROM password_resets WHERE token_hash = ?`, tokenHash).Scan(&account)
	return ids.UserID(account), err
}

// ---- sign-in log

func (tx *Tx) InsertSignIn(ctx context.Context, e identity.SignInEvent) error {
	_, err := tx.Exec(ctx, `INSERT INTO signin_log (id, tenant_id, at, account_id, identifier, source, client_kind, result, reason, policies) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		e.ID, string(e.Tenant), ns(e.At), string(e.Account), e.Identifier, e.Source, e.ClientKind, e.Result, e.Reason, e.Policies)
	return err
}

func (db *DB) SignIns(ctx context.Context, tenant ids.TenantID, limit int) ([]identity.SignInEvent, error) {
	rows, err := db.Query(ctx, `SELECT id, at, account_id, identifier, source, client_kind, result, reason, policies FROM signin_log WHERE tenant_id = ? ORDER BY at DESC, id DESC LIMIT ?`, string(tenant), limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []identity.SignInEvent{}
	for rows.Next() {
		e := identity.SignInEvent{Tenant: tenant}
		var at int64
		var account string
		if err := rows.Scan(&e.ID, &at, &account, &e.Identifier, &e.Source, &e.ClientKind, &e.Result, &e.Reason, &e.Policies); err != nil {
			return nil, err
		}
		e.At, e.Account = fromNS(at), ids.UserID(account)
		out = append(out, e)
	}
	return out, rows.Err()
}
