package chat

import (
	"context"
	"strconv"
	"time"

	"github.com/kaigi/kaigi/internal/audit"
	"github.com/kaigi/kaigi/internal/errs"
	"github.com/kaigi/kaigi/internal/identity"
	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/keys"
	"github.com/kaigi/kaigi/internal/principal"
)

// BodyAAD labels the sealed body of a message's version. Retention and
// eDiscovery open bodies with it too: it is the one place it is spelled.
func BodyAAD(message string, version int) keys.AAD {
	return keys.AAD{Kind: "chat-message", ID: message + "/" + strconv.Itoa(version)}
}

// Moderator screens messages on the send path; package moderation
// implements it. Screen runs after authorization and before anything is
// stored. It refuses a send with an error — a warning the sender may
// confirm (errs.ModerationWarning), or a hold for review
// (errs.ModerationHeld) — and otherwise says what to record and what to run
// after the commit. It must return promptly whatever the input: a Moderator
// that cannot decide in time passes the message and says why in the
// Screening.
type Moderator interface {
	Screen(ctx context.Context, d Draft) (Screening, error)
}

// Draft is a message about to be sent, as a Moderator sees it.
type Draft struct {
	Actor     principal.Principal
	Channel   Channel
	MessageID string
	Thread    string
	Body      string
	Mentions  []ids.UserID
	// Confirmed says the sender saw a moderation warning for this text and
	// sends it anyway.
	Confirmed bool
	At        time.Time
}

// Screening is a Moderator's answer for a message it lets through.
type Screening struct {
	// Note, when set, is recorded in the send's audit record as its
	// "moderation" detail (for example why the message was passed without
	// being classified). Never content.
	Note string
	// After, when set, runs once the message is committed (flag mode,
	// confirmed warnings, pattern tracking). It must not block for long.
	After func(ctx context.Context, sent View)
}

// SetModerator makes m screen every message sent from now on. Call it
// before serving; nil turns screening off.
func (s *Service) SetModerator(m Moderator) { s.moderator = m }

// SendOptions are the optional parts of a send.
type SendOptions struct {
	// Confirmed sends a message the moderation policy warned about.
	Confirmed bool
}

// Send posts a message (or a reply in a thread) to a channel the actor can
// see. The message, the channel's next sequence number, the event and the
// audit record are written in one transaction; the returned view carries the
// sequence number, and once Send returns the message is durably stored.
func (s *Service) Send(ctx context.Context, p principal.Principal, channel, body, thread string) (View, error) {
	return s.SendWith(ctx, p, channel, body, thread, SendOptions{})
}

// SendWith is Send with options. When a Moderator is set it screens the
// message before anything is stored.
func (s *Service) SendWith(ctx context.Context, p principal.Principal, channel, body, thread string, opts SendOptions) (View, error) {
	mentions, err := checkBody(body)
	if err != nil {
		return View{}, err
	}
	c, err := s.channel(ctx, p, channel)
	if err != nil {
		return View{}, err
	}
	if !c.Archived.IsZero() {
		return View{}, ErrArchived
	}
	if thread != "" {
		root, err := s.store.Message(ctx, thread)
		if err != nil || root.Channel != c.ID {
			return View{}, errs.E(errs.NotFound, "There is no such thread in this channel.")
		}
		if root.Thread != "" {
			thread = root.Thread // a reply to a reply belongs to the same thread
		}
	}
	now := s.now()
	m := Message{ID: ids.New(), Tenant: c.Tenant, Channel: c.ID, Thread: thread, Author: p.User, Created: now, Version: 1}
	var screening Screening
	if s.moderator != nil {
		if screening, err = s.moderator.Screen(ctx, Draft{Actor: p, Channel: c, MessageID: m.ID, Thread: thread, Body: body, Mentions: mentions,
			Confirmed: opts.Confirmed, At: now}); err != nil {
			return View{}, err
		}
	}
	if m.Body, err = s.keys.Seal(ctx, c.Tenant, BodyAAD(m.ID, 1), []byte(body)); err != nil {
		return View{}, err
	}
	view := View{ID: m.ID, Channel: c.ID, Thread: thread, Author: p.User, Created: now, Body: body, Mentions: mentions}
	var peer Channel
	var peerMsg Message
	if c.Kind == External {
		if thread != "" {
			return View{}, errs.E(errs.Invalid, "Chats with other organisations have no threads.")
		}
		if peer, err = s.peerOf(ctx, c, p.User); err != nil {
			return View{}, err
		}
		if peerMsg, err = s.sealExternal(ctx, peer, p, view); err != nil {
			return View{}, err
		}
	}
	var ev, peerEv Event
	err = s.store.UpdateChat(ctx, func(tx Tx) error {
		pl := &Payload{Kind: EventMessage, At: now, Actor: p.User, Message: &view}
		var err error
		if ev, err = s.appendEvent(ctx, tx, c, pl); err != nil {
			return err
		}
		if peer.ID != "" {
			if peerEv, err = s.deliverExternal(ctx, tx, peer, peerMsg, p, view); err != nil {
				return err
			}
		}
		m.Seq = ev.Seq
		if err := tx.InsertMessage(ctx, m); err != nil {
			return err
		}
		if err := tx.SetReadSeq(ctx, c.ID, p.User, ev.Seq); err != nil {
			return err
		}
		if err := s.notifyMentions(ctx, tx, c, m.ID, p.User, mentions, now); err != nil {
			return err
		}
		details := map[string]string{"channel": c.ID, "seq": strconv.FormatInt(ev.Seq, 10), "bytes": strconv.Itoa(len(body))}
		if screening.Note != "" {
			details["moderation"] = screening.Note
		}
		_, err = s.audit.Append(ctx, tx, audit.Entry{Actor: p, Action: "message.send", Target: "message:" + m.ID, Details: details})
		return err
	})
	if err != nil {
		return View{}, err
	}
	s.publish(ctx, ev)
	if peer.ID != "" {
		s.publish(ctx, peerEv)
	}
	if screening.After != nil {
		screening.After(context.WithoutCancel(ctx), view)
	}
	return view, nil
}

