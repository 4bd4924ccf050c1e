package chat

import (
	"context"
	"slices"
	"strings"

	"github.com/kaigi/kaigi/internal/audit"
	"github.com/kaigi/kaigi/internal/errs"
	"github.com/kaigi/kaigi/internal/identity"
	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/principal"
)

// External is the kind of a one-to-one chat with a member of another
// tenant. Each tenant holds its own copy: a channel of its own, with the
// messages sealed under its own keys, audited in its own log and governed
// by its own retention. The copies share a key naming the two accounts.
const External = "external"

// ErrExternalOff refuses external chats the two tenants do not both allow.
var ErrExternalOff = errs.E(errs.Forbidden, "Chats between your organisation and this one are not allowed by one of the two organisations.")

func externalKey(a, b ids.UserID) string {
	pair := []string{string(a), string(b)}
	slices.Sort(pair)
	return "ext:" + pair[0] + "+" + pair[1]
}

// externalAllowed checks both tenants' policies.
func (s *Service) externalAllowed(ctx context.Context, a, b ids.TenantID) (identity.Tenant, identity.Tenant, error) {
	ta, err := s.accounts.TenantByID(ctx, a)
	if err != nil {
		return identity.Tenant{}, identity.Tenant{}, err
	}
	tb, err := s.accounts.TenantByID(ctx, b)
	if err != nil {
		return identity.Tenant{}, identity.Tenant{}, err
	}
	if a == b || !ta.Policy.External.Admits(tb.Domains) || !tb.Policy.External.Admits(ta.Domains) {
		return identity.Tenant{}, identity.Tenant{}, ErrExternalOff
	}
	return ta, tb, nil
}

// StartExternalChat opens (or reopens) a one-to-one chat between the actor
// and the member of another tenant with the given email address, when both
// tenants allow it. It returns the actor's copy.
func (s *Service) StartExternalChat(ctx context.Context, p principal.Principal, email string) (Channel, error) {
	if p.Kind != principal.Member || p.Tenant == "" {
		return Channel{}, errs.E(errs.Forbidden, "Only members of an organisation can chat with other organisations.")
	}
	email, err := identity.NormaliseEmail(email)
	if err != nil {
		return Channel{}, err
	}
	other, err := s.accounts.TenantByDomain(ctx, email[strings.LastIndexByte(email, '@')+1:])
	if err != nil || other.ID == p.Tenant {
		return Channel{}, ErrExternalOff
	}
	mine, theirs, err := s.externalAllowed(ctx, p.Tenant, other.ID)
	if err != nil {
		return Channel{}, err
	}
	peer, err := s.accounts.AccountByEmail(ctx, identity.TenantRealm, other.ID, email)
	if err != nil || peer.State != identity.AccountActive || peer.Kind != principal.Member {
		// The same answer as a refusal: nothing is revealed about who exists.
		return Channel{}, ErrExternalOff
	}
	me, err := s.accounts.AccountByID(ctx, p.User)
	if err != nil {
		return Channel{}, err
	}
	key := externalKey(p.User, peer.ID)
	if c, err := s.store.ChatByKey(ctx, p.Tenant, key); err == nil {
		return c, nil
	}
	now := s.now()
	local := Channel{ID: ids.New(), Tenant: p.Tenant, Kind: External, Name: peer.DisplayName + " (" + theirs.Name + ")", CreatedBy: p.User, Created: now, ChatKey: key}
	remote := Channel{ID: ids.New(), Tenant: other.ID, Kind: External, Name: me.DisplayName + " (" + mine.Name + ")", CreatedBy: p.User, Created: now, ChatKey: key}
	err = s.store.UpdateChat(ctx, func(tx Tx) error {
		for _, c := range []struct {
			ch     Channel
			member ids.UserID
		}{{local, p.User}, {remote, peer.ID}} {
			if err := tx.InsertChannel(ctx, c.ch); err != nil {
				return err
			}
			if err := tx.PutChannelMember(ctx, c.ch.ID, c.member, true, now); err != nil {
				return err
			}
			if _, err := s.audit.Append(ctx, tx, audit.Entry{Actor: p, Tenant: c.ch.Tenant, Action: "external_chat.create", Target: "channel:" + c.ch.ID,
				Details: map[string]string{"with_tenant": string(other.ID), "from_tenant": string(p.Tenant)}}); err != nil {
				return err
			}
		}
		return nil
	})
	return local, err
}

// peerOf finds the other tenant's copy of an external chat, checking that
// both tenants still allow it.
func (s *Service) peerOf(ctx context.Context, c Channel, sender ids.UserID) (Channel, error) {
	rest, _ := strings.CutPrefix(c.ChatKey, "ext:")
	a, b, _ := strings.Cut(rest, "+")
	other := ids.UserID(a)
	if other == sender {
		other = ids.UserID(b)
	}
	acct, err := s.accounts.AccountByID(ctx, other)
	if err != nil || acct.State != identity.AccountActive {
		return Channel{}, errs.E(errs.Conflict, "The other person is no longer reachable.")
	}
	if _, _, err := s.externalAllowed(ctx, c.Tenant, acct.Tenant); err != nil {
		return Channel{}, err
	}
	return s.store.ChatByKey(ctx, acct.Tenant, c.ChatKey)
}

// sealExternal seals the other tenant's copy of a message before the
// transaction: its own message id, under its own keys. (Sealing first also
// makes sure the tenant's key exists, which the transaction must not have
// to create.)
func (s *Service) sealExternal(ctx context.Context, peer Channel, p principal.Principal, view View) (Message, error) {
	m := Message{ID: ids.New(), Tenant: peer.Tenant, Channel: peer.ID, Author: p.User, Created: view.Created, Version: 1}
	var err error
	m.Body, err = s.keys.Seal(ctx, peer.Tenant, BodyAAD(m.ID, 1), []byte(view.Body))
	return m, err
}

// deliverExternal writes, within tx, the other tenant's copy of a message
// sent in an external chat into its own event log and audit log.
func (s *Service) deliverExternal(ctx context.Context, tx Tx, peer Channel, m Message, p principal.Principal, view View) (Event, error) {
	copyView := View{ID: m.ID, Channel: peer.ID, Author: p.User, Created: view.Created, Body: view.Body}
	ev, err := s.appendEvent(ctx, tx, peer, &Payload{Kind: EventMessage, At: view.Created, Actor: p.User, Message: &copyView})
	if err != nil {
		return Event{}, err
	}
	m.Seq = ev.Seq
	if err := tx.InsertMessage(ctx, m); err != nil {
		return Event{}, err
	}
	_, err = s.audit.Append(ctx, tx, audit.Entry{Actor: p, Tenant: peer.Tenant, Action: "message.receive_external", Target: "message:" + m.ID,
		Details: map[string]string{"channel": peer.ID, "from_tenant": string(p.Tenant)}})
	return ev, err
}

// errExternalImmutable refuses changes to delivered external messages.
var errExternalImmutable = errs.E(errs.Conflict, "Messages in chats with other organisations cannot be changed once sent: each organisation keeps its own record.")
