package moderation

import (
	"context"
	"errors"
	"slices"
)

// Category is a kind of harmful content.
type Category string

// The categories every backend scores.
const (
	Harassment Category = "harassment"
	Threat     Category = "threat"
	Hate       Category = "hate"
	Sexual     Category = "sexual"
	SelfHarm   Category = "self_harm"
	Profanity  Category = "profanity"
)

// Categories lists every category in a fixed order.
var Categories = []Category{Harassment, Threat, Hate, Sexual, SelfHarm, Profanity}

// Valid reports whether c is one of [Categories].
func (c Category) Valid() bool { return slices.Contains(Categories, c) }

// Lang is a language code understood by the classifier.
type Lang string

// Languages. LangAuto picks by script: Japanese when the text has kana or
// kanji, English otherwise. Latin-script words in Japanese text are still
// checked against the English lists.
const (
	LangAuto Lang = ""
	LangEN   Lang = "en"
	LangJA   Lang = "ja"
)

// Backend names the classifier that decided a verdict.
type Backend string

// BackendLocal is the built-in word-list and rule classifier.
const BackendLocal Backend = "local"

// Score thresholds shared by backends and [Patterns]. A policy may choose its
// own; these are the defaults the evaluation uses.
const (
	// FlagThreshold is the score at or above which a category counts as
	// flagged.
	FlagThreshold = 0.5
	// BorderlineThreshold is the score at or above which a message counts as
	// borderline: not flagged alone, but counted by [Patterns].
	BorderlineThreshold = 0.3
)

// Input is one message to classify.
type Input struct {
	// Text is the message as the sender wrote it.
	Text string
	// Lang is a hint; LangAuto (the default) detects by script.
	Lang Lang
	// Mentions are the people the message @mentions, from the message's
	// metadata (user ids or names). Non-empty means the message is aimed at
	// someone.
	Mentions []string
	// IsReply is true when the message replies to another person's message.
	IsReply bool
	// Addressee is the person the message is directed to, if known (the
	// author of the message replied to, or the other person in a direct
	// conversation).
	Addressee string
}

// Span is one match that contributed to a verdict.
type Span struct {
	// Start and End are byte offsets into Input.Text: Input.Text[Start:End]
	// is the matched text as written.
	Start, End int
	Category   Category
	Score      float64
	// List names the word list or rule set ("ldnoobw-en", "kaigi-ja",
	// "rule").
	List string
	// TermID identifies the entry in List.
	TermID string
	// Rule explains how the match was scored, for reviewers.
	Rule string
}

// Verdict is a classifier's answer for one message.
type Verdict struct {
	// Scores has a score in [0, 1] for every category in [Categories].
	Scores map[Category]float64
	// Spans are the matches behind the scores, ordered by Start.
	Spans []Span
	// Backend is the backend that decided.
	Backend Backend
	// Lang is the language the text was analysed as.
	Lang Lang
	// Truncated is true when only a prefix of the text was analysed.
	Truncated bool
	// Notes record why part of the input was not analysed or anything else
	// a reviewer should know (never the message text).
	Notes []string
}

// Max returns the highest-scoring category and its score. For an empty
// verdict it returns "" and 0.
func (v Verdict) Max() (Category, float64) {
	var best Category
	var score float64
	for _, c := range Categories {
		if s := v.Scores[c]; s > score {
			best, score = c, s
		}
	}
	return best, score
}

// Flagged returns the categories scoring at least threshold, in the order of
// [Categories].
func (v Verdict) Flagged(threshold float64) []Category {
	var out []Category
	for _, c := range Categories {
		if v.Scores[c] >= threshold {
			out = append(out, c)
		}
	}
	return out
}

// Classifier scores a message. Implementations are safe for concurrent use
// and return within a bounded time for any input.
type Classifier interface {
	Classify(ctx context.Context, in Input) (Verdict, error)
}

// ErrBadLists is returned when an embedded word list cannot be parsed.
var ErrBadLists = errors.New("moderation: bad word list")

func newVerdict(lang Lang) Verdict {
	v := Verdict{Scores: make(map[Category]float64, len(Categories)), Backend: BackendLocal, Lang: lang}
	for _, c := range Categories {
		v.Scores[c] = 0
	}
	return v
}
