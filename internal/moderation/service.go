package moderation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/kaigi/kaigi/internal/audit"
	"github.com/kaigi/kaigi/internal/chat"
	"github.com/kaigi/kaigi/internal/clock"
	"github.com/kaigi/kaigi/internal/errs"
	"github.com/kaigi/kaigi/internal/identity"
	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/keys"
	"github.com/kaigi/kaigi/internal/principal"
)

// Alert kinds: how a message came into the review queue.
const (
	KindFlag    = "flag"    // flagged after it was sent
	KindWarn    = "warn"    // sent after a warning, confirmed by the sender
	KindBlock   = "block"   // held: never stored in the conversation nor delivered
	KindPattern = "pattern" // possible bullying: several senders aiming at one person
	KindReport  = "report"  // a person reported a concern
)

// Alert statuses. Pending and escalated alerts are open.
const (
	StatusPending       = "pending"
	StatusEscalated     = "escalated"
	StatusResolved      = "resolved"
	StatusFalsePositive = "false_positive"
	StatusRemoved       = "removed"
)

// Open reports whether an alert in status s still waits for a reviewer.
func Open(s string) bool { return s == StatusPending || s == StatusEscalated }

// Alert is an entry of a tenant's review queue, as stored. Everything
// derived from content (a held message, a report's reason, the matched
// spans) is in Sealed; Info holds metadata only.
type Alert struct {
	ID       string
	Tenant   ids.TenantID
	Kind     string
	Status   string
	Channel  string
	Message  string // the message; for KindBlock the held message's id
	Seq      int64  // the message's sequence number; for KindBlock the channel's last when it was held
	Sender   ids.UserID
	Reporter ids.UserID // KindReport
	Target   ids.UserID // KindPattern: the person aimed at
	Assignee ids.UserID // the reviewer it was escalated to
	Info     AlertInfo
	Sealed   []byte // sealed alertContent
	// Pseudonyms are the stable names of the people of this alert
	// ("Person A"), assigned as reviewers meet them.
	Pseudonyms map[ids.UserID]string
	Created    time.Time
	Updated    time.Time
	Closed     time.Time
	ClosedBy   ids.UserID
}

// AlertInfo is an alert's metadata: never content.
type AlertInfo struct {
	Scores    map[Category]float64 `json:"scores,omitempty"`
	Rules     []string             `json:"rules,omitempty"`
	Action    Action               `json:"action,omitempty"`
	Confirmed bool                 `json:"confirmed,omitempty"`
	Version   int                  `json:"version,omitempty"`  // the message version classified
	Thread    string               `json:"thread,omitempty"`   // KindBlock: the thread it was meant for
	Messages  []string             `json:"messages,omitempty"` // KindPattern: the messages counted
	Senders   []ids.UserID         `json:"senders,omitempty"`  // KindPattern: their senders
	Category  Category             `json:"category,omitempty"` // KindReport: what the reporter chose
	Notes     []string             `json:"notes,omitempty"`    // the classifier's notes
	Notified  []string             `json:"notified,omitempty"` // templates sent to the sender
	Cases     []string             `json:"cases,omitempty"`    // eDiscovery cases its messages were put in
}

// alertContent is the sealed part of an alert.
type alertContent struct {
	Body   string `json:"body,omitempty"`   // KindBlock: the held message
	Reason string `json:"reason,omitempty"` // KindReport: the reporter's words
	Spans  []Span `json:"spans,omitempty"`
}

// Notice is a message from a compliance reviewer to a sender, from a
// template.
type Notice struct {
	ID       string       `json:"id"`
	Tenant   ids.TenantID `json:"-"`
	Account  ids.UserID   `json:"-"`
	Alert    string       `json:"-"`
	Template string       `json:"template"`
	Text     string       `json:"text"`
	Channel  string       `json:"channel,omitempty"`
	Message  string       `json:"message,omitempty"`
	Created  time.Time    `json:"created"`
}

// Tx is what the moderation service changes in one transaction.
type Tx interface {
	audit.Appender
	PutPolicy(ctx context.Context, tenant ids.TenantID, p Policy, by ids.UserID, at time.Time) error
	InsertAlert(ctx context.Context, a Alert) error
	UpdateAlert(ctx context.Context, a Alert) error
	InsertNotice(ctx context.Context, n Notice) error
}

