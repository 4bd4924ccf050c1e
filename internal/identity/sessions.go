package identity

import (
	"context"
	"slices"
	"strconv"
	"time"

	"github.com/kaigi/kaigi/internal/audit"
	"github.com/kaigi/kaigi/internal/errs"
	"github.com/kaigi/kaigi/internal/identity/access"
	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/principal"
)

// Credentials are what a request presents.
type Credentials struct {
	SessionToken string // the session cookie's value
	BearerToken  string // an Authorization: Bearer token
	CSRF         string // the X-CSRF-Token header
	Unsafe       bool   // the method changes state (not GET, HEAD, OPTIONS)
	Source       string // the client's address
}

// Authenticate turns credentials into a principal: anonymous without any,
// an error for bad ones. Sessions are checked for expiry (idle and
// absolute), the account for being active, and cookie-authenticated requests
// that change state for their anti-forgery token.
func (s *Service) Authenticate(ctx context.Context, c Credentials) (principal.Principal, error) {
	switch {
	case c.BearerToken != "":
		return s.authenticateToken(ctx, c)
	case c.SessionToken != "":
		return s.authenticateSession(ctx, c)
	}
	return principal.Anon(c.Source), nil
}

func (s *Service) authenticateSession(ctx context.Context, c Credentials) (principal.Principal, error) {
	if len(c.SessionToken) > 200 {
		return principal.Principal{}, ErrSessionEnded
	}
	sess, acct, joined, err := s.sessionByToken(ctx, hashSecret(c.SessionToken))
	if err != nil {
		if errs.Is(err, errs.NotFound) {
			return principal.Principal{}, ErrSessionEnded
		}
		return principal.Principal{}, err
	}
	now := s.clock.Now()
	if !sess.Ended.IsZero() {
		return principal.Principal{}, ErrSessionEnded
	}
	if !now.Before(sess.Expires) || now.Sub(sess.LastSeen) >= sess.IdleTimeout {
		s.endSession(ctx, sess, now, "session.expire")
		return principal.Principal{}, ErrSessionEnded
	}
	if c.Unsafe && !checkCSRF(c.SessionToken, c.CSRF) {
		return principal.Principal{}, ErrCSRF
	}
	if !joined {
		acct, err = s.store.AccountByID(ctx, sess.Account)
	}
	if err == nil {
		err = s.usableAccount(ctx, acct, ErrSessionEnded)
	}
	if err != nil {
		if acct.Kind == principal.Guest && acct.State == AccountActive {
			s.endSession(ctx, sess, now, "session.end_guest_expired")
		}
		return principal.Principal{}, err
	}
	if sess.Source != c.Source && sess.State == SessionActive && acct.Realm == TenantRealm {
		if err := s.reevaluate(ctx, acct, c.Source, access.Browser, factorsOf(sess.Methods), "session:"+sess.ID); err != nil {
			s.endSession(ctx, sess, now, "session.end_by_policy")
			return principal.Principal{}, err
		}
	}
	if now.Sub(sess.LastSeen) >= touchEvery || sess.Source != c.Source {
		sess.LastSeen, sess.Source = now, c.Source
		if err := s.store.Update(ctx, func(tx Tx) error { return tx.UpdateSession(ctx, sess) }); err != nil {
			s.log.WarnContext(ctx, "session touch failed", "session", sess.ID, "err", err)
		}
	}
	if sess.State != SessionActive {
		p := principal.Anon(c.Source)
		p.Pending, p.Session, p.User, p.Tenant = sess.State, sess.ID, acct.ID, ""
		return p, nil
	}
	return principalOf(acct, sess.ID, c.Source, "browser"), nil
}

// sessionAccountReader is implemented by a store that reads a session and
// its account in one query (package store does).
type sessionAccountReader interface {
	SessionWithAccount(ctx context.Context, hash string) (Session, Account, error)
}

