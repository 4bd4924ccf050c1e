package retention

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/kaigi/kaigi/internal/audit"
	"github.com/kaigi/kaigi/internal/chat"
	"github.com/kaigi/kaigi/internal/clock"
	"github.com/kaigi/kaigi/internal/errs"
	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/jobs"
	"github.com/kaigi/kaigi/internal/keys"
	"github.com/kaigi/kaigi/internal/principal"
)

// Job kinds.
const (
	JobDelete = "retention.delete" // one tenant's deletion run
	JobErase  = "retention.erase"  // erasure of one person
)

// SealedBody is one version of a message's body, as stored.
type SealedBody struct {
	Version int
	Body    []byte
}

// Counts are what a purge removed.
type Counts struct {
	Messages      int64 `json:"messages"`
	Versions      int64 `json:"versions"`
	Reactions     int64 `json:"reactions"`
	Attachments   int64 `json:"attachments"`
	Events        int64 `json:"events"`
	Notifications int64 `json:"notifications"`
	Alerts        int64 `json:"alerts"`
	Recordings    int64 `json:"recordings"`
	Blobs         int64 `json:"blobs"`
}

// Add adds o to c.
func (c *Counts) Add(o Counts) {
	c.Messages += o.Messages
	c.Versions += o.Versions
	c.Reactions += o.Reactions
	c.Attachments += o.Attachments
	c.Events += o.Events
	c.Notifications += o.Notifications
	c.Alerts += o.Alerts
	c.Recordings += o.Recordings
	c.Blobs += o.Blobs
}

func (c Counts) details() map[string]string {
	return map[string]string{
		"messages": strconv.FormatInt(c.Messages, 10), "versions": strconv.FormatInt(c.Versions, 10),
		"reactions": strconv.FormatInt(c.Reactions, 10), "attachments": strconv.FormatInt(c.Attachments, 10),
		"events": strconv.FormatInt(c.Events, 10), "notifications": strconv.FormatInt(c.Notifications, 10),
		"alerts": strconv.FormatInt(c.Alerts, 10), "recordings": strconv.FormatInt(c.Recordings, 10),
		"blobs": strconv.FormatInt(c.Blobs, 10),
	}
}

// SealedEvent is a channel event as stored, whose message is not recorded.
type SealedEvent struct {
	Channel string
	Seq     int64
	Payload []byte
}

// EventLink says which message a channel event carries ("-" for none
// found).
type EventLink struct {
	Channel string
	Seq     int64
	Message string
}

// Erased is what pseudonymising an account changed.
type Erased struct {
	Sessions int64 `json:"sessions"`
	Tokens   int64 `json:"tokens"`
	Factors  int64 `json:"factors"`
}

// Tx is what the retention service changes in one transaction.
type Tx interface {
	audit.Appender
	InsertRetentionPolicy(ctx context.Context, p Policy) error
	DeleteRetentionPolicy(ctx context.Context, tenant ids.TenantID, id string) (bool, error)
	InsertLegalHold(ctx context.Context, h Hold) error
	ReleaseLegalHold(ctx context.Context, tenant ids.TenantID, id string, by ids.UserID, at time.Time) (bool, error)
	// LockHolds serialises hold changes with deletion batches of the
	// tenant, so that a batch never deletes what a hold created meanwhile
	// protects.
	LockLegalHolds(ctx context.Context, tenant ids.TenantID) error
	// HoldsVersion changes whenever a hold of the tenant is created or released.
	LegalHoldsVersion(ctx context.Context, tenant ids.TenantID) (string, error)
	// PurgeMessages deletes the tenant's messages of ids and everything of
	// them (versions, reactions, attachments, events, notifications, the
	// sealed content of moderation alerts) and records the blob keys of
	// their attachments as pending deletion. It returns the keys.
	PurgeMessages(ctx context.Context, tenant ids.TenantID, ids []string, at time.Time) (Counts, []string, error)
	// PurgeRecordings deletes the tenant's recordings of ids and records
	// their blob keys as pending deletion.
	PurgeRecordings(ctx context.Context, tenant ids.TenantID, ids []string, at time.Time) (Counts, []string, error)
	// EraseAccount pseudonymises an account of the tenant: display name
	// and email replaced, disabled, sessions, tokens, factors, passkeys and
	// reset links removed, notifications to it removed.
	EraseAccount(ctx context.Context, tenant ids.TenantID, account ids.UserID, pseudonym, email string, at time.Time) (Erased, error)
}

