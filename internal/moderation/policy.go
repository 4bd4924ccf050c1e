package moderation

import (
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/kaigi/kaigi/internal/errs"
	"github.com/kaigi/kaigi/internal/ids"
)

// Action is what a policy does with a message one of its rules matches.
type Action string

// The actions, from the mildest. When several rules match, the strongest
// action wins.
const (
	// ActionNone lets the message through unrecorded.
	ActionNone Action = ""
	// ActionFlag stores and delivers the message, then raises an alert for
	// review.
	ActionFlag Action = "flag"
	// ActionWarn refuses the send with a warning; the sender may edit the
	// message or send it again confirmed, which stores it and raises an
	// alert that records the confirmation.
	ActionWarn Action = "warn"
	// ActionBlock holds the message: it is not stored in the conversation
	// nor delivered, it is kept sealed for review, and the sender is told.
	ActionBlock Action = "block"
)

func (a Action) rank() int {
	switch a {
	case ActionFlag:
		return 1
	case ActionWarn:
		return 2
	case ActionBlock:
		return 3
	}
	return 0
}

// Valid reports whether a is flag, warn or block.
func (a Action) Valid() bool { return a.rank() > 0 }

// Policy is a tenant's communication-compliance policy. It is stored in a
// table of its own (not the identity policy document): compliance officers
// edit it as well as tenant admins, each change is audited as
// moderation.policy.update, and the identity package stays free of the
// classifier.
type Policy struct {
	// Rules are evaluated together on every message in their scope; the
	// strongest action among those that match wins. Empty (the default):
	// messages are not classified at all.
	Rules []Rule `json:"rules"`
	// Patterns raises a possible-bullying alert when flagged or borderline
	// messages from several senders aim at one person (see [Patterns]). It
	// applies to the senders in scope of any rule. Default false.
	Patterns bool `json:"patterns"`
	// External is the optional external moderation service (OpenAI or
	// Azure AI Content Safety), used alone or as a second opinion on
	// borderline messages. Nil (the default): no message text leaves the
	// deployment. See [External].
	External *External `json:"external,omitempty"`
}

// Rule is one part of a policy: which messages, which categories at which
// thresholds, and what to do.
type Rule struct {
	// Name identifies the rule in alerts, e.g. "threats everywhere".
	Name string `json:"name"`
	// Action is flag, warn or block.
	Action Action `json:"action"`
	// Categories maps each category the rule watches to the lowest score
	// that matches, in (0, 1]. Empty: every category at [FlagThreshold].
	Categories map[Category]float64 `json:"categories,omitempty"`
	// Scope says whose messages, where. The zero Scope is everything.
	Scope Scope `json:"scope"`
}

// Scope selects messages by sender and place. Each list, when empty, does
// not restrict. Teams and Channels together select the channels of those
// teams and those channels or chats.
type Scope struct {
	// Users are the senders in scope.
	Users []ids.UserID `json:"users,omitempty"`
	// Teams are teams whose channels are in scope.
	Teams []string `json:"teams,omitempty"`
	// Channels are channels or chats in scope.
	Channels []string `json:"channels,omitempty"`
	// ExceptUsers are senders never in scope; they win over Users.
	ExceptUsers []ids.UserID `json:"except_users,omitempty"`
}

// Subject is what a policy's scope looks at: who sends, where.
type Subject struct {
	Sender  ids.UserID
	Team    string // empty for chats
	Channel string
}

// Covers reports whether the scope includes s.
func (sc Scope) Covers(s Subject) bool {
	if slices.Contains(sc.ExceptUsers, s.Sender) {
		return false
	}
	if len(sc.Users) > 0 && !slices.Contains(sc.Users, s.Sender) {
		return false
	}
	if len(sc.Teams) == 0 && len(sc.Channels) == 0 {
		return true
	}
	return (s.Team != "" && slices.Contains(sc.Teams, s.Team)) || slices.Contains(sc.Channels, s.Channel)
}