// view opens a stored message for display.
func (s *Service) view(ctx context.Context, m Message, reactions map[string][]ids.UserID) (View, error) {
	v := View{ID: m.ID, Channel: m.Channel, Seq: m.Seq, Thread: m.Thread, Author: m.Author, Created: m.Created, Edited: m.Edited, Reactions: reactions}
	if !m.Deleted.IsZero() {
		v.Deleted = true
		return v, nil
	}
	b, err := s.keys.Open(ctx, m.Tenant, BodyAAD(m.ID, m.Version), m.Body)
	if err != nil {
		return View{}, err
	}
	v.Body = string(b)
	v.Mentions, _ = checkBody(v.Body)
	return v, nil
}

// Messages returns a page of a channel's messages, newest first, before seq
// (0: the newest).
func (s *Service) Messages(ctx context.Context, p principal.Principal, channel string, before int64, limit int) ([]View, error) {
	c, err := s.channel(ctx, p, channel)
	if err != nil {
		return nil, err
	}
	if before <= 0 {
		before = c.LastSeq + 1
	}
	ms, err := s.store.Messages(ctx, c.ID, before, min(max(limit, 1), 200))
	if err != nil {
		return nil, err
	}
	idsOf := make([]string, len(ms))
	for i, m := range ms {
		idsOf[i] = m.ID
	}
	reactions, err := s.store.Reactions(ctx, idsOf)
	if err != nil {
		return nil, err
	}
	files, err := s.store.Files(ctx, idsOf)
	if err != nil {
		return nil, err
	}
	out := make([]View, 0, len(ms))
	for _, m := range ms {
		v, err := s.view(ctx, m, reactions[m.ID])
		if err != nil {
			return nil, err
		}
		if !v.Deleted && len(files[m.ID]) > 0 {
			if v.Files, err = s.openFiles(ctx, files[m.ID]); err != nil {
				return nil, err
			}
		}
		out = append(out, v)
	}
	return out, nil
}

// message returns a message of a channel the actor can see.
func (s *Service) message(ctx context.Context, p principal.Principal, id string) (Message, Channel, error) {
	m, err := s.store.Message(ctx, id)
	if err != nil || m.Tenant != p.Tenant {
		return Message{}, Channel{}, ErrNoMessage
	}
	c, err := s.channel(ctx, p, m.Channel)
	if err != nil {
		return Message{}, Channel{}, ErrNoMessage
	}
	return m, c, nil
}

// Edit replaces the body of the actor's own message. The earlier body is
// kept (sealed) for compliance.
func (s *Service) Edit(ctx context.Context, p principal.Principal, id, body string) (View, error) {
	return s.EditWith(ctx, p, id, body, SendOptions{})
}