// Store is the retention service's persistence.
type Store interface {
	UpdateRetention(ctx context.Context, fn func(tx Tx) error) error
	RetentionPolicies(ctx context.Context, tenant ids.TenantID) ([]Policy, error)
	// Holds returns the tenant's holds, newest first; released ones too when all.
	LegalHolds(ctx context.Context, tenant ids.TenantID, all bool) ([]Hold, error)
	LegalHold(ctx context.Context, tenant ids.TenantID, id string) (Hold, error)
	// Missing returns those of ids that are not, in the tenant, of kind
	// "team", "chat" (a channel outside teams), "channel" (any channel or
	// chat), "place" (a team or any channel) or "account".
	Missing(ctx context.Context, tenant ids.TenantID, kind string, ids []string) ([]string, error)
	// ChatsOf returns the chats (channels outside teams) the accounts are members of.
	ChatsOf(ctx context.Context, tenant ids.TenantID, accounts []ids.UserID) ([]string, error)
	// Items returns up to limit items of a kind of the tenant with id >
	// after, by id; only those by author when set.
	Items(ctx context.Context, tenant ids.TenantID, kind, after string, author ids.UserID, limit int) ([]Item, error)
	CountItems(ctx context.Context, tenant ids.TenantID, author ids.UserID) (int64, error)
	// FindItem returns the tenant's message or recording with id.
	FindItem(ctx context.Context, tenant ids.TenantID, id string) (Item, error)
	// MessageBodies returns a message's sealed bodies, current and earlier.
	MessageBodies(ctx context.Context, id string) ([]SealedBody, error)
	// AttachmentNames returns the sealed names of a message's attachments, by attachment id.
	AttachmentNames(ctx context.Context, message string) (map[string][]byte, error)
	// UnlinkedEvents returns up to limit message events of the tenant
	// written before events named their message.
	UnlinkedEvents(ctx context.Context, tenant ids.TenantID, limit int) ([]SealedEvent, error)
	// LinkEvents records which message each event carries.
	LinkEvents(ctx context.Context, links []EventLink) error
	PendingBlobs(ctx context.Context, tenant ids.TenantID, limit int) ([]string, error)
	DropPendingBlobs(ctx context.Context, tenant ids.TenantID, keys []string) error
	// Compact makes deleted rows unrecoverable from the database's files
	// where the engine needs telling (SQLite: checkpoint the WAL and
	// truncate it).
	Compact(ctx context.Context) error
	// Tenants lists the tenants to run retention for.
	RetentionTenants(ctx context.Context) ([]ids.TenantID, error)
}

// Accounts looks people up.
type Accounts interface {
	AccountRoles(ctx context.Context, tenant ids.TenantID, id ids.UserID) ([]principal.Role, bool, error)
}

// Sealer seals and opens content with a tenant's keys.
type Sealer interface {
	Seal(ctx context.Context, tenant ids.TenantID, aad keys.AAD, plaintext []byte) ([]byte, error)
	Open(ctx context.Context, tenant ids.TenantID, aad keys.AAD, ciphertext []byte) ([]byte, error)
}

// Blobs deletes blobs.
type Blobs interface {
	Delete(ctx context.Context, tenant ids.TenantID, key string) error
}

// Jobs runs background work.
type Jobs interface {
	Register(kind string, h jobs.Handler)
	Enqueue(ctx context.Context, j jobs.Job) (jobs.Job, error)
}

// JobReader reads jobs.
type JobReader interface {
	Job(ctx context.Context, id string) (jobs.Job, error)
	Jobs(ctx context.Context, tenant ids.TenantID, kind string, limit int) ([]jobs.Job, error)
}

