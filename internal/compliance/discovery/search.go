package discovery

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/kaigi/kaigi/internal/audit"
	"github.com/kaigi/kaigi/internal/chat"
	"github.com/kaigi/kaigi/internal/errs"
	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/jobs"
	"github.com/kaigi/kaigi/internal/keys"
	"github.com/kaigi/kaigi/internal/principal"
)

func queryAAD(id string) keys.AAD { return keys.AAD{Kind: "discovery-query", ID: id} }

// fold makes text comparable as chat search does: compatibility-normalised
// and lower-cased, so that full-width and half-width forms match.
func fold(s string) string { return strings.ToLower(norm.NFKC.String(s)) }

var (
	earliest = time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)
	latest   = time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)
)

// checkQuery validates q for the actor's tenant and normalises it (trimmed
// keywords, sorted locations without duplicates).
func (s *Service) checkQuery(ctx context.Context, tenant ids.TenantID, q *Query) error {
	q.Keywords = strings.TrimSpace(q.Keywords)
	switch {
	case len(q.Keywords) > MaxKeywordBytes || !utf8.ValidString(q.Keywords):
		return errs.E(errs.Invalid, "Keywords are at most %d bytes of text.", MaxKeywordBytes)
	case len(strings.Fields(q.Keywords)) > MaxKeywords:
		return errs.E(errs.Invalid, "Search for at most %d words at once.", MaxKeywords)
	case len(q.Senders) > MaxPeople || len(q.Participants) > MaxPeople:
		return errs.E(errs.Invalid, "Name at most %d senders and %d participants.", MaxPeople, MaxPeople)
	case len(q.Locations) > MaxLocations:
		return errs.E(errs.Invalid, "Name at most %d locations.", MaxLocations)
	}
	for _, t := range []time.Time{q.From, q.To} {
		if !t.IsZero() && (t.Before(earliest) || !t.Before(latest)) {
			return errs.E(errs.Invalid, "Dates must be between 1970 and 2099.")
		}
	}
	if !q.From.IsZero() && !q.To.IsZero() && !q.To.After(q.From) {
		return errs.E(errs.Invalid, "The end of the date range must be after its start.")
	}
	if q.Keywords == "" && len(q.Senders) == 0 && len(q.Participants) == 0 && len(q.Locations) == 0 && q.From.IsZero() && q.To.IsZero() {
		return errs.E(errs.Invalid, "Give at least one condition: keywords, senders, participants, dates or locations.")
	}
	for _, list := range [][]ids.UserID{q.Senders, q.Participants} {
		for _, u := range list {
			a, err := s.o.Accounts.AccountByID(ctx, u)
			if !ids.Valid(string(u)) || err != nil || a.Tenant != tenant {
				return errs.E(errs.Invalid, "%q is not a person in your organisation.", clip(string(u)))
			}
		}
	}
	q.Locations = slices.Compact(slices.Sorted(slices.Values(q.Locations)))
	for _, l := range q.Locations {
		if !ids.Valid(l) {
			return errs.E(errs.Invalid, "%q is not a team, channel or chat of your organisation.", clip(l))
		}
		if t, err := s.o.Chat.Team(ctx, l); err == nil && t.Tenant == tenant {
			continue
		}
		if c, err := s.o.Chat.Channel(ctx, l); err == nil && c.Tenant == tenant {
			continue
		}
		return errs.E(errs.Invalid, "%q is not a team, channel or chat of your organisation.", clip(l))
	}
	return nil
}

func clip(s string) string {
	if len(s) > 40 {
		s = s[:40] + "…"
	}
	return strings.ToValidUTF8(s, "?")
}