// EditWith is Edit with options. The new text is screened like a new
// message: editing harmless words into a threat is held or warned about
// like sending it.
func (s *Service) EditWith(ctx context.Context, p principal.Principal, id, body string, opts SendOptions) (View, error) {
	mentions, err := checkBody(body)
	if err != nil {
		return View{}, err
	}
	m, c, err := s.message(ctx, p, id)
	if err != nil {
		return View{}, err
	}
	if m.Author != p.User {
		return View{}, errs.E(errs.Forbidden, "You can edit only your own messages.")
	}
	if err := s.guestMay(ctx, p, func(g identity.GuestPolicy) bool { return g.EditOwnMessages }, "edit their messages"); err != nil {
		return View{}, err
	}
	if !m.Deleted.IsZero() {
		return View{}, errs.E(errs.Conflict, "The message was deleted.")
	}
	if !c.Archived.IsZero() {
		return View{}, ErrArchived
	}
	if c.Kind == External {
		return View{}, errExternalImmutable
	}
	now := s.now()
	var screening Screening
	if s.moderator != nil {
		if screening, err = s.moderator.Screen(ctx, Draft{Actor: p, Channel: c, MessageID: m.ID, Thread: m.Thread, Body: body, Mentions: mentions,
			Confirmed: opts.Confirmed, At: now}); err != nil {
			return View{}, err
		}
	}
	previous := m.Body
	m.Version++
	m.Edited = now
	if m.Body, err = s.keys.Seal(ctx, c.Tenant, BodyAAD(m.ID, m.Version), []byte(body)); err != nil {
		return View{}, err
	}
	view := View{ID: m.ID, Channel: c.ID, Seq: m.Seq, Thread: m.Thread, Author: m.Author, Created: m.Created, Edited: now, Body: body, Mentions: mentions}
	var ev Event
	err = s.store.UpdateChat(ctx, func(tx Tx) error {
		if err := tx.UpdateMessage(ctx, m, previous, now); err != nil {
			return err
		}
		var err error
		if ev, err = s.appendEvent(ctx, tx, c, &Payload{Kind: EventEdit, At: now, Actor: p.User, Message: &view}); err != nil {
			return err
		}
		details := map[string]string{"channel": c.ID, "version": strconv.Itoa(m.Version), "bytes": strconv.Itoa(len(body))}
		if screening.Note != "" {
			details["moderation"] = screening.Note
		}
		_, err = s.audit.Append(ctx, tx, audit.Entry{Actor: p, Action: "message.edit", Target: "message:" + m.ID, Details: details})
		return err
	})
	if err != nil {
		return View{}, err
	}
	s.publish(ctx, ev)
	if screening.After != nil {
		screening.After(ctx, view)
	}
	return view, nil
}

// Delete deletes the actor's own message from the conversation; the body is
// kept sealed among the message's versions for compliance (retention decides
// when it goes).
func (s *Service) Delete(ctx context.Context, p principal.Principal, id string) error {
	m, c, err := s.message(ctx, p, id)
	if err != nil {
		return err
	}
	if m.Author != p.User {
		return errs.E(errs.Forbidden, "You can delete only your own messages.")
	}
	if err := s.guestMay(ctx, p, func(g identity.GuestPolicy) bool { return g.DeleteOwnMessages }, "delete their messages"); err != nil {
		return err
	}
	if !m.Deleted.IsZero() {
		return nil
	}
	if !c.Archived.IsZero() {
		return ErrArchived
	}
	if c.Kind == External {
		return errExternalImmutable
	}
	return s.deleteMessage(ctx, p, m, c, "message.delete", map[string]string{"channel": c.ID})
}

// Remove takes someone's message out of its conversation for a compliance
// reviewer (a compliance officer of the message's tenant), with the reason
// in the audit record. As with Delete, the body stays sealed among the
// message's versions; archived channels are no exception.
func (s *Service) Remove(ctx context.Context, p principal.Principal, id, reason string) error {
	if p.Tenant == "" || !p.Has(principal.ComplianceOfficer) {
		return errs.E(errs.Forbidden, "Only a compliance reviewer can remove other people's messages.")
	}
	m, err := s.store.Message(ctx, id)
	if err != nil || m.Tenant != p.Tenant {
		return ErrNoMessage
	}
	c, err := s.store.Channel(ctx, m.Channel)
	if err != nil || c.Tenant != p.Tenant {
		return ErrNoMessage
	}
	if c.Kind == External {
		return errExternalImmutable
	}
	if !m.Deleted.IsZero() {
		return nil
	}
	return s.deleteMessage(ctx, p, m, c, "message.remove", map[string]string{"channel": c.ID, "reason": reason})
}

