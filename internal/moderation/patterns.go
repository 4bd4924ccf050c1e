package moderation

import (
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
	// MaxTargets bounds memory: beyond it the target seen least recently
	// is forgotten. Default 100000.
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

// Patterns tracks flagged and borderline messages aimed at the same person
// across senders and raises a possible-bullying [Signal] even when each
// message alone is only borderline. It keeps everything in memory, bounded
// by PatternConfig, and is safe for concurrent use. It is deterministic:
// time comes from the clock it is given.
type Patterns struct {
	cfg   PatternConfig
	clock clock.Clock

	mu      sync.Mutex
	targets map[targetKey]*targetLog
}

type targetKey struct{ tenant, target string }

type targetLog struct {
	events   []patternEvent
	lastSeen time.Time
}

type patternEvent struct {
	at        time.Time
	sender    string
	messageID string
	score     float64
}

// NewPatterns returns a tracker. A nil clk uses the system clock.
func NewPatterns(cfg PatternConfig, clk clock.Clock) *Patterns {
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
	return &Patterns{cfg: cfg, clock: clk, targets: map[targetKey]*targetLog{}}
}

// hostility is the score Patterns counts: the highest of harassment, threat
// and hate. Profanity or sexual content alone is not aimed at anyone.
func hostility(v Verdict) float64 {
	return max(v.Scores[Harassment], v.Scores[Threat], v.Scores[Hate])
}

// Observe records o if it is at least borderline and returns the signal for
// its target. Messages a sender aims at themselves are ignored.
func (p *Patterns) Observe(o Observation) Signal {
	now := p.clock.Now()
	key := targetKey{o.Tenant, o.Target}
	score := hostility(o.Verdict)

	p.mu.Lock()
	defer p.mu.Unlock()
	log := p.targets[key]
	if score >= p.cfg.Borderline && o.Target != "" && o.Sender != o.Target {
		if log == nil {
			if len(p.targets) >= p.cfg.MaxTargets {
				p.evictOldest()
			}
			log = &targetLog{}
			p.targets[key] = log
		}
		log.events = append(log.events, patternEvent{at: now, sender: o.Sender, messageID: o.MessageID, score: score})
		if len(log.events) > p.cfg.MaxPerTarget {
			log.events = slices.Delete(log.events, 0, len(log.events)-p.cfg.MaxPerTarget)
		}
		log.lastSeen = now
	}
	sig := Signal{Tenant: o.Tenant, Target: o.Target}
	if log == nil {
		return sig
	}
	cutoff := now.Add(-p.cfg.Window)
	log.events = slices.DeleteFunc(log.events, func(e patternEvent) bool { return e.at.Before(cutoff) })
	if len(log.events) == 0 {
		delete(p.targets, key)
		return sig
	}
	var sum float64
	for _, e := range log.events {
		sig.Messages = append(sig.Messages, e.messageID)
		if !slices.Contains(sig.Senders, e.sender) {
			sig.Senders = append(sig.Senders, e.sender)
		}
		sum += e.score
	}
	sig.Score = sum / float64(len(log.events))
	sig.PossibleBullying = len(log.events) >= p.cfg.MinMessages && len(sig.Senders) >= p.cfg.MinSenders
	return sig
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

func (p *Patterns) evictOldest() {
	var oldest targetKey
	var at time.Time
	first := true
	for k, l := range p.targets {
		if first || l.lastSeen.Before(at) {
			oldest, at, first = k, l.lastSeen, false
		}
	}
	delete(p.targets, oldest)
}
