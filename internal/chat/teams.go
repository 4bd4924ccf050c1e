package chat

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kaigi/kaigi/internal/audit"
	"github.com/kaigi/kaigi/internal/errs"
	"github.com/kaigi/kaigi/internal/identity"
	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/principal"
)

// CreateTeam creates a team with the actor as owner and a General channel.
// Members may; guests may not.
func (s *Service) CreateTeam(ctx context.Context, p principal.Principal, name, description string) (Team, error) {
	if err := tenantUser(p); err != nil {
		return Team{}, err
	}
	if p.Kind == principal.Guest {
		return Team{}, errs.E(errs.Forbidden, "Guests cannot create teams.")
	}
	name, err := checkName(name, 80)
	if err != nil {
		return Team{}, err
	}
	if len(description) > 1000 {
		return Team{}, errs.E(errs.Invalid, "The description is too long: at most 1000 characters.")
	}
	now := s.now()
	t := Team{ID: ids.New(), Tenant: p.Tenant, Name: name, Description: strings.TrimSpace(description), CreatedBy: p.User, Created: now, Role: Owner}
	general := Channel{ID: ids.New(), Tenant: p.Tenant, Team: t.ID, Kind: Standard, Name: "General", CreatedBy: p.User, Created: now}
	err = s.store.UpdateChat(ctx, func(tx Tx) error {
		if err := tx.InsertTeam(ctx, t); err != nil {
			return err
		}
		if err := tx.PutTeamMember(ctx, t.ID, TeamMember{Account: p.User, Role: Owner, Added: now}); err != nil {
			return err
		}
		if err := tx.InsertChannel(ctx, general); err != nil {
			return err
		}
		_, err := s.audit.Append(ctx, tx, audit.Entry{Actor: p, Action: "team.create", Target: "team:" + t.ID, Details: map[string]string{"general": general.ID}})
		return err
	})
	return t, err
}

// Teams lists the actor's teams.
func (s *Service) Teams(ctx context.Context, p principal.Principal) ([]Team, error) {
	if err := tenantUser(p); err != nil {
		return nil, err
	}
	return s.store.TeamsOf(ctx, p.User)
}

// TeamMembers lists a team's members (for its members).
func (s *Service) TeamMembers(ctx context.Context, p principal.Principal, team string) ([]TeamMember, error) {
	if _, _, err := s.team(ctx, p, team); err != nil {
		return nil, err
	}
	return s.store.TeamMembers(ctx, team)
}

// AddTeamMember adds an account of the tenant — member or guest — to a team,
// or changes its role. Team owners and tenant admins may; guests are never
// owners.
func (s *Service) AddTeamMember(ctx context.Context, p principal.Principal, team string, account ids.UserID, role string) error {
	t, err := s.manageTeam(ctx, p, team)
	if err != nil {
		return err
	}
	if role != Owner && role != Member {
		return errs.E(errs.Invalid, "A team role is owner or member.")
	}
	a, err := s.accounts.AccountByID(ctx, account)
	if err != nil || a.Tenant != p.Tenant || a.Realm != identity.TenantRealm || a.State != identity.AccountActive {
		return errs.E(errs.NotFound, "There is no such active account in your organisation.")
	}
	if a.Kind == principal.Guest && role == Owner {
		return errs.E(errs.Invalid, "Guests cannot own teams.")
	}
	now := s.now()
	err = s.store.UpdateChat(ctx, func(tx Tx) error {
		if err := tx.PutTeamMember(ctx, t.ID, TeamMember{Account: account, Role: role, Added: now}); err != nil {
			return err
		}
		_, err := s.audit.Append(ctx, tx, audit.Entry{Actor: p, Action: "team.member_put", Target: "team:" + t.ID,
			Details: map[string]string{"account": string(account), "role": role, "kind": string(a.Kind)}})
		return err
	})
	if err == nil {
		s.accessChanged(ctx, p.Tenant, account, "team.member_put")
	}
	return err
}