// sessionByToken returns the session with the token hash and, when the store
// can read both at once, its account (joined is then true).
func (s *Service) sessionByToken(ctx context.Context, hash string) (sess Session, acct Account, joined bool, err error) {
	if r, ok := s.store.(sessionAccountReader); ok {
		sess, acct, err = r.SessionWithAccount(ctx, hash)
		if err == nil {
			return sess, acct, true, nil
		}
		if !errs.Is(err, errs.NotFound) {
			return sess, acct, false, err
		}
		// No such session, or (never, with foreign keys) no such account:
		// read them apart, for the usual answer in each case.
	}
	sess, err = s.store.SessionByTokenHash(ctx, hash)
	return sess, Account{}, false, err
}

// endSession ends a session on the way, recording why; failures are logged.
func (s *Service) endSession(ctx context.Context, sess Session, now time.Time, action string) {
	sess.Ended = now
	err := s.store.Update(ctx, func(tx Tx) error {
		if err := tx.UpdateSession(ctx, sess); err != nil {
			return err
		}
		return s.record(ctx, tx, audit.Entry{Actor: principal.Job("sessions", sess.Tenant), Tenant: auditTenant(sess.Tenant), Action: action,
			Target: "session:" + sess.ID, Details: map[string]string{"account": string(sess.Account)}})
	})
	if err != nil {
		s.log.WarnContext(ctx, "end session failed", "session", sess.ID, "err", err)
	}
}

// auditTenant maps the operator realm's empty tenant to the service log.
func auditTenant(t ids.TenantID) ids.TenantID {
	if t == "" {
		return ids.ServiceTenant
	}
	return t
}

// newSession builds a session for acct in state, with lifetimes from policy.
func (s *Service) newSession(acct Account, pol Policy, state string, methods []string, source, userAgent string) (Session, string) {
	now := s.clock.Now()
	token, hash := newSecret("kses_")
	idle := time.Duration(pol.SessionIdleMinutes) * time.Minute
	abs := time.Duration(pol.SessionAbsoluteHours) * time.Hour
	if state != SessionActive {
		// A half-finished sign-in lasts minutes, not days.
		idle, abs = 10*time.Minute, 15*time.Minute
	}
	if len(userAgent) > 300 {
		userAgent = userAgent[:300]
	}
	tenant := acct.Tenant
	if acct.Realm == OperatorRealm {
		tenant = ""
	}
	return Session{ID: ids.New(), TokenHash: hash, Account: acct.ID, Tenant: tenant, State: state, Methods: methods,
		Created: now, LastSeen: now, IdleTimeout: idle, Expires: now.Add(abs), Source: source, UserAgent: userAgent}, token
}

// Sessions lists the actor's open sessions.
func (s *Service) Sessions(ctx context.Context, actor principal.Principal) ([]Session, error) {
	if actor.User == "" {
		return nil, errs.E(errs.Unauthenticated, "Please sign in.")
	}
	all, err := s.store.Sessions(ctx, actor.User)
	if err != nil {
		return nil, err
	}
	now := s.clock.Now()
	all = slices.DeleteFunc(all, func(x Session) bool {
		return !now.Before(x.Expires) || now.Sub(x.LastSeen) >= x.IdleTimeout
	})
	for i := range all {
		all[i].Current = all[i].ID == actor.Session
	}
	return all, nil
}

// EndSession ends one of the actor's sessions, or all but the current one
// when id is "others", or all when id is "all".
func (s *Service) EndSession(ctx context.Context, actor principal.Principal, id string) (int64, error) {
	if actor.User == "" {
		return 0, errs.E(errs.Unauthenticated, "Please sign in.")
	}
	now := s.clock.Now()
	var n int64
	err := s.store.Update(ctx, func(tx Tx) error {
		switch id {
		case "all", "others":
			except := ""
			if id == "others" {
				except = actor.Session
			}
			var err error
			if n, err = tx.EndSessions(ctx, actor.User, except, now); err != nil {
				return err
			}
		default:
			mine, err := s.store.Sessions(ctx, actor.User)
			if err != nil {
				return err
			}
			i := slices.IndexFunc(mine, func(x Session) bool { return x.ID == id })
			if i < 0 {
				return errs.E(errs.NotFound, "There is no such session of yours.")
			}
			mine[i].Ended = now
			if err := tx.UpdateSession(ctx, mine[i]); err != nil {
				return err
			}
			n = 1
		}
		return s.record(ctx, tx, audit.Entry{Actor: actor, Tenant: auditTenant(actor.Tenant), Action: "session.end", Target: "session:" + id,
			Details: map[string]string{"ended": strconv.FormatInt(n, 10)}})
	})
	if err == nil {
		s.accessChanged(ctx, actor.Tenant, actor.User, "session.end")
	}
	return n, err
}

