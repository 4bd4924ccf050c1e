package moderation

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kaigi/kaigi/internal/chat"
	"github.com/kaigi/kaigi/internal/errs"
	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/principal"
)

func verdict(scores map[Category]float64) Verdict {
	v := newVerdict(LangEN)
	for c, s := range scores {
		v.Scores[c] = s
	}
	return v
}

func TestPolicyDecide(t *testing.T) {
	threatBlock := Rule{Name: "threats", Action: ActionBlock, Categories: map[Category]float64{Threat: 0.5}}
	profanityFlag := Rule{Name: "profanity", Action: ActionFlag, Categories: map[Category]float64{Profanity: 0.7}}
	allWarn := Rule{Name: "all", Action: ActionWarn}
	inFalcon := Rule{Name: "falcon", Action: ActionBlock, Scope: Scope{Teams: []string{"falcon"}}}
	onlyMax := Rule{Name: "max", Action: ActionWarn, Scope: Scope{Users: []ids.UserID{"max"}, ExceptUsers: []ids.UserID{"ada"}}}
	exceptAda := Rule{Name: "not ada", Action: ActionBlock, Scope: Scope{ExceptUsers: []ids.UserID{"ada"}}}
	inChat := Rule{Name: "chat", Action: ActionFlag, Scope: Scope{Channels: []string{"c9"}}}
	max := Subject{Sender: "max", Team: "falcon", Channel: "c1"}
	for _, tc := range []struct {
		name   string
		rules  []Rule
		subj   Subject
		scores map[Category]float64
		want   Action
		cats   []Category
		names  []string
	}{
		{"no rules: nothing", nil, max, map[Category]float64{Threat: 1}, ActionNone, nil, nil},
		{"below the threshold", []Rule{threatBlock}, max, map[Category]float64{Threat: 0.49}, ActionNone, nil, nil},
		{"at the threshold", []Rule{threatBlock}, max, map[Category]float64{Threat: 0.5}, ActionBlock, []Category{Threat}, []string{"threats"}},
		{"another category", []Rule{threatBlock}, max, map[Category]float64{Harassment: 0.9}, ActionNone, nil, nil},
		{"strongest wins", []Rule{profanityFlag, threatBlock}, max, map[Category]float64{Threat: 0.9, Profanity: 0.8}, ActionBlock, []Category{Threat, Profanity}, []string{"profanity", "threats"}},
		{"only the matching rule", []Rule{profanityFlag, threatBlock}, max, map[Category]float64{Profanity: 0.8}, ActionFlag, []Category{Profanity}, []string{"profanity"}},
		{"no categories: all at the default", []Rule{allWarn}, max, map[Category]float64{SelfHarm: FlagThreshold}, ActionWarn, []Category{SelfHarm}, []string{"all"}},
		{"no categories, below the default", []Rule{allWarn}, max, map[Category]float64{SelfHarm: 0.4}, ActionNone, nil, nil},
		{"team in scope", []Rule{inFalcon}, max, map[Category]float64{Hate: 0.6}, ActionBlock, []Category{Hate}, []string{"falcon"}},
		{"team out of scope", []Rule{inFalcon}, Subject{Sender: "max", Team: "board", Channel: "c2"}, map[Category]float64{Hate: 0.6}, ActionNone, nil, nil},
		{"a chat is in no team", []Rule{inFalcon}, Subject{Sender: "max", Channel: "c9"}, map[Category]float64{Hate: 0.6}, ActionNone, nil, nil},
		{"channel in scope", []Rule{inChat}, Subject{Sender: "max", Channel: "c9"}, map[Category]float64{Hate: 0.6}, ActionFlag, []Category{Hate}, []string{"chat"}},
		{"user in scope", []Rule{onlyMax}, max, map[Category]float64{Sexual: 0.6}, ActionWarn, []Category{Sexual}, []string{"max"}},
		{"user out of scope", []Rule{onlyMax}, Subject{Sender: "gwen", Channel: "c1"}, map[Category]float64{Sexual: 0.6}, ActionNone, nil, nil},
		{"excepted user", []Rule{exceptAda}, Subject{Sender: "ada", Channel: "c1"}, map[Category]float64{Threat: 1}, ActionNone, nil, nil},
		{"excepted user wins over a scope rule", []Rule{exceptAda, onlyMax}, Subject{Sender: "ada", Channel: "c1"}, map[Category]float64{Threat: 1}, ActionNone, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := Policy{Rules: tc.rules}
			d := p.Decide(tc.subj, verdict(tc.scores))
			if d.Action != tc.want || !slices.Equal(d.Categories, tc.cats) || !slices.Equal(d.Rules, tc.names) {
				t.Fatalf("got %+v, want %s %v %v", d, tc.want, tc.cats, tc.names)
			}
			if in := p.InScope(tc.subj); d.Action != ActionNone && !in {
				t.Fatal("a message that matched is said to be out of scope")
			}
		})
	}
}