// RemoveTeamMember removes someone from a team (owners, admins, or oneself).
// The last owner stays.
func (s *Service) RemoveTeamMember(ctx context.Context, p principal.Principal, team string, account ids.UserID) error {
	var t Team
	var err error
	if account == p.User {
		t, _, err = s.team(ctx, p, team)
	} else {
		t, err = s.manageTeam(ctx, p, team)
	}
	if err != nil {
		return err
	}
	members, err := s.store.TeamMembers(ctx, team)
	if err != nil {
		return err
	}
	owners := 0
	for _, m := range members {
		if m.Role == Owner && m.Account != account {
			owners++
		}
	}
	if owners == 0 {
		return errs.E(errs.Conflict, "A team keeps at least one owner. Make someone else an owner first.")
	}
	err = s.store.UpdateChat(ctx, func(tx Tx) error {
		ok, err := tx.DeleteTeamMember(ctx, t.ID, account)
		if err != nil {
			return err
		}
		if !ok {
			return errs.E(errs.NotFound, "That person is not in the team.")
		}
		_, err = s.audit.Append(ctx, tx, audit.Entry{Actor: p, Action: "team.member_remove", Target: "team:" + t.ID,
			Details: map[string]string{"account": string(account)}})
		return err
	})
	if err == nil {
		s.accessChanged(ctx, p.Tenant, account, "team.member_remove")
	}
	return err
}

// manageTeam returns a team the actor may manage: as its owner, or as a
// tenant admin (audited as such by the caller's record).
func (s *Service) manageTeam(ctx context.Context, p principal.Principal, team string) (Team, error) {
	if err := tenantUser(p); err != nil {
		return Team{}, err
	}
	t, err := s.store.Team(ctx, team)
	if err != nil || t.Tenant != p.Tenant {
		return Team{}, ErrNoTeam
	}
	if p.Has(principal.TenantAdmin) {
		return t, nil
	}
	m, err := s.store.TeamMember(ctx, team, p.User)
	if err != nil {
		return Team{}, ErrNoTeam
	}
	if m.Role != Owner {
		return Team{}, errs.E(errs.Forbidden, "Only the team's owners can do this.")
	}
	return t, nil
}

// CreateChannel adds a standard or private channel to a team. Team members
// may; guests may not.
func (s *Service) CreateChannel(ctx context.Context, p principal.Principal, team, name, kind string) (Channel, error) {
	t, _, err := s.team(ctx, p, team)
	if err != nil {
		return Channel{}, err
	}
	if err := s.guestMay(ctx, p, func(g identity.GuestPolicy) bool { return g.ManageChannels }, "create channels"); err != nil {
		return Channel{}, err
	}
	if !t.Archived.IsZero() {
		return Channel{}, errs.E(errs.Conflict, "The team is archived.")
	}
	if kind != Standard && kind != Private {
		return Channel{}, errs.E(errs.Invalid, "A channel is standard or private.")
	}
	name, err = checkName(name, 80)
	if err != nil {
		return Channel{}, err
	}
	now := s.now()
	c := Channel{ID: ids.New(), Tenant: p.Tenant, Team: t.ID, Kind: kind, Name: name, CreatedBy: p.User, Created: now}
	err = s.store.UpdateChat(ctx, func(tx Tx) error {
		if err := tx.InsertChannel(ctx, c); err != nil {
			return err
		}
		if kind == Private {
			if err := tx.PutChannelMember(ctx, c.ID, p.User, true, now); err != nil {
				return err
			}
		}
		_, err := s.audit.Append(ctx, tx, audit.Entry{Actor: p, Action: "channel.create", Target: "channel:" + c.ID,
			Details: map[string]string{"team": t.ID, "kind": kind}})
		return err
	})
	return c, err
}

// Channels lists every channel and chat the actor can see, with read positions.
func (s *Service) Channels(ctx context.Context, p principal.Principal) ([]Channel, error) {
	if err := tenantUser(p); err != nil {
		return nil, err
	}
	return s.store.ChannelsOf(ctx, p.User)
}

// AddChannelMember adds a member of the team to a private channel.
func (s *Service) AddChannelMember(ctx context.Context, p principal.Principal, channel string, account ids.UserID) error {
	c, err := s.channel(ctx, p, channel)
	if err != nil {
		return err
	}
	if c.Kind != Private {
		return errs.E(errs.Invalid, "Only private channels have their own members; add people to the team instead.")
	}
	if _, err := s.store.TeamMember(ctx, c.Team, account); err != nil {
		return errs.E(errs.Invalid, "Add the person to the team first.")
	}
	now := s.now()
	var ev Event
	err = s.store.UpdateChat(ctx, func(tx Tx) error {
		if err := tx.PutChannelMember(ctx, c.ID, account, true, now); err != nil {
			return err
		}
		var err error
		if ev, err = s.appendEvent(ctx, tx, c, &Payload{Kind: EventMembers, At: now, Actor: p.User, Members: []ids.UserID{account}}); err != nil {
			return err
		}
		_, err = s.audit.Append(ctx, tx, audit.Entry{Actor: p, Action: "channel.member_add", Target: "channel:" + c.ID, Details: map[string]string{"account": string(account)}})
		return err
	})
	if err == nil {
		s.publish(ctx, ev)
	}
	return err
}

