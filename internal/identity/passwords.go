package identity

import (
	"context"
	"strings"

	"github.com/kaigi/kaigi/internal/audit"
	"github.com/kaigi/kaigi/internal/errs"
	"github.com/kaigi/kaigi/internal/identity/password"
	"github.com/kaigi/kaigi/internal/principal"
)

// hashNewPassword checks a new password against the tenant's policy and the
// person's own details, and hashes it.
func (s *Service) hashNewPassword(pw string, pol Policy, context ...string) (string, error) {
	var words []string
	for _, c := range context {
		words = append(words, c)
		if local, _, ok := strings.Cut(c, "@"); ok {
			words = append(words, local)
		}
	}
	if err := (password.Policy{MinLength: pol.PasswordMinLength}).Check(pw, words); err != nil {
		return "", err
	}
	return password.Hash(pw)
}

// ChangePassword changes the actor's password after checking the current
// one, and ends every other session.
func (s *Service) ChangePassword(ctx context.Context, actor principal.Principal, current, next string) error {
	if !actor.IsTenantUser() || actor.Client != "browser" {
		return errs.E(errs.Forbidden, "Change your password from a signed-in browser session.")
	}
	acct, err := s.store.AccountByID(ctx, actor.User)
	if err != nil {
		return err
	}
	ok, _, err := password.Verify(acct.PasswordHash, current)
	if err != nil || !ok {
		return errs.E(errs.Invalid, "The current password is wrong.")
	}
	t, err := s.store.TenantByID(ctx, acct.Tenant)
	if err != nil {
		return err
	}
	hash, err := s.hashNewPassword(next, t.Policy, acct.Email, acct.DisplayName, t.Name)
	if err != nil {
		return err
	}
	now := s.clock.Now()
	acct.PasswordHash, acct.Updated = hash, now
	err = s.store.Update(ctx, func(tx Tx) error {
		if err := tx.UpdateAccount(ctx, acct); err != nil {
			return err
		}
		if _, err := tx.EndSessions(ctx, acct.ID, actor.Session, now); err != nil {
			return err
		}
		return s.record(ctx, tx, audit.Entry{Actor: actor, Action: "password.change", Target: "account:" + string(acct.ID)})
	})
	if err == nil {
		s.accessChanged(ctx, acct.Tenant, acct.ID, "password.change")
	}
	return err
}

// ResetPassword sets a new password with a reset link's token and ends
// every session of the account.
func (s *Service) ResetPassword(ctx context.Context, token, next, source string) error {
	if len(token) > 200 {
		return ErrLinkInvalid
	}
	now := s.clock.Now()
	var who Account
	err := s.store.Update(ctx, func(tx Tx) error {
		id, err := tx.UsePasswordReset(ctx, hashSecret(token), now)
		if err != nil {
			if errs.Is(err, errs.NotFound) {
				return ErrLinkInvalid
			}
			return err
		}
		acct, err := s.store.AccountByID(ctx, id)
		if err != nil {
			return err
		}
		t, err := s.store.TenantByID(ctx, acct.Tenant)
		if err != nil {
			return err
		}
		hash, err := s.hashNewPassword(next, t.Policy, acct.Email, acct.DisplayName, t.Name)
		if err != nil {
			return err
		}
		acct.PasswordHash, acct.Updated = hash, now
		who = acct
		if err := tx.UpdateAccount(ctx, acct); err != nil {
			return err
		}
		if _, err := tx.EndSessions(ctx, acct.ID, "", now); err != nil {
			return err
		}
		return s.record(ctx, tx, audit.Entry{Actor: principal.Anon(source), Tenant: acct.Tenant, Action: "password.reset", Target: "account:" + string(acct.ID)})
	})
	if err == nil {
		s.accessChanged(ctx, who.Tenant, who.ID, "password.reset")
	}
	return err
}
