package retention

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kaigi/kaigi/internal/chat"
	"github.com/kaigi/kaigi/internal/errs"
	"github.com/kaigi/kaigi/internal/ids"
)

// Kinds of policy.
const (
	RetainOnly       = "retain"             // keep for Days, then leave alone
	DeleteOnly       = "delete"             // delete after Days
	RetainThenDelete = "retain_then_delete" // keep for Days, then delete
)

// Kinds of item.
const (
	KindMessage   = "message"
	KindRecording = "recording"
)

// Limits of what a policy or a hold may say.
const (
	MinDays     = 1
	MaxDays     = 36500 // a hundred years
	MaxNameLen  = 120   // characters
	MaxScopeIDs = 500   // ids in one list of a scope
	MaxKeywords = 50
	MaxKeyword  = 100 // characters of one keyword
)

// Scope says which items a policy covers: the whole tenant, or the items of
// some teams (their channels, and meetings held in them), of some chats
// (one-to-one, group and meeting chats, by channel id) and of some people
// (what they wrote; for recordings, the ones they started).
type Scope struct {
	All   bool         `json:"all" doc:"The whole organisation; then teams, chats and users are empty."`
	Teams []string     `json:"teams,omitempty" doc:"Team ids: every channel of the team."`
	Chats []string     `json:"chats,omitempty" doc:"Chat ids (one-to-one, group or meeting chats)."`
	Users []ids.UserID `json:"users,omitempty" doc:"Account ids: the items they authored (recordings they started)."`
}

// Policy is a retention policy.
type Policy struct {
	ID        string       `json:"id"`
	Tenant    ids.TenantID `json:"-"`
	Name      string       `json:"name"`
	Kind      string       `json:"kind" doc:"retain, delete or retain_then_delete."`
	Days      int          `json:"days" doc:"How long, in days from an item's creation (1 to 36500)."`
	Scope     Scope        `json:"scope"`
	CreatedBy ids.UserID   `json:"created_by"`
	Created   time.Time    `json:"created"`
}

// Retains reports whether the policy keeps items for its duration.
func (p Policy) Retains() bool { return p.Kind == RetainOnly || p.Kind == RetainThenDelete }

// Deletes reports whether the policy deletes items at the end of its duration.
func (p Policy) Deletes() bool { return p.Kind == DeleteOnly || p.Kind == RetainThenDelete }

// Query narrows a hold to the items that match all of its parts.
type Query struct {
	Keywords []string     `json:"keywords,omitempty" doc:"Any of these words in the text (any version) of a message or its attachments' names; sealed at rest. Recordings have no text and never match keywords."`
	Senders  []ids.UserID `json:"senders,omitempty" doc:"Only items by these people."`
	From     time.Time    `json:"from,omitzero" doc:"Only items created at or after."`
	To       time.Time    `json:"to,omitzero" doc:"Only items created before."`
}

// Empty reports whether the query narrows nothing.
func (q Query) Empty() bool {
	return len(q.Keywords) == 0 && len(q.Senders) == 0 && q.From.IsZero() && q.To.IsZero()
}

// Hold is a legal hold. With no custodians and no locations it covers the
// whole tenant, narrowed by its query.
type Hold struct {
	ID         string       `json:"id"`
	Tenant     ids.TenantID `json:"-"`
	Name       string       `json:"name"`
	Custodians []ids.UserID `json:"custodians,omitempty" doc:"People whose items are held: what they wrote, recordings they started, and their chats."`
	Locations  []string     `json:"locations,omitempty" doc:"Team and channel or chat ids whose items are held."`
	Query      Query        `json:"query"`
	CreatedBy  ids.UserID   `json:"created_by"`
	Created    time.Time    `json:"created"`
	ReleasedBy ids.UserID   `json:"released_by,omitempty"`
	Released   time.Time    `json:"released,omitzero"`
	// SealedQuery is the keywords as stored (sealed); Query.Keywords is
	// filled only once opened.
	SealedQuery []byte `json:"-"`
	Keywords    int    `json:"keyword_count" doc:"How many keywords the query has."`
}

// Active reports whether the hold was not released.
func (h Hold) Active() bool { return h.Released.IsZero() }

// Item is something retention keeps or deletes: a message (with its
// versions, reactions, attachments, events and notifications) or a meeting
// recording file.
type Item struct {
	Kind    string       `json:"kind"`
	ID      string       `json:"id"`
	Tenant  ids.TenantID `json:"-"`
	Author  ids.UserID   `json:"author"`
	Created time.Time    `json:"created"`
	// Deleted is when its author or a reviewer deleted it from the
	// conversation (messages only).
	Deleted time.Time `json:"deleted,omitzero"`
	// Places are the channel or chat and the team it lives in (for
	// recordings, the meeting's channel, team and chat).
	Places []string `json:"places"`
}

// in reports whether any of the item's places is in set.
func (it Item) in(set []string) bool {
	return slices.ContainsFunc(it.Places, func(p string) bool { return p != "" && slices.Contains(set, p) })
}

