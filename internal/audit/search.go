package audit

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/kaigi/kaigi/internal/errs"
	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/principal"
)

// Search limits.
const (
	DefaultSearchLimit = 100
	MaxSearchLimit     = 500
	// MaxFieldLen bounds each text filter, in bytes.
	MaxFieldLen = 256
	// MaxSearchRange is the longest time range a search may span: the
	// longest retention and a year to spare.
	MaxSearchRange = 11 * 366 * 24 * time.Hour
)

// ActorKinds are the actor kinds a search may ask for (principal.ActorKind).
var ActorKinds = []string{"anonymous", "member", "guest", "tenant_admin", "compliance_officer", "operator", "operator_with_grant", "system"}

// Filter selects records of one tenant's log. Zero fields match everything.
type Filter struct {
	From      time.Time `json:"from,omitzero" doc:"Records at or after this time (RFC 3339)."`
	To        time.Time `json:"to,omitzero" doc:"Records before this time (RFC 3339)."`
	ActorID   string    `json:"actor_id,omitempty" doc:"The acting account or job."`
	ActorKind string    `json:"actor_kind,omitempty" doc:"member, guest, tenant_admin, compliance_officer, operator, operator_with_grant, system or anonymous."`
	// Action matches exactly, or as a prefix when it ends with "." or "*"
	// ("chat." and "chat.*" match every chat action).
	Action string `json:"action,omitempty" doc:"An action (chat.message.send), or a prefix ending in . or * (chat.)."`
	Target string `json:"target,omitempty" doc:"What was acted on, exactly."`
	Result Result `json:"result,omitempty" doc:"success, failure or denied."`

	// Before pages a search: only records with a smaller seq (0: from the newest).
	Before int64 `json:"-"`
	// After pages an export: only records with a larger seq, oldest first.
	After int64 `json:"-"`
	// Ascending orders oldest first (exports); searches are newest first.
	Ascending bool `json:"-"`
	Limit     int  `json:"-"`
}

// ActionPrefix returns the prefix when Action asks for one.
func (f Filter) ActionPrefix() (string, bool) {
	switch {
	case strings.HasSuffix(f.Action, "*"):
		return strings.TrimSuffix(f.Action, "*"), true
	case strings.HasSuffix(f.Action, "."):
		return f.Action, true
	}
	return "", false
}

// Fields names the filter's set fields, for the audit record of a search:
// their names only, never their values.
func (f Filter) Fields() string {
	var out []string
	add := func(set bool, name string) {
		if set {
			out = append(out, name)
		}
	}
	add(!f.From.IsZero(), "from")
	add(!f.To.IsZero(), "to")
	add(f.ActorID != "", "actor_id")
	add(f.ActorKind != "", "actor_kind")
	add(f.Action != "", "action")
	add(f.Target != "", "target")
	add(f.Result != "", "result")
	return strings.Join(out, ",")
}

// Validate checks f and fills in the default limit. Bad filters are
// errs.Invalid with a message for people.
func (f *Filter) Validate() error {
	if !f.From.IsZero() && !f.To.IsZero() {
		if !f.From.Before(f.To) {
			return errs.E(errs.Invalid, "The start of the time range must be before its end.")
		}
		if f.To.Sub(f.From) > MaxSearchRange {
			return errs.E(errs.Invalid, "The time range may span at most 11 years.")
		}
	}
	for _, t := range []time.Time{f.From, f.To} {
		if !t.IsZero() && (t.Year() < 2000 || t.Year() > 9999) {
			return errs.E(errs.Invalid, "Times must be between the years 2000 and 9999.")
		}
	}
	for name, v := range map[string]string{"actor_id": f.ActorID, "target": f.Target, "action": f.Action} {
		if len(v) > MaxFieldLen {
			return errs.E(errs.Invalid, "%s may be at most %d characters long.", name, MaxFieldLen)
		}
		if !utf8.ValidString(v) || strings.ContainsFunc(v, unicode.IsControl) {
			return errs.E(errs.Invalid, "%s may not contain control characters.", name)
		}
	}
	if f.ActorKind != "" && !slices.Contains(ActorKinds, f.ActorKind) {
		return errs.E(errs.Invalid, "actor_kind must be one of %s.", strings.Join(ActorKinds, ", "))
	}
	switch f.Result {
	case "", Success, Failure, Denied:
	default:
		return errs.E(errs.Invalid, "result must be success, failure or denied.")
	}
	if f.Action != "" {
		a := strings.TrimSuffix(f.Action, "*")
		if a == "" || strings.ContainsFunc(a, func(r rune) bool {
			return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-')
		}) {
			return errs.E(errs.Invalid, "action may hold lower-case letters, digits, '.', '_' and '-', and may end in '*'.")
		}
	}
	if f.Before < 0 || f.After < 0 {
		return errs.E(errs.Invalid, "The page cursor must be a record number.")
	}
	switch {
	case f.Limit == 0:
		f.Limit = DefaultSearchLimit
	case f.Limit < 0 || f.Limit > MaxSearchLimit:
		return errs.E(errs.Invalid, "limit must be between 1 and %d.", MaxSearchLimit)
	}
	return nil
}

// Page is one page of a search, newest first.
type Page struct {
	Records []Record `json:"records"`
	// Next is the cursor of the next (older) page: pass it as before.
	// Empty on the last page.
	Next string `json:"next,omitempty"`
}

// Searcher finds records of one tenant.
type Searcher interface {
	// SearchAudit returns up to f.Limit records of tenant matching f:
	// newest first with seq < f.Before (when set), or with f.Ascending
	// oldest first with seq > f.After.
	SearchAudit(ctx context.Context, tenant ids.TenantID, f Filter) ([]Record, error)
}

// CanRead reports whether p may read its tenant's audit log: tenant admins
// and compliance officers may.
func CanRead(p principal.Principal) error {
	if p.Tenant == "" || !(p.Has(principal.TenantAdmin) || p.Has(principal.ComplianceOfficer)) {
		return errs.E(errs.Forbidden, "Only tenant admins and compliance officers may read the audit log.")
	}
	return nil
}

// Search returns a page of p's tenant's log matching f, newest first. The
// search is itself audited ("audit.search"), with the names of the filter's
// fields and the number of records returned.
func (s *Service) Search(ctx context.Context, p principal.Principal, f Filter) (Page, error) {
	if err := CanRead(p); err != nil {
		return Page{}, err
	}
	f.After, f.Ascending = 0, false
	if err := f.Validate(); err != nil {
		return Page{}, err
	}
	want := f.Limit
	f.Limit = want + 1
	recs, err := s.store.SearchAudit(ctx, p.Tenant, f)
	if err != nil {
		return Page{}, err
	}
	var page Page
	if len(recs) > want {
		recs = recs[:want]
		page.Next = strconv.FormatInt(recs[want-1].Seq, 10)
	}
	if recs == nil {
		recs = []Record{}
	}
	page.Records = recs
	if err := s.record(ctx, Entry{Actor: p, Action: "audit.search", Target: "tenant:" + string(p.Tenant),
		Details: map[string]string{"filters": f.Fields(), "count": strconv.Itoa(len(recs))}}); err != nil {
		return Page{}, err
	}
	return page, nil
}
