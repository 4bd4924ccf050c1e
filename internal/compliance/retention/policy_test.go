package retention

import (
	"strings"
	"testing"
	"time"

	"github.com/kaigi/kaigi/internal/errs"
	"github.com/kaigi/kaigi/internal/ids"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func day(n int) time.Time { return t0.Add(time.Duration(n) * 24 * time.Hour) }

func TestDecideFollowsThePrinciplesOfRetention(t *testing.T) {
	msg := Item{Kind: KindMessage, ID: "m", Author: "alice", Created: t0, Places: []string{"chan", "team"}}
	deleted := msg
	deleted.Deleted = day(2)
	all := Scope{All: true}
	retain := func(d int) Policy { return Policy{ID: "r", Kind: RetainOnly, Days: d, Scope: all} }
	del := func(d int) Policy { return Policy{ID: "d", Kind: DeleteOnly, Days: d, Scope: all} }
	rtd := func(d int) Policy { return Policy{ID: "rd", Kind: RetainThenDelete, Days: d, Scope: all} }
	hold := Hold{ID: "h", Name: "H"}
	tests := []struct {
		name     string
		it       Item
		policies []Policy
		holds    []Hold
		now      time.Time
		outcome  string
		deleteOn time.Time
	}{
		{"no policy keeps", msg, nil, nil, day(1000), OutcomeKeep, time.Time{}},
		{"delete only, before", msg, []Policy{del(10)}, nil, day(9), OutcomeDeleteOn, day(10)},
		{"delete only, on the day", msg, []Policy{del(10)}, nil, day(10), OutcomeDueNow, day(10)},
		{"retention wins over deletion", msg, []Policy{del(10), retain(30)}, nil, day(20), OutcomeDeleteOn, day(30)},
		{"the longest retention wins", msg, []Policy{rtd(30), retain(60)}, nil, day(45), OutcomeDeleteOn, day(60)},
		{"the earliest deletion wins", msg, []Policy{rtd(30), del(40)}, nil, day(30), OutcomeDueNow, day(30)},
		{"a hold wins over everything", msg, []Policy{del(1)}, []Hold{hold}, day(1000), OutcomeHeld, day(1)},
		{"deleted by its author, no policy: next run", deleted, nil, nil, day(2), OutcomeDueNow, day(2)},
		{"deleted by its author, retained", deleted, []Policy{retain(30)}, nil, day(10), OutcomeKeptUntil, day(30)},
		{"deleted by its author, retention over", deleted, []Policy{retain(30)}, nil, day(30), OutcomeDueNow, day(30)},
		{"deleted by its author, held", deleted, nil, []Hold{hold}, day(100), OutcomeHeld, day(2)},
		{"a policy of another team does not apply", msg, []Policy{{Kind: DeleteOnly, Days: 1, Scope: Scope{Teams: []string{"other"}}}}, nil, day(5), OutcomeKeep, time.Time{}},
		{"a policy of the author applies", msg, []Policy{{Kind: DeleteOnly, Days: 1, Scope: Scope{Users: []ids.UserID{"alice"}}}}, nil, day(5), OutcomeDueNow, day(1)},
		{"a policy of the team applies", msg, []Policy{{Kind: DeleteOnly, Days: 1, Scope: Scope{Teams: []string{"team"}}}}, nil, day(5), OutcomeDueNow, day(1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := Decide(tt.it, tt.policies, tt.holds, tt.now)
			if f.Outcome != tt.outcome || !f.DeleteOn.Equal(tt.deleteOn) {
				t.Fatalf("outcome %s, delete on %v; want %s, %v (%s)", f.Outcome, f.DeleteOn, tt.outcome, tt.deleteOn, f.Summary)
			}
			if f.Summary == "" {
				t.Fatal("no summary")
			}
		})
	}
}

func TestHoldCoverage(t *testing.T) {
	it := Item{Kind: KindMessage, ID: "m", Author: "alice", Created: day(5), Places: []string{"chan", "team"}}
	rec := Item{Kind: KindRecording, ID: "r", Author: "bob", Created: day(5), Places: []string{"chan", "team"}}
	texts := map[string][]string{"m": {"first draft about Zebra", "renamed"}}
	has := func(it Item, kws []string) bool { return MatchKeywords(texts[it.ID], kws) }
	tests := []struct {
		name string
		h    Hold
		it   Item
		want bool
	}{
		{"whole tenant", Hold{}, it, true},
		{"custodian", Hold{Custodians: []ids.UserID{"alice"}}, it, true},
		{"another custodian", Hold{Custodians: []ids.UserID{"bob"}}, it, false},
		{"custodian's chat", Hold{Custodians: []ids.UserID{"bob"}}, Item{Kind: KindMessage, Author: "carol", Places: []string{"bobchat"}}, true},
		{"location team", Hold{Locations: []string{"team"}}, it, true},
		{"another location", Hold{Locations: []string{"elsewhere"}}, it, false},
		{"keyword in an earlier version, any case", Hold{Query: Query{Keywords: []string{"zebra"}}}, it, true},
		{"keyword absent", Hold{Query: Query{Keywords: []string{"lion"}}}, it, false},
		{"keywords never match a recording", Hold{Query: Query{Keywords: []string{"zebra"}}}, rec, false},
		{"sender", Hold{Query: Query{Senders: []ids.UserID{"bob"}}}, it, false},
		{"in the date range", Hold{Query: Query{From: day(5), To: day(6)}}, it, true},
		{"after the date range", Hold{Query: Query{To: day(5)}}, it, false},
		{"released", Hold{Released: day(1)}, it, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.h.covers(tt.it, []string{"bobchat"}, has); got != tt.want {
				t.Fatalf("covers = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestBadPoliciesAndHoldsAreRefusedClearly(t *testing.T) {
	long := strings.Repeat("x", MaxNameLen+1)
	policies := []struct {
		name string
		p    Policy
	}{
		{"zero days", Policy{Name: "a", Kind: DeleteOnly, Days: 0, Scope: Scope{All: true}}},
		{"negative days", Policy{Name: "a", Kind: DeleteOnly, Days: -5, Scope: Scope{All: true}}},
		{"too many days", Policy{Name: "a", Kind: DeleteOnly, Days: MaxDays + 1, Scope: Scope{All: true}}},
		{"overlong name", Policy{Name: long, Kind: DeleteOnly, Days: 1, Scope: Scope{All: true}}},
		{"empty name", Policy{Name: "  ", Kind: DeleteOnly, Days: 1, Scope: Scope{All: true}}},
		{"unknown kind", Policy{Name: "a", Kind: "shred", Days: 1, Scope: Scope{All: true}}},
		{"no scope", Policy{Name: "a", Kind: DeleteOnly, Days: 1}},
		{"both scopes", Policy{Name: "a", Kind: DeleteOnly, Days: 1, Scope: Scope{All: true, Teams: []string{"t"}}}},
		{"bad id", Policy{Name: "a", Kind: DeleteOnly, Days: 1, Scope: Scope{Teams: []string{"../x"}}}},
	}
	for _, tt := range policies {
		t.Run("policy/"+tt.name, func(t *testing.T) {
			if _, err := tt.p.Normalize(); errs.CodeOf(err) != errs.Invalid || errs.MessageOf(err) == "" {
				t.Fatalf("got %v, want an Invalid error", err)
			}
		})
	}
	holds := []struct {
		name string
		h    Hold
	}{
		{"overlong name", Hold{Name: long}},
		{"name that reorders text", Hold{Name: "a\u202eb"}},
		{"empty keyword", Hold{Name: "a", Query: Query{Keywords: []string{" "}}}},
		{"backwards dates", Hold{Name: "a", Query: Query{From: day(2), To: day(1)}}},
		{"bad custodian", Hold{Name: "a", Custodians: []ids.UserID{"a b"}}},
	}
	for _, tt := range holds {
		t.Run("hold/"+tt.name, func(t *testing.T) {
			if _, err := tt.h.Normalize(); errs.CodeOf(err) != errs.Invalid {
				t.Fatalf("got %v, want an Invalid error", err)
			}
		})
	}
}
