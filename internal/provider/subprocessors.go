package provider

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kaigi/kaigi/internal/audit"
	"github.com/kaigi/kaigi/internal/clock"
	"github.com/kaigi/kaigi/internal/errs"
	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/jobs"
	"github.com/kaigi/kaigi/internal/keys"
	"github.com/kaigi/kaigi/internal/mail"
	"github.com/kaigi/kaigi/internal/principal"
	"github.com/kaigi/kaigi/internal/webhook"
)

// Kinds of change to the subprocessor registry.
const (
	ChangeAdd    = "add"
	ChangeUpdate = "change"
	ChangeRemove = "remove"
)

// Notice periods: how long after its announcement a change may take effect
// at the earliest. A change that lets a subprocessor touch customer data
// waits six months; any other addition or change thirty days. A removal
// only lowers the risk and may take effect at once (never backdated).
const (
	NoticeCustomerDataMonths = 6
	NoticeOtherDays          = 30
	NoticeCustomerData       = "6 months"
	NoticeOther              = "30 days"
)

// EarliestEffective is when a change announced at announced may take effect.
func EarliestEffective(kind string, customerData bool, announced time.Time) time.Time {
	switch {
	case kind == ChangeRemove:
		return announced
	case customerData:
		return announced.AddDate(0, NoticeCustomerDataMonths, 0)
	default:
		return announced.AddDate(0, 0, NoticeOtherDays)
	}
}

// Subprocessor is one company the provider uses to run the service, as it
// is (or will be) engaged.
type Subprocessor struct {
	ID           string    `json:"id"`
	Name         string    `json:"name"`
	Purpose      string    `json:"purpose"`
	Location     string    `json:"location" doc:"Where it processes data: a country or region, e.g. Japan or EU (Germany)."`
	Categories   []string  `json:"data_categories" doc:"Kinds of data it handles, e.g. account email addresses, service metrics."`
	CustomerData bool      `json:"customer_data" doc:"Whether it may process customer data (content or personal data of the customer's people)."`
	Effective    time.Time `json:"effective" doc:"Since when these terms apply."`
	Announced    time.Time `json:"announced" doc:"When they were announced."`
}

// Change is an announced change of the registry: an addition, a change of
// a subprocessor's terms, or a removal.
type Change struct {
	ID           string     `json:"id"`
	Subprocessor string     `json:"subprocessor"`
	Kind         string     `json:"kind" doc:"add, change or remove."`
	Name         string     `json:"name"`
	Purpose      string     `json:"purpose,omitempty"`
	Location     string     `json:"location,omitempty"`
	Categories   []string   `json:"data_categories"`
	CustomerData bool       `json:"customer_data"`
	Announced    time.Time  `json:"announced"`
	Effective    time.Time  `json:"effective"`
	By           ids.UserID `json:"-"`
}

// InForce says whether c has taken effect at now.
func (c Change) InForce(now time.Time) bool { return !c.Effective.After(now) }

// Input is what an operator gives to add a subprocessor or change one.
// Effective may be left out: the earliest date the notice period allows.
type Input struct {
	Name         string    `json:"name"`
	Purpose      string    `json:"purpose"`
	Location     string    `json:"location"`
	Categories   []string  `json:"data_categories"`
	CustomerData bool      `json:"customer_data"`
	Effective    time.Time `json:"effective,omitzero"`
}

// Removal is an operator's announcement that a subprocessor will no longer
// be used from Effective on (default: now).
type Removal struct {
	Effective time.Time `json:"effective,omitzero"`
}

// Registry is the public list as of a time: the subprocessors in force
// and the announced changes not yet in force.
type Registry struct {
	AsOf          time.Time      `json:"as_of" doc:"The latest announcement or change in force the list reflects."`
	Subprocessors []Subprocessor `json:"subprocessors"`
	Upcoming      []Change       `json:"upcoming" doc:"Announced changes that have not taken effect yet."`
	Changes       []Change       `json:"changes" doc:"Every change ever announced, newest first."`
	CustomerData  int            `json:"customer_data_count" doc:"How many subprocessors in force may process customer data."`
	Notice        NoticeTerms    `json:"notice"`
}

