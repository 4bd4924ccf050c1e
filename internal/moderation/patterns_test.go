package moderation

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/kaigi/kaigi/internal/clock"
)

func borderline(score float64) Verdict {
	v := newVerdict(LangEN)
	v.Scores[Harassment] = score
	return v
}

func TestPatternsRaisesPossibleBullying(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC))
	p := NewPatterns(PatternConfig{Window: time.Hour, MinMessages: 3, MinSenders: 2}, clk)
	obs := func(sender, id string, score float64) Signal {
		s, err := p.Observe(t.Context(), Observation{Tenant: "t1", Target: "victim", Sender: sender, MessageID: id, Verdict: borderline(score)})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	tests := []struct {
		name    string
		advance time.Duration
		sender  string
		score   float64
		want    bool
		count   int
	}{
		{name: "first borderline", sender: "a", score: 0.35, count: 1},
		{name: "clean message not counted", sender: "b", score: 0.1, count: 0},
		{name: "same sender again", advance: time.Minute, sender: "a", score: 0.4, count: 2},
		{name: "second sender reaches the bar", advance: time.Minute, sender: "b", score: 0.3, want: true, count: 3},
		{name: "window passes", advance: 2 * time.Hour, sender: "c", score: 0.35, count: 1},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk.Advance(tt.advance)
			s := obs(tt.sender, string(rune('a'+i)), tt.score)
			if s.PossibleBullying != tt.want || len(s.Messages) != tt.count {
				t.Fatalf("signal %+v, want bullying %v with %d messages", s, tt.want, tt.count)
			}
		})
	}
}

func TestPatternsSeparatesTenantsAndTargets(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC))
	p := NewPatterns(PatternConfig{MinMessages: 2, MinSenders: 2}, clk)
	obs := func(o Observation) Signal {
		t.Helper()
		s, err := p.Observe(t.Context(), o)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	obs(Observation{Tenant: "t1", Target: "v", Sender: "a", MessageID: "m1", Verdict: borderline(0.9)})
	if s := obs(Observation{Tenant: "t2", Target: "v", Sender: "b", MessageID: "m2", Verdict: borderline(0.9)}); s.PossibleBullying {
		t.Fatal("messages in two tenants were counted together")
	}
	if s := obs(Observation{Tenant: "t1", Target: "w", Sender: "b", MessageID: "m3", Verdict: borderline(0.9)}); s.PossibleBullying {
		t.Fatal("messages to two targets were counted together")
	}
	if s := obs(Observation{Tenant: "t1", Target: "v", Sender: "v", MessageID: "m4", Verdict: borderline(0.9)}); s.PossibleBullying {
		t.Fatal("a message aimed at oneself was counted")
	}
	// A message screened again (edited) counts once.
	if s := obs(Observation{Tenant: "t1", Target: "v", Sender: "a", MessageID: "m1", Verdict: borderline(0.8)}); len(s.Messages) != 1 || s.Score != 0.8 {
		t.Fatalf("a message observed twice: %+v", s)
	}
}

func TestPatternsBoundsMemory(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC))
	p := NewPatterns(PatternConfig{MaxTargets: 10, MaxPerTarget: 4}, clk)
	for i := range 100 {
		clk.Advance(time.Second)
		if _, err := p.Observe(t.Context(), Observation{Target: string(rune('A' + i%50)), Sender: "s", MessageID: strconv.Itoa(i), Verdict: borderline(0.5)}); err != nil {
			t.Fatal(err)
		}
	}
	mem := p.events.(*memEvents)
	if len(mem.targets) > 10 {
		t.Fatalf("%d targets kept, limit 10", len(mem.targets))
	}
	for _, l := range mem.targets {
		if len(l.events) > 4 {
			t.Fatalf("%d events kept for a target, limit 4", len(l.events))
		}
	}
}

// countingEvents is a PatternEvents that counts its calls.
type countingEvents struct {
	memEvents
	adds, prunes int
}

func (c *countingEvents) AddPatternEvent(ctx context.Context, e PatternEvent, cutoff time.Time, limit int) ([]PatternEvent, error) {
	c.adds++
	return c.memEvents.AddPatternEvent(ctx, e, cutoff, limit)
}

func (c *countingEvents) PrunePatternEvents(ctx context.Context, cutoff time.Time) error {
	c.prunes++
	return c.memEvents.PrunePatternEvents(ctx, cutoff)
}

// TestPatternsWriteOnlyForCountedMessages: the counts are kept in the
// database on the send path, so a clean message, one without a target and
// one aimed at oneself never reach the store; a counted one writes once,
// and expired events are pruned at most every pruneEvery.
func TestPatternsWriteOnlyForCountedMessages(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC))
	ev := &countingEvents{memEvents: memEvents{maxTargets: 10, targets: map[targetKey]*targetLog{}}}
	p := NewPatternsOn(PatternConfig{}, clk, ev)
	for _, o := range []Observation{
		{Tenant: "t", Target: "v", Sender: "a", MessageID: "m1", Verdict: borderline(0.01)},
		{Tenant: "t", Target: "", Sender: "a", MessageID: "m2", Verdict: borderline(0.9)},
		{Tenant: "t", Target: "a", Sender: "a", MessageID: "m3", Verdict: borderline(0.9)},
	} {
		if _, err := p.Observe(t.Context(), o); err != nil {
			t.Fatal(err)
		}
	}
	if ev.adds != 0 || ev.prunes != 0 {
		t.Fatalf("messages that do not count reached the store: %d adds, %d prunes", ev.adds, ev.prunes)
	}
	for i := range 5 {
		clk.Advance(time.Second)
		if _, err := p.Observe(t.Context(), Observation{Tenant: "t", Target: "v", Sender: "a", MessageID: "c" + strconv.Itoa(i), Verdict: borderline(0.9)}); err != nil {
			t.Fatal(err)
		}
	}
	if ev.adds != 5 || ev.prunes != 1 {
		t.Fatalf("5 counted messages: %d adds, %d prunes; want 5 and 1", ev.adds, ev.prunes)
	}
	clk.Advance(pruneEvery)
	if _, err := p.Observe(t.Context(), Observation{Tenant: "t", Target: "v", Sender: "b", MessageID: "c9", Verdict: borderline(0.9)}); err != nil {
		t.Fatal(err)
	}
	if ev.prunes != 2 {
		t.Fatalf("after pruneEvery: %d prunes, want 2", ev.prunes)
	}
}

func TestTargets(t *testing.T) {
	got := Targets(Input{Mentions: []string{"a", "b", "a"}, Addressee: "b"})
	if len(got) != 2 || got[0] != "a" || got[1] != "b" {
		t.Fatalf("Targets = %v", got)
	}
}