// Store is the moderation service's persistence.
type Store interface {
	// PatternEvents keeps possible-bullying counts where every node sees
	// them.
	PatternEvents
	UpdateModeration(ctx context.Context, fn func(tx Tx) error) error
	// Policy returns a tenant's policy; found is false when it has none.
	Policy(ctx context.Context, tenant ids.TenantID) (p Policy, found bool, err error)
	// HasPolicies reports whether any tenant has a policy with rules.
	HasPolicies(ctx context.Context) (bool, error)
	Alert(ctx context.Context, id string) (Alert, error)
	// Alerts returns a tenant's alerts in the given statuses (all when
	// empty), newest first.
	Alerts(ctx context.Context, tenant ids.TenantID, statuses []string, limit int) ([]Alert, error)
	// OpenPatternAlert returns the open possible-bullying alert about
	// target, if any (store.ErrNotFound otherwise).
	OpenPatternAlert(ctx context.Context, tenant ids.TenantID, target ids.UserID) (Alert, error)
	// Reported reports whether reporter already reported message.
	Reported(ctx context.Context, message string, reporter ids.UserID) (bool, error)
	Notices(ctx context.Context, account ids.UserID, limit int) ([]Notice, error)
	// Message, Messages (seq < before, newest first) and MessagesAfter
	// (seq > after, oldest first) read a channel's messages, sealed.
	Message(ctx context.Context, id string) (chat.Message, error)
	Messages(ctx context.Context, channel string, before int64, limit int) ([]chat.Message, error)
	MessagesAfter(ctx context.Context, channel string, after int64, limit int) ([]chat.Message, error)
	// MessageVersion returns a message's body (sealed) as it was at
	// version, from its earlier versions if it has changed since.
	MessageVersion(ctx context.Context, id string, version int) ([]byte, error)
}

// Sealer seals and opens content with a tenant's keys.
type Sealer interface {
	Seal(ctx context.Context, tenant ids.TenantID, aad keys.AAD, plaintext []byte) ([]byte, error)
	Open(ctx context.Context, tenant ids.TenantID, aad keys.AAD, ciphertext []byte) ([]byte, error)
}

// Chat is what the review queue needs of the chat service.
type Chat interface {
	Open(ctx context.Context, m chat.Message) (chat.View, error)
	Remove(ctx context.Context, p principal.Principal, id, reason string) error
	CanSeeMessage(ctx context.Context, p principal.Principal, id string) (chat.Message, chat.Channel, error)
}

// Accounts looks people up.
type Accounts interface {
	AccountByID(ctx context.Context, id ids.UserID) (identity.Account, error)
}

// Defaults of [ServiceOptions].
const (
	DefaultTimeout         = 200 * time.Millisecond
	DefaultPolicyTTL       = 5 * time.Second
	DefaultExternalTimeout = 2 * time.Second
)

// ServiceOptions configure a [Service].
type ServiceOptions struct {
	Store    Store
	Keys     Sealer
	Chat     Chat
	Accounts Accounts
	Audit    *audit.Log
	// Classifier scores messages. Default [SharedLocal].
	Classifier Classifier
	// Patterns tracks possible bullying. Default a tracker with the
	// default [PatternConfig] on Clock that keeps its counts in Store, so
	// that every node and a restarted node count the same messages.
	Patterns *Patterns
	Clock    clock.Clock
	Log      *slog.Logger
	// Timeout bounds classifying one message on the send path; a message
	// not classified in time is passed, and the send's audit record says
	// so. Default [DefaultTimeout] (200ms; the local classifier takes
	// microseconds).
	Timeout time.Duration
	// PolicyTTL is how long a node keeps a tenant's policy before reading
	// it again; a change made on another node applies within it. Default
	// [DefaultPolicyTTL] (5s).
	PolicyTTL time.Duration
	// ExternalTimeout bounds one call to a tenant's external backend (see
	// [External]); on expiry the local verdict decides. Default
	// [DefaultExternalTimeout] (2s).
	ExternalTimeout time.Duration
	// ExternalClient sends requests to external backends. Default
	// [NoRedirectClient] with ExternalTimeout.
	ExternalClient *http.Client
	// Breaker tunes the per-tenant circuit breakers of the external
	// backends. The zero value uses the defaults of [BreakerConfig].
	Breaker BreakerConfig
	// AllowLoopbackEndpoints lets policies name http and loopback
	// endpoints for external backends. For tests against local servers
	// only; default false (https only, never this machine).
	AllowLoopbackEndpoints bool
}