// NoticeTerms states the notice periods.
type NoticeTerms struct {
	CustomerData       string `json:"customer_data" doc:"For changes that may touch customer data, in words."`
	Other              string `json:"other" doc:"For other additions and changes, in words."`
	CustomerDataMonths int    `json:"customer_data_months"`
	OtherDays          int    `json:"other_days"`
}

// Objection is a tenant's recorded objection to an announced change.
type Objection struct {
	ID      string       `json:"id"`
	Tenant  ids.TenantID `json:"tenant"`
	Change  string       `json:"change"`
	Account ids.UserID   `json:"account"`
	Reason  string       `json:"reason"`
	At      time.Time    `json:"at"`
}

// ObjectionInput is a tenant admin's objection.
type ObjectionInput struct {
	Reason string `json:"reason"`
}

// Notice is an announced change as a tenant admin sees it, with the
// tenant's objection if it recorded one.
type Notice struct {
	Change
	InEffect  bool       `json:"in_effect"`
	Objection *Objection `json:"objection,omitempty"`
}

// Webhook is a tenant's endpoint for subprocessor notices.
type Webhook struct {
	Tenant  ids.TenantID `json:"-"`
	URL     string       `json:"url"`
	Secret  []byte       `json:"-"` // sealed with the tenant's keys
	Created time.Time    `json:"created"`
}

// WebhookSetting is the tenant's view of its webhook.
type WebhookSetting struct {
	Configured bool      `json:"configured"`
	URL        string    `json:"url,omitempty"`
	Created    time.Time `json:"created,omitzero"`
	Secret     string    `json:"secret,omitempty" doc:"The signing secret (HMAC-SHA256); shown only when the webhook is set."`
}

// WebhookInput sets a tenant's webhook.
type WebhookInput struct {
	URL string `json:"url"`
}

// OperatorView is the registry with every objection, for operators.
type OperatorView struct {
	Registry
	Objections []Objection `json:"objections"`
}

// SubprocessorTx is what one change of the registry writes.
type SubprocessorTx interface {
	audit.Appender
	// LockSubprocessorChanges serialises writers and returns every change.
	LockSubprocessorChanges(ctx context.Context) ([]Change, error)
	InsertSubprocessorChange(ctx context.Context, c Change) error
	// PutObjection stores o, replacing the tenant's earlier objection to the same change.
	PutObjection(ctx context.Context, o Objection) error
	PutSubprocessorWebhook(ctx context.Context, w Webhook) error
	DeleteSubprocessorWebhook(ctx context.Context, tenant ids.TenantID) (bool, error)
}

// SubprocessorStore keeps the registry, objections and tenants' webhooks.
type SubprocessorStore interface {
	UpdateSubprocessors(ctx context.Context, fn func(tx SubprocessorTx) error) error
	// SubprocessorChanges returns every change, oldest announcement first.
	SubprocessorChanges(ctx context.Context) ([]Change, error)
	// Objections returns the objections of tenant, or of all tenants when it is empty.
	Objections(ctx context.Context, tenant ids.TenantID) ([]Objection, error)
	// SubprocessorWebhook returns a tenant's webhook; found is false when it has none.
	SubprocessorWebhook(ctx context.Context, tenant ids.TenantID) (w Webhook, found bool, err error)
}

// Customers are the tenants to tell of a change.
type Customers interface {
	// CustomerTenants lists every tenant, ordered by id.
	CustomerTenants(ctx context.Context) ([]ids.TenantID, error)
	// AdminEmails lists the addresses of a tenant's active tenant admins.
	AdminEmails(ctx context.Context, tenant ids.TenantID) ([]string, error)
}

// NotifyJob is the job kind that tells every tenant of an announced change.
const NotifyJob = "subprocessors.notify"

// Subprocessors is the registry with its notice periods, notifications
// and objections.
type Subprocessors struct {
	store     SubprocessorStore
	keys      Sealer
	audit     *audit.Log
	clock     clock.Clock
	customers Customers
	mailer    mail.Mailer
	jobs      *jobs.Runner
	baseURL   string
	log       *slog.Logger
	timeout   time.Duration
	guard     webhook.Guard
}