// Open opens a stored message's body, for a caller that has already
// decided the reader may see it and audits the read (a compliance review).
func (s *Service) Open(ctx context.Context, m Message) (View, error) {
	return s.view(ctx, m, nil)
}

// CanSeeMessage returns a message of a channel the actor can see, still
// sealed, or ErrNoMessage.
func (s *Service) CanSeeMessage(ctx context.Context, p principal.Principal, id string) (Message, Channel, error) {
	return s.message(ctx, p, id)
}

// deleteMessage replaces a message's body with nothing, keeping the earlier
// body sealed, appends the delete event and the audit record.
func (s *Service) deleteMessage(ctx context.Context, p principal.Principal, m Message, c Channel, action string, details map[string]string) error {
	var err error
	now := s.now()
	previous := m.Body
	m.Deleted = now
	m.Version++
	if m.Body, err = s.keys.Seal(ctx, c.Tenant, BodyAAD(m.ID, m.Version), nil); err != nil {
		return err
	}
	var ev Event
	err = s.store.UpdateChat(ctx, func(tx Tx) error {
		if err := tx.UpdateMessage(ctx, m, previous, now); err != nil {
			return err
		}
		var err error
		if ev, err = s.appendEvent(ctx, tx, c, &Payload{Kind: EventDelete, At: now, Actor: p.User,
			Message: &View{ID: m.ID, Channel: c.ID, Seq: m.Seq, Author: m.Author, Created: m.Created, Deleted: true}}); err != nil {
			return err
		}
		_, err = s.audit.Append(ctx, tx, audit.Entry{Actor: p, Action: action, Target: "message:" + m.ID, Details: details})
		return err
	})
	if err == nil {
		s.publish(ctx, ev)
	}
	return err
}

// React adds or removes the actor's reaction to a message.
func (s *Service) React(ctx context.Context, p principal.Principal, id, emoji string, on bool) (View, error) {
	if !isEmoji(emoji) {
		return View{}, errs.E(errs.Invalid, "A reaction is one emoji, such as 👍.")
	}
	m, c, err := s.message(ctx, p, id)
	if err != nil {
		return View{}, err
	}
	if !m.Deleted.IsZero() {
		return View{}, errs.E(errs.Conflict, "The message was deleted.")
	}
	if c.Kind == External {
		return View{}, errExternalImmutable
	}
	now := s.now()
	var ev Event
	var view View
	err = s.store.UpdateChat(ctx, func(tx Tx) error {
		if err := tx.SetReaction(ctx, m.ID, p.User, emoji, on, now); err != nil {
			return err
		}
		rs, err := tx.Reactions(ctx, []string{m.ID})
		if err != nil {
			return err
		}
		view = View{ID: m.ID, Channel: c.ID, Seq: m.Seq, Author: m.Author, Created: m.Created, Reactions: rs[m.ID]}
		if ev, err = s.appendEvent(ctx, tx, c, &Payload{Kind: EventReaction, At: now, Actor: p.User, Message: &view}); err != nil {
			return err
		}
		_, err = s.audit.Append(ctx, tx, audit.Entry{Actor: p, Action: "message.react", Target: "message:" + m.ID,
			Details: map[string]string{"on": strconv.FormatBool(on)}})
		return err
	})
	if err != nil {
		return View{}, err
	}
	s.publish(ctx, ev)
	return view, nil
}

// MarkRead moves the actor's read position in a channel forward.
func (s *Service) MarkRead(ctx context.Context, p principal.Principal, channel string, seq int64) error {
	c, err := s.channel(ctx, p, channel)
	if err != nil {
		return err
	}
	if seq < 0 || seq > c.LastSeq {
		return errs.E(errs.Invalid, "The position is outside the channel (0 to %d).", c.LastSeq)
	}
	return s.store.UpdateChat(ctx, func(tx Tx) error { return tx.SetReadSeq(ctx, c.ID, p.User, seq) })
}
