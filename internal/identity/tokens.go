package identity

import (
	"context"
	"crypto/subtle"
	"slices"
	"strings"
	"time"

	"github.com/kaigi/kaigi/internal/audit"
	"github.com/kaigi/kaigi/internal/errs"
	"github.com/kaigi/kaigi/internal/identity/access"
	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/principal"
)

// Token scopes.
const (
	ScopeRead  = "read"  // read what the account can read
	ScopeWrite = "write" // also change it
	ScopeAdmin = "admin" // also use the account's admin roles
)

// MaxTokenLifetime bounds personal access tokens.
const MaxTokenLifetime = 366 * 24 * time.Hour

// TokenPrefix starts every personal access token.
const TokenPrefix = "kpat_"

// CreateToken makes a personal access token for the actor, returned once in
// full; only its hash is kept. Tokens are made from a full browser session,
// never from another token.
func (s *Service) CreateToken(ctx context.Context, actor principal.Principal, name string, scopes []string, lifetime time.Duration) (Token, string, error) {
	if !actor.IsTenantUser() || actor.Client != "browser" {
		return Token{}, "", errs.E(errs.Forbidden, "Access tokens are created from a signed-in browser session.")
	}
	name, err := checkName(name)
	if err != nil {
		return Token{}, "", err
	}
	if len(scopes) == 0 {
		return Token{}, "", errs.E(errs.Invalid, "Choose at least one scope: read, write or admin.")
	}
	for _, sc := range scopes {
		if sc != ScopeRead && sc != ScopeWrite && sc != ScopeAdmin {
			return Token{}, "", errs.E(errs.Invalid, "Unknown scope %q: use read, write or admin.", sc)
		}
	}
	if lifetime <= 0 || lifetime > MaxTokenLifetime {
		return Token{}, "", errs.E(errs.Invalid, "A token lives from 1 day to 366 days.")
	}
	now := s.clock.Now()
	id := ids.New()
	secret, hash := newSecret("")
	t := Token{ID: id, SecretHash: hash, Account: actor.User, Tenant: actor.Tenant, Name: name, Scopes: slices.Compact(slices.Sorted(slices.Values(scopes))),
		Created: now, Expires: now.Add(lifetime), LastSource: actor.Source}
	err = s.store.Update(ctx, func(tx Tx) error {
		if err := tx.InsertToken(ctx, t); err != nil {
			return err
		}
		return s.record(ctx, tx, audit.Entry{Actor: actor, Action: "token.create", Target: "token:" + id,
			Details: map[string]string{"name": name, "scopes": strings.Join(t.Scopes, ","), "expires": t.Expires.Format(time.RFC3339)}})
	})
	if err != nil {
		return Token{}, "", err
	}
	return t, TokenPrefix + id + "." + secret, nil
}

// Tokens lists the actor's tokens.
func (s *Service) Tokens(ctx context.Context, actor principal.Principal) ([]Token, error) {
	if !actor.IsTenantUser() {
		return nil, errs.E(errs.Forbidden, "Only people in an organisation have access tokens.")
	}
	return s.store.Tokens(ctx, actor.User)
}

// RevokeToken revokes one of the actor's tokens.
func (s *Service) RevokeToken(ctx context.Context, actor principal.Principal, id string) error {
	return s.store.Update(ctx, func(tx Tx) error {
		ok, err := tx.RevokeToken(ctx, actor.User, id, s.clock.Now())
		if err != nil {
			return err
		}
		if !ok {
			return errs.E(errs.NotFound, "There is no such active token of yours.")
		}
		return s.record(ctx, tx, audit.Entry{Actor: actor, Action: "token.revoke", Target: "token:" + id})
	})
}

func (s *Service) authenticateToken(ctx context.Context, c Credentials) (principal.Principal, error) {
	rest, ok := strings.CutPrefix(c.BearerToken, TokenPrefix)
	id, secret, ok2 := strings.Cut(rest, ".")
	if !ok || !ok2 || !ids.Valid(id) || len(secret) > 100 {
		return principal.Principal{}, ErrBadToken
	}
	t, err := s.store.TokenByID(ctx, id)
	if err != nil {
		if errs.Is(err, errs.NotFound) {
			return principal.Principal{}, ErrBadToken
		}
		return principal.Principal{}, err
	}
	now := s.clock.Now()
	if subtle.ConstantTimeCompare([]byte(hashSecret(secret)), []byte(t.SecretHash)) != 1 || !t.Revoked.IsZero() || !now.Before(t.Expires) {
		return principal.Principal{}, ErrBadToken
	}
	acct, err := s.usable(ctx, t.Account, ErrBadToken)
	if err != nil {
		return principal.Principal{}, err
	}
	if t.LastSource != c.Source {
		// Tokens are made from a full session, which passed the second
		// factor its policies asked for; a passkey it cannot replay.
		if err := s.reevaluate(ctx, acct, c.Source, access.APIToken, access.Factors{Password: true, MFA: true}, "token:"+t.ID); err != nil {
			return principal.Principal{}, err
		}
	}
	p := principalOf(acct, t.ID, c.Source, "api_token")
	p.Scopes = t.Scopes
	if !slices.Contains(t.Scopes, ScopeAdmin) {
		p.Roles = nil // admin roles only through an admin-scoped token
	}
	if now.Sub(t.LastUsed) >= touchEvery || t.LastSource != c.Source {
		if err := s.store.TouchToken(ctx, t.ID, now, c.Source); err != nil {
			s.log.WarnContext(ctx, "token touch failed", "token", t.ID, "err", err)
		}
	}
	return p, nil
}