// SubprocessorOptions configure Subprocessors.
type SubprocessorOptions struct {
	Store     SubprocessorStore
	Keys      Sealer
	Audit     *audit.Log
	Clock     clock.Clock
	Customers Customers
	Mailer    mail.Mailer
	Jobs      *jobs.Runner // runs the notification job (registered by NewSubprocessors)
	BaseURL   string       // the public URL, for links in emails
	Log       *slog.Logger
	// WebhookTimeout bounds one webhook delivery; default 15 s.
	WebhookTimeout time.Duration
}

// NewSubprocessors returns the registry and registers its notification job.
func NewSubprocessors(o SubprocessorOptions) *Subprocessors {
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.WebhookTimeout == 0 {
		o.WebhookTimeout = 15 * time.Second
	}
	s := &Subprocessors{store: o.Store, keys: o.Keys, audit: o.Audit, clock: o.Clock, customers: o.Customers, mailer: o.Mailer, jobs: o.Jobs,
		baseURL: strings.TrimRight(o.BaseURL, "/"), log: o.Log, timeout: o.WebhookTimeout}
	if o.Jobs != nil {
		o.Jobs.Register(NotifyJob, s.runNotify)
	}
	return s
}

// AllowLoopbackEndpoints lets webhooks name loopback addresses over plain
// http, for tests against local servers. Never in production.
func (s *Subprocessors) AllowLoopbackEndpoints(on bool) { s.guard.AllowLoopback(on) }

func validText(v, what string, max int, required bool) error {
	if required && strings.TrimSpace(v) == "" {
		return errs.E(errs.Invalid, "The %s is required.", what)
	}
	return oneLine(v, max, what)
}

func (in *Input) clean() error {
	in.Name, in.Purpose, in.Location = strings.TrimSpace(in.Name), strings.TrimSpace(in.Purpose), strings.TrimSpace(in.Location)
	if err := validText(in.Name, "name", 120, true); err != nil {
		return err
	}
	if err := validText(in.Purpose, "purpose", 300, true); err != nil {
		return err
	}
	if err := validText(in.Location, "location", 120, true); err != nil {
		return err
	}
	if len(in.Categories) == 0 || len(in.Categories) > 20 {
		return errs.E(errs.Invalid, "Name the 1 to 20 data categories the subprocessor handles.")
	}
	seen := map[string]bool{}
	for i, c := range in.Categories {
		c = strings.TrimSpace(c)
		if c == "" || seen[c] {
			return errs.E(errs.Invalid, "Each data category is named once and is not empty.")
		}
		if err := oneLine(c, 80, "data category"); err != nil {
			return err
		}
		seen[c], in.Categories[i] = true, c
	}
	return nil
}

// state is the registry computed from its changes.
type state struct {
	current map[string]Change // subprocessor → the latest change in force (never a removal)
	latest  map[string]Change // subprocessor → the latest change announced
	pending map[string]bool   // subprocessor → has a change not yet in force
}

func computeState(changes []Change, now time.Time) state {
	st := state{current: map[string]Change{}, latest: map[string]Change{}, pending: map[string]bool{}}
	slices.SortStableFunc(changes, func(a, b Change) int { return a.Effective.Compare(b.Effective) })
	for _, c := range changes {
		if l, ok := st.latest[c.Subprocessor]; !ok || c.Announced.After(l.Announced) || (c.Announced.Equal(l.Announced) && c.Effective.After(l.Effective)) {
			st.latest[c.Subprocessor] = c
		}
		if !c.InForce(now) {
			st.pending[c.Subprocessor] = true
			continue
		}
		if c.Kind == ChangeRemove {
			delete(st.current, c.Subprocessor)
		} else {
			st.current[c.Subprocessor] = c
		}
	}
	return st
}

// Add announces a new subprocessor.
func (s *Subprocessors) Add(ctx context.Context, p principal.Principal, in Input) (Change, error) {
	if err := in.clean(); err != nil {
		return Change{}, err
	}
	return s.announce(ctx, p, Change{Subprocessor: ids.New(), Kind: ChangeAdd, Name: in.Name, Purpose: in.Purpose, Location: in.Location,
		Categories: in.Categories, CustomerData: in.CustomerData, Effective: in.Effective})
}

