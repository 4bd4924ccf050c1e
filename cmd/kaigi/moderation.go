package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/moderation"
)

// classifyVerdict is one line of `kaigi moderation classify`.
type classifyVerdict struct {
	Categories []moderation.Category           `json:"categories"`
	Scores     map[moderation.Category]float64 `json:"scores"`
	Spans      []classifySpan                  `json:"spans"`
	Lang       moderation.Lang                 `json:"lang"`
	Backend    moderation.Backend              `json:"backend"`
	Truncated  bool                            `json:"truncated,omitempty"`
	Notes      []string                        `json:"notes,omitempty"`
	Action     moderation.Action               `json:"action,omitempty"`
	Rules      []string                        `json:"rules,omitempty"`
}

type classifySpan struct {
	Start    int                 `json:"start"`
	End      int                 `json:"end"`
	Text     string              `json:"text"`
	Category moderation.Category `json:"category"`
	Score    float64             `json:"score"`
	List     string              `json:"list"`
	Term     string              `json:"term"`
	Rule     string              `json:"rule"`
}

// moderationClassify reads messages, one per line, and prints one JSON
// verdict per line: the categories flagged, every score, the spans, and —
// with --policy — the action that policy would take.
func moderationClassify(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("kaigi moderation classify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	lang := fs.String("lang", "", "en or ja; empty detects by script")
	policyFile := fs.String("policy", "", "a moderation policy (JSON, as GET /api/v1/moderation/policy returns it) to apply")
	sender := fs.String("sender", "", "with --policy: the sender's account id, for the rules' scopes")
	team := fs.String("team", "", "with --policy: the team id, for the rules' scopes")
	channel := fs.String("channel", "", "with --policy: the channel id, for the rules' scopes")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("moderation classify reads messages from standard input, one per line; unexpected %q", fs.Arg(0))
	}
	l := moderation.Lang(*lang)
	if l != moderation.LangAuto && l != moderation.LangEN && l != moderation.LangJA {
		return fmt.Errorf("--lang must be en or ja (or empty to detect)")
	}
	var pol *moderation.Policy
	if *policyFile != "" {
		b, err := os.ReadFile(*policyFile)
		if err != nil {
			return fmt.Errorf("read the policy: %w", err)
		}
		dec := json.NewDecoder(strings.NewReader(string(b)))
		dec.DisallowUnknownFields()
		pol = &moderation.Policy{}
		if err := dec.Decode(pol); err != nil {
			return fmt.Errorf("the policy %s is not a moderation policy: %w", *policyFile, err)
		}
		if err := pol.Validate(); err != nil {
			return fmt.Errorf("the policy %s: %w", *policyFile, err)
		}
		if *sender == "" && *team == "" && *channel == "" {
			for i := range pol.Rules { // no subject given: every rule applies
				pol.Rules[i].Scope = moderation.Scope{}
			}
		}
	}
	subj := moderation.Subject{Sender: ids.UserID(*sender), Team: *team, Channel: *channel}
	cl, err := moderation.NewLocal(moderation.Options{})
	if err != nil {
		return err
	}
	in := bufio.NewReaderSize(stdin, 64<<10)
	out := bufio.NewWriter(stdout)
	defer out.Flush()
	enc := json.NewEncoder(out)
	enc.SetEscapeHTML(false)
	for {
		line, rerr := in.ReadString('\n')
		if rerr != nil && !errors.Is(rerr, io.EOF) {
			return rerr
		}
		if line == "" && rerr != nil {
			return nil
		}
		text := strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
		v, err := cl.Classify(ctx, moderation.Input{Text: text, Lang: l})
		if err != nil {
			return err
		}
		cv := classifyVerdict{Categories: v.Flagged(moderation.FlagThreshold), Scores: v.Scores, Spans: []classifySpan{}, Lang: v.Lang, Backend: v.Backend,
			Truncated: v.Truncated, Notes: v.Notes}
		if cv.Categories == nil {
			cv.Categories = []moderation.Category{}
		}
		for _, sp := range v.Spans {
			cv.Spans = append(cv.Spans, classifySpan{Start: sp.Start, End: sp.End, Text: text[sp.Start:sp.End], Category: sp.Category, Score: sp.Score,
				List: sp.List, Term: sp.TermID, Rule: sp.Rule})
		}
		if pol != nil {
			d := pol.Decide(subj, v)
			cv.Action, cv.Rules = d.Action, d.Rules
			if cv.Action == moderation.ActionNone {
				cv.Action = "none"
			}
		}
		if err := enc.Encode(cv); err != nil {
			return err
		}
		if rerr != nil {
			return nil
		}
	}
}