// Covers reports whether the policy's scope covers the item.
func (p Policy) Covers(it Item) bool {
	return p.Scope.All || it.in(p.Scope.Teams) || it.in(p.Scope.Chats) || slices.Contains(p.Scope.Users, it.Author)
}

// covers reports whether the hold covers the item, given its custodians'
// chats and a function that says whether the item's text has a keyword
// (called only when the rest matches).
func (h Hold) covers(it Item, custodianChats []string, hasKeyword func(Item, []string) bool) bool {
	if !h.Active() {
		return false
	}
	if len(h.Custodians) > 0 || len(h.Locations) > 0 {
		if !slices.Contains(h.Custodians, it.Author) && !it.in(h.Locations) && !it.in(custodianChats) {
			return false
		}
	}
	q := h.Query
	if len(q.Senders) > 0 && !slices.Contains(q.Senders, it.Author) {
		return false
	}
	if !q.From.IsZero() && it.Created.Before(q.From) {
		return false
	}
	if !q.To.IsZero() && !it.Created.Before(q.To) {
		return false
	}
	if len(q.Keywords) > 0 {
		return it.Kind == KindMessage && hasKeyword(it, q.Keywords)
	}
	return true
}

// MatchKeywords reports whether any keyword occurs in any of texts, ignoring case.
func MatchKeywords(texts []string, keywords []string) bool {
	for _, t := range texts {
		lt := strings.ToLower(t)
		for _, k := range keywords {
			if k != "" && strings.Contains(lt, strings.ToLower(k)) {
				return true
			}
		}
	}
	return false
}

// Applied is a policy as it applies to one item.
type Applied struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	Kind        string    `json:"kind"`
	Days        int       `json:"days"`
	RetainUntil time.Time `json:"retain_until,omitzero"`
	DeleteAfter time.Time `json:"delete_after,omitzero"`
}

// HoldRef names a hold that covers an item.
type HoldRef struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// What will happen to an item.
const (
	OutcomeHeld      = "held"       // a legal hold keeps it, untouched
	OutcomeDeleteOn  = "delete_on"  // deleted by the first run on or after DeleteOn
	OutcomeKeep      = "keep"       // no policy deletes it
	OutcomeDueNow    = "due"        // the next run deletes it
	OutcomeKeptUntil = "kept_until" // soft-deleted, kept by a retain policy until KeptUntil
)

// Fate is what retention will do with an item, and why.
type Fate struct {
	Item      Item      `json:"item"`
	Policies  []Applied `json:"policies"`
	Holds     []HoldRef `json:"holds"`
	Outcome   string    `json:"outcome" doc:"held, due, delete_on, kept_until or keep."`
	KeptUntil time.Time `json:"kept_until,omitzero" doc:"The latest end of the retain policies that apply."`
	DeleteOn  time.Time `json:"delete_on,omitzero" doc:"When the deletion job removes it (unless a hold applies by then)."`
	Summary   string    `json:"summary" doc:"The same, in a sentence."`
}

// Due reports whether a run at now deletes the item.
func (f Fate) Due() bool { return f.Outcome == OutcomeDueNow }

func days(t time.Time, n int) time.Time { return t.Add(time.Duration(n) * 24 * time.Hour) }

// Decide works out an item's fate at now under the tenant's policies and the
// holds that cover it, following the principles of retention: a hold wins
// over everything; otherwise retention wins over deletion (nothing is
// deleted before the latest retain period ends), and of the deletions the
// earliest wins. An item deleted from its conversation by a person is kept
// while a retain period lasts and then deleted at the next run.
func Decide(it Item, policies []Policy, holds []Hold, now time.Time) Fate {
	f := Fate{Item: it, Policies: []Applied{}, Holds: []HoldRef{}}
	var deleteAt time.Time
	for _, p := range policies {
		if !p.Covers(it) {
			continue
		}
		a := Applied{ID: p.ID, Name: p.Name, Kind: p.Kind, Days: p.Days}
		end := days(it.Created, p.Days)
		if p.Retains() {
			a.RetainUntil = end
			if end.After(f.KeptUntil) {
				f.KeptUntil = end
			}
		}
		if p.Deletes() {
			a.DeleteAfter = end
			if deleteAt.IsZero() || end.Before(deleteAt) {
				deleteAt = end
			}
		}
		f.Policies = append(f.Policies, a)
	}
	for _, h := range holds {
		f.Holds = append(f.Holds, HoldRef{ID: h.ID, Name: h.Name})
	}
	if !it.Deleted.IsZero() {
		// Deleted by a person: purge once no retain period holds it.
		at := it.Deleted
		if f.KeptUntil.After(at) {
			at = f.KeptUntil
		}
		if deleteAt.IsZero() || at.Before(deleteAt) {
			deleteAt = at
		}
	}
	if !deleteAt.IsZero() && deleteAt.Before(f.KeptUntil) {
		deleteAt = f.KeptUntil
	}
	f.DeleteOn = deleteAt
	switch {
	case len(holds) > 0:
		f.Outcome = OutcomeHeld
		f.Summary = fmt.Sprintf("Kept: held by %d legal hold(s); nothing deletes it until every hold on it is released.", len(holds))
	case !deleteAt.IsZero() && !now.Before(deleteAt):
		f.Outcome = OutcomeDueNow
		f.Summary = "The next run of the deletion job deletes it."
	case !deleteAt.IsZero() && !it.Deleted.IsZero():
		f.Outcome = OutcomeKeptUntil
		f.Summary = "Deleted from its conversation; its sealed copy is kept by a retention policy until " + f.KeptUntil.UTC().Format(time.RFC3339) + ", then deleted."
	case !deleteAt.IsZero():
		f.Outcome = OutcomeDeleteOn
		f.Summary = "Deleted on " + deleteAt.UTC().Format(time.RFC3339) + " by the deletion job."
	default:
		f.Outcome = OutcomeKeep
		f.Summary = "Kept: no policy deletes it."
		if !f.KeptUntil.IsZero() {
			f.Summary = "Kept: retained at least until " + f.KeptUntil.UTC().Format(time.RFC3339) + "; no policy deletes it."
		}
	}
	return f
}