// Options configure a Service.
type Options struct {
	Store    Store
	Accounts Accounts
	Keys     Sealer
	Blobs    Blobs
	Audit    *audit.Log
	Clock    clock.Clock
	Log      *slog.Logger
	Jobs     Jobs
	JobStore JobReader
	// Every is how often each tenant's deletion job runs. Default 24h.
	Every time.Duration
	// BatchSize is how many items one deletion transaction removes at
	// most. Default 200.
	BatchSize int
	// AccessChanged, if set, is told after a person was erased, so that
	// their live connections end.
	AccessChanged func(ctx context.Context, tenant ids.TenantID, account ids.UserID, reason string)
}

// Service manages retention policies and legal holds, runs the deletion
// job and erases people. It is safe for concurrent use.
type Service struct {
	o Options

	mu   sync.Mutex
	hook func(ctx context.Context, batch int) error
}

// New returns a Service and registers its job kinds.
func New(o Options) *Service {
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Every <= 0 {
		o.Every = 24 * time.Hour
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 200
	}
	s := &Service{o: o}
	if o.Jobs != nil {
		o.Jobs.Register(JobDelete, s.runDelete)
		o.Jobs.Register(JobErase, s.runErase)
	}
	return s
}

// Tune sets, for tests and benchmarks, the batch size (0 keeps it) and a
// hook called after each deletion batch commits and before its blobs are
// deleted; an error from the hook stops the job there, as a crash would.
func (s *Service) Tune(batch int, hook func(ctx context.Context, batch int) error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if batch > 0 {
		s.o.BatchSize = batch
	}
	s.hook = hook
}

func (s *Service) tuning() (int, func(context.Context, int) error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.o.BatchSize, s.hook
}

var (
	errOfficer  = errs.E(errs.Forbidden, "Only a compliance officer can do this.")
	errManager  = errs.E(errs.Forbidden, "Only a tenant admin or a compliance officer can do this.")
	errAdmin    = errs.E(errs.Forbidden, "Only a tenant admin can do this.")
	errNoPolicy = errs.E(errs.NotFound, "There is no such retention policy.")
	errNoHold   = errs.E(errs.NotFound, "There is no such legal hold.")
	errNoItem   = errs.E(errs.NotFound, "There is no message or recording with that id in your organisation.")
)

func manager(p principal.Principal) error {
	if p.Tenant == "" || !(p.Has(principal.TenantAdmin) || p.Has(principal.ComplianceOfficer)) {
		return errManager
	}
	return nil
}

func officer(p principal.Principal) error {
	if p.Tenant == "" || !p.Has(principal.ComplianceOfficer) {
		return errOfficer
	}
	return nil
}

// checkExist refuses ids that are not of kind in the tenant.
func (s *Service) checkExist(ctx context.Context, tenant ids.TenantID, kind, what string, list []string) error {
	if len(list) == 0 {
		return nil
	}
	missing, err := s.o.Store.Missing(ctx, tenant, kind, list)
	if err != nil {
		return err
	}
	if len(missing) > 0 {
		return errs.E(errs.Invalid, "%s %q is not in your organisation.", what, truncate(missing[0], 40))
	}
	return nil
}

func strs[T ~string](l []T) []string {
	out := make([]string, len(l))
	for i, v := range l {
		out[i] = string(v)
	}
	return out
}

// ---- policies

// Policies lists the tenant's retention policies.
func (s *Service) Policies(ctx context.Context, p principal.Principal) ([]Policy, error) {
	if err := manager(p); err != nil {
		return nil, err
	}
	return s.o.Store.RetentionPolicies(ctx, p.Tenant)
}

