package moderation

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/kaigi/kaigi/internal/clock"
)

// PatternConfig configures [Patterns]. Zero fields take their defaults.
type PatternConfig struct {
	// Window is how far back messages are counted. Default 24h.
	Window time.Duration
	// MinMessages is how many flagged or borderline messages aimed at one
	// person within Window raise the signal. Default 3.
	MinMessages int
	// MinSenders is how many distinct senders they must come from.
	// Default 2.
	MinSenders int
	// Borderline is the lowest harassment, threat or hate score that
	// counts. Default [BorderlineThreshold].
	Borderline float64
	// MaxTargets bounds memory of a tracker made by [NewPatterns]: beyond
	// it the target seen least recently is forgotten. Default 100000.
	MaxTargets int
	// MaxPerTarget bounds the messages kept per target. Default 64.
	MaxPerTarget int
}

// Observation is one classified message aimed at someone.
type Observation struct {
	// Tenant scopes targets: the same user id in two tenants is two people.
	Tenant string
	// Target is who the message is aimed at (a mention, the addressee).
	Target string
	// Sender is who wrote it.
	Sender string
	// MessageID identifies the message for the alert.
	MessageID string
	// Verdict is the classifier's verdict for the message.
	Verdict Verdict
}

// Signal is what [Patterns.Observe] reports for a target.
type Signal struct {
	// PossibleBullying is true when the counted messages reach both
	// MinMessages and MinSenders.
	PossibleBullying bool
	Tenant, Target   string
	// Messages and Senders are those counted, oldest first.
	Messages []string
	Senders  []string
	// Score is the mean of the counted messages' highest harassment,
	// threat or hate score.
	Score float64
}

// PatternEvent is one counted message aimed at a person: ids and a score,
// never content.
type PatternEvent struct {
	Tenant, Target, Sender, Message string
	Score                           float64
	At                              time.Time
}

// PatternEvents keeps the counted messages per (tenant, target). The store
// keeps them in the database, so that every node of a deployment, and a
// node after a restart, counts the same messages; [NewPatterns] keeps them
// in memory (one process, forgotten on restart).
type PatternEvents interface {
	// AddPatternEvent records e — once per tenant, target and message: a
	// message edited and screened again counts once, with its latest
	// score — and returns up to limit of the target's newest events not
	// older than cutoff, oldest first. It need not delete expired events:
	// the tracker calls PrunePatternEvents for that now and then.
	AddPatternEvent(ctx context.Context, e PatternEvent, cutoff time.Time, limit int) ([]PatternEvent, error)
	// PrunePatternEvents deletes every tenant's events older than cutoff.
	PrunePatternEvents(ctx context.Context, cutoff time.Time) error
}

// Patterns tracks flagged and borderline messages aimed at the same person
// across senders and raises a possible-bullying [Signal] even when each
// message alone is only borderline. It keeps the counted messages in a
// [PatternEvents] and is safe for concurrent use. It is deterministic:
// time comes from the clock it is given.
type Patterns struct {
	cfg    PatternConfig
	clock  clock.Clock
	events PatternEvents

	mu        sync.Mutex
	lastPrune time.Time
}

// NewPatterns returns a tracker that keeps its counts in memory, bounded by
// MaxTargets and MaxPerTarget. A nil clk uses the system clock.
func NewPatterns(cfg PatternConfig, clk clock.Clock) *Patterns {
	p := NewPatternsOn(cfg, clk, nil)
	p.events = &memEvents{maxTargets: p.cfg.MaxTargets, targets: map[targetKey]*targetLog{}}
	return p
}

// NewPatternsOn returns a tracker that keeps its counts in events (the
// database, shared by every node). A nil clk uses the system clock.
func NewPatternsOn(cfg PatternConfig, clk clock.Clock, events PatternEvents) *Patterns {
	if cfg.Window <= 0 {
		cfg.Window = 24 * time.Hour
	}
	if cfg.MinMessages <= 0 {
		cfg.MinMessages = 3
	}
	if cfg.MinSenders <= 0 {
		cfg.MinSenders = 2
	}
	if cfg.Borderline <= 0 {
		cfg.Borderline = BorderlineThreshold
	}
	if cfg.MaxTargets <= 0 {
		cfg.MaxTargets = 100000
	}
	if cfg.MaxPerTarget <= 0 {
		cfg.MaxPerTarget = 64
	}
	if clk == nil {
		clk = clock.Real{}
	}
	return &Patterns{cfg: cfg, clock: clk, events: events}
}

