package moderation

import (
	"context"
	"encoding/json"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/kaigi/kaigi/internal/audit"
	"github.com/kaigi/kaigi/internal/chat"
	"github.com/kaigi/kaigi/internal/errs"
	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/principal"
)

// Limits of the review queue.
const (
	// ContextMessages is how many messages before and after an alerted
	// message a reviewer sees.
	ContextMessages = 3
	// MaxReportReason bounds a report's reason, in characters.
	MaxReportReason = 2000
	// MaxReviewReason bounds a reviewer's reason for removing a message.
	MaxReviewReason = 200
)

// Errors with messages for people.
var (
	ErrNoAlert = errs.E(errs.NotFound, "There is no such alert in your organisation's review queue.")
	ErrClosed  = errs.E(errs.Conflict, "This alert is closed already.")
	// ErrInvolved refuses a reviewer an alert about themselves.
	ErrInvolved   = errs.E(errs.Forbidden, "You cannot review this alert: you are its sender, its reporter or the person it is about. Another compliance officer reviews it.")
	errNotOfficer = errs.E(errs.Forbidden, "Only a compliance officer can review alerts.")
)

// Templates are the notices a reviewer may send a sender, by name.
var Templates = map[string]string{
	"conduct_reminder": "A compliance reviewer in your organisation reminds you to keep to its code of conduct in conversations.",
	"message_removed":  "A message you sent was removed from its conversation by a compliance reviewer: it broke your organisation's communication policy.",
	"message_held":     "A message you sent was held and reviewed by a compliance reviewer; it will not be delivered.",
}

// AlertSummary is an alert as the queue lists it: metadata, people as
// pseudonyms, no content.
type AlertSummary struct {
	ID        string               `json:"id"`
	Kind      string               `json:"kind" doc:"flag, warn, block, pattern or report."`
	Status    string               `json:"status" doc:"pending, escalated, resolved, false_positive or removed."`
	Channel   string               `json:"channel"`
	Message   string               `json:"message"`
	Sender    string               `json:"sender" doc:"A pseudonym, stable for this alert, until unmasked."`
	Target    string               `json:"target,omitempty" doc:"Pattern alerts: the person aimed at (a pseudonym)."`
	Reporter  string               `json:"reporter,omitempty" doc:"Reports: who reported (a pseudonym)."`
	Assignee  ids.UserID           `json:"assignee,omitempty" doc:"The reviewer it was escalated to."`
	Scores    map[Category]float64 `json:"scores,omitempty"`
	Rules     []string             `json:"rules,omitempty"`
	Action    Action               `json:"action,omitempty"`
	Confirmed bool                 `json:"confirmed,omitempty" doc:"Warn alerts: the sender saw the warning and sent anyway."`
	Category  Category             `json:"category,omitempty" doc:"Reports: the category the reporter chose."`
	Messages  int                  `json:"messages,omitempty" doc:"Pattern alerts: how many messages were counted."`
	Senders   []string             `json:"senders,omitempty" doc:"Pattern alerts: their senders (pseudonyms)."`
	Notified  []string             `json:"notified,omitempty" doc:"Templates sent to the sender."`
	Cases     []string             `json:"cases,omitempty" doc:"eDiscovery cases the alert's messages were put in (ediscovery action)."`
	Created   time.Time            `json:"created"`
	Updated   time.Time            `json:"updated"`
	Closed    time.Time            `json:"closed,omitzero"`
	ClosedBy  ids.UserID           `json:"closed_by,omitempty"`
}

// ContextMessage is a message shown to a reviewer, its author and mentions
// as pseudonyms.
type ContextMessage struct {
	ID      string     `json:"id"`
	Seq     int64      `json:"seq,omitempty"`
	Author  string     `json:"author" doc:"A pseudonym."`
	Created time.Time  `json:"created"`
	Body    string     `json:"body" doc:"Mentions are written <@Person X>."`
	Deleted bool       `json:"deleted,omitempty"`
	Alerted bool       `json:"alerted,omitempty" doc:"The message the alert is about."`
	Held    bool       `json:"held,omitempty" doc:"Held by a block policy: never delivered."`
	Spans   []SpanView `json:"spans,omitempty" doc:"What the classifier matched, as byte offsets into body."`
}