// Service applies tenants' policies on the send path and runs the review
// queue. It implements chat.Moderator. It is safe for concurrent use.
type Service struct {
	store    Store
	keys     Sealer
	chat     Chat
	accounts Accounts
	audit    *audit.Log
	cl       Classifier
	patterns *Patterns
	clock    clock.Clock
	log      *slog.Logger
	timeout  time.Duration
	ttl      time.Duration

	extTimeout    time.Duration
	extClient     *http.Client
	breakers      *breakers
	allowLoopback bool
	bg            sync.WaitGroup // external second opinions after the send

	mu       sync.Mutex
	policies map[ids.TenantID]cachedPolicy
	cases    Cases // see SetCases
}

type cachedPolicy struct {
	p  Policy
	at time.Time
}

var _ chat.Moderator = (*Service)(nil)

// New returns a Service.
func New(o ServiceOptions) *Service {
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Classifier == nil {
		o.Classifier = SharedLocal()
	}
	if o.Patterns == nil {
		o.Patterns = NewPatternsOn(PatternConfig{}, o.Clock, o.Store)
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.PolicyTTL <= 0 {
		o.PolicyTTL = DefaultPolicyTTL
	}
	if o.ExternalTimeout <= 0 {
		o.ExternalTimeout = DefaultExternalTimeout
	}
	if o.ExternalClient == nil {
		o.ExternalClient = NoRedirectClient(o.ExternalTimeout)
	}
	return &Service{store: o.Store, keys: o.Keys, chat: o.Chat, accounts: o.Accounts, audit: o.Audit, cl: o.Classifier, patterns: o.Patterns,
		clock: o.Clock, log: o.Log, timeout: o.Timeout, ttl: o.PolicyTTL, policies: map[ids.TenantID]cachedPolicy{},
		extTimeout: o.ExternalTimeout, extClient: o.ExternalClient, breakers: newBreakers(o.Breaker, o.Clock), allowLoopback: o.AllowLoopbackEndpoints}
}

// Warm starts loading the classifier in the background when some tenant
// has a policy, so that the first message screened does not wait for it.
func (s *Service) Warm(ctx context.Context) {
	if ok, err := s.store.HasPolicies(ctx); err == nil && ok {
		s.warm()
	}
}

func (s *Service) warm() {
	if l, ok := s.cl.(*Lazy); ok {
		l.Warm()
	}
}

// ---- policies

func mayEditPolicy(p principal.Principal) error {
	if p.Tenant == "" || !(p.Has(principal.TenantAdmin) || p.Has(principal.ComplianceOfficer)) {
		return errs.E(errs.Forbidden, "Only a tenant admin or a compliance officer can see or change the moderation policy.")
	}
	return nil
}

// Policy returns the actor's tenant's moderation policy (tenant admins and
// compliance officers), without the external service's key.
func (s *Service) Policy(ctx context.Context, p principal.Principal) (Policy, error) {
	if err := mayEditPolicy(p); err != nil {
		return Policy{}, err
	}
	pol, _, err := s.store.Policy(ctx, p.Tenant)
	if pol.Rules == nil {
		pol.Rules = []Rule{}
	}
	return pol.redacted(), err
}

// SetPolicy replaces the actor's tenant's moderation policy; the change is
// audited and applies on this node at once, on others within PolicyTTL.
func (s *Service) SetPolicy(ctx context.Context, p principal.Principal, pol Policy) error {
	if err := mayEditPolicy(p); err != nil {
		return err
	}
	if err := pol.Validate(); err != nil {
		return err
	}
	if pol.Rules == nil {
		pol.Rules = []Rule{}
	}
	actions := make([]string, 0, len(pol.Rules))
	for _, r := range pol.Rules {
		actions = append(actions, string(r.Action))
	}
	old, _, err := s.store.Policy(ctx, p.Tenant)
	if err != nil {
		return err
	}
	details, err := s.prepareExternal(ctx, p, &pol, old)
	if err != nil {
		return err
	}
	details["rules"], details["actions"], details["patterns"] = strconv.Itoa(len(pol.Rules)), strings.Join(actions, ","), strconv.FormatBool(pol.Patterns)
	err = s.store.UpdateModeration(ctx, func(tx Tx) error {
		if err := tx.PutPolicy(ctx, p.Tenant, pol, p.User, s.clock.Now()); err != nil {
			return err
		}
		_, err := s.audit.Append(ctx, tx, audit.Entry{Actor: p, Action: "moderation.policy.update", Target: "tenant:" + string(p.Tenant), Details: details})
		return err
	})
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.policies[p.Tenant] = cachedPolicy{p: pol, at: s.clock.Now()}
	s.mu.Unlock()
	if len(pol.Rules) > 0 {
		s.warm()
	}
	return nil
}

// policyFor returns a tenant's policy, from the cache when fresh.
func (s *Service) policyFor(ctx context.Context, tenant ids.TenantID) (Policy, error) {
	now := s.clock.Now()
	s.mu.Lock()
	c, ok := s.policies[tenant]
	s.mu.Unlock()
	if ok && now.Sub(c.at) < s.ttl {
		return c.p, nil
	}
	pol, _, err := s.store.Policy(ctx, tenant)
	if err != nil {
		return Policy{}, err
	}
	s.mu.Lock()
	if len(s.policies) > 100000 {
		clear(s.policies)
	}
	s.policies[tenant] = cachedPolicy{p: pol, at: now}
	s.mu.Unlock()
	if len(pol.Rules) > 0 {
		s.warm()
	}
	return pol, nil
}

// ---- the send path

// errClassifyTimeout is why a message was passed unclassified.
var errClassifyTimeout = errors.New("classification timed out")

// classify runs the classifier within the timeout. A classifier that
// panics or overruns is abandoned: its goroutine finishes on its own, the
// send does not wait.
func (s *Service) classify(ctx context.Context, in Input) (Verdict, error) {
	cctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	type result struct {
		v   Verdict
		err error
	}
	ch := make(chan result, 1)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				ch <- result{err: fmt.Errorf("classifier panicked: %v", r)}
			}
		}()
		v, err := s.cl.Classify(cctx, in)
		ch <- result{v, err}
	}()
	select {
	case r := <-ch:
		return r.v, r.err
	case <-cctx.Done():
		if ctx.Err() != nil {
			return Verdict{}, ctx.Err()
		}
		if l, ok := s.cl.(*Lazy); ok && !l.Ready() {
			return Verdict{}, ErrNotReady
		}
		return Verdict{}, errClassifyTimeout
	}
}

