package chat

import (
	"context"

	"github.com/kaigi/kaigi/internal/errs"
	"github.com/kaigi/kaigi/internal/identity"
	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/principal"
)

// Person is what a colleague sees of an account: a name, and whether it is a
// guest (guests are visibly marked everywhere).
type Person struct {
	ID          ids.UserID `json:"id"`
	DisplayName string     `json:"display_name"`
	Guest       bool       `json:"guest"`
	External    bool       `json:"external,omitempty" doc:"A member of another organisation, met in an external chat."`
}

// People describes the given accounts to the actor. Members see the people
// of their organisation; guests only people who share a team with them —
// guests never see the host's directory. Accounts the actor may not see are
// left out, without saying why.
func (s *Service) People(ctx context.Context, p principal.Principal, who []ids.UserID) ([]Person, error) {
	if err := tenantUser(p); err != nil {
		return nil, err
	}
	if len(who) > 200 {
		return nil, errs.E(errs.Invalid, "Ask for at most 200 people at once.")
	}
	var shared map[ids.UserID]bool
	if p.Kind == principal.Guest {
		shared = map[ids.UserID]bool{p.User: true}
		teams, err := s.store.TeamsOf(ctx, p.User)
		if err != nil {
			return nil, err
		}
		for _, t := range teams {
			ms, err := s.store.TeamMembers(ctx, t.ID)
			if err != nil {
				return nil, err
			}
			for _, m := range ms {
				shared[m.Account] = true
			}
		}
	}
	out := []Person{}
	for _, id := range who {
		if !ids.Valid(string(id)) {
			continue
		}
		a, err := s.accounts.AccountByID(ctx, id)
		if err != nil || a.Realm != identity.TenantRealm {
			continue
		}
		switch {
		case a.Tenant == p.Tenant && (shared == nil || shared[id]):
			out = append(out, Person{ID: a.ID, DisplayName: a.DisplayName, Guest: a.Kind == principal.Guest})
		case a.Tenant != p.Tenant && p.Kind == principal.Member:
			// Someone of another organisation: only if an external chat joins them.
			if _, err := s.store.ChatByKey(ctx, p.Tenant, externalKey(p.User, a.ID)); err == nil {
				out = append(out, Person{ID: a.ID, DisplayName: a.DisplayName, External: true})
			}
		}
	}
	return out, nil
}
