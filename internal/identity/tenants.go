package identity

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kaigi/kaigi/internal/audit"
	"github.com/kaigi/kaigi/internal/errs"
	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/keys"
	"github.com/kaigi/kaigi/internal/principal"
)

var (
	slugRE   = regexp.MustCompile(`^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$`)
	domainRE = regexp.MustCompile(`^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$`)
)

// NewTenant is what creating a tenant takes.
type NewTenant struct {
	Name       string
	Slug       string // short name in sign-in links; derived from Name when empty
	Domain     string // the first verified domain
	AdminEmail string // receives the first admin's invitation
}

// slugOf derives a short name from a display name.
func slugOf(name string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(name) {
		switch {
		case r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			b.WriteRune(r)
			dash = false
		case !dash && b.Len() > 0:
			b.WriteByte('-')
			dash = true
		}
	}
	s := strings.Trim(b.String(), "-")
	if len(s) > 40 {
		s = strings.Trim(s[:40], "-")
	}
	if s == "" {
		s = "org-" + ids.New()[:8]
	}
	return s
}

func checkName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" || utf8.RuneCountInString(name) > 100 || strings.ContainsAny(name, "\x00\r\n") {
		return "", errs.E(errs.Invalid, "Give a name of 1 to 100 characters on one line.")
	}
	return name, nil
}