// CreatePolicy adds a retention policy (audited).
func (s *Service) CreatePolicy(ctx context.Context, p principal.Principal, pol Policy) (Policy, error) {
	if err := manager(p); err != nil {
		return Policy{}, err
	}
	pol, err := pol.Normalize()
	if err != nil {
		return Policy{}, err
	}
	if err := s.checkExist(ctx, p.Tenant, "team", "The team", pol.Scope.Teams); err != nil {
		return Policy{}, err
	}
	if err := s.checkExist(ctx, p.Tenant, "chat", "The chat", pol.Scope.Chats); err != nil {
		return Policy{}, err
	}
	if err := s.checkExist(ctx, p.Tenant, "account", "The person", strs(pol.Scope.Users)); err != nil {
		return Policy{}, err
	}
	pol.ID, pol.Tenant, pol.CreatedBy, pol.Created = ids.New(), p.Tenant, p.User, s.o.Clock.Now()
	err = s.o.Store.UpdateRetention(ctx, func(tx Tx) error {
		if err := tx.InsertRetentionPolicy(ctx, pol); err != nil {
			return err
		}
		_, err := s.o.Audit.Append(ctx, tx, audit.Entry{Actor: p, Action: "retention.policy.create", Target: "retention_policy:" + pol.ID,
			Details: map[string]string{"kind": pol.Kind, "days": strconv.Itoa(pol.Days), "all": strconv.FormatBool(pol.Scope.All),
				"teams": strconv.Itoa(len(pol.Scope.Teams)), "chats": strconv.Itoa(len(pol.Scope.Chats)), "users": strconv.Itoa(len(pol.Scope.Users))}})
		return err
	})
	return pol, err
}

// DeletePolicy removes a retention policy (audited). Items it kept return
// to the other policies at the next run.
func (s *Service) DeletePolicy(ctx context.Context, p principal.Principal, id string) error {
	if err := manager(p); err != nil {
		return err
	}
	return s.o.Store.UpdateRetention(ctx, func(tx Tx) error {
		ok, err := tx.DeleteRetentionPolicy(ctx, p.Tenant, id)
		if err != nil {
			return err
		}
		if !ok {
			return errNoPolicy
		}
		_, err = s.o.Audit.Append(ctx, tx, audit.Entry{Actor: p, Action: "retention.policy.delete", Target: "retention_policy:" + id})
		return err
	})
}

// ---- holds

func holdAAD(id string) keys.AAD { return keys.AAD{Kind: "legal-hold-query", ID: id} }

// Holds lists the tenant's holds (released too when all). Keywords are
// counted, not shown.
func (s *Service) Holds(ctx context.Context, p principal.Principal, all bool) ([]Hold, error) {
	if err := officer(p); err != nil {
		return nil, err
	}
	return s.o.Store.LegalHolds(ctx, p.Tenant, all)
}

// Hold returns one hold with its keywords opened (the read is audited).
func (s *Service) Hold(ctx context.Context, p principal.Principal, id string) (Hold, error) {
	if err := officer(p); err != nil {
		return Hold{}, err
	}
	h, err := s.o.Store.LegalHold(ctx, p.Tenant, id)
	if errs.CodeOf(err) == errs.NotFound {
		return Hold{}, errNoHold
	}
	if err != nil {
		return Hold{}, err
	}
	if err := s.openQuery(ctx, &h); err != nil {
		return Hold{}, err
	}
	err = s.record(ctx, audit.Entry{Actor: p, Action: "legal_hold.read", Target: "legal_hold:" + h.ID,
		Details: map[string]string{"keywords": strconv.Itoa(h.Keywords)}})
	return h, err
}

func (s *Service) openQuery(ctx context.Context, h *Hold) error {
	if len(h.SealedQuery) == 0 {
		return nil
	}
	b, err := s.o.Keys.Open(ctx, h.Tenant, holdAAD(h.ID), h.SealedQuery)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, &h.Query.Keywords)
}

func (s *Service) record(ctx context.Context, e audit.Entry) error {
	return s.o.Store.UpdateRetention(ctx, func(tx Tx) error {
		_, err := s.o.Audit.Append(ctx, tx, e)
		return err
	})
}