// hostility is the score Patterns counts: the highest of harassment, threat
// and hate. Profanity or sexual content alone is not aimed at anyone.
func hostility(v Verdict) float64 {
	return max(v.Scores[Harassment], v.Scores[Threat], v.Scores[Hate])
}

// pruneEvery is how often a tracker deletes every target's expired events
// (a target's own are deleted whenever it is aimed at again).
const pruneEvery = 10 * time.Minute

// Observe records o if it is at least borderline and aimed at someone else
// and returns the signal for its target; an observation that does not
// count returns an empty signal without reading the counts.
func (p *Patterns) Observe(ctx context.Context, o Observation) (Signal, error) {
	sig := Signal{Tenant: o.Tenant, Target: o.Target}
	score := hostility(o.Verdict)
	if score < p.cfg.Borderline || o.Target == "" || o.Sender == o.Target {
		return sig, nil
	}
	now := p.clock.Now()
	cutoff := now.Add(-p.cfg.Window)
	p.mu.Lock()
	prune := now.Sub(p.lastPrune) >= pruneEvery
	if prune {
		p.lastPrune = now
	}
	p.mu.Unlock()
	if prune {
		if err := p.events.PrunePatternEvents(ctx, cutoff); err != nil {
			return sig, err
		}
	}
	events, err := p.events.AddPatternEvent(ctx, PatternEvent{Tenant: o.Tenant, Target: o.Target, Sender: o.Sender, Message: o.MessageID, Score: score, At: now},
		cutoff, p.cfg.MaxPerTarget)
	if err != nil || len(events) == 0 {
		return sig, err
	}
	var sum float64
	for _, e := range events {
		sig.Messages = append(sig.Messages, e.Message)
		if !slices.Contains(sig.Senders, e.Sender) {
			sig.Senders = append(sig.Senders, e.Sender)
		}
		sum += e.Score
	}
	sig.Score = sum / float64(len(events))
	sig.PossibleBullying = len(events) >= p.cfg.MinMessages && len(sig.Senders) >= p.cfg.MinSenders
	return sig, nil
}

// memEvents is [PatternEvents] in memory.
type memEvents struct {
	maxTargets int

	mu      sync.Mutex
	targets map[targetKey]*targetLog
}

type targetKey struct{ tenant, target string }

type targetLog struct {
	events   []PatternEvent
	lastSeen time.Time
}

func (m *memEvents) AddPatternEvent(_ context.Context, e PatternEvent, cutoff time.Time, limit int) ([]PatternEvent, error) {
	key := targetKey{e.Tenant, e.Target}
	m.mu.Lock()
	defer m.mu.Unlock()
	log := m.targets[key]
	if log == nil {
		if len(m.targets) >= m.maxTargets {
			m.evictOldest()
		}
		log = &targetLog{}
		m.targets[key] = log
	}
	log.events = slices.DeleteFunc(log.events, func(x PatternEvent) bool { return x.Message == e.Message && e.Message != "" })
	log.events = append(log.events, e)
	log.events = slices.DeleteFunc(log.events, func(x PatternEvent) bool { return x.At.Before(cutoff) })
	if len(log.events) > limit {
		log.events = slices.Delete(log.events, 0, len(log.events)-limit)
	}
	log.lastSeen = e.At
	if len(log.events) == 0 {
		delete(m.targets, key)
		return nil, nil
	}
	return slices.Clone(log.events), nil
}

func (m *memEvents) PrunePatternEvents(_ context.Context, cutoff time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for k, l := range m.targets {
		l.events = slices.DeleteFunc(l.events, func(x PatternEvent) bool { return x.At.Before(cutoff) })
		if len(l.events) == 0 {
			delete(m.targets, k)
		}
	}
	return nil
}

// Targets returns the observation targets for a message: its mentions and
// its addressee, without duplicates. A helper for callers building
// [Observation]s from an [Input].
func Targets(in Input) []string {
	var out []string
	for _, t := range append(slices.Clone(in.Mentions), in.Addressee) {
		if t != "" && !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out
}

func (m *memEvents) evictOldest() {
	var oldest targetKey
	var at time.Time
	first := true
	for k, l := range m.targets {
		if first || l.lastSeen.Before(at) {
			oldest, at, first = k, l.lastSeen, false
		}
	}
	delete(m.targets, oldest)
}
