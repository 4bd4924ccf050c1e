package identity

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/kaigi/kaigi/internal/audit"
	"github.com/kaigi/kaigi/internal/errs"
	"github.com/kaigi/kaigi/internal/identity/access"
	"github.com/kaigi/kaigi/internal/identity/password"
	"github.com/kaigi/kaigi/internal/identity/throttle"
	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/principal"
)

// ErrSignInFailed is the one answer for an unknown account, a wrong password
// and a deactivated account, so that the answer tells nothing.
var ErrSignInFailed = errs.E(errs.Unauthenticated, "The email address or password is not right. Check both and try again.")

// SignInRequest is a password sign-in.
type SignInRequest struct {
	Organisation string // the tenant's short name; found from the email's domain when empty
	Email        string
	Password     string
	Source       string // the client's address
	UserAgent    string
}

// SignInResult is a started session.
type SignInResult struct {
	Token   string   // the new session's token, for the cookie
	Session Session  // the session
	State   string   // active, pending_mfa or enrol_mfa
	Factors []string // pending_mfa: the kinds of second factor that will do
	Notice  string   // for the person, e.g. the days left to enrol a second factor
}

// resolveTenant finds the tenant from an explicit short name or the email's domain.
func (s *Service) resolveTenant(ctx context.Context, org, email string) (Tenant, error) {
	if org = strings.ToLower(strings.TrimSpace(org)); org != "" {
		return s.store.TenantBySlug(ctx, org)
	}
	return s.store.TenantByDomain(ctx, domainOf(email))
}

func addrOf(source string) netip.Addr {
	a, err := netip.ParseAddr(source)
	if err != nil {
		return netip.Addr{}
	}
	return a.Unmap()
}

// SignIn checks a password and starts a session: active, or waiting for a
// second factor, or limited to enrolling one, as the tenant's MFA setting
// and conditional-access policies say. Every attempt goes to the sign-in
// log; repeated failures are slowed and then locked, per account and per
// source, and the person is told for how long.
func (s *Service) SignIn(ctx context.Context, req SignInRequest) (SignInResult, error) {
	email, err := NormaliseEmail(req.Email)
	if err != nil {
		return SignInResult{}, err
	}
	if len(req.Password) > password.MaxBytes {
		return SignInResult{}, errs.E(errs.Invalid, "The password is too long.")
	}
	tenant, terr := s.resolveTenant(ctx, req.Organisation, email)
	tenantID := tenant.ID
	if terr != nil {
		tenantID = ids.TenantID("unknown:" + strings.ToLower(strings.TrimSpace(req.Organisation)) + domainOf(email))
	}
	acctKey := throttle.Account(tenantID, email)
	srcKey := throttle.Source(addrOf(req.Source))
	event := SignInEvent{ID: ids.New(), Tenant: tenant.ID, At: s.clock.Now(), Identifier: email, Source: req.Source, ClientKind: string(access.Browser), Policies: "[]"}

	if d, err := s.limiter.Check(ctx, acctKey, srcKey); err != nil {
		return SignInResult{}, err
	} else if !d.Allowed {
		// No password work here: unknown identifiers are throttled exactly
		// like real ones, so answering at once tells nothing.
		event.Result, event.Reason = "throttled", fmt.Sprintf("too many failed attempts; retry in %s", d.RetryAfter.Round(time.Second))
		s.logSignIn(ctx, event)
		return SignInResult{}, rateLimited(d)
	}

	acct, aerr := Account{}, terr
	if terr == nil {
		acct, aerr = s.store.AccountByEmail(ctx, TenantRealm, tenant.ID, email)
	}
	ok := false
	if aerr == nil && acct.State == AccountActive && acct.PasswordHash != "" {
		var rehash bool
		ok, rehash, err = password.Verify(acct.PasswordHash, req.Password)
		if err != nil {
			s.log.ErrorContext(ctx, "stored password hash unusable", "account", string(acct.ID), "err", err)
			ok = false
		}
		if ok && rehash {
			s.rehash(ctx, acct, req.Password)
		}
	} else {
		password.DummyVerify(req.Password)
	}
	if !ok {
		d, err := s.limiter.Fail(ctx, acctKey, srcKey)
		if err != nil {
			return SignInResult{}, err
		}
		event.Account, event.Result, event.Reason = acct.ID, "failure", "wrong email address or password"
		if aerr == nil && acct.State != AccountActive {
			event.Reason = "account deactivated"
		}
		s.logSignIn(ctx, event)
		if d.Locked {
			return SignInResult{}, rateLimited(d)
		}
		return SignInResult{}, ErrSignInFailed
	}
	if err := s.limiter.Succeed(ctx, acctKey, srcKey); err != nil {
		return SignInResult{}, err
	}
	event.Account = acct.ID
	return s.startSession(ctx, tenant, acct, access.Factors{Password: true}, []string{"password"}, req.Source, req.UserAgent, event)
}

// rateLimited is the throttle's refusal with its wait attached, for the
// Retry-After header.
func rateLimited(d throttle.Decision) error {
	err := d.Err()
	if e, ok := err.(*errs.Error); ok {
		e.RetryAfter = d.RetryAfter
	}
	return err
}

func (s *Service) rehash(ctx context.Context, acct Account, pw string) {
	hash, err := password.Hash(pw)
	if err != nil {
		return
	}
	acct.PasswordHash = hash
	if err := s.store.Update(ctx, func(tx Tx) error { return tx.UpdateAccount(ctx, acct) }); err != nil {
		s.log.WarnContext(ctx, "password rehash failed", "account", string(acct.ID), "err", err)
	}
}