// CreateHold places a legal hold (audited; keywords are sealed and only
// counted in the audit record).
func (s *Service) CreateHold(ctx context.Context, p principal.Principal, h Hold) (Hold, error) {
	if err := officer(p); err != nil {
		return Hold{}, err
	}
	h, err := h.Normalize()
	if err != nil {
		return Hold{}, err
	}
	if err := s.checkExist(ctx, p.Tenant, "account", "The custodian", strs(h.Custodians)); err != nil {
		return Hold{}, err
	}
	if err := s.checkExist(ctx, p.Tenant, "account", "The sender", strs(h.Query.Senders)); err != nil {
		return Hold{}, err
	}
	if err := s.checkExist(ctx, p.Tenant, "place", "The location", h.Locations); err != nil {
		return Hold{}, err
	}
	h.ID, h.Tenant, h.CreatedBy, h.Created = ids.New(), p.Tenant, p.User, s.o.Clock.Now()
	h.ReleasedBy, h.Released = "", time.Time{}
	if len(h.Query.Keywords) > 0 {
		b, _ := json.Marshal(h.Query.Keywords)
		if h.SealedQuery, err = s.o.Keys.Seal(ctx, p.Tenant, holdAAD(h.ID), b); err != nil {
			return Hold{}, err
		}
	}
	err = s.o.Store.UpdateRetention(ctx, func(tx Tx) error {
		if err := tx.LockLegalHolds(ctx, p.Tenant); err != nil {
			return err
		}
		if err := tx.InsertLegalHold(ctx, h); err != nil {
			return err
		}
		_, err := s.o.Audit.Append(ctx, tx, audit.Entry{Actor: p, Action: "legal_hold.create", Target: "legal_hold:" + h.ID,
			Details: map[string]string{"custodians": strconv.Itoa(len(h.Custodians)), "locations": strconv.Itoa(len(h.Locations)),
				"keywords": strconv.Itoa(len(h.Query.Keywords)), "senders": strconv.Itoa(len(h.Query.Senders)),
				"from": timeDetail(h.Query.From), "to": timeDetail(h.Query.To)}})
		return err
	})
	h.Query.Keywords = nil // shown only by Hold, which audits the read
	return h, err
}