// skipReason is the audit note for a message passed unclassified.
func skipReason(err error) string {
	switch {
	case errors.Is(err, errClassifyTimeout):
		return "passed unclassified: classification timed out"
	case errors.Is(err, ErrNotReady):
		return "passed unclassified: classifier still loading"
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return "passed unclassified: request ended"
	}
	return "passed unclassified: classifier error"
}

// Screen applies the sender's tenant's policy to a message about to be
// sent: block holds it and refuses the send with errs.ModerationHeld; warn
// refuses with errs.ModerationWarning unless the sender confirmed; flag
// (and a confirmed warning) raise an alert after the commit. When the
// policy cannot be read or the classifier fails or overruns, the message
// passes and the Screening's note says why.
func (s *Service) Screen(ctx context.Context, d chat.Draft) (chat.Screening, error) {
	pol, err := s.policyFor(ctx, d.Actor.Tenant)
	if err != nil {
		s.log.WarnContext(ctx, "moderation policy unavailable; message passed", "tenant", string(d.Actor.Tenant), "err", err)
		return chat.Screening{Note: "passed unclassified: policy unavailable"}, nil
	}
	subj := Subject{Sender: d.Actor.User, Team: d.Channel.Team, Channel: d.Channel.ID}
	if !pol.InScope(subj) {
		return chat.Screening{}, nil
	}
	in := Input{Text: d.Body, IsReply: d.Thread != ""}
	for _, m := range d.Mentions {
		in.Mentions = append(in.Mentions, string(m))
	}
	if peer, ok := d.Channel.Peer(d.Actor.User); ok {
		in.Addressee = string(peer) // a one-to-one chat is aimed at the other person
	}
	v, err := s.classify(ctx, in)
	if err != nil {
		s.log.WarnContext(ctx, "message passed unclassified", "tenant", string(d.Actor.Tenant), "channel", d.Channel.ID, "err", err)
		return chat.Screening{Note: skipReason(err)}, nil
	}
	if wantsExternal(pol.External, v) {
		return s.screenExternal(ctx, d, pol, subj, in, v)
	}
	return s.act(ctx, d, pol, subj, in, v)
}