// SetArchived archives or restores a channel (team owners and admins).
func (s *Service) SetArchived(ctx context.Context, p principal.Principal, channel string, archived bool) error {
	c, err := s.channel(ctx, p, channel)
	if err != nil {
		return err
	}
	if c.Kind == Chat {
		return errs.E(errs.Invalid, "Chats are not archived.")
	}
	if _, err := s.manageTeam(ctx, p, c.Team); err != nil {
		return err
	}
	now := s.now()
	if archived {
		c.Archived = now
	} else {
		c.Archived = time.Time{}
	}
	var ev Event
	err = s.store.UpdateChat(ctx, func(tx Tx) error {
		if err := tx.UpdateChannel(ctx, c); err != nil {
			return err
		}
		var err error
		info := c
		if ev, err = s.appendEvent(ctx, tx, c, &Payload{Kind: EventChannel, At: now, Actor: p.User, Info: &info}); err != nil {
			return err
		}
		action := "channel.archive"
		if !archived {
			action = "channel.restore"
		}
		_, err = s.audit.Append(ctx, tx, audit.Entry{Actor: p, Action: action, Target: "channel:" + c.ID})
		return err
	})
	if err == nil {
		s.publish(ctx, ev)
	}
	return err
}

// StartChat opens a chat between the actor and others of the tenant; a
// one-to-one chat is reused if it exists. Guests may chat only with people
// who share a team with them.
func (s *Service) StartChat(ctx context.Context, p principal.Principal, with []ids.UserID, name string) (Channel, error) {
	if err := tenantUser(p); err != nil {
		return Channel{}, err
	}
	members := sortedUsers(append(slices.Clone(with), p.User))
	if len(members) < 2 || len(members) > 250 {
		return Channel{}, errs.E(errs.Invalid, "A chat has 2 to 250 people.")
	}
	for _, m := range members {
		a, err := s.accounts.AccountByID(ctx, m)
		if err != nil || a.Tenant != p.Tenant || a.Realm != identity.TenantRealm || a.State != identity.AccountActive {
			return Channel{}, errs.E(errs.NotFound, "There is no such active account in your organisation.")
		}
	}
	if p.Kind == principal.Guest {
		if err := s.guestMay(ctx, p, func(g identity.GuestPolicy) bool { return g.StartChats }, "start chats"); err != nil {
			return Channel{}, err
		}
		if err := s.guestMayChat(ctx, p, members); err != nil {
			return Channel{}, err
		}
	}
	key := ""
	if len(members) == 2 {
		key = string(members[0]) + "+" + string(members[1])
		if c, err := s.store.ChatByKey(ctx, p.Tenant, key); err == nil {
			return c, nil
		}
	}
	if name == "" {
		name = "Chat"
	}
	name, err := checkName(name, 80)
	if err != nil {
		return Channel{}, err
	}
	now := s.now()
	c := Channel{ID: ids.New(), Tenant: p.Tenant, Kind: Chat, Name: name, CreatedBy: p.User, Created: now, ChatKey: key}
	err = s.store.UpdateChat(ctx, func(tx Tx) error {
		if err := tx.InsertChannel(ctx, c); err != nil {
			return err
		}
		for _, m := range members {
			if err := tx.PutChannelMember(ctx, c.ID, m, true, now); err != nil {
				return err
			}
		}
		_, err := s.audit.Append(ctx, tx, audit.Entry{Actor: p, Action: "chat.create", Target: "channel:" + c.ID, Details: map[string]string{"members": strconv.Itoa(len(members))}})
		return err
	})
	return c, err
}

func (s *Service) guestMayChat(ctx context.Context, p principal.Principal, members []ids.UserID) error {
	teams, err := s.store.TeamsOf(ctx, p.User)
	if err != nil {
		return err
	}
	for _, m := range members {
		if m == p.User {
			continue
		}
		shared := false
		for _, t := range teams {
			if _, err := s.store.TeamMember(ctx, t.ID, m); err == nil {
				shared = true
				break
			}
		}
		if !shared {
			return errs.E(errs.Forbidden, "As a guest you can chat only with people in your teams.")
		}
	}
	return nil
}
