// Package identity is who a person is, how they prove it, and what policy
// lets them in: tenants and their domains, accounts (members, guests,
// operators), invitations, passwords, sessions, personal access tokens,
// second factors (TOTP, passkeys, recovery codes), conditional access and the
// sign-in log.
//
// The operator realm is separate from every tenant: an operator account
// lives in the service's own realm, signs in only with a passkey, and its
// sessions never carry a tenant. A tenant account can never act as operator.
//
// Secrets are never stored: sessions, tokens, invitations and reset links
// keep only the SHA-256 of a 256-bit random token; passwords only an
// argon2id hash; TOTP secrets and recovery-code hashes are sealed with the
// tenant's keys. Every change is audited in the same transaction, and every
// sign-in attempt is written to the tenant's sign-in log with the policies
// that applied and why.
package identity

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"log/slog"
	"strings"
	"time"

	"github.com/kaigi/kaigi/internal/audit"
	"github.com/kaigi/kaigi/internal/clock"
	"github.com/kaigi/kaigi/internal/errs"
	"github.com/kaigi/kaigi/internal/identity/mfa/passkey"
	"github.com/kaigi/kaigi/internal/identity/throttle"
	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/keys"
	"github.com/kaigi/kaigi/internal/principal"
)

// Sealer seals and opens small secrets with a tenant's keys.
type Sealer interface {
	Seal(ctx context.Context, tenant ids.TenantID, aad keys.AAD, plaintext []byte) ([]byte, error)
	Open(ctx context.Context, tenant ids.TenantID, aad keys.AAD, ciphertext []byte) ([]byte, error)
}

// Lifetimes of single-use links.
const (
	InvitationLifetime    = 7 * 24 * time.Hour
	PasswordResetLifetime = time.Hour
	// touchEvery limits how often a session's last-seen time is written.
	touchEvery = time.Minute
)

// Service is the identity service. It is safe for concurrent use.
type Service struct {
	store   Store
	keys    Sealer
	audit   *audit.Log
	clock   clock.Clock
	log     *slog.Logger
	baseURL string
	limiter *throttle.Limiter
	// rp runs passkey ceremonies; nil when passkeys are unavailable.
	rp         *passkey.RelyingParty
	ceremonies passkey.SessionStore
	changed    func(ctx context.Context, tenant ids.TenantID, account ids.UserID, reason string)
}

// Options configure a Service.
type Options struct {
	Store   Store
	Keys    Sealer
	Audit   *audit.Log
	Clock   clock.Clock
	Log     *slog.Logger
	BaseURL string            // where links point, e.g. https://kaigi.example.com
	Limiter *throttle.Limiter // default: in memory, with the clock
	// AccessChanged, if set, is called after a committed change that ends
	// an account's sessions or changes what it may see (deactivation, role
	// change, sessions ended, password reset), so that live connections
	// close at once. Default: nothing.
	AccessChanged func(ctx context.Context, tenant ids.TenantID, account ids.UserID, reason string)
	// Passkeys is the WebAuthn relying party. Default nil: passkey
	// enrolment and sign-in, and operator setup, answer that passkeys are
	// unavailable.
	Passkeys *passkey.RelyingParty
	// Ceremonies keeps passkey ceremonies between begin and finish; share
	// one store between nodes. Default: in memory, with the clock.
	Ceremonies passkey.SessionStore
}

// New returns a Service.
func New(o Options) *Service {
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Limiter == nil {
		o.Limiter = throttle.New(o.Clock, throttle.Options{})
	}
	if o.Ceremonies == nil {
		o.Ceremonies = passkey.NewMemorySessionStore(o.Clock)
	}
	return &Service{store: o.Store, keys: o.Keys, audit: o.Audit, clock: o.Clock, log: o.Log, baseURL: strings.TrimRight(o.BaseURL, "/"), limiter: o.Limiter, changed: o.AccessChanged,
		rp: o.Passkeys, ceremonies: o.Ceremonies}
}

// Errors with messages for people.
var (
	ErrSessionEnded = errs.E(errs.Unauthenticated, "Your session has ended. Please sign in again.")
	ErrBadToken     = errs.E(errs.Unauthenticated, "The access token is not valid: it is unknown, expired or revoked.")
	ErrCSRF         = errs.E(errs.Forbidden, "This request lacks its anti-forgery token (X-CSRF-Token). Reload the page and try again.")
	ErrLinkInvalid  = errs.E(errs.Invalid, "This link is not valid: it is unknown, already used or expired. Ask for a new one.")
)

// newSecret returns a random token with a prefix naming its kind, and the
// hash under which it is stored.
func newSecret(prefix string) (token, hash string) {
	token = prefix + base64.RawURLEncoding.EncodeToString(ids.Token(32))
	return token, hashSecret(token)
}

// hashSecret is how secrets are stored: SHA-256, hex. The secrets carry 256
// bits of randomness, so a fast hash suffices.
func hashSecret(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

// CSRFToken returns the anti-forgery token of a session token: an HMAC of a
// fixed label keyed by the session token. Only the holder of the (HttpOnly)
// session cookie can obtain it, from the session endpoint, which another
// origin cannot read.
func CSRFToken(sessionToken string) string {
	m := hmac.New(sha256.New, []byte(sessionToken))
	m.Write([]byte("kaigi-csrf-v1"))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// checkCSRF compares in constant time.
func checkCSRF(sessionToken, got string) bool {
	return subtle.ConstantTimeCompare([]byte(CSRFToken(sessionToken)), []byte(got)) == 1
}

// NormaliseEmail trims and lower-cases an address and checks its shape.
func NormaliseEmail(s string) (string, error) {
	e := strings.ToLower(strings.TrimSpace(s))
	at := strings.LastIndexByte(e, '@')
	if len(e) > 254 || at < 1 || at == len(e)-1 || strings.ContainsAny(e, " \t\r\n<>()[]\\,;:\"") || !strings.Contains(e[at:], ".") {
		return "", errs.E(errs.Invalid, "Enter an email address such as name@example.com.")
	}
	return e, nil
}

// domainOf returns the part after the last '@'.
func domainOf(email string) string { return email[strings.LastIndexByte(email, '@')+1:] }

// principalOf is the principal of an account.
func principalOf(a Account, session, source, client string) principal.Principal {
	p := principal.Principal{Kind: a.Kind, User: a.ID, Session: session, Source: source, Client: client}
	switch a.Realm {
	case OperatorRealm:
		p.Kind = principal.Operator
	default:
		p.Tenant = a.Tenant
		if a.Kind == principal.Member {
			p.Roles = append([]principal.Role(nil), a.Roles...)
		}
	}
	return p
}

// record appends an audit entry within tx.
func (s *Service) record(ctx context.Context, tx Tx, e audit.Entry) error {
	_, err := s.audit.Append(ctx, tx, e)
	return err
}

// accessChanged reports a committed change of what an account may do.
func (s *Service) accessChanged(ctx context.Context, tenant ids.TenantID, account ids.UserID, reason string) {
	if s.changed != nil && account != "" {
		s.changed(context.WithoutCancel(ctx), tenant, account, reason)
	}
}
