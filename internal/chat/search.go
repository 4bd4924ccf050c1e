package chat

import (
	"context"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/kaigi/kaigi/internal/errs"
	"github.com/kaigi/kaigi/internal/principal"
)

// SearchBudget bounds how many messages one search opens. Bodies are sealed,
// so the server cannot index them in the clear; search opens the newest
// messages of the channels the person can see, newest first, until it has
// enough results or has spent its budget, and says so when it stopped early.
const SearchBudget = 20000

// SearchResult is a page of matches.
type SearchResult struct {
	Results  []View `json:"results"`
	Scanned  int    `json:"scanned" doc:"How many messages were read."`
	Complete bool   `json:"complete" doc:"False when the search stopped at its budget before the oldest messages."`
}

// fold makes text comparable: compatibility-normalised and lower-cased, so
// that full-width and half-width forms match.
func fold(s string) string { return strings.ToLower(norm.NFKC.String(s)) }

// Search finds messages containing every word of q, in the channels and
// chats the actor can see, newest first.
func (s *Service) Search(ctx context.Context, p principal.Principal, q string, limit int) (SearchResult, error) {
	if err := tenantUser(p); err != nil {
		return SearchResult{}, err
	}
	q = strings.TrimSpace(q)
	if q == "" || len(q) > 200 || !utf8.ValidString(q) {
		return SearchResult{}, errs.E(errs.Invalid, "Search for 1 to 200 characters of text.")
	}
	words := strings.Fields(fold(q))
	if len(words) > 10 {
		return SearchResult{}, errs.E(errs.Invalid, "Search for at most 10 words.")
	}
	limit = min(max(limit, 1), 100)
	chans, err := s.store.ChannelsOf(ctx, p.User)
	if err != nil {
		return SearchResult{}, err
	}
	res := SearchResult{Results: []View{}, Complete: true}
	for _, c := range chans {
		before := c.LastSeq + 1
		for before > 1 {
			if res.Scanned >= SearchBudget {
				res.Complete = false
				return res, nil
			}
			page, err := s.store.Messages(ctx, c.ID, before, 200)
			if err != nil {
				return SearchResult{}, err
			}
			if len(page) == 0 {
				break
			}
			for _, m := range page {
				before = m.Seq
				if !m.Deleted.IsZero() {
					continue
				}
				res.Scanned++
				v, err := s.view(ctx, m, nil)
				if err != nil {
					return SearchResult{}, err
				}
				body := fold(v.Body)
				match := true
				for _, w := range words {
					if !strings.Contains(body, w) {
						match = false
						break
					}
				}
				if match {
					res.Results = append(res.Results, v)
					if len(res.Results) >= limit {
						res.Complete = false
						return res, nil
					}
				}
			}
			if ctx.Err() != nil {
				return SearchResult{}, ctx.Err()
			}
		}
	}
	return res, nil
}
