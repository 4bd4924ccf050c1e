package chat

import (
	"context"
	"time"

	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/principal"
)

// Notification tells someone they were mentioned. It carries no content:
// the client fetches the message, which checks access again.
type Notification struct {
	ID      string       `json:"id"`
	Tenant  ids.TenantID `json:"-"`
	Account ids.UserID   `json:"-"`
	Kind    string       `json:"kind"` // mention
	Channel string       `json:"channel"`
	Message string       `json:"message"`
	Actor   ids.UserID   `json:"actor"`
	Created time.Time    `json:"created"`
	Read    time.Time    `json:"read,omitzero"`
}

// notifyMentions records, within tx, a notification for each mentioned
// person who can see the channel (others are silently skipped: a mention
// must not reveal a channel to someone outside it).
func (s *Service) notifyMentions(ctx context.Context, tx Tx, c Channel, message string, actor ids.UserID, mentions []ids.UserID, at time.Time) error {
	for _, m := range mentions {
		if m == actor {
			continue
		}
		a, err := s.accounts.AccountByID(ctx, m)
		if err != nil || a.Tenant != c.Tenant {
			continue
		}
		p := principal.Principal{Kind: a.Kind, Tenant: a.Tenant, User: a.ID}
		if _, err := s.channel(ctx, p, c.ID); err != nil {
			continue
		}
		if err := tx.InsertNotification(ctx, Notification{ID: ids.New(), Tenant: c.Tenant, Account: m, Kind: "mention", Channel: c.ID, Message: message, Actor: actor, Created: at}); err != nil {
			return err
		}
	}
	return nil
}

// Notifications lists the actor's newest notifications.
func (s *Service) Notifications(ctx context.Context, p principal.Principal, limit int) ([]Notification, error) {
	if err := tenantUser(p); err != nil {
		return nil, err
	}
	return s.store.Notifications(ctx, p.User, min(max(limit, 1), 200))
}

// MarkNotificationsRead marks the actor's notifications up to a time read.
func (s *Service) MarkNotificationsRead(ctx context.Context, p principal.Principal, upTo time.Time) (int64, error) {
	if err := tenantUser(p); err != nil {
		return 0, err
	}
	var n int64
	err := s.store.UpdateChat(ctx, func(tx Tx) error {
		var err error
		n, err = tx.MarkNotificationsRead(ctx, p.User, upTo, s.now())
		return err
	})
	return n, err
}