func timeDetail(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// ReleaseHold releases a hold (audited): what it held returns to the
// retention policies at the next run.
func (s *Service) ReleaseHold(ctx context.Context, p principal.Principal, id string) error {
	if err := officer(p); err != nil {
		return err
	}
	now := s.o.Clock.Now()
	return s.o.Store.UpdateRetention(ctx, func(tx Tx) error {
		if err := tx.LockLegalHolds(ctx, p.Tenant); err != nil {
			return err
		}
		ok, err := tx.ReleaseLegalHold(ctx, p.Tenant, id, p.User, now)
		if err != nil {
			return err
		}
		if !ok {
			return errNoHold
		}
		_, err = s.o.Audit.Append(ctx, tx, audit.Entry{Actor: p, Action: "legal_hold.release", Target: "legal_hold:" + id})
		return err
	})
}

// ---- evaluation

// evaluator decides items' fates for one tenant at one moment.
type evaluator struct {
	s        *Service
	tenant   ids.TenantID
	policies []Policy
	holds    []Hold
	chats    [][]string // per hold: its custodians' chats
	version  string
}

func (s *Service) evaluator(ctx context.Context, tenant ids.TenantID) (*evaluator, error) {
	e := &evaluator{s: s, tenant: tenant}
	var err error
	if e.policies, err = s.o.Store.RetentionPolicies(ctx, tenant); err != nil {
		return nil, err
	}
	// Read the version first: a hold created after it makes the batch's
	// check fail, never pass with a stale list.
	err = s.o.Store.UpdateRetention(ctx, func(tx Tx) error {
		e.version, err = tx.LegalHoldsVersion(ctx, tenant)
		return err
	})
	if err != nil {
		return nil, err
	}
	hs, err := s.o.Store.LegalHolds(ctx, tenant, false)
	if err != nil {
		return nil, err
	}
	for _, h := range hs {
		if err := s.openQuery(ctx, &h); err != nil {
			return nil, fmt.Errorf("open the query of hold %s: %w", h.ID, err)
		}
		var chats []string
		if len(h.Custodians) > 0 {
			if chats, err = s.o.Store.ChatsOf(ctx, tenant, h.Custodians); err != nil {
				return nil, err
			}
		}
		e.holds = append(e.holds, h)
		e.chats = append(e.chats, chats)
	}
	return e, nil
}

// fate decides one item's fate.
func (e *evaluator) fate(ctx context.Context, it Item, now time.Time) (Fate, error) {
	var covering []Hold
	var openErr error
	var texts []string
	opened := false
	hasKeyword := func(it Item, kws []string) bool {
		if !opened {
			opened = true
			texts, openErr = e.s.texts(ctx, it)
		}
		return openErr == nil && MatchKeywords(texts, kws)
	}
	for i, h := range e.holds {
		if h.covers(it, e.chats[i], hasKeyword) {
			covering = append(covering, h)
		}
	}
	if openErr != nil {
		// Unreadable content cannot be shown not to match: keep it.
		return Fate{}, fmt.Errorf("open message %s for the holds' keywords: %w", it.ID, openErr)
	}
	return Decide(it, e.policies, covering, now), nil
}

// texts opens every version of a message's body and its attachments' names.
func (s *Service) texts(ctx context.Context, it Item) ([]string, error) {
	bodies, err := s.o.Store.MessageBodies(ctx, it.ID)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(bodies))
	for _, b := range bodies {
		pt, err := s.o.Keys.Open(ctx, it.Tenant, chat.BodyAAD(it.ID, b.Version), b.Body)
		if err != nil {
			return nil, err
		}
		out = append(out, string(pt))
	}
	names, err := s.o.Store.AttachmentNames(ctx, it.ID)
	if err != nil {
		return nil, err
	}
	for id, sealed := range names {
		pt, err := s.o.Keys.Open(ctx, it.Tenant, chat.FileNameAAD(id), sealed)
		if err != nil {
			return nil, err
		}
		out = append(out, string(pt))
	}
	return out, nil
}

// WhyKept says which policies and holds apply to a message or recording
// of the tenant and what will happen to it when (the lookup is audited).
func (s *Service) WhyKept(ctx context.Context, p principal.Principal, id string) (Fate, error) {
	if err := manager(p); err != nil {
		return Fate{}, err
	}
	if !ids.Valid(id) {
		return Fate{}, errNoItem
	}
	it, err := s.o.Store.FindItem(ctx, p.Tenant, id)
	if errs.CodeOf(err) == errs.NotFound {
		return Fate{}, errNoItem
	}
	if err != nil {
		return Fate{}, err
	}
	e, err := s.evaluator(ctx, p.Tenant)
	if err != nil {
		return Fate{}, err
	}
	f, err := e.fate(ctx, it, s.o.Clock.Now())
	if err != nil {
		return Fate{}, err
	}
	if !p.Has(principal.ComplianceOfficer) {
		// Hold names are for compliance officers; admins learn only that
		// the item is held.
		for i := range f.Holds {
			f.Holds[i].Name = ""
		}
	}
	err = s.record(ctx, audit.Entry{Actor: p, Action: "retention.explain", Target: it.Kind + ":" + it.ID,
		Details: map[string]string{"outcome": f.Outcome, "policies": strconv.Itoa(len(f.Policies)), "holds": strconv.Itoa(len(f.Holds))}})
	return f, err
}

// Pseudonym is the stable name an erased person is shown under.
func Pseudonym(tenant ids.TenantID, account ids.UserID) string {
	sum := sha256.Sum256([]byte(string(tenant) + "/" + string(account)))
	return "Former user " + hex.EncodeToString(sum[:3])
}

// ---- jobs