// act applies the policy's decision about verdict v.
func (s *Service) act(ctx context.Context, d chat.Draft, pol Policy, subj Subject, in Input, v Verdict) (chat.Screening, error) {
	dec := pol.Decide(subj, v)
	observe := func(ctx context.Context) {
		if pol.Patterns {
			s.observe(ctx, d, in, v)
		}
	}
	alert := func(kind string) Alert {
		now := s.clock.Now()
		return Alert{ID: ids.New(), Tenant: d.Actor.Tenant, Kind: kind, Status: StatusPending, Channel: d.Channel.ID, Message: d.MessageID,
			Sender: d.Actor.User, Info: AlertInfo{Scores: flaggedScores(v, dec), Rules: dec.Rules, Action: dec.Action, Version: 1, Notes: v.Notes},
			Created: now, Updated: now}
	}
	switch dec.Action {
	case ActionBlock:
		a := alert(KindBlock)
		a.Seq, a.Info.Thread = d.Channel.LastSeq, d.Thread
		if err := s.raise(ctx, d.Actor, a, alertContent{Body: d.Body, Spans: v.Spans}, "moderation.message.hold"); err != nil {
			return chat.Screening{}, err
		}
		observe(ctx)
		return chat.Screening{}, errs.E(errs.ModerationHeld, "Your message was not sent: it may be read as %s, which your organisation's policy does not allow. It is held for review by your organisation's compliance reviewers.", describe(dec.Categories))
	case ActionWarn:
		if !d.Confirmed {
			// The warning names what was found, never the words: content
			// stays out of error messages.
			return chat.Screening{}, errs.E(errs.ModerationWarning, "Your message may be read as %s. Edit it, or send it anyway: sending it anyway is recorded for review by your organisation's compliance reviewers.",
				describe(dec.Categories))
		}
		return chat.Screening{Note: "warned; sent anyway", After: func(ctx context.Context, sent chat.View) {
			a := alert(KindWarn)
			a.Seq, a.Info.Confirmed = sent.Seq, true
			s.raiseAfter(ctx, d.Actor, a, alertContent{Spans: v.Spans})
			observe(ctx)
		}}, nil
	case ActionFlag:
		return chat.Screening{Note: "flagged for review", After: func(ctx context.Context, sent chat.View) {
			a := alert(KindFlag)
			a.Seq = sent.Seq
			s.raiseAfter(ctx, d.Actor, a, alertContent{Spans: v.Spans})
			observe(ctx)
		}}, nil
	}
	if !pol.Patterns {
		return chat.Screening{}, nil
	}
	return chat.Screening{After: func(ctx context.Context, _ chat.View) { observe(ctx) }}, nil
}

// flaggedScores are the verdict's non-zero scores.
func flaggedScores(v Verdict, d Decision) map[Category]float64 {
	out := map[Category]float64{}
	for _, c := range Categories {
		if v.Scores[c] > 0 {
			out[c] = v.Scores[c]
		}
	}
	return out
}

var categoryWords = map[Category]string{
	Harassment: "harassment", Threat: "a threat", Hate: "hate speech", Sexual: "sexual content", SelfHarm: "about self-harm", Profanity: "profanity",
}

// describe names categories for the sender: "a threat or harassment".
func describe(cs []Category) string {
	if len(cs) == 0 {
		return "breaking your organisation's communication policy"
	}
	words := make([]string, len(cs))
	for i, c := range cs {
		words[i] = categoryWords[c]
	}
	if len(words) == 1 {
		return words[0]
	}
	return strings.Join(words[:len(words)-1], ", ") + " or " + words[len(words)-1]
}

func alertAAD(id string) keys.AAD { return keys.AAD{Kind: "moderation-alert", ID: id} }