func TestPolicyValidate(t *testing.T) {
	ok := Rule{Name: "r", Action: ActionFlag}
	for _, tc := range []struct {
		name string
		p    Policy
		want string // part of the message; empty: valid
	}{
		{"empty", Policy{}, ""},
		{"one rule", Policy{Rules: []Rule{ok}}, ""},
		{"no name", Policy{Rules: []Rule{{Action: ActionFlag}}}, "name"},
		{"duplicate names", Policy{Rules: []Rule{ok, ok}}, "Two rules"},
		{"bad action", Policy{Rules: []Rule{{Name: "r", Action: "shout"}}}, "action"},
		{"bad category", Policy{Rules: []Rule{{Name: "r", Action: ActionFlag, Categories: map[Category]float64{"rude": 0.5}}}}, "category"},
		{"zero threshold", Policy{Rules: []Rule{{Name: "r", Action: ActionFlag, Categories: map[Category]float64{Threat: 0}}}}, "threshold"},
		{"threshold above one", Policy{Rules: []Rule{{Name: "r", Action: ActionFlag, Categories: map[Category]float64{Threat: 1.5}}}}, "threshold"},
		{"bad id in scope", Policy{Rules: []Rule{{Name: "r", Action: ActionFlag, Scope: Scope{Teams: []string{"../x"}}}}}, "not an id"},
		{"too many rules", Policy{Rules: make([]Rule, MaxRules+1)}, "at most"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.p.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.want != "" && (err == nil || !errs.Is(err, errs.Invalid) || !strings.Contains(errs.MessageOf(err), tc.want)):
				t.Fatalf("got %v, want an invalid error about %q", err, tc.want)
			}
		})
	}
}

// fakeStore answers the policy; nothing else is reached on these paths.
type fakeStore struct {
	Store
	pol Policy
}

func (f fakeStore) Policy(context.Context, ids.TenantID) (Policy, bool, error) {
	return f.pol, true, nil
}

type classifierFunc func(ctx context.Context, in Input) (Verdict, error)

func (f classifierFunc) Classify(ctx context.Context, in Input) (Verdict, error) { return f(ctx, in) }

// TestScreenNeverStallsTheSendPath: a classifier that overruns, fails or
// panics passes the message within the timeout, with the reason recorded.
func TestScreenNeverStallsTheSendPath(t *testing.T) {
	block := Policy{Rules: []Rule{{Name: "all", Action: ActionBlock}}}
	for _, tc := range []struct {
		name string
		cl   classifierFunc
		note string
	}{
		{"overrun", func(ctx context.Context, in Input) (Verdict, error) {
			time.Sleep(2 * time.Second)
			return verdict(map[Category]float64{Threat: 1}), nil
		}, "timed out"},
		{"error", func(ctx context.Context, in Input) (Verdict, error) { return Verdict{}, errors.New("boom") }, "classifier error"},
		{"panic", func(ctx context.Context, in Input) (Verdict, error) { panic("bad input") }, "classifier error"},
		{"still loading", nil, "still loading"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var cl Classifier = tc.cl
			if tc.cl == nil {
				loaded := make(chan struct{})
				t.Cleanup(func() { close(loaded) })
				cl = NewLazy(func() (Classifier, error) { <-loaded; return nil, errors.New("never") })
			}
			s := New(ServiceOptions{Store: fakeStore{pol: block}, Classifier: cl, Timeout: 50 * time.Millisecond})
			start := time.Now()
			sc, err := s.Screen(t.Context(), chat.Draft{Actor: principal.Principal{Kind: principal.Member, Tenant: "t1", User: "u1"},
				Channel: chat.Channel{ID: "c1", Kind: chat.Standard, Team: "tm"}, MessageID: "m1", Body: "I will kill you"})
			if err != nil || !strings.Contains(sc.Note, tc.note) || sc.After != nil {
				t.Fatalf("screening %+v %v, want a pass noting %q", sc, err, tc.note)
			}
			if d := time.Since(start); d > time.Second {
				t.Fatalf("the send waited %v", d)
			}
		})
	}
	// Out of scope: not classified at all.
	called := false
	s := New(ServiceOptions{Store: fakeStore{pol: Policy{Rules: []Rule{{Name: "other team", Action: ActionBlock, Scope: Scope{Teams: []string{"x"}}}}}},
		Classifier: classifierFunc(func(context.Context, Input) (Verdict, error) { called = true; return Verdict{}, nil })})
	if sc, err := s.Screen(t.Context(), chat.Draft{Actor: principal.Principal{Tenant: "t1", User: "u1"}, Channel: chat.Channel{ID: "c1", Team: "tm"}, Body: "hi"}); err != nil || called || sc.Note != "" {
		t.Fatalf("out of scope: %+v %v classified=%v", sc, err, called)
	}
}

// TestInvolvedCoversEveryoneTheAlertIsAbout: a reviewer never reviews an
// alert they sent, reported, are the target of, or are among a pattern's
// senders of.
func TestInvolvedCoversEveryoneTheAlertIsAbout(t *testing.T) {
	a := Alert{Sender: "s", Reporter: "r", Target: "v", Info: AlertInfo{Senders: []ids.UserID{"s", "p"}}}
	for _, tc := range []struct {
		name string
		u    ids.UserID
		want bool
	}{
		{"sender", "s", true}, {"reporter", "r", true}, {"target", "v", true}, {"pattern sender", "p", true},
		{"someone else", "o", false}, {"nobody", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Involved(a, tc.u); got != tc.want {
				t.Fatalf("Involved(%q) = %v, want %v", tc.u, got, tc.want)
			}
		})
	}
	if Involved(Alert{}, "") {
		t.Fatal("an empty account is part of an alert with no people")
	}
}