// Update announces a change of a subprocessor's terms.
func (s *Subprocessors) Update(ctx context.Context, p principal.Principal, id string, in Input) (Change, error) {
	if err := in.clean(); err != nil {
		return Change{}, err
	}
	return s.announce(ctx, p, Change{Subprocessor: id, Kind: ChangeUpdate, Name: in.Name, Purpose: in.Purpose, Location: in.Location,
		Categories: in.Categories, CustomerData: in.CustomerData, Effective: in.Effective})
}

// Remove announces that a subprocessor will no longer be used.
func (s *Subprocessors) Remove(ctx context.Context, p principal.Principal, id string, r Removal) (Change, error) {
	return s.announce(ctx, p, Change{Subprocessor: id, Kind: ChangeRemove, Effective: r.Effective, Categories: []string{}})
}

func (s *Subprocessors) announce(ctx context.Context, p principal.Principal, c Change) (Change, error) {
	if p.Kind != principal.Operator {
		return Change{}, errs.E(errs.Forbidden, "Only operators of the service keep the subprocessor list.")
	}
	now := s.clock.Now().UTC()
	c.ID, c.Announced, c.By = ids.New(), now, p.User
	err := s.store.UpdateSubprocessors(ctx, func(tx SubprocessorTx) error {
		all, err := tx.LockSubprocessorChanges(ctx)
		if err != nil {
			return err
		}
		st := computeState(all, now)
		if c.Kind != ChangeAdd {
			if !ids.Valid(c.Subprocessor) {
				return errs.E(errs.NotFound, "There is no such subprocessor.")
			}
			latest, ok := st.latest[c.Subprocessor]
			switch {
			case !ok:
				return errs.E(errs.NotFound, "There is no such subprocessor.")
			case st.pending[c.Subprocessor]:
				return errs.E(errs.Conflict, "A change to %s is already announced and not yet in effect; wait until %s.", latest.Name, latest.Effective.Format(time.DateOnly))
			case latest.Kind == ChangeRemove:
				return errs.E(errs.Conflict, "%s has been removed; announce it as a new subprocessor instead.", latest.Name)
			}
			if c.Kind == ChangeRemove {
				c.Name, c.Purpose, c.Location = latest.Name, latest.Purpose, latest.Location
			}
		}
		earliest := EarliestEffective(c.Kind, c.CustomerData, now)
		switch {
		case c.Effective.IsZero():
			c.Effective = earliest
		case c.Effective.Before(now):
			return errs.E(errs.Invalid, "The effective date %s is in the past: a change cannot be backdated.", c.Effective.UTC().Format(time.RFC3339))
		case c.Effective.Before(earliest):
			period := NoticeOther
			if c.CustomerData {
				period = NoticeCustomerData
			}
			return errs.E(errs.Invalid, "A change that %s needs %s of notice: it can take effect on %s at the earliest.",
				map[bool]string{true: "touches customer data", false: "does not touch customer data"}[c.CustomerData], period, earliest.Format(time.RFC3339))
		}
		c.Effective = c.Effective.UTC()
		if err := tx.InsertSubprocessorChange(ctx, c); err != nil {
			return err
		}
		_, err = s.audit.Append(ctx, tx, audit.Entry{Actor: p, Tenant: ids.ServiceTenant, Action: "subprocessor." + c.Kind, Target: "subprocessor:" + c.Subprocessor,
			Details: map[string]string{"change": c.ID, "name": c.Name, "customer_data": fmt.Sprint(c.CustomerData), "effective": c.Effective.Format(time.RFC3339)}})
		return err
	})
	if err != nil {
		return Change{}, err
	}
	if s.jobs != nil {
		params, _ := json.Marshal(notifyParams{Change: c.ID})
		if _, err := s.jobs.Enqueue(ctx, jobs.Job{Tenant: ids.ServiceTenant, Kind: NotifyJob, Params: params, Subject: "subprocessor-change:" + c.ID, CreatedBy: p.User}); err != nil {
			s.log.ErrorContext(ctx, "subprocessors: enqueue the notification", "change", c.ID, "err", err)
		}
	}
	return c, nil
}

// Registry returns the public list as of now.
func (s *Subprocessors) Registry(ctx context.Context) (Registry, error) {
	all, err := s.store.SubprocessorChanges(ctx)
	if err != nil {
		return Registry{}, err
	}
	return buildRegistry(all, s.clock.Now().UTC()), nil
}

