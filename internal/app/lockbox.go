package app

import (
	"context"

	"github.com/kaigi/kaigi/internal/chat"
	"github.com/kaigi/kaigi/internal/errs"
	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/lockbox"
	"github.com/kaigi/kaigi/internal/meeting"
	"github.com/kaigi/kaigi/internal/store"
)

// lockboxResources tells the lockbox which tenant a resource belongs to.
type lockboxResources struct{ db *store.DB }

func (r lockboxResources) ResourceTenant(ctx context.Context, kind, id string) (ids.TenantID, error) {
	switch kind {
	case lockbox.ResChannel:
		c, err := r.db.Channel(ctx, id)
		if err != nil {
			return "", errs.Wrap(errs.NotFound, err, "There is no such channel.")
		}
		return c.Tenant, nil
	case lockbox.ResUserMessages:
		a, err := r.db.AccountByID(ctx, ids.UserID(id))
		if err != nil {
			return "", errs.Wrap(errs.NotFound, err, "There is no such person.")
		}
		return a.Tenant, nil
	case lockbox.ResRecording:
		rec, err := store.Meetings(r.db).(interface {
			Recording(context.Context, string) (meeting.Recording, error)
		}).Recording(ctx, id)
		if err != nil {
			return "", errs.Wrap(errs.NotFound, err, "There is no such recording.")
		}
		return rec.Tenant, nil
	}
	return "", errs.E(errs.NotFound, "There is no such resource.")
}

// operatorReads reads tenant content for an operator whose lockbox grant
// the lockbox service has checked; it only makes sure the content is the
// tenant's.
type operatorReads struct {
	db   *store.DB
	chat *chat.Service
}

func (o operatorReads) ChannelMessages(ctx context.Context, tenant ids.TenantID, channel string, limit int) ([]chat.View, error) {
	c, err := o.db.Channel(ctx, channel)
	if err != nil || c.Tenant != tenant {
		return nil, errs.E(errs.NotFound, "There is no such channel.")
	}
	msgs, err := o.db.Messages(ctx, channel, c.LastSeq+1, limit)
	if err != nil {
		return nil, err
	}
	out := make([]chat.View, 0, len(msgs))
	for _, m := range msgs {
		if !m.Deleted.IsZero() {
			continue
		}
		v, err := o.chat.Open(ctx, m)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}