// ---- validation

func checkName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" || utf8.RuneCountInString(name) > MaxNameLen || !utf8.ValidString(name) ||
		strings.ContainsFunc(name, chat.UnsafeInLine) {
		return "", errs.E(errs.Invalid, "Give it a name of 1 to %d characters on one line, without control or direction-changing characters.", MaxNameLen)
	}
	return name, nil
}

func checkIDs[T ~string](what string, list []T) ([]T, error) {
	if len(list) > MaxScopeIDs {
		return nil, errs.E(errs.Invalid, "At most %d %s.", MaxScopeIDs, what)
	}
	out := make([]T, 0, len(list))
	for _, id := range list {
		if !ids.Valid(string(id)) {
			return nil, errs.E(errs.Invalid, "%q is not an id of %s.", truncate(string(id), 40), what)
		}
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// Normalize checks a new policy's fields (not whether its ids exist) and
// returns it cleaned up.
func (p Policy) Normalize() (Policy, error) {
	var err error
	if p.Name, err = checkName(p.Name); err != nil {
		return p, err
	}
	switch p.Kind {
	case RetainOnly, DeleteOnly, RetainThenDelete:
	default:
		return p, errs.E(errs.Invalid, "The kind of policy is retain, delete or retain_then_delete.")
	}
	if p.Days < MinDays || p.Days > MaxDays {
		return p, errs.E(errs.Invalid, "The duration is %d to %d days.", MinDays, MaxDays)
	}
	s := p.Scope
	if s.Teams, err = checkIDs("teams", s.Teams); err != nil {
		return p, err
	}
	if s.Chats, err = checkIDs("chats", s.Chats); err != nil {
		return p, err
	}
	if s.Users, err = checkIDs("people", s.Users); err != nil {
		return p, err
	}
	lists := len(s.Teams) + len(s.Chats) + len(s.Users)
	switch {
	case s.All && lists > 0:
		return p, errs.E(errs.Invalid, "A policy covers either the whole organisation or a list of teams, chats and people, not both.")
	case !s.All && lists == 0:
		return p, errs.E(errs.Invalid, "Choose the whole organisation, or at least one team, chat or person.")
	}
	p.Scope = s
	return p, nil
}

// Normalize checks a new hold's fields (not whether its ids exist) and
// returns it cleaned up.
func (h Hold) Normalize() (Hold, error) {
	var err error
	if h.Name, err = checkName(h.Name); err != nil {
		return h, err
	}
	if h.Custodians, err = checkIDs("custodians", h.Custodians); err != nil {
		return h, err
	}
	if h.Locations, err = checkIDs("locations", h.Locations); err != nil {
		return h, err
	}
	q := h.Query
	if q.Senders, err = checkIDs("senders", q.Senders); err != nil {
		return h, err
	}
	if len(q.Keywords) > MaxKeywords {
		return h, errs.E(errs.Invalid, "At most %d keywords.", MaxKeywords)
	}
	kws := make([]string, 0, len(q.Keywords))
	for _, k := range q.Keywords {
		k = strings.TrimSpace(k)
		if k == "" || utf8.RuneCountInString(k) > MaxKeyword || !utf8.ValidString(k) {
			return h, errs.E(errs.Invalid, "A keyword is 1 to %d characters.", MaxKeyword)
		}
		if !slices.Contains(kws, k) {
			kws = append(kws, k)
		}
	}
	q.Keywords = kws
	if !q.From.IsZero() && !q.To.IsZero() && !q.From.Before(q.To) {
		return h, errs.E(errs.Invalid, "The date range ends before it starts.")
	}
	h.Query = q
	h.Keywords = len(kws)
	return h, nil
}