// CreateSearch starts a search of a case. It runs as a job; the query is
// sealed at rest.
func (s *Service) CreateSearch(ctx context.Context, p principal.Principal, caseID string, q Query) (Search, error) {
	c, err := s.caseFor(ctx, p, caseID)
	if err != nil {
		return Search{}, err
	}
	if c.State == Closed {
		return Search{}, ErrClosed
	}
	if err := s.checkQuery(ctx, p.Tenant, &q); err != nil {
		return Search{}, err
	}
	now := s.o.Clock.Now()
	sr := Search{ID: ids.New(), Tenant: p.Tenant, Case: c.ID, Query: q, CreatedBy: p.User, Created: now, State: Running}
	b, _ := json.Marshal(q)
	if sr.Sealed, err = s.o.Keys.Seal(ctx, p.Tenant, queryAAD(sr.ID), b); err != nil {
		return Search{}, err
	}
	sr.Job = ids.New()
	err = s.o.Store.UpdateDiscovery(ctx, func(tx Tx) error {
		if err := tx.InsertSearch(ctx, sr); err != nil {
			return err
		}
		_, err := s.o.Audit.Append(ctx, tx, audit.Entry{Actor: p, Action: "ediscovery.search.create", Target: "search:" + sr.ID,
			Details: map[string]string{"case": c.ID, "keywords": strconv.Itoa(len(strings.Fields(q.Keywords))), "senders": strconv.Itoa(len(q.Senders)),
				"participants": strconv.Itoa(len(q.Participants)), "locations": strconv.Itoa(len(q.Locations)), "job": sr.Job}})
		return err
	})
	if err != nil {
		return Search{}, err
	}
	j, err := s.o.Jobs.Enqueue(ctx, jobs.Job{ID: sr.Job, Tenant: p.Tenant, Kind: JobSearch, Subject: "case:" + c.ID, CreatedBy: p.User, Params: []byte(sr.ID)})
	if err != nil {
		return Search{}, err
	}
	sr.Progress = &j
	return sr, nil
}

