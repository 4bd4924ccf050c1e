package discovery

import (
	"context"
	"strconv"

	"github.com/kaigi/kaigi/internal/audit"
	"github.com/kaigi/kaigi/internal/errs"
	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/moderation"
	"github.com/kaigi/kaigi/internal/principal"
)

var _ moderation.Cases = (*Service)(nil)

// MaxAlertMessages bounds the messages one review-queue action puts into a
// case.
const MaxAlertMessages = 1000

// OpenCaseFor puts messages of the actor's tenant into a case's review set,
// for the review queue's ediscovery action (it implements
// moderation.Cases): into caseID, an open case the actor is a member of,
// or, when caseID is empty, into a new case called name with the actor as
// its first member. Messages that are not the tenant's are refused; ones
// already in the review set are kept once. Creating the case, adding the
// items and their audit records are one transaction. It returns the case's
// id.
func (s *Service) OpenCaseFor(ctx context.Context, p principal.Principal, caseID, name string, messages []string) (string, error) {
	if err := officer(p); err != nil {
		return "", err
	}
	if len(messages) == 0 {
		return "", errs.E(errs.Conflict, "This alert has no delivered message to put into a case.")
	}
	if len(messages) > MaxAlertMessages {
		return "", errs.E(errs.Invalid, "Put at most %d messages into a case at once.", MaxAlertMessages)
	}
	hits := make([]Hit, 0, len(messages))
	for _, id := range messages {
		if !ids.Valid(id) {
			return "", errs.E(errs.Invalid, "That is not a message of your organisation.")
		}
		m, err := s.o.Chat.Message(ctx, id)
		if err != nil || m.Tenant != p.Tenant {
			if err != nil && !errs.Is(err, errs.NotFound) {
				return "", err
			}
			return "", errs.E(errs.Invalid, "That is not a message of your organisation.")
		}
		hits = append(hits, Hit{Item: m.ID, Channel: m.Channel})
	}
	now := s.o.Clock.Now()
	var c Case
	created := caseID == ""
	if created {
		n, err := checkName(name)
		if err != nil {
			return "", err
		}
		c = Case{ID: ids.New(), Tenant: p.Tenant, Name: n, State: Open, CreatedBy: p.User, Created: now, Updated: now}
		if c.Sealed, err = s.o.Keys.Seal(ctx, p.Tenant, caseNameAAD(c.ID), []byte(n)); err != nil {
			return "", err
		}
	} else {
		var err error
		if c, err = s.caseFor(ctx, p, caseID); err != nil {
			return "", err
		}
		if c.State == Closed {
			return "", ErrClosed
		}
	}
	err := s.o.Store.UpdateDiscovery(ctx, func(tx Tx) error {
		if created {
			if err := tx.InsertCase(ctx, c); err != nil {
				return err
			}
			if err := tx.PutCaseMember(ctx, c.ID, Member{Account: p.User, AddedBy: p.User, Added: now}); err != nil {
				return err
			}
			if _, err := s.o.Audit.Append(ctx, tx, audit.Entry{Actor: p, Action: "ediscovery.case.create", Target: "case:" + c.ID,
				Details: map[string]string{"source": "moderation"}}); err != nil {
				return err
			}
		}
		n, err := tx.AddReview(ctx, c.ID, hits, p.User, now)
		if err != nil {
			return err
		}
		_, err = s.o.Audit.Append(ctx, tx, audit.Entry{Actor: p, Action: "ediscovery.review.add", Target: "case:" + c.ID,
			Details: map[string]string{"source": "moderation", "items": strconv.Itoa(len(hits)), "added": strconv.FormatInt(n, 10), "items_sha256": hashIDs(hitIDs(hits))}})
		return err
	})
	if err != nil {
		return "", err
	}
	return c.ID, nil
}
