package meeting

import (
	"context"
	"slices"

	"github.com/kaigi/kaigi/internal/identity"
	"github.com/kaigi/kaigi/internal/principal"
)

// Class is who a joiner is, relative to one meeting. The classes are
// ordered like the bypass scopes: a joiner bypasses the lobby when their
// class is within the meeting's scope.
type Class string

// Joiner classes, from the most to the least trusted.
const (
	ClassOrganizer = Class("organizer") // the organiser or a co-organiser
	ClassInvited   = Class("invited")   // invited by account or by email
	ClassMember    = Class("member")    // a member of the meeting's tenant
	ClassGuest     = Class("guest")     // a guest account of the meeting's tenant
	ClassFederated = Class("federated") // a member of a tenant that external access allows, both ways
	ClassExternal  = Class("external")  // signed in to another tenant that is not allowed
	ClassAnonymous = Class("anonymous") // not signed in
)

var classRank = map[Class]int{ClassOrganizer: 0, ClassInvited: 1, ClassMember: 2, ClassGuest: 3, ClassFederated: 4, ClassExternal: 5, ClassAnonymous: 5}

// MayBypass reports whether a joiner of class c enters a meeting whose
// bypass scope is scope without waiting in the lobby. An unknown scope
// bypasses nobody but organisers.
func MayBypass(scope string, c Class) bool {
	i := slices.Index(identity.BypassScopes, scope)
	if i < 0 {
		i = 0
	}
	r, ok := classRank[c]
	return ok && r <= i
}

// mayAdmit reports whether a participant with role may admit people from
// the lobby, under the meeting's admitters option.
func mayAdmit(admitters, role string) bool {
	switch role {
	case Organizer, CoOrganizer:
		return true
	case Presenter:
		return admitters == identity.AdmitOrganizersAndPresenters
	}
	return false
}

// Joiner is a person asking to join, as the meeting sees them.
type Joiner struct {
	Principal principal.Principal
	Class     Class
	Role      string // the meeting role they would have
	Name      string // shown to others
	Kind      string // member, guest, federated, external or anonymous: shown as a badge
}

// classify places a joiner relative to m. name is the display name an
// anonymous joiner gave.
func (s *Service) classify(ctx context.Context, p principal.Principal, m Meeting, name string) (Joiner, error) {
	j := Joiner{Principal: p, Role: Attendee}
	switch {
	case p.Kind == principal.Anonymous:
		j.Class, j.Kind, j.Name = ClassAnonymous, "anonymous", name
		return j, nil
	case p.IsTenantUser() && p.Tenant == m.Tenant:
		a, err := s.accounts.AccountByID(ctx, p.User)
		if err != nil {
			return j, err
		}
		j.Name, j.Kind = a.DisplayName, string(p.Kind)
		role := m.roleOf(p.User)
		if role == "" {
			role, _ = m.invitedEmail(a.Email)
		}
		switch {
		case role == Organizer || role == CoOrganizer:
			j.Class, j.Role = ClassOrganizer, role
		case role != "":
			j.Class, j.Role = ClassInvited, role
		case p.Kind == principal.Guest:
			j.Class = ClassGuest
		default:
			j.Class = ClassMember
		}
		return j, nil
	case p.Kind == principal.Member && p.Tenant != "":
		a, err := s.accounts.AccountByID(ctx, p.User)
		if err != nil {
			return j, err
		}
		j.Name = a.DisplayName
		if role, ok := m.invitedEmail(a.Email); ok {
			j.Role = role
			if role == CoOrganizer {
				// Only people of the tenant organise its meetings.
				j.Role = Presenter
			}
		}
		federated, err := s.federated(ctx, m, p)
		if err != nil {
			return j, err
		}
		j.Kind = "external"
		if federated {
			j.Kind = "federated"
		}
		switch _, invited := m.invitedEmail(a.Email); {
		case invited:
			// Their own organisation vouches for the address invited.
			j.Class = ClassInvited
		case federated:
			j.Class = ClassFederated
		default:
			j.Class, j.Role = ClassExternal, Attendee
		}
		return j, nil
	}
	return j, errNotForYou
}

// federated reports whether the joiner's tenant and the meeting's allow
// each other by external access.
func (s *Service) federated(ctx context.Context, m Meeting, p principal.Principal) (bool, error) {
	host, err := s.accounts.TenantByID(ctx, m.Tenant)
	if err != nil {
		return false, err
	}
	theirs, err := s.accounts.TenantByID(ctx, p.Tenant)
	if err != nil {
		return false, err
	}
	return host.State == identity.TenantActive && theirs.State == identity.TenantActive &&
		host.Policy.External.Admits(theirs.Domains) && theirs.Policy.External.Admits(host.Domains), nil
}