// CreateTenant creates a tenant with one verified domain and invites its
// first admin. Only operators and system jobs (the CLI) may.
func (s *Service) CreateTenant(ctx context.Context, actor principal.Principal, n NewTenant) (Tenant, string, error) {
	if actor.Kind != principal.Operator && actor.Kind != principal.System {
		return Tenant{}, "", errs.E(errs.Forbidden, "Only an operator can create tenants.")
	}
	name, err := checkName(n.Name)
	if err != nil {
		return Tenant{}, "", err
	}
	slug := n.Slug
	if slug == "" {
		slug = slugOf(name)
	}
	if !slugRE.MatchString(slug) {
		return Tenant{}, "", errs.E(errs.Invalid, "The short name may hold lower-case letters, digits and dashes (1 to 40), and must not start or end with a dash.")
	}
	domain := strings.ToLower(strings.TrimSpace(n.Domain))
	if !domainRE.MatchString(domain) {
		return Tenant{}, "", errs.E(errs.Invalid, "Give the organisation's email domain, such as example.com.")
	}
	email, err := NormaliseEmail(n.AdminEmail)
	if err != nil {
		return Tenant{}, "", err
	}
	now := s.clock.Now()
	t := Tenant{ID: ids.NewTenant(), Slug: slug, Name: name, State: TenantActive, Policy: DefaultPolicy(), Domains: []string{domain}, Created: now}
	token, hash := newSecret("kinv_")
	inv := Invitation{ID: ids.New(), TokenHash: hash, Tenant: t.ID, Email: email, Kind: principal.Member,
		Roles: []principal.Role{principal.TenantAdmin}, InvitedBy: actor.User, Created: now, Expires: now.Add(InvitationLifetime)}
	err = s.store.Update(ctx, func(tx Tx) error {
		if err := tx.InsertTenant(ctx, t); err != nil {
			return err
		}
		if err := tx.InsertInvitation(ctx, inv); err != nil {
			return err
		}
		// In the operator's log and in the new tenant's own.
		for _, tenant := range []ids.TenantID{ids.ServiceTenant, t.ID} {
			if err := s.record(ctx, tx, audit.Entry{Actor: actor, Tenant: tenant, Action: "tenant.create", Target: "tenant:" + string(t.ID),
				Details: map[string]string{"slug": slug, "domain": domain, "admin_invitation": inv.ID}}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return Tenant{}, "", err
	}
	if err := s.EnsureKeys(ctx, t.ID); err != nil {
		return Tenant{}, "", err
	}
	return t, s.inviteLink(t.Slug, token), nil
}

// EnsureKeys makes sure a tenant's data key exists. Keys are created on
// first use, in a write of their own; content that is first sealed inside
// another write transaction (an event) would wait on that transaction's
// lock, so a tenant gets its key when it is created.
func (s *Service) EnsureKeys(ctx context.Context, tenant ids.TenantID) error {
	if _, err := s.keys.Seal(ctx, tenant, keys.AAD{Kind: "key-check", ID: string(tenant)}, nil); err != nil {
		return fmt.Errorf("create the keys of tenant %s: %w", tenant, err)
	}
	return nil
}

func (s *Service) inviteLink(slug, token string) string {
	return s.baseURL + "/invite#org=" + slug + "&token=" + token
}

// Invite invites an email address to the actor's tenant as a member or
// guest with roles. Only tenant admins may; guests never hold roles.
func (s *Service) Invite(ctx context.Context, actor principal.Principal, email string, kind principal.Kind, roles []principal.Role) (Invitation, string, error) {
	if !actor.Has(principal.TenantAdmin) {
		return Invitation{}, "", errs.E(errs.Forbidden, "Only a tenant admin can invite people.")
	}
	email, err := NormaliseEmail(email)
	if err != nil {
		return Invitation{}, "", err
	}
	if kind != principal.Member && kind != principal.Guest {
		return Invitation{}, "", errs.E(errs.Invalid, "An invitation is for a member or a guest.")
	}
	if kind == principal.Guest && len(roles) > 0 {
		return Invitation{}, "", errs.E(errs.Invalid, "Guests cannot hold roles.")
	}
	for _, r := range roles {
		if !validRole(r) {
			return Invitation{}, "", errs.E(errs.Invalid, "Unknown role %q.", r)
		}
	}
	t, err := s.store.TenantByID(ctx, actor.Tenant)
	if err != nil {
		return Invitation{}, "", err
	}
	if kind == principal.Guest && !t.Policy.Guests.Allowed {
		return Invitation{}, "", errs.E(errs.Forbidden, "Guest access is turned off for your organisation.")
	}
	if _, err := s.store.AccountByEmail(ctx, TenantRealm, t.ID, email); err == nil {
		return Invitation{}, "", errs.E(errs.Conflict, "%s already has an account in this organisation.", email)
	}
	now := s.clock.Now()
	token, hash := newSecret("kinv_")
	inv := Invitation{ID: ids.New(), TokenHash: hash, Tenant: t.ID, Email: email, Kind: kind, Roles: roles, InvitedBy: actor.User, Created: now, Expires: now.Add(InvitationLifetime)}
	err = s.store.Update(ctx, func(tx Tx) error {
		if err := tx.InsertInvitation(ctx, inv); err != nil {
			return err
		}
		return s.record(ctx, tx, audit.Entry{Actor: actor, Action: "invitation.create", Target: "invitation:" + inv.ID,
			Details: map[string]string{"email": email, "kind": string(kind), "roles": strings.Join(roleStrings(roles), ",")}})
	})
	if err != nil {
		return Invitation{}, "", err
	}
	return inv, s.inviteLink(t.Slug, token), nil
}

func roleStrings(rs []principal.Role) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = string(r)
	}
	return out
}

func validRole(r principal.Role) bool {
	return slices.Contains([]principal.Role{principal.TenantAdmin, principal.ComplianceOfficer, principal.LockboxApprover}, r)
}

// AcceptInvitation creates the invited account with a password. The link is
// single-use and expires; the email address is the invitation's.
func (s *Service) AcceptInvitation(ctx context.Context, token, displayName, password, source string) (Account, error) {
	name, err := checkName(displayName)
	if err != nil {
		return Account{}, err
	}
	if len(token) > 200 {
		return Account{}, ErrLinkInvalid
	}
	now := s.clock.Now()
	var acct Account
	err = s.store.Update(ctx, func(tx Tx) error {
		inv, err := tx.UseInvitation(ctx, hashSecret(token), now)
		if err != nil {
			if errs.Is(err, errs.NotFound) {
				return ErrLinkInvalid
			}
			return err
		}
		t, err := s.store.TenantByID(ctx, inv.Tenant)
		if err != nil {
			return err
		}
		hash, err := s.hashNewPassword(password, t.Policy, inv.Email, name, t.Name)
		if err != nil {
			return err
		}
		acct = Account{ID: ids.NewUser(), Realm: TenantRealm, Tenant: inv.Tenant, Email: inv.Email, DisplayName: name, Kind: inv.Kind,
			Roles: inv.Roles, State: AccountActive, PasswordHash: hash, Created: now, Updated: now}
		if acct.Roles == nil {
			acct.Roles = []principal.Role{}
		}
		if days := t.Policy.MFAGraceDays; days > 0 {
			acct.MFAGraceUntil = now.AddDate(0, 0, days)
		}
		if acct.Kind == principal.Guest {
			if !t.Policy.Guests.Allowed {
				return errs.E(errs.Forbidden, "Guest access is turned off for this organisation.")
			}
			acct.Sponsor = inv.InvitedBy
			if days := t.Policy.Guests.ExpireDays; days > 0 {
				acct.Expires = now.AddDate(0, 0, days)
			}
		}
		if err := tx.InsertAccount(ctx, acct); err != nil {
			return err
		}
		actor := principalOf(acct, "", source, "browser")
		return s.record(ctx, tx, audit.Entry{Actor: actor, Action: "invitation.accept", Target: "account:" + string(acct.ID),
			Details: map[string]string{"invitation": inv.ID, "kind": string(acct.Kind), "roles": strings.Join(roleStrings(acct.Roles), ",")}})
	})
	return acct, err
}

// Deactivate deactivates an account of the actor's tenant and ends its
// sessions and tokens at once. An admin cannot deactivate the last admin.
func (s *Service) Deactivate(ctx context.Context, actor principal.Principal, id ids.UserID) error {
	if !actor.Has(principal.TenantAdmin) {
		return errs.E(errs.Forbidden, "Only a tenant admin can deactivate accounts.")
	}
	a, err := s.store.AccountByID(ctx, id)
	if err != nil || a.Tenant != actor.Tenant || a.Realm != TenantRealm {
		return errs.E(errs.NotFound, "There is no such account in your organisation.")
	}
	if a.State == AccountDeactivated {
		return nil
	}
	if slices.Contains(a.Roles, principal.TenantAdmin) {
		if err := s.checkNotLastAdmin(ctx, a); err != nil {
			return err
		}
	}
	now := s.clock.Now()
	a.State, a.Updated = AccountDeactivated, now
	err = s.store.Update(ctx, func(tx Tx) error {
		if err := tx.UpdateAccount(ctx, a); err != nil {
			return err
		}
		n, err := tx.EndSessions(ctx, a.ID, "", now)
		if err != nil {
			return err
		}
		return s.record(ctx, tx, audit.Entry{Actor: actor, Action: "account.deactivate", Target: "account:" + string(a.ID),
			Details: map[string]string{"sessions_ended": strconv.FormatInt(n, 10)}})
	})
	if err == nil {
		s.accessChanged(ctx, a.Tenant, a.ID, "account.deactivate")
	}
	return err
}

func (s *Service) checkNotLastAdmin(ctx context.Context, a Account) error {
	all, err := s.store.Accounts(ctx, TenantRealm, a.Tenant)
	if err != nil {
		return err
	}
	for _, o := range all {
		if o.ID != a.ID && o.State == AccountActive && slices.Contains(o.Roles, principal.TenantAdmin) {
			return nil
		}
	}
	return errs.E(errs.Conflict, "This is the organisation's last active admin. Make someone else an admin first.")
}

// Accounts lists the accounts of the actor's tenant (admins only).
func (s *Service) Accounts(ctx context.Context, actor principal.Principal) ([]Account, error) {
	if !actor.Has(principal.TenantAdmin) {
		return nil, errs.E(errs.Forbidden, "Only a tenant admin can list accounts.")
	}
	return s.store.Accounts(ctx, TenantRealm, actor.Tenant)
}

// Tenant returns the actor's tenant.
func (s *Service) Tenant(ctx context.Context, actor principal.Principal) (Tenant, error) {
	if actor.Tenant == "" {
		return Tenant{}, errs.E(errs.Forbidden, "You are not signed into an organisation.")
	}
	return s.store.TenantByID(ctx, actor.Tenant)
}

// Account returns the actor's own account.
func (s *Service) Account(ctx context.Context, actor principal.Principal) (Account, error) {
	if actor.User == "" {
		return Account{}, errs.E(errs.Unauthenticated, "Please sign in.")
	}
	return s.store.AccountByID(ctx, actor.User)
}

// SignIns returns the newest entries of the actor's tenant's sign-in log
// (tenant admins only).
func (s *Service) SignIns(ctx context.Context, actor principal.Principal, limit int) ([]SignInEvent, error) {
	if !actor.Has(principal.TenantAdmin) {
		return nil, errs.E(errs.Forbidden, "Only a tenant admin can read the sign-in log.")
	}
	return s.store.SignIns(ctx, actor.Tenant, min(max(limit, 1), 1000))
}

// SetRoles changes a member's roles. The member's sessions end (a privilege
// change takes a new sign-in, so no session outlives the privileges it was
// granted under), and the last admin cannot lose the admin role.
func (s *Service) SetRoles(ctx context.Context, actor principal.Principal, id ids.UserID, roles []principal.Role) error {
	if !actor.Has(principal.TenantAdmin) {
		return errs.E(errs.Forbidden, "Only a tenant admin can change roles.")
	}
	a, err := s.store.AccountByID(ctx, id)
	if err != nil || a.Tenant != actor.Tenant || a.Realm != TenantRealm {
		return errs.E(errs.NotFound, "There is no such account in your organisation.")
	}
	if a.Kind != principal.Member && len(roles) > 0 {
		return errs.E(errs.Invalid, "Guests cannot hold roles.")
	}
	for _, r := range roles {
		if !validRole(r) {
			return errs.E(errs.Invalid, "Unknown role %q.", r)
		}
	}
	roles = slices.Compact(slices.Sorted(slices.Values(roles)))
	if slices.Contains(a.Roles, principal.TenantAdmin) && !slices.Contains(roles, principal.TenantAdmin) {
		if err := s.checkNotLastAdmin(ctx, a); err != nil {
			return err
		}
	}
	now := s.clock.Now()
	old := strings.Join(roleStrings(a.Roles), ",")
	a.Roles, a.Updated = roles, now
	err = s.store.Update(ctx, func(tx Tx) error {
		if err := tx.UpdateAccount(ctx, a); err != nil {
			return err
		}
		n, err := tx.EndSessions(ctx, a.ID, "", now)
		if err != nil {
			return err
		}
		return s.record(ctx, tx, audit.Entry{Actor: actor, Action: "account.roles", Target: "account:" + string(a.ID),
			Details: map[string]string{"from": old, "to": strings.Join(roleStrings(roles), ","), "sessions_ended": strconv.FormatInt(n, 10)}})
	})
	if err == nil {
		s.accessChanged(ctx, a.Tenant, a.ID, "account.roles")
	}
	return err
}

// ResetLink makes a single-use password reset link for an account of the
// admin's tenant, for the admin to hand over (email delivery comes with the
// mail settings).
func (s *Service) ResetLink(ctx context.Context, actor principal.Principal, id ids.UserID) (string, error) {
	if !actor.Has(principal.TenantAdmin) {
		return "", errs.E(errs.Forbidden, "Only a tenant admin can issue reset links.")
	}
	a, err := s.store.AccountByID(ctx, id)
	if err != nil || a.Tenant != actor.Tenant || a.Realm != TenantRealm || a.State != AccountActive {
		return "", errs.E(errs.NotFound, "There is no such active account in your organisation.")
	}
	now := s.clock.Now()
	token, hash := newSecret("krst_")
	err = s.store.Update(ctx, func(tx Tx) error {
		if err := tx.InsertPasswordReset(ctx, hash, a.ID, now, now.Add(PasswordResetLifetime)); err != nil {
			return err
		}
		return s.record(ctx, tx, audit.Entry{Actor: actor, Action: "password.reset_link", Target: "account:" + string(a.ID)})
	})
	if err != nil {
		return "", err
	}
	return s.baseURL + "/reset#token=" + token, nil
}

// GuestActive reports whether a guest account may still act: guest access
// is on and the account has not expired. Members are always active here.
func GuestActive(a Account, pol Policy, now time.Time) error {
	if a.Kind != principal.Guest {
		return nil
	}
	if !pol.Guests.Allowed {
		return errs.E(errs.Forbidden, "Guest access is turned off for this organisation.")
	}
	if !a.Expires.IsZero() && !now.Before(a.Expires) {
		return errs.E(errs.Forbidden, "Your guest access expired on %s. Ask the person who invited you to renew it.", a.Expires.Format("2006-01-02"))
	}
	return nil
}

// RenewGuest extends a guest's access by the tenant's guest period, from
// now. The guest's sponsor and tenant admins may.
func (s *Service) RenewGuest(ctx context.Context, actor principal.Principal, id ids.UserID) (Account, error) {
	a, err := s.store.AccountByID(ctx, id)
	if err != nil || a.Tenant != actor.Tenant || a.Realm != TenantRealm || a.Kind != principal.Guest {
		return Account{}, errs.E(errs.NotFound, "There is no such guest in your organisation.")
	}
	if a.Sponsor != actor.User && !actor.Has(principal.TenantAdmin) {
		return Account{}, errs.E(errs.Forbidden, "Only the guest's sponsor or a tenant admin can renew guest access.")
	}
	t, err := s.store.TenantByID(ctx, a.Tenant)
	if err != nil {
		return Account{}, err
	}
	now := s.clock.Now()
	a.Updated, a.Expires = now, time.Time{}
	if days := t.Policy.Guests.ExpireDays; days > 0 {
		a.Expires = now.AddDate(0, 0, days)
	}
	err = s.store.Update(ctx, func(tx Tx) error {
		if err := tx.UpdateAccount(ctx, a); err != nil {
			return err
		}
		return s.record(ctx, tx, audit.Entry{Actor: actor, Action: "guest.renew", Target: "account:" + string(a.ID),
			Details: map[string]string{"expires": a.Expires.Format(time.RFC3339)}})
	})
	return a, err
}