// SpanView is a match shown to a reviewer.
type SpanView struct {
	Start    int      `json:"start"`
	End      int      `json:"end"`
	Category Category `json:"category"`
	Score    float64  `json:"score"`
	Rule     string   `json:"rule"`
}

// AlertDetail is an alert with its messages in context, opened for a
// reviewer (the read is audited).
type AlertDetail struct {
	AlertSummary
	Context []ContextMessage `json:"context"`
	Reason  string           `json:"reason,omitempty" doc:"Reports: the reporter's words."`
}

// Person is who a pseudonym stands for, once unmasked.
type Person struct {
	Pseudonym   string     `json:"pseudonym"`
	ID          ids.UserID `json:"id"`
	DisplayName string     `json:"display_name"`
}

func officer(p principal.Principal) error {
	if p.Tenant == "" || !p.Has(principal.ComplianceOfficer) {
		return errNotOfficer
	}
	return nil
}

// alert returns an alert of the reviewer's tenant that the reviewer may
// review: one they are part of is refused (see [Involved]), and the
// refusal is audited as denied under action.
func (s *Service) alert(ctx context.Context, p principal.Principal, id, action string) (Alert, error) {
	if err := officer(p); err != nil {
		return Alert{}, err
	}
	if !ids.Valid(id) {
		return Alert{}, ErrNoAlert
	}
	a, err := s.store.Alert(ctx, id)
	if err != nil || a.Tenant != p.Tenant {
		if err != nil && !errs.Is(err, errs.NotFound) {
			return Alert{}, err
		}
		return Alert{}, ErrNoAlert
	}
	if Involved(a, p.User) {
		err := s.store.UpdateModeration(ctx, func(tx Tx) error {
			_, err := s.audit.Append(ctx, tx, audit.Entry{Actor: p, Action: action, Target: "moderation_alert:" + a.ID, Result: audit.Denied,
				Details: map[string]string{"reason": "involved", "kind": a.Kind}})
			return err
		})
		if err != nil {
			return Alert{}, err
		}
		return Alert{}, ErrInvolved
	}
	return a, nil
}

// Involved reports whether u is part of alert a — its sender, its reporter,
// its target, or one of a pattern's senders — and so may not review it.
func Involved(a Alert, u ids.UserID) bool {
	if u == "" {
		return false
	}
	return u == a.Sender || u == a.Reporter || u == a.Target || slices.Contains(a.Info.Senders, u)
}

// pseudonym returns the alert's name for u, assigning the next letter to
// someone new. It reports whether the alert's map changed.
func pseudonym(a *Alert, u ids.UserID) (string, bool) {
	if u == "" {
		return "", false
	}
	if a.Pseudonyms == nil {
		a.Pseudonyms = map[ids.UserID]string{}
	}
	if n, ok := a.Pseudonyms[u]; ok {
		return n, false
	}
	i := len(a.Pseudonyms)
	name := "Person " + strconv.Itoa(i+1)
	if i < 26 {
		name = "Person " + string(rune('A'+i))
	}
	a.Pseudonyms[u] = name
	return name, true
}

// summary describes a, assigning pseudonyms in a fixed order: the sender,
// the target, the reporter, the pattern's senders.
func summary(a *Alert) AlertSummary {
	ps := func(u ids.UserID) string { n, _ := pseudonym(a, u); return n }
	out := AlertSummary{ID: a.ID, Kind: a.Kind, Status: a.Status, Channel: a.Channel, Message: a.Message, Sender: ps(a.Sender), Target: ps(a.Target),
		Reporter: ps(a.Reporter), Assignee: a.Assignee, Scores: a.Info.Scores, Rules: a.Info.Rules, Action: a.Info.Action, Confirmed: a.Info.Confirmed,
		Category: a.Info.Category, Messages: len(a.Info.Messages), Notified: a.Info.Notified, Cases: a.Info.Cases, Created: a.Created, Updated: a.Updated, Closed: a.Closed, ClosedBy: a.ClosedBy}
	for _, u := range a.Info.Senders {
		out.Senders = append(out.Senders, ps(u))
	}
	return out
}