// raise stores a new alert with its sealed content and its audit record in
// one transaction.
func (s *Service) raise(ctx context.Context, actor principal.Principal, a Alert, content alertContent, action string) error {
	b, err := json.Marshal(content)
	if err != nil {
		return err
	}
	if a.Sealed, err = s.keys.Seal(ctx, a.Tenant, alertAAD(a.ID), b); err != nil {
		return err
	}
	return s.store.UpdateModeration(ctx, func(tx Tx) error {
		if err := tx.InsertAlert(ctx, a); err != nil {
			return err
		}
		_, err := s.audit.Append(ctx, tx, audit.Entry{Actor: actor, Tenant: a.Tenant, Action: action, Target: "moderation_alert:" + a.ID,
			Details: map[string]string{"kind": a.Kind, "channel": a.Channel, "message": a.Message, "rules": strings.Join(a.Info.Rules, ","), "categories": scoreList(a.Info.Scores)}})
		return err
	})
}

// raiseAfter raises an alert after a message was committed; a failure is
// logged (the message is stored and its send audited either way).
func (s *Service) raiseAfter(ctx context.Context, actor principal.Principal, a Alert, content alertContent) {
	if err := s.raise(ctx, actor, a, content, "moderation.alert.raise"); err != nil {
		s.log.ErrorContext(ctx, "raise moderation alert", "tenant", string(a.Tenant), "message", a.Message, "err", err)
	}
}

func scoreList(m map[Category]float64) string {
	var out []string
	for _, c := range Categories {
		if v, ok := m[c]; ok {
			out = append(out, string(c)+"="+strconv.FormatFloat(v, 'f', 2, 64))
		}
	}
	return strings.Join(out, ",")
}

// observe feeds the pattern tracker and raises or extends a
// possible-bullying alert.
func (s *Service) observe(ctx context.Context, d chat.Draft, in Input, v Verdict) {
	for _, target := range Targets(in) {
		sig, err := s.patterns.Observe(ctx, Observation{Tenant: string(d.Actor.Tenant), Target: target, Sender: string(d.Actor.User), MessageID: d.MessageID, Verdict: v})
		if err != nil {
			s.log.ErrorContext(ctx, "count a message for possible bullying", "tenant", string(d.Actor.Tenant), "err", err)
			continue
		}
		if !sig.PossibleBullying {
			continue
		}
		if err := s.patternAlert(ctx, d, sig); err != nil {
			s.log.ErrorContext(ctx, "raise possible-bullying alert", "tenant", string(d.Actor.Tenant), "err", err)
		}
	}
}

func (s *Service) patternAlert(ctx context.Context, d chat.Draft, sig Signal) error {
	tenant, target := d.Actor.Tenant, ids.UserID(sig.Target)
	senders := make([]ids.UserID, len(sig.Senders))
	for i, x := range sig.Senders {
		senders[i] = ids.UserID(x)
	}
	job := principal.Job("moderation.patterns", tenant)
	now := s.clock.Now()
	a, err := s.store.OpenPatternAlert(ctx, tenant, target)
	if err == nil {
		a.Info.Messages, a.Info.Senders, a.Updated = sig.Messages, senders, now
		a.Info.Scores = map[Category]float64{Harassment: sig.Score}
		a.Channel, a.Message = d.Channel.ID, d.MessageID
		return s.store.UpdateModeration(ctx, func(tx Tx) error {
			if err := tx.UpdateAlert(ctx, a); err != nil {
				return err
			}
			_, err := s.audit.Append(ctx, tx, audit.Entry{Actor: job, Action: "moderation.pattern.extend", Target: "moderation_alert:" + a.ID,
				Details: map[string]string{"messages": strconv.Itoa(len(sig.Messages)), "senders": strconv.Itoa(len(senders))}})
			return err
		})
	}
	if !errs.Is(err, errs.NotFound) {
		return err
	}
	a = Alert{ID: ids.New(), Tenant: tenant, Kind: KindPattern, Status: StatusPending, Channel: d.Channel.ID, Message: d.MessageID,
		Sender: d.Actor.User, Target: target, Info: AlertInfo{Scores: map[Category]float64{Harassment: sig.Score}, Rules: []string{"possible bullying"},
			Messages: sig.Messages, Senders: senders}, Created: now, Updated: now}
	return s.raise(ctx, job, a, alertContent{}, "moderation.pattern.raise")
}