func buildRegistry(all []Change, now time.Time) Registry {
	st := computeState(slices.Clone(all), now)
	r := Registry{Subprocessors: []Subprocessor{}, Upcoming: []Change{}, Changes: []Change{}, Notice: NoticeTerms{NoticeCustomerData, NoticeOther, NoticeCustomerDataMonths, NoticeOtherDays}}
	// The first announcement of each subprocessor still in force names
	// when it was first announced; its terms are the latest in force.
	for _, c := range st.current {
		r.Subprocessors = append(r.Subprocessors, Subprocessor{ID: c.Subprocessor, Name: c.Name, Purpose: c.Purpose, Location: c.Location,
			Categories: c.Categories, CustomerData: c.CustomerData, Effective: c.Effective, Announced: c.Announced})
		if c.CustomerData {
			r.CustomerData++
		}
	}
	slices.SortFunc(r.Subprocessors, func(a, b Subprocessor) int {
		return strings.Compare(strings.ToLower(a.Name)+a.ID, strings.ToLower(b.Name)+b.ID)
	})
	for _, c := range all {
		if c.Announced.After(r.AsOf) {
			r.AsOf = c.Announced
		}
		if c.InForce(now) && c.Effective.After(r.AsOf) {
			r.AsOf = c.Effective
		}
		if !c.InForce(now) {
			r.Upcoming = append(r.Upcoming, c)
		}
		r.Changes = append(r.Changes, c)
	}
	slices.SortFunc(r.Upcoming, func(a, b Change) int { return a.Effective.Compare(b.Effective) })
	slices.SortFunc(r.Changes, func(a, b Change) int {
		if d := b.Announced.Compare(a.Announced); d != 0 {
			return d
		}
		return strings.Compare(b.ID, a.ID)
	})
	return r
}

// Operator returns the registry with every tenant's objections, for operators.
func (s *Subprocessors) Operator(ctx context.Context, p principal.Principal) (OperatorView, error) {
	if p.Kind != principal.Operator {
		return OperatorView{}, errs.E(errs.Forbidden, "Only operators of the service see every objection.")
	}
	reg, err := s.Registry(ctx)
	if err != nil {
		return OperatorView{}, err
	}
	obj, err := s.store.Objections(ctx, "")
	if err != nil {
		return OperatorView{}, err
	}
	return OperatorView{Registry: reg, Objections: obj}, nil
}

func tenantAdmin(p principal.Principal) error {
	if p.Kind != principal.Member || p.Tenant == "" || !slices.Contains(p.Roles, principal.TenantAdmin) {
		return errs.E(errs.Forbidden, "Only tenant admins see subprocessor notices.")
	}
	return nil
}

// Notices returns every announced change, newest first, with the caller's
// tenant's objections: the in-app notice for tenant admins.
func (s *Subprocessors) Notices(ctx context.Context, p principal.Principal) ([]Notice, error) {
	if err := tenantAdmin(p); err != nil {
		return nil, err
	}
	reg, err := s.Registry(ctx)
	if err != nil {
		return nil, err
	}
	obj, err := s.store.Objections(ctx, p.Tenant)
	if err != nil {
		return nil, err
	}
	byChange := map[string]Objection{}
	for _, o := range obj {
		byChange[o.Change] = o
	}
	now := s.clock.Now()
	out := make([]Notice, 0, len(reg.Changes))
	for _, c := range reg.Changes {
		n := Notice{Change: c, InEffect: c.InForce(now)}
		if o, ok := byChange[c.ID]; ok {
			n.Objection = &o
		}
		out = append(out, n)
	}
	return out, nil
}