// Alerts lists the reviewer's tenant's alerts: open ones (pending and
// escalated) by default, or those of status ("all" for every status).
// The list carries no content; the read is audited.
func (s *Service) Alerts(ctx context.Context, p principal.Principal, status string, limit int) ([]AlertSummary, error) {
	if err := officer(p); err != nil {
		return nil, err
	}
	var statuses []string
	switch status {
	case "", "open":
		statuses = []string{StatusPending, StatusEscalated}
	case "all":
	case StatusPending, StatusEscalated, StatusResolved, StatusFalsePositive, StatusRemoved:
		statuses = []string{status}
	default:
		return nil, errs.E(errs.Invalid, "status must be open, all, pending, escalated, resolved, false_positive or removed.")
	}
	as, err := s.store.Alerts(ctx, p.Tenant, statuses, min(max(limit, 1), 200))
	if err != nil {
		return nil, err
	}
	out := make([]AlertSummary, 0, len(as))
	var changed []Alert
	hidden := 0
	for i := range as {
		if Involved(as[i], p.User) {
			hidden++ // another reviewer's: never one's own
			continue
		}
		before := len(as[i].Pseudonyms)
		out = append(out, summary(&as[i]))
		if len(as[i].Pseudonyms) != before {
			changed = append(changed, as[i])
		}
	}
	err = s.store.UpdateModeration(ctx, func(tx Tx) error {
		for _, a := range changed {
			if err := tx.UpdateAlert(ctx, a); err != nil {
				return err
			}
		}
		_, err := s.audit.Append(ctx, tx, audit.Entry{Actor: p, Action: "moderation.alerts.list", Target: "tenant:" + string(p.Tenant),
			Details: map[string]string{"status": cmpOr(status, "open"), "count": strconv.Itoa(len(out)), "withheld": strconv.Itoa(hidden)}})
		return err
	})
	return out, err
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// Alert opens an alert for a reviewer: the message and the messages around
// it (or, for a pattern, the messages counted), people as pseudonyms. The
// read is audited with the ids of the messages opened.
func (s *Service) Alert(ctx context.Context, p principal.Principal, id string) (AlertDetail, error) {
	a, err := s.alert(ctx, p, id, "moderation.alert.read")
	if err != nil {
		return AlertDetail{}, err
	}
	before := len(a.Pseudonyms)
	d := AlertDetail{AlertSummary: summary(&a)}
	content, err := s.openContent(ctx, a)
	if err != nil {
		return AlertDetail{}, err
	}
	d.Reason = content.Reason
	if d.Context, err = s.context(ctx, &a, content); err != nil {
		return AlertDetail{}, err
	}
	opened := make([]string, 0, len(d.Context))
	for _, m := range d.Context {
		opened = append(opened, m.ID)
	}
	err = s.store.UpdateModeration(ctx, func(tx Tx) error {
		if len(a.Pseudonyms) != before {
			if err := tx.UpdateAlert(ctx, a); err != nil {
				return err
			}
		}
		_, err := s.audit.Append(ctx, tx, audit.Entry{Actor: p, Action: "moderation.alert.read", Target: "moderation_alert:" + a.ID,
			Details: map[string]string{"messages": strings.Join(opened, ","), "kind": a.Kind}})
		return err
	})
	return d, err
}

func (s *Service) openContent(ctx context.Context, a Alert) (alertContent, error) {
	var c alertContent
	if len(a.Sealed) == 0 {
		return c, nil
	}
	b, err := s.keys.Open(ctx, a.Tenant, alertAAD(a.ID), a.Sealed)
	if err != nil {
		return c, err
	}
	return c, json.Unmarshal(b, &c)
}

// context opens the messages a reviewer sees for a.
func (s *Service) context(ctx context.Context, a *Alert, content alertContent) ([]ContextMessage, error) {
	var out []ContextMessage
	add := func(m chat.Message, alerted bool) error {
		cm := ContextMessage{ID: m.ID, Seq: m.Seq, Created: m.Created, Alerted: alerted}
		cm.Author, _ = pseudonym(a, m.Author)
		if alerted && m.Version != a.Info.Version && a.Info.Version > 0 {
			// Show what was classified, even if edited or removed since.
			body, err := s.store.MessageVersion(ctx, m.ID, a.Info.Version)
			if err == nil {
				m.Body, m.Version, m.Deleted = body, a.Info.Version, time.Time{}
			}
		}
		v, err := s.chat.Open(ctx, m)
		if err != nil {
			return err
		}
		cm.Deleted = v.Deleted
		var spans []Span
		if alerted {
			spans = content.Spans
		}
		cm.Body, cm.Spans = maskMentions(a, v.Body, spans)
		out = append(out, cm)
		return nil
	}
	around := func(before, after int64) error {
		prev, err := s.store.Messages(ctx, a.Channel, before, ContextMessages)
		if err != nil {
			return err
		}
		for i := len(prev) - 1; i >= 0; i-- {
			if err := add(prev[i], false); err != nil {
				return err
			}
		}
		if a.Kind == KindBlock {
			cm := ContextMessage{ID: a.Message, Created: a.Created, Alerted: true, Held: true}
			cm.Author, _ = pseudonym(a, a.Sender)
			cm.Body, cm.Spans = maskMentions(a, content.Body, content.Spans)
			out = append(out, cm)
		} else {
			m, err := s.store.Message(ctx, a.Message)
			if err != nil {
				return err
			}
			if err := add(m, true); err != nil {
				return err
			}
		}
		next, err := s.store.MessagesAfter(ctx, a.Channel, after, ContextMessages)
		if err != nil {
			return err
		}
		for _, m := range next {
			if err := add(m, false); err != nil {
				return err
			}
		}
		return nil
	}
	switch a.Kind {
	case KindBlock:
		return out, around(a.Seq+1, a.Seq)
	case KindPattern:
		for _, id := range a.Info.Messages {
			m, err := s.store.Message(ctx, id)
			if err != nil || m.Tenant != a.Tenant {
				continue // held, or gone: held messages have alerts of their own
			}
			if err := add(m, true); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	return out, around(a.Seq, a.Seq)
}

var mentionRE = regexp.MustCompile(`<@([A-Za-z0-9_-]{1,64})>`)

// maskMentions replaces each <@account> in body with <@Person X> and moves
// the spans' offsets to match.
func maskMentions(a *Alert, body string, spans []Span) (string, []SpanView) {
	idx := mentionRE.FindAllStringSubmatchIndex(body, -1)
	type shift struct{ at, delta int }
	var shifts []shift
	var b strings.Builder
	last := 0
	for _, m := range idx {
		name, _ := pseudonym(a, ids.UserID(body[m[2]:m[3]]))
		repl := "<@" + name + ">"
		b.WriteString(body[last:m[0]])
		b.WriteString(repl)
		shifts = append(shifts, shift{at: m[1], delta: len(repl) - (m[1] - m[0])})
		last = m[1]
	}
	b.WriteString(body[last:])
	move := func(off int) int {
		d := 0
		for _, s := range shifts {
			if off >= s.at {
				d += s.delta
			}
		}
		return off + d
	}
	var out []SpanView
	for _, sp := range spans {
		if sp.Start < 0 || sp.End > len(body) || sp.Start >= sp.End {
			continue
		}
		out = append(out, SpanView{Start: move(sp.Start), End: move(sp.End), Category: sp.Category, Score: sp.Score, Rule: sp.Rule})
	}
	return b.String(), out
}

// Unmask tells a reviewer who an alert's pseudonyms stand for. It is
// audited.
func (s *Service) Unmask(ctx context.Context, p principal.Principal, id string) ([]Person, error) {
	a, err := s.alert(ctx, p, id, "moderation.alert.unmask")
	if err != nil {
		return nil, err
	}
	summary(&a) // the people of the alert itself have names even if never read
	out := make([]Person, 0, len(a.Pseudonyms))
	for u, name := range a.Pseudonyms {
		person := Person{Pseudonym: name, ID: u}
		if acct, err := s.accounts.AccountByID(ctx, u); err == nil && acct.Tenant == a.Tenant {
			person.DisplayName = acct.DisplayName
		}
		out = append(out, person)
	}
	slices.SortFunc(out, func(x, y Person) int { return strings.Compare(x.Pseudonym, y.Pseudonym) })
	err = s.store.UpdateModeration(ctx, func(tx Tx) error {
		if err := tx.UpdateAlert(ctx, a); err != nil {
			return err
		}
		_, err := s.audit.Append(ctx, tx, audit.Entry{Actor: p, Action: "moderation.alert.unmask", Target: "moderation_alert:" + a.ID,
			Details: map[string]string{"people": strconv.Itoa(len(out))}})
		return err
	})
	return out, err
}

// Reviewer actions.
const (
	ReviewResolve       = "resolve"
	ReviewFalsePositive = "false_positive"
	ReviewNotify        = "notify"
	ReviewEscalate      = "escalate"
	ReviewRemove        = "remove"
	ReviewEDiscovery    = "ediscovery"
)

// reviewActions are the actions [Service.Act] knows.
var reviewActions = []string{ReviewResolve, ReviewFalsePositive, ReviewNotify, ReviewEscalate, ReviewRemove, ReviewEDiscovery}

// Cases opens eDiscovery cases from the review queue. The compliance
// discovery service implements it; moderation knows nothing else of it.
type Cases interface {
	// OpenCaseFor puts messages (ids of the actor's tenant) into the review
	// set of a case and returns the case's id: the case caseID, which the
	// actor must be a member of and which must be open, or, when caseID is
	// empty, a new case called name with the actor as its member. It is
	// audited by the implementation.
	OpenCaseFor(ctx context.Context, p principal.Principal, caseID, name string, messages []string) (string, error)
}

// SetCases connects the review queue to eDiscovery (nil: the ediscovery
// action is refused as unavailable).
func (s *Service) SetCases(c Cases) {
	s.mu.Lock()
	s.cases = c
	s.mu.Unlock()
}

// Review is a reviewer's action on an alert.
type Review struct {
	// Action is resolve, false_positive, notify, escalate, remove or
	// ediscovery.
	Action string `json:"action" doc:"resolve, false_positive, notify, escalate, remove or ediscovery."`
	// Template names the notice for notify (see Templates).
	Template string `json:"template,omitempty"`
	// To is the compliance officer an alert is escalated to.
	To ids.UserID `json:"to,omitempty"`
	// Reason is recorded with a removal (at most 200 characters).
	Reason string `json:"reason,omitempty"`
	// Case is, for ediscovery, an existing eDiscovery case (one the
	// reviewer is a member of) to add the alert's messages to; empty opens
	// a new case named after the alert.
	Case string `json:"case,omitempty" doc:"ediscovery: a case you are a member of to add the messages to; empty: open a new case named after the alert."`
}

// Act applies a reviewer's action to an alert; every action is audited.
// remove takes the message out of its conversation through the chat
// service's delete path; notify sends the sender a notice from a template;
// escalate hands the alert to another compliance officer.
func (s *Service) Act(ctx context.Context, p principal.Principal, id string, r Review) (AlertSummary, error) {
	action := "moderation.alert.act"
	if slices.Contains(reviewActions, r.Action) {
		action = "moderation.alert." + r.Action
	}
	a, err := s.alert(ctx, p, id, action)
	if err != nil {
		return AlertSummary{}, err
	}
	if r.Action != ReviewNotify && r.Action != ReviewEDiscovery && !Open(a.Status) {
		return AlertSummary{}, ErrClosed
	}
	now := s.clock.Now()
	details := map[string]string{"kind": a.Kind}
	var notice *Notice
	closeAs := func(status string) { a.Status, a.Closed, a.ClosedBy = status, now, p.User }
	switch r.Action {
	case ReviewResolve:
		closeAs(StatusResolved)
	case ReviewFalsePositive:
		closeAs(StatusFalsePositive)
	case ReviewNotify:
		text, ok := Templates[r.Template]
		if !ok {
			return AlertSummary{}, errs.E(errs.Invalid, "template must be one of %s.", strings.Join(templateNames(), ", "))
		}
		notice = &Notice{ID: ids.New(), Tenant: a.Tenant, Account: a.Sender, Alert: a.ID, Template: r.Template, Text: text, Created: now}
		if a.Kind != KindPattern {
			notice.Channel, notice.Message = a.Channel, a.Message
		}
		a.Info.Notified = append(a.Info.Notified, r.Template)
		details["template"] = r.Template
	case ReviewEscalate:
		if r.To == "" || r.To == p.User {
			return AlertSummary{}, errs.E(errs.Invalid, "Escalate to another compliance officer: give their account id in to.")
		}
		acct, err := s.accounts.AccountByID(ctx, r.To)
		if err != nil || acct.Tenant != p.Tenant || !slices.Contains(acct.Roles, principal.ComplianceOfficer) {
			return AlertSummary{}, errs.E(errs.Invalid, "There is no compliance officer with that account id in your organisation.")
		}
		if Involved(a, r.To) {
			return AlertSummary{}, errs.E(errs.Invalid, "That compliance officer is part of this alert (its sender, its reporter or the person it is about) and cannot review it: escalate to someone else.")
		}
		a.Status, a.Assignee = StatusEscalated, r.To
		details["to"] = string(r.To)
	case ReviewRemove:
		if a.Kind == KindBlock || a.Kind == KindPattern {
			return AlertSummary{}, errs.E(errs.Conflict, "Only a message that was delivered can be removed; a held message never was, and a pattern alert covers several messages (open each one).")
		}
		reason := strings.TrimSpace(r.Reason)
		if utf8.RuneCountInString(reason) > MaxReviewReason || strings.ContainsFunc(reason, unicode.IsControl) {
			return AlertSummary{}, errs.E(errs.Invalid, "Give a reason of at most %d characters on one line.", MaxReviewReason)
		}
		if err := s.chat.Remove(ctx, p, a.Message, cmpOr(reason, "moderation alert "+a.ID)); err != nil {
			return AlertSummary{}, err
		}
		closeAs(StatusRemoved)
	case ReviewEDiscovery:
		caseID, n, err := s.openCase(ctx, p, a, r.Case)
		if err != nil {
			return AlertSummary{}, err
		}
		if !slices.Contains(a.Info.Cases, caseID) {
			a.Info.Cases = append(a.Info.Cases, caseID)
		}
		details["case"], details["messages"] = caseID, strconv.Itoa(n)
	default:
		return AlertSummary{}, errs.E(errs.Invalid, "action must be one of %s.", strings.Join(reviewActions, ", "))
	}
	a.Updated = now
	err = s.store.UpdateModeration(ctx, func(tx Tx) error {
		if err := tx.UpdateAlert(ctx, a); err != nil {
			return err
		}
		if notice != nil {
			if err := tx.InsertNotice(ctx, *notice); err != nil {
				return err
			}
		}
		_, err := s.audit.Append(ctx, tx, audit.Entry{Actor: p, Action: "moderation.alert." + r.Action, Target: "moderation_alert:" + a.ID, Details: details})
		return err
	})
	if err != nil {
		return AlertSummary{}, err
	}
	return summary(&a), nil
}

// openCase puts the alert's delivered messages into an eDiscovery case:
// the one given, or a new one named after the alert. It returns the case
// and how many messages went in.
func (s *Service) openCase(ctx context.Context, p principal.Principal, a Alert, caseID string) (string, int, error) {
	s.mu.Lock()
	cases := s.cases
	s.mu.Unlock()
	if cases == nil {
		return "", 0, errs.E(errs.Unavailable, "eDiscovery is not available on this server.")
	}
	if caseID != "" && !ids.Valid(caseID) {
		return "", 0, errs.E(errs.NotFound, "There is no such case, or you are not a member of it.")
	}
	var messages []string
	switch a.Kind {
	case KindBlock:
		return "", 0, errs.E(errs.Conflict, "A held message was never delivered, so it is not among the organisation's messages an eDiscovery case collects; it stays in this alert.")
	case KindPattern:
		for _, id := range a.Info.Messages {
			if !ids.Valid(id) || slices.Contains(messages, id) {
				continue
			}
			if m, err := s.store.Message(ctx, id); err == nil && m.Tenant == a.Tenant {
				messages = append(messages, id) // held ones were never delivered
			}
		}
		if len(messages) == 0 {
			return "", 0, errs.E(errs.Conflict, "None of the messages of this pattern was delivered, so there is nothing an eDiscovery case collects.")
		}
	default:
		messages = []string{a.Message}
	}
	name := "Moderation alert " + a.ID + " (" + kindNames[a.Kind] + ", " + a.Created.UTC().Format("2006-01-02") + ")"
	id, err := cases.OpenCaseFor(ctx, p, caseID, name, messages)
	return id, len(messages), err
}

// kindNames name alert kinds in case names.
var kindNames = map[string]string{KindFlag: "flagged", KindWarn: "sent after a warning", KindBlock: "held", KindPattern: "possible bullying", KindReport: "reported"}

func templateNames() []string {
	out := make([]string, 0, len(Templates))
	for k := range Templates {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// ReportReceipt acknowledges a report without revealing the queue.
type ReportReceipt struct {
	Status string `json:"status" doc:"received"`
}

// Report puts a message the actor can see into the review queue with the
// actor's reason (sealed). Each person reports a message once.
func (s *Service) Report(ctx context.Context, p principal.Principal, message string, category Category, reason string) (ReportReceipt, error) {
	if !p.IsTenantUser() {
		return ReportReceipt{}, errs.E(errs.Forbidden, "Only people in an organisation can report messages.")
	}
	if utf8.RuneCountInString(reason) > MaxReportReason || !utf8.ValidString(reason) {
		return ReportReceipt{}, errs.E(errs.TooLarge, "Describe your concern in at most %d characters.", MaxReportReason)
	}
	if category != "" && !category.Valid() {
		return ReportReceipt{}, errs.E(errs.Invalid, "category must be empty or one of %s.", categoryList())
	}
	if !ids.Valid(message) {
		return ReportReceipt{}, chat.ErrNoMessage
	}
	m, _, err := s.chat.CanSeeMessage(ctx, p, message)
	if err != nil {
		return ReportReceipt{}, err
	}
	if !m.Deleted.IsZero() {
		return ReportReceipt{}, errs.E(errs.Conflict, "The message was deleted.")
	}
	if done, err := s.store.Reported(ctx, m.ID, p.User); err != nil {
		return ReportReceipt{}, err
	} else if done {
		return ReportReceipt{}, errs.E(errs.Conflict, "You have reported this message already; the compliance reviewers have it.")
	}
	now := s.clock.Now()
	a := Alert{ID: ids.New(), Tenant: p.Tenant, Kind: KindReport, Status: StatusPending, Channel: m.Channel, Message: m.ID, Seq: m.Seq,
		Sender: m.Author, Reporter: p.User, Info: AlertInfo{Category: category, Version: m.Version}, Created: now, Updated: now}
	if err := s.raise(ctx, p, a, alertContent{Reason: strings.TrimSpace(reason)}, "moderation.report"); err != nil {
		return ReportReceipt{}, err
	}
	return ReportReceipt{Status: "received"}, nil
}

// Notices lists the notices reviewers sent the actor, newest first.
func (s *Service) Notices(ctx context.Context, p principal.Principal) ([]Notice, error) {
	if !p.IsTenantUser() {
		return nil, errs.E(errs.Forbidden, "Only people in an organisation have notices.")
	}
	return s.store.Notices(ctx, p.User, 50)
}