// SignOut ends the session the actor uses.
func (s *Service) SignOut(ctx context.Context, actor principal.Principal) error {
	if actor.Session == "" || actor.Client != "browser" && actor.Pending == "" {
		return nil
	}
	_, err := s.EndSession(ctx, actor, actor.Session)
	return err
}

// factorsOf says what a session's sign-in methods proved.
func factorsOf(methods []string) access.Factors {
	f := access.Factors{Password: slices.Contains(methods, "password")}
	for _, m := range methods {
		switch m {
		case FactorTOTP, FactorRecovery:
			f.MFA = true
		case FactorPasskey:
			f.MFA, f.Passkey = true, true
		}
	}
	return f
}

// reevaluate applies the tenant's conditional access to a session or token
// used from a new address. A block, or a factor the session or token never
// presented, refuses the request; the refusal goes to the sign-in log.
func (s *Service) reevaluate(ctx context.Context, acct Account, source string, client access.ClientKind, have access.Factors, what string) error {
	t, err := s.store.TenantByID(ctx, acct.Tenant)
	if err != nil {
		return err
	}
	if len(t.Policy.Access) == 0 {
		return nil
	}
	d := s.evaluate(t, acct, source, client, have)
	if d.Outcome == access.Allow {
		return nil
	}
	reason := "blocked by conditional access on a new address: " + blockingPolicies(d)
	if d.Outcome != access.Block {
		reason = "a new address needs a stronger sign-in (" + string(d.Outcome) + ")"
	}
	s.logSignIn(ctx, SignInEvent{ID: ids.New(), Tenant: t.ID, At: s.clock.Now(), Account: acct.ID, Identifier: acct.Email, Source: source,
		ClientKind: string(client), Result: "blocked", Reason: reason + " (" + what + ")", Policies: traceJSON(d)})
	if d.Outcome == access.Block {
		return errs.E(errs.Forbidden, "Your organisation's sign-in policy does not allow access from this address (%s). Your session was ended.", blockingPolicies(d))
	}
	return errs.E(errs.Unauthenticated, "Your organisation asks for a stronger sign-in from this address. Please sign in again.")
}

// PendingFactors names the second factors that can complete the actor's
// sign-in, when it waits for one.
func (s *Service) PendingFactors(ctx context.Context, actor principal.Principal) ([]string, error) {
	if actor.Pending != SessionPendingMFA || actor.User == "" {
		return nil, nil
	}
	fs, err := s.store.Factors(ctx, actor.User)
	if err != nil {
		return nil, err
	}
	return factorKinds(fs), nil
}

// Invitations lists the invitations of the actor's tenant (tenant admins).
func (s *Service) Invitations(ctx context.Context, actor principal.Principal) ([]Invitation, error) {
	if !actor.Has(principal.TenantAdmin) {
		return nil, errs.E(errs.Forbidden, "Only a tenant admin can list invitations.")
	}
	return s.store.Invitations(ctx, actor.Tenant)
}

// usable loads an account that may act: active (else the error inactive)
// and, for a guest, within its guest access. The account is returned with
// the error, for the caller to decide what else to end.
func (s *Service) usable(ctx context.Context, id ids.UserID, inactive error) (Account, error) {
	acct, err := s.store.AccountByID(ctx, id)
	if err != nil {
		return acct, err
	}
	return acct, s.usableAccount(ctx, acct, inactive)
}

// usableAccount is usable for an account already loaded.
func (s *Service) usableAccount(ctx context.Context, acct Account, inactive error) error {
	if acct.State != AccountActive {
		return inactive
	}
	if acct.Kind == principal.Guest {
		return s.guestActive(ctx, acct)
	}
	return nil
}

// guestActive checks a guest against the tenant's current guest policy.
func (s *Service) guestActive(ctx context.Context, acct Account) error {
	t, err := s.store.TenantByID(ctx, acct.Tenant)
	if err != nil {
		return err
	}
	return GuestActive(acct, t.Policy, s.clock.Now())
}