// logSignIn writes an attempt to the tenant's sign-in log (not for unknown
// tenants: there is no log to write to) and its audit record.
func (s *Service) logSignIn(ctx context.Context, e SignInEvent) {
	err := s.store.Update(ctx, func(tx Tx) error {
		if e.Tenant != "" {
			if err := tx.InsertSignIn(ctx, e); err != nil {
				return err
			}
		}
		result := audit.Failure
		switch e.Result {
		case "success":
			result = audit.Success
		case "blocked", "throttled":
			result = audit.Denied
		}
		actor := principal.Anon(e.Source)
		actor.User = e.Account
		return s.record(ctx, tx, audit.Entry{Actor: actor, Tenant: auditTenant(e.Tenant), Action: "signin." + e.Result, Target: "account:" + string(e.Account),
			Result: result, Details: map[string]string{"identifier": e.Identifier, "reason": e.Reason, "signin": e.ID}})
	})
	if err != nil {
		s.log.ErrorContext(ctx, "sign-in log write failed", "err", err)
	}
}

// evaluate runs the tenant's conditional access for an account.
func (s *Service) evaluate(t Tenant, acct Account, source string, client access.ClientKind, have access.Factors) access.Decision {
	in := access.Input{Tenant: t.ID, User: acct.ID, Kind: acct.Kind, Roles: acct.Roles, Addr: addrOf(source), Client: client, Satisfied: have}
	return access.Evaluate(t.Policy.Access, t.Policy.Locations, in)
}

func traceJSON(d access.Decision) string {
	b, err := json.Marshal(d.Trace)
	if err != nil || len(d.Trace) == 0 {
		return "[]"
	}
	return string(b)
}

// startSession decides what the first factor earned — a blocked sign-in, a
// session waiting for a second factor or for enrolment, or a full session —
// and starts it, logging the attempt with the policies that applied.
func (s *Service) startSession(ctx context.Context, t Tenant, acct Account, have access.Factors, methods []string, source, userAgent string, event SignInEvent) (SignInResult, error) {
	if err := GuestActive(acct, t.Policy, s.clock.Now()); err != nil {
		event.Result, event.Reason = "failure", "guest access ended: "+errs.MessageOf(err)
		s.logSignIn(ctx, event)
		return SignInResult{}, err
	}
	d := s.evaluate(t, acct, source, access.Browser, have)
	event.Policies = traceJSON(d)
	if d.Outcome == access.Block {
		event.Result, event.Reason = "blocked", "blocked by conditional access: "+blockingPolicies(d)
		s.logSignIn(ctx, event)
		return SignInResult{}, errs.E(errs.Forbidden, "Your organisation's sign-in policy does not allow this sign-in (%s). Contact your administrator if you think this is wrong.", blockingPolicies(d))
	}
	factors, err := s.store.Factors(ctx, acct.ID)
	if err != nil {
		return SignInResult{}, err
	}
	kinds := factorKinds(factors)
	needPasskey := d.Outcome == access.NeedsPasskey
	needMFA := needPasskey || d.Outcome == access.NeedsMFA || (t.Policy.requiresMFA(acct) && !have.MFA)
	state, notice := SessionActive, ""
	switch {
	case !needMFA:
	case needPasskey && slices.Contains(kinds, FactorPasskey), !needPasskey && len(kinds) > 0:
		state = SessionPendingMFA
	case !needPasskey && s.clock.Now().Before(acct.MFAGraceUntil):
		notice = fmt.Sprintf("Your organisation requires a second factor. Set one up by %s.", acct.MFAGraceUntil.Format("2006-01-02"))
	default:
		state = SessionEnrolMFA
	}
	sess, token := s.newSession(acct, t.Policy, state, methods, source, userAgent)
	if lt := time.Duration(d.SessionLifetime); lt > 0 && sess.Created.Add(lt).Before(sess.Expires) && state == SessionActive {
		sess.Expires = sess.Created.Add(lt)
	}
	event.Result = "success"
	event.Reason = "signed in with " + strings.Join(methods, " and ")
	switch state {
	case SessionPendingMFA:
		event.Result, event.Reason = "mfa_required", "password accepted; second factor required"
	case SessionEnrolMFA:
		event.Result, event.Reason = "enrol_required", "password accepted; second factor must be enrolled"
	}
	err = s.store.Update(ctx, func(tx Tx) error { return tx.InsertSession(ctx, sess) })
	if err != nil {
		return SignInResult{}, err
	}
	s.logSignIn(ctx, event)
	res := SignInResult{Token: token, Session: sess, State: state, Notice: notice}
	if state == SessionPendingMFA {
		res.Factors = kinds
		if needPasskey {
			res.Factors = []string{FactorPasskey}
		}
	}
	return res, nil
}

func factorKinds(fs []Factor) []string {
	var out []string
	for _, f := range fs {
		if !slices.Contains(out, f.Kind) {
			out = append(out, f.Kind)
		}
	}
	slices.Sort(out)
	return out
}

// blockingPolicies names the enforced policies that blocked.
func blockingPolicies(d access.Decision) string {
	var names []string
	for _, r := range d.Trace {
		if r.Status == access.StatusApplied && r.Effect != nil && r.Effect.Block {
			names = append(names, fmt.Sprintf("%q", r.PolicyName))
		}
	}
	if len(names) == 0 {
		return "no policy allowed it"
	}
	return "policy " + strings.Join(names, ", ")
}