// Object records the caller's tenant's objection to a change (replacing an
// earlier one of the tenant's to the same change).
func (s *Subprocessors) Object(ctx context.Context, p principal.Principal, change string, in ObjectionInput) (Objection, error) {
	if err := tenantAdmin(p); err != nil {
		return Objection{}, err
	}
	in.Reason = strings.TrimSpace(in.Reason)
	if in.Reason == "" || utf8.RuneCountInString(in.Reason) > 2000 || !utf8.ValidString(in.Reason) {
		return Objection{}, errs.E(errs.Invalid, "Give the reason for the objection, in at most 2000 characters.")
	}
	all, err := s.store.SubprocessorChanges(ctx)
	if err != nil {
		return Objection{}, err
	}
	i := slices.IndexFunc(all, func(c Change) bool { return c.ID == change })
	if i < 0 {
		return Objection{}, errs.E(errs.NotFound, "There is no such subprocessor change.")
	}
	if all[i].Kind == ChangeRemove {
		return Objection{}, errs.E(errs.Invalid, "A removal cannot be objected to.")
	}
	o := Objection{ID: ids.New(), Tenant: p.Tenant, Change: change, Account: p.User, Reason: in.Reason, At: s.clock.Now().UTC()}
	err = s.store.UpdateSubprocessors(ctx, func(tx SubprocessorTx) error {
		if err := tx.PutObjection(ctx, o); err != nil {
			return err
		}
		_, err := s.audit.Append(ctx, tx, audit.Entry{Actor: p, Tenant: p.Tenant, Action: "subprocessor.object", Target: "subprocessor-change:" + change,
			Details: map[string]string{"subprocessor": all[i].Subprocessor, "reason_chars": fmt.Sprint(utf8.RuneCountInString(in.Reason))}})
		return err
	})
	return o, err
}

func webhookAAD(tenant ids.TenantID) keys.AAD {
	return keys.AAD{Kind: "subprocessor-webhook-secret", ID: string(tenant)}
}

// SetWebhook sets the caller's tenant's webhook and returns its new
// signing secret, shown only this once.
func (s *Subprocessors) SetWebhook(ctx context.Context, p principal.Principal, in WebhookInput) (WebhookSetting, error) {
	if err := tenantAdmin(p); err != nil {
		return WebhookSetting{}, err
	}
	if err := s.checkEndpoint(in.URL); err != nil {
		return WebhookSetting{}, err
	}
	secret := base64.RawURLEncoding.EncodeToString(ids.Token(32))
	sealed, err := s.keys.Seal(ctx, p.Tenant, webhookAAD(p.Tenant), []byte(secret))
	if err != nil {
		return WebhookSetting{}, err
	}
	w := Webhook{Tenant: p.Tenant, URL: in.URL, Secret: sealed, Created: s.clock.Now().UTC()}
	err = s.store.UpdateSubprocessors(ctx, func(tx SubprocessorTx) error {
		if err := tx.PutSubprocessorWebhook(ctx, w); err != nil {
			return err
		}
		_, err := s.audit.Append(ctx, tx, audit.Entry{Actor: p, Tenant: p.Tenant, Action: "subprocessor.webhook.set", Target: "subprocessor-webhook"})
		return err
	})
	if err != nil {
		return WebhookSetting{}, err
	}
	return WebhookSetting{Configured: true, URL: w.URL, Created: w.Created, Secret: secret}, nil
}

// Webhook returns the caller's tenant's webhook setting (never its secret).
func (s *Subprocessors) Webhook(ctx context.Context, p principal.Principal) (WebhookSetting, error) {
	if err := tenantAdmin(p); err != nil {
		return WebhookSetting{}, err
	}
	w, found, err := s.store.SubprocessorWebhook(ctx, p.Tenant)
	if err != nil || !found {
		return WebhookSetting{}, err
	}
	return WebhookSetting{Configured: true, URL: w.URL, Created: w.Created}, nil
}

// DeleteWebhook removes the caller's tenant's webhook.
func (s *Subprocessors) DeleteWebhook(ctx context.Context, p principal.Principal) error {
	if err := tenantAdmin(p); err != nil {
		return err
	}
	return s.store.UpdateSubprocessors(ctx, func(tx SubprocessorTx) error {
		ok, err := tx.DeleteSubprocessorWebhook(ctx, p.Tenant)
		if err != nil {
			return err
		}
		if !ok {
			return errs.E(errs.NotFound, "No webhook is set for subprocessor notices.")
		}
		_, err = s.audit.Append(ctx, tx, audit.Entry{Actor: p, Tenant: p.Tenant, Action: "subprocessor.webhook.remove", Target: "subprocessor-webhook"})
		return err
	})
}