// Decision is what a policy does with one classified message.
type Decision struct {
	// Action is the strongest action of the rules that matched.
	Action Action `json:"action"`
	// Rules names the rules that matched, in policy order.
	Rules []string `json:"rules,omitempty"`
	// Categories are the categories that reached a matching rule's
	// threshold, in the order of [Categories].
	Categories []Category `json:"categories,omitempty"`
}

// InScope reports whether any rule covers s: when none does, the message
// need not be classified.
func (p Policy) InScope(s Subject) bool {
	return slices.ContainsFunc(p.Rules, func(r Rule) bool { return r.Scope.Covers(s) })
}

// thresholds returns the rule's categories with their thresholds.
func (r Rule) thresholds() map[Category]float64 {
	if len(r.Categories) > 0 {
		return r.Categories
	}
	all := make(map[Category]float64, len(Categories))
	for _, c := range Categories {
		all[c] = FlagThreshold
	}
	return all
}

// Decide applies the policy to a verdict for a message from s.
func (p Policy) Decide(s Subject, v Verdict) Decision {
	var d Decision
	var cats []Category
	for _, r := range p.Rules {
		if !r.Scope.Covers(s) {
			continue
		}
		matched := false
		for c, t := range r.thresholds() {
			if v.Scores[c] >= t {
				matched = true
				if !slices.Contains(cats, c) {
					cats = append(cats, c)
				}
			}
		}
		if !matched {
			continue
		}
		d.Rules = append(d.Rules, r.Name)
		if r.Action.rank() > d.Action.rank() {
			d.Action = r.Action
		}
	}
	for _, c := range Categories {
		if slices.Contains(cats, c) {
			d.Categories = append(d.Categories, c)
		}
	}
	return d
}

// Limits of a policy.
const (
	MaxRules      = 50
	MaxScopeItems = 1000
	maxRuleName   = 100
)

// Validate checks a policy an admin submits; its errors say what to fix.
func (p Policy) Validate() error {
	if len(p.Rules) > MaxRules {
		return errs.E(errs.Invalid, "A policy has at most %d rules.", MaxRules)
	}
	var names []string
	for i, r := range p.Rules {
		n := i + 1
		name := strings.TrimSpace(r.Name)
		if name == "" || utf8.RuneCountInString(name) > maxRuleName || strings.ContainsFunc(name, func(r rune) bool { return r < ' ' }) {
			return errs.E(errs.Invalid, "Rule %d needs a name of 1 to %d characters on one line.", n, maxRuleName)
		}
		if slices.Contains(names, name) {
			return errs.E(errs.Invalid, "Two rules are named %q; give each rule its own name.", name)
		}
		names = append(names, name)
		if !r.Action.Valid() {
			return errs.E(errs.Invalid, "Rule %q: action must be flag, warn or block.", name)
		}
		for c, t := range r.Categories {
			if !c.Valid() {
				return errs.E(errs.Invalid, "Rule %q: %q is not a category; use %s.", name, c, categoryList())
			}
			if !(t > 0 && t <= 1) {
				return errs.E(errs.Invalid, "Rule %q: the threshold of %s must be above 0 and at most 1.", name, c)
			}
		}
		sc := r.Scope
		if len(sc.Users)+len(sc.Teams)+len(sc.Channels)+len(sc.ExceptUsers) > MaxScopeItems {
			return errs.E(errs.Invalid, "Rule %q: a scope lists at most %d users, teams and channels.", name, MaxScopeItems)
		}
		for _, id := range append(append(slices.Clone(sc.Teams), sc.Channels...), userStrings(sc.Users, sc.ExceptUsers)...) {
			if !ids.Valid(id) {
				return errs.E(errs.Invalid, "Rule %q: %q is not an id of a user, team or channel.", name, id)
			}
		}
	}
	return nil
}

func userStrings(lists ...[]ids.UserID) []string {
	var out []string
	for _, l := range lists {
		for _, u := range l {
			out = append(out, string(u))
		}
	}
	return out
}

func categoryList() string {
	s := make([]string, len(Categories))
	for i, c := range Categories {
		s[i] = string(c)
	}
	return strings.Join(s, ", ")
}