// RunNow starts the tenant's deletion job, or returns the one queued or
// running (audited).
func (s *Service) RunNow(ctx context.Context, p principal.Principal) (jobs.Job, error) {
	if err := manager(p); err != nil {
		return jobs.Job{}, err
	}
	if j, ok, err := s.unfinished(ctx, p.Tenant, JobDelete, ""); err != nil || ok {
		return j, err
	}
	j, err := s.o.Jobs.Enqueue(ctx, jobs.Job{Tenant: p.Tenant, Kind: JobDelete, Subject: "tenant:" + string(p.Tenant), CreatedBy: p.User})
	if err != nil {
		return jobs.Job{}, err
	}
	return j, s.record(ctx, audit.Entry{Actor: p, Action: "retention.run", Target: "job:" + j.ID})
}

func (s *Service) unfinished(ctx context.Context, tenant ids.TenantID, kind, subject string) (jobs.Job, bool, error) {
	js, err := s.o.JobStore.Jobs(ctx, tenant, kind, 20)
	if err != nil {
		return jobs.Job{}, false, err
	}
	for _, j := range js {
		if !jobs.Finished(j.State) && (subject == "" || j.Subject == subject) {
			return j, true, nil
		}
	}
	return jobs.Job{}, false, nil
}

// Jobs lists the tenant's retention and erasure jobs, newest first.
func (s *Service) Jobs(ctx context.Context, p principal.Principal) ([]jobs.Job, error) {
	if err := manager(p); err != nil {
		return nil, err
	}
	var out []jobs.Job
	for _, kind := range []string{JobDelete, JobErase} {
		js, err := s.o.JobStore.Jobs(ctx, p.Tenant, kind, 20)
		if err != nil {
			return nil, err
		}
		out = append(out, js...)
	}
	slices.SortFunc(out, func(a, b jobs.Job) int { return b.Created.Compare(a.Created) })
	return out, nil
}

// Job returns one of the tenant's retention or erasure jobs.
func (s *Service) Job(ctx context.Context, p principal.Principal, id string) (jobs.Job, error) {
	if err := manager(p); err != nil {
		return jobs.Job{}, err
	}
	j, err := s.o.JobStore.Job(ctx, id)
	if err != nil || j.Tenant != p.Tenant || (j.Kind != JobDelete && j.Kind != JobErase) {
		return jobs.Job{}, errs.E(errs.NotFound, "There is no such job.")
	}
	return j, nil
}

// eraseParams are an erasure job's parameters.
type eraseParams struct {
	Account ids.UserID `json:"account"`
}

// Erase starts the erasure of a person of the tenant (audited): their
// identity is pseudonymised and their messages and recordings deleted,
// except what a legal hold keeps.
func (s *Service) Erase(ctx context.Context, p principal.Principal, account ids.UserID) (jobs.Job, error) {
	if p.Tenant == "" || !p.Has(principal.TenantAdmin) {
		return jobs.Job{}, errAdmin
	}
	if !ids.Valid(string(account)) {
		return jobs.Job{}, errs.E(errs.NotFound, "There is no such person in your organisation.")
	}
	if account == p.User {
		return jobs.Job{}, errs.E(errs.Invalid, "You cannot erase yourself; ask another admin.")
	}
	roles, found, err := s.o.Accounts.AccountRoles(ctx, p.Tenant, account)
	if err != nil {
		return jobs.Job{}, err
	}
	if !found {
		return jobs.Job{}, errs.E(errs.NotFound, "There is no such person in your organisation.")
	}
	if slices.Contains(roles, principal.TenantAdmin) {
		return jobs.Job{}, errs.E(errs.Conflict, "This person is an admin: remove the admin role first.")
	}
	subject := "user:" + string(account)
	if j, ok, err := s.unfinished(ctx, p.Tenant, JobErase, subject); err != nil || ok {
		return j, err
	}
	params, _ := json.Marshal(eraseParams{Account: account})
	j, err := s.o.Jobs.Enqueue(ctx, jobs.Job{Tenant: p.Tenant, Kind: JobErase, Subject: subject, CreatedBy: p.User, Params: params})
	if err != nil {
		return jobs.Job{}, err
	}
	return j, s.record(ctx, audit.Entry{Actor: p, Action: "account.erase.request", Target: "account:" + string(account),
		Details: map[string]string{"job": j.ID}})
}