// Searches returns a case's searches, newest first, with their queries.
func (s *Service) Searches(ctx context.Context, p principal.Principal, caseID string) ([]Search, error) {
	c, err := s.caseFor(ctx, p, caseID)
	if err != nil {
		return nil, err
	}
	out, err := s.o.Store.Searches(ctx, c.ID)
	if err != nil {
		return nil, err
	}
	for i := range out {
		if err := s.openSearch(ctx, &out[i]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (s *Service) openSearch(ctx context.Context, sr *Search) error {
	b, err := s.o.Keys.Open(ctx, sr.Tenant, queryAAD(sr.ID), sr.Sealed)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, &sr.Query); err != nil {
		return err
	}
	if s.o.JobStore != nil {
		if j, err := s.o.JobStore.Job(ctx, sr.Job); err == nil {
			sr.Progress = &j
			if j.State == jobs.Failed || j.State == jobs.Cancelled {
				sr.State = Failed
			}
		}
	}
	return nil
}

// searchFor returns a search of a case the actor is a member of.
func (s *Service) searchFor(ctx context.Context, p principal.Principal, id string) (Search, Case, error) {
	if err := officer(p); err != nil {
		return Search{}, Case{}, err
	}
	if !ids.Valid(id) {
		return Search{}, Case{}, ErrNoSearch
	}
	sr, err := s.o.Store.Search(ctx, id)
	if err != nil || sr.Tenant != p.Tenant {
		return Search{}, Case{}, ErrNoSearch
	}
	c, err := s.caseFor(ctx, p, sr.Case)
	if err != nil {
		return Search{}, Case{}, err
	}
	return sr, c, s.openSearch(ctx, &sr)
}

// GetSearch returns one search.
func (s *Service) GetSearch(ctx context.Context, p principal.Principal, id string) (Search, error) {
	sr, _, err := s.searchFor(ctx, p, id)
	return sr, err
}

// Page is a page of items.
type Page struct {
	Items []Item `json:"items"`
	Next  string `json:"next,omitempty" doc:"Pass as ?after= for the next page."`
}

// Results returns a page of a search's hits, opened. The read is audited.
func (s *Service) Results(ctx context.Context, p principal.Principal, id, after string, limit int) (Page, error) {
	sr, c, err := s.searchFor(ctx, p, id)
	if err != nil {
		return Page{}, err
	}
	limit = min(max(limit, 1), 100)
	hits, err := s.o.Store.Hits(ctx, sr.ID, after, limit)
	if err != nil {
		return Page{}, err
	}
	return s.page(ctx, p, c, hits, limit, "ediscovery.results.read", "search:"+sr.ID)
}

// ReviewSet returns a page of a case's review set, opened. The read is audited.
func (s *Service) ReviewSet(ctx context.Context, p principal.Principal, caseID, after string, limit int) (Page, error) {
	c, err := s.caseFor(ctx, p, caseID)
	if err != nil {
		return Page{}, err
	}
	limit = min(max(limit, 1), 100)
	hits, err := s.o.Store.Review(ctx, c.ID, after, limit)
	if err != nil {
		return Page{}, err
	}
	return s.page(ctx, p, c, hits, limit, "ediscovery.review.read", "case:"+c.ID)
}

func (s *Service) page(ctx context.Context, p principal.Principal, c Case, hits []Hit, limit int, action, target string) (Page, error) {
	pg := Page{Items: []Item{}}
	inReview, err := s.o.Store.InReview(ctx, c.ID, hitIDs(hits))
	if err != nil {
		return Page{}, err
	}
	o := newOpener(s, c.Tenant)
	for _, h := range hits {
		it, err := o.item(ctx, h.Item)
		if err != nil {
			return Page{}, err
		}
		it.InReview = inReview[h.Item]
		pg.Items = append(pg.Items, it)
	}
	if len(hits) == limit {
		pg.Next = hits[len(hits)-1].Item
	}
	err = s.record(ctx, audit.Entry{Actor: p, Action: action, Target: target,
		Details: map[string]string{"case": c.ID, "items": strconv.Itoa(len(pg.Items)), "items_sha256": hashIDs(hitIDs(hits))}})
	return pg, err
}

func hitIDs(hs []Hit) []string {
	out := make([]string, len(hs))
	for i, h := range hs {
		out[i] = h.Item
	}
	return out
}

// record appends an audit entry in a transaction of its own.
func (s *Service) record(ctx context.Context, e audit.Entry) error {
	return s.o.Store.UpdateDiscovery(ctx, func(tx Tx) error {
		_, err := s.o.Audit.Append(ctx, tx, e)
		return err
	})
}

// ReviewChange adds a search's hits (all, or the listed ones) to the review set.
type ReviewChange struct {
	Search string   `json:"search" doc:"The search of this case whose hits to add."`
	Items  []string `json:"items,omitempty" doc:"Only these hits; empty: all of them."`
}

// AddToReview adds hits of a search of the case to its review set and
// returns how many were new.
func (s *Service) AddToReview(ctx context.Context, p principal.Principal, caseID string, rc ReviewChange) (int64, error) {
	c, err := s.caseFor(ctx, p, caseID)
	if err != nil {
		return 0, err
	}
	if c.State == Closed {
		return 0, ErrClosed
	}
	if len(rc.Items) > MaxHits {
		return 0, errs.E(errs.Invalid, "Add at most %d items at once.", MaxHits)
	}
	sr, err := s.o.Store.Search(ctx, rc.Search)
	if !ids.Valid(rc.Search) || err != nil || sr.Case != c.ID || sr.Tenant != c.Tenant {
		return 0, ErrNoSearch
	}
	want := map[string]bool{}
	for _, it := range rc.Items {
		want[it] = true
	}
	var add []Hit
	after := ""
	for {
		hs, err := s.o.Store.Hits(ctx, sr.ID, after, 1000)
		if err != nil {
			return 0, err
		}
		for _, h := range hs {
			if len(want) == 0 || want[h.Item] {
				add = append(add, h)
				delete(want, h.Item)
			}
		}
		if len(hs) < 1000 {
			break
		}
		after = hs[len(hs)-1].Item
	}
	if len(rc.Items) > 0 && len(want) > 0 {
		return 0, errs.E(errs.Invalid, "Only hits of the search can be added: %d of the items are not among them.", len(want))
	}
	var n int64
	err = s.o.Store.UpdateDiscovery(ctx, func(tx Tx) error {
		var err error
		if n, err = tx.AddReview(ctx, c.ID, add, p.User, s.o.Clock.Now()); err != nil {
			return err
		}
		_, err = s.o.Audit.Append(ctx, tx, audit.Entry{Actor: p, Action: "ediscovery.review.add", Target: "case:" + c.ID,
			Details: map[string]string{"search": sr.ID, "items": strconv.Itoa(len(add)), "added": strconv.FormatInt(n, 10), "items_sha256": hashIDs(hitIDs(add))}})
		return err
	})
	return n, err
}

// RemoveFromReview takes an item out of the review set.
func (s *Service) RemoveFromReview(ctx context.Context, p principal.Principal, caseID, item string) error {
	c, err := s.caseFor(ctx, p, caseID)
	if err != nil {
		return err
	}
	if c.State == Closed {
		return ErrClosed
	}
	return s.o.Store.UpdateDiscovery(ctx, func(tx Tx) error {
		ok, err := tx.RemoveReview(ctx, c.ID, item)
		if err != nil {
			return err
		}
		if !ok {
			return errs.E(errs.NotFound, "That item is not in the review set.")
		}
		_, err = s.o.Audit.Append(ctx, tx, audit.Entry{Actor: p, Action: "ediscovery.review.remove", Target: "case:" + c.ID, Details: map[string]string{"item": item}})
		return err
	})
}

// ---- the search job

type searchCursor struct {
	Chan   int    `json:"c"`
	ChanID string `json:"ch,omitempty"` // the channel at Chan, should the list have changed

	Seq     int64 `json:"s"`
	Scanned int64 `json:"n"`
	Hits    int64 `json:"h"`
}

// channelsOf returns the channels q covers, sorted by id.
func (s *Service) channelsOf(ctx context.Context, tenant ids.TenantID, q Query) ([]chat.Channel, error) {
	all, err := s.o.Store.TenantChannels(ctx, tenant)
	if err != nil {
		return nil, err
	}
	var out []chat.Channel
	teams := map[string][]ids.UserID{} // a team's members, read once for all its channels
	for _, c := range all {
		if c.Kind == chat.External && c.Tenant != tenant {
			continue
		}
		if len(q.Locations) > 0 && !slices.Contains(q.Locations, c.ID) && (c.Team == "" || !slices.Contains(q.Locations, c.Team)) {
			continue
		}
		if len(q.Participants) > 0 {
			members, err := s.membersOf(ctx, c, teams)
			if err != nil {
				return nil, err
			}
			ok := true
			for _, u := range q.Participants {
				if !slices.Contains(members, u) {
					ok = false
					break
				}
			}
			if !ok {
				continue
			}
		}
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b chat.Channel) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// membersOf returns the people of a conversation: a standard channel's
// team (kept in teams), or the members of any other.
func (s *Service) membersOf(ctx context.Context, c chat.Channel, teams map[string][]ids.UserID) ([]ids.UserID, error) {
	if c.Kind == chat.Standard {
		if out, ok := teams[c.Team]; ok {
			return out, nil
		}
		tms, err := s.o.Chat.TeamMembers(ctx, c.Team)
		if err != nil {
			return nil, err
		}
		out := make([]ids.UserID, len(tms))
		for i, m := range tms {
			out[i] = m.Account
		}
		teams[c.Team] = out
		return out, nil
	}
	return s.o.Chat.ChannelMembers(ctx, c.ID)
}

func (s *Service) runSearch(ctx context.Context, run *jobs.Run) error {
	j := run.Job()
	sr, err := s.o.Store.Search(ctx, string(j.Params))
	if err != nil || sr.Tenant != j.Tenant {
		return errs.E(errs.NotFound, "The search no longer exists.")
	}
	b, err := s.o.Keys.Open(ctx, sr.Tenant, queryAAD(sr.ID), sr.Sealed)
	if err != nil {
		return err
	}
	var q Query
	if err := json.Unmarshal(b, &q); err != nil {
		return err
	}
	words := strings.Fields(fold(q.Keywords))
	chans, err := s.channelsOf(ctx, sr.Tenant, q)
	if err != nil {
		return err
	}
	var cur searchCursor
	if j.Cursor != "" {
		if err := json.Unmarshal([]byte(j.Cursor), &cur); err != nil {
			return fmt.Errorf("search cursor: %w", err)
		}
	}
	if cur.ChanID != "" && (cur.Chan >= len(chans) || chans[cur.Chan].ID != cur.ChanID) {
		// Channels came or went since the checkpoint: find ours again.
		cur.Chan = len(chans)
		for i, c := range chans {
			if c.ID == cur.ChanID {
				cur.Chan = i
				break
			}
		}
	}
	total := j.Total
	if total == 0 {
		chIDs := make([]string, len(chans))
		for i, c := range chans {
			chIDs[i] = c.ID
		}
		if total, err = s.o.Store.CountChannelMessages(ctx, chIDs); err != nil {
			return err
		}
		total = max(total, 1)
	}
	truncated := false
	for cur.Chan < len(chans) && !truncated {
		if err := ctx.Err(); err != nil {
			return err
		}
		c := chans[cur.Chan]
		ms, err := s.o.Store.ChannelMessages(ctx, c.ID, cur.Seq, s.o.BatchSize)
		if err != nil {
			return err
		}
		if len(ms) == 0 {
			cur.Chan++
			cur.Seq = 0
			continue
		}
		hits, err := s.match(ctx, sr.Tenant, q, words, ms)
		if err != nil {
			return err
		}
		if cur.Hits+int64(len(hits)) > MaxHits {
			hits = hits[:MaxHits-cur.Hits]
			truncated = true
		}
		if len(hits) > 0 {
			if err := s.o.Store.UpdateDiscovery(ctx, func(tx Tx) error { return tx.InsertHits(ctx, sr.ID, hits) }); err != nil {
				return err
			}
		}
		cur.Seq, cur.ChanID = ms[len(ms)-1].Seq, c.ID
		cur.Scanned += int64(len(ms))
		cur.Hits += int64(len(hits))
		cb, _ := json.Marshal(cur)
		if err := run.Checkpoint(ctx, string(cb), min(cur.Scanned, total), max(total, cur.Scanned)); err != nil {
			return err
		}
	}
	final, _ := json.Marshal(cur)
	if err := run.Checkpoint(ctx, string(final), max(total, cur.Scanned), max(total, cur.Scanned)); err != nil {
		return err
	}
	n, hash, err := s.o.Store.HitsHash(ctx, sr.ID)
	if err != nil {
		return err
	}
	sr.State, sr.Scanned, sr.Hits, sr.HitsHash, sr.Truncated = Done, cur.Scanned, n, hash, truncated
	actor := principal.Job(JobSearch, sr.Tenant)
	err = s.o.Store.UpdateDiscovery(ctx, func(tx Tx) error {
		if err := tx.FinishSearch(ctx, sr); err != nil {
			return err
		}
		_, err := s.o.Audit.Append(ctx, tx, audit.Entry{Actor: actor, Action: "ediscovery.search.run", Target: "search:" + sr.ID,
			Details: map[string]string{"case": sr.Case, "requested_by": string(sr.CreatedBy), "scanned": strconv.FormatInt(cur.Scanned, 10),
				"hits": strconv.FormatInt(n, 10), "hits_sha256": hash, "truncated": strconv.FormatBool(truncated), "channels": strconv.Itoa(len(chans))}})
		return err
	})
	if err != nil {
		return err
	}
	run.SetResult("search:" + sr.ID)
	return nil
}

// match returns the messages of ms that q finds.
func (s *Service) match(ctx context.Context, tenant ids.TenantID, q Query, words []string, ms []chat.Message) ([]Hit, error) {
	var cand []chat.Message
	for _, m := range ms {
		if m.Tenant != tenant {
			continue
		}
		if !q.From.IsZero() && m.Created.Before(q.From) || !q.To.IsZero() && !m.Created.Before(q.To) {
			continue
		}
		if len(q.Senders) > 0 && !slices.Contains(q.Senders, m.Author) {
			continue
		}
		cand = append(cand, m)
	}
	if len(words) == 0 || len(cand) == 0 {
		out := make([]Hit, len(cand))
		for i, m := range cand {
			out[i] = Hit{Item: m.ID, Channel: m.Channel}
		}
		return out, nil
	}
	idsOf := make([]string, len(cand))
	for i, m := range cand {
		idsOf[i] = m.ID
	}
	versions, err := s.o.Store.Versions(ctx, idsOf)
	if err != nil {
		return nil, err
	}
	files, err := s.o.Chat.Files(ctx, idsOf)
	if err != nil {
		return nil, err
	}
	var out []Hit
	for _, m := range cand {
		var texts []string
		if m.Deleted.IsZero() {
			v, err := s.o.Opener.Open(ctx, m)
			if err != nil {
				return nil, err
			}
			texts = append(texts, fold(v.Body))
		}
		for _, ver := range versions[m.ID] {
			v, err := s.o.Opener.Open(ctx, chat.Message{ID: m.ID, Tenant: m.Tenant, Channel: m.Channel, Version: ver.Version, Body: ver.Body})
			if err != nil {
				return nil, err
			}
			texts = append(texts, fold(v.Body))
		}
		for _, f := range files[m.ID] {
			name, err := s.o.Keys.Open(ctx, f.Tenant, chat.FileNameAAD(f.ID), f.SealedName)
			if err != nil {
				return nil, err
			}
			texts = append(texts, fold(string(name)))
		}
		all := strings.Join(texts, "\n")
		ok := true
		for _, w := range words {
			if !strings.Contains(all, w) {
				ok = false
				break
			}
		}
		if ok {
			out = append(out, Hit{Item: m.ID, Channel: m.Channel})
		}
	}
	return out, nil
}

// hashIDs is the SHA-256 of ids, one per line, sorted: what audit records
// say was returned, without saying what it was.
func hashIDs(xs []string) string {
	xs = slices.Sorted(slices.Values(xs))
	h := sha256.New()
	for _, x := range xs {
		h.Write([]byte(x + "\n"))
	}
	return hex.EncodeToString(h.Sum(nil))
}
