package chat

import (
	"context"

	"github.com/kaigi/kaigi/internal/audit"
	"github.com/kaigi/kaigi/internal/errs"
	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/principal"
)

// MeetingChat is the kind of a meeting's chat: like a group chat, whose
// members are the meeting's organiser and the people admitted to it. It is
// stored, sealed, audited and retained like any other chat.
const MeetingChat = "meeting"

// OpenMeetingChat creates the chat of a new meeting, with its organiser as
// the first member.
func (s *Service) OpenMeetingChat(ctx context.Context, p principal.Principal, title string) (string, error) {
	if err := tenantUser(p); err != nil {
		return "", err
	}
	name, err := checkName(title, 200)
	if err != nil {
		return "", err
	}
	now := s.now()
	c := Channel{ID: ids.New(), Tenant: p.Tenant, Kind: MeetingChat, Name: name, CreatedBy: p.User, Created: now}
	err = s.store.UpdateChat(ctx, func(tx Tx) error {
		if err := tx.InsertChannel(ctx, c); err != nil {
			return err
		}
		if err := tx.PutChannelMember(ctx, c.ID, p.User, true, now); err != nil {
			return err
		}
		_, err := s.audit.Append(ctx, tx, audit.Entry{Actor: p, Action: "chat.create", Target: "channel:" + c.ID, Details: map[string]string{"kind": MeetingChat}})
		return err
	})
	if err != nil {
		return "", err
	}
	s.accessChanged(ctx, p.Tenant, p.User, "meeting chat")
	return c.ID, nil
}

// JoinMeetingChat adds an account of the tenant admitted to a meeting to
// the meeting's chat. The meeting service calls it, having admitted them.
func (s *Service) JoinMeetingChat(ctx context.Context, tenant ids.TenantID, channel string, account ids.UserID) error {
	c, err := s.store.Channel(ctx, channel)
	if err != nil || c.Tenant != tenant || c.Kind != MeetingChat {
		return errs.E(errs.NotFound, "There is no such meeting chat.")
	}
	if ok, err := s.store.IsChannelMember(ctx, c.ID, account); err != nil || ok {
		return err
	}
	actor := principal.Job("meeting", tenant)
	now := s.now()
	var ev Event
	err = s.store.UpdateChat(ctx, func(tx Tx) error {
		if err := tx.PutChannelMember(ctx, c.ID, account, true, now); err != nil {
			return err
		}
		var err error
		if ev, err = s.appendEvent(ctx, tx, c, &Payload{Kind: EventMembers, At: now, Actor: account, Members: []ids.UserID{account}}); err != nil {
			return err
		}
		_, err = s.audit.Append(ctx, tx, audit.Entry{Actor: actor, Action: "channel.member_add", Target: "channel:" + c.ID, Details: map[string]string{"account": string(account), "reason": "admitted to the meeting"}})
		return err
	})
	if err != nil {
		return err
	}
	s.publish(ctx, ev)
	s.accessChanged(ctx, tenant, account, "meeting chat")
	return nil
}
