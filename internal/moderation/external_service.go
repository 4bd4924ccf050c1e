package moderation

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/kaigi/kaigi/internal/chat"
	"github.com/kaigi/kaigi/internal/errs"
	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/keys"
	"github.com/kaigi/kaigi/internal/principal"
)

// How the send path uses an external backend
//
// An external call takes hundreds of milliseconds and may fail; the local
// classifier takes microseconds and answers within [ServiceOptions.Timeout]
// (200ms). So the local verdict is always computed first and is always the
// fallback, and when the tenant's external backend is asked depends on what
// the answer can change:
//
//   - When a rule covering the sender may warn or block, the answer decides
//     whether the message is delivered at all, so the send waits for it —
//     at most [ServiceOptions.ExternalTimeout] (2s by default). A backend
//     that overruns, fails or answers nonsense is abandoned and the local
//     verdict decides; after [BreakerConfig.Failures] failures in a row the
//     tenant's breaker opens and sends stop waiting for the backend at all
//     until its cool-down has passed.
//   - When the rules covering the sender only flag, delivery does not depend
//     on the answer: the message is sent on the local verdict's terms and
//     the backend is asked after the commit, in the background (bounded by
//     the same timeout); the final verdict raises the flag alert, if any,
//     and feeds pattern detection.
//
// Either way an unreachable backend never blocks chat for longer than
// ExternalTimeout, and every verdict says which backend decided
// ([Verdict.Backend]) and, on fallback, why ([Verdict.Notes]).

// externalKeyAAD binds a sealed API key to its tenant, backend and endpoint:
// a sealed key copied to another tenant's policy, or kept while the
// endpoint is changed in storage, does not open.
func externalKeyAAD(tenant ids.TenantID, backend Backend, endpoint string) keys.AAD {
	return keys.AAD{Kind: "moderation-external-key", ID: string(tenant) + " " + string(backend) + " " + endpoint}
}

// redacted returns the policy as it may be shown: without the key, sealed
// or not, and with KeySet saying whether one is stored.
func (p Policy) redacted() Policy {
	if p.External == nil {
		return p
	}
	e := *p.External
	e.KeySet, e.Key, e.SealedKey = len(e.SealedKey) > 0, "", nil
	p.External = &e
	return p
}

// prepareExternal checks the external part of a policy being saved against
// the stored one, seals a new key or keeps the stored one, and returns the
// audit details (never the key). It writes the configuration to be stored
// into pol.
func (s *Service) prepareExternal(ctx context.Context, p principal.Principal, pol *Policy, old Policy) (map[string]string, error) {
	in := pol.External
	if !in.enabled() {
		if in != nil {
			if err := in.validate(s.allowLoopback); err != nil {
				return nil, err
			}
		}
		// Turning the external service off is allowed to anyone who may
		// edit the policy: it keeps text in the deployment. The stored key
		// goes with it.
		pol.External = nil
		return map[string]string{"external": string(BackendLocal)}, nil
	}
	if err := in.validate(s.allowLoopback); err != nil {
		return nil, err
	}
	out := &External{Backend: in.Backend, Mode: in.mode(), Endpoint: in.endpoint()}
	prev := old.External
	same := prev.enabled() && prev.Backend == out.Backend && prev.endpoint() == out.Endpoint
	changed := !same || prev.mode() != out.Mode || in.Key != ""
	if changed && !p.Has(principal.TenantAdmin) {
		return nil, errs.E(errs.Forbidden, "Only a tenant admin can turn on or change the external moderation service.")
	}
	keyNote := "kept"
	switch {
	case in.Key != "":
		sealed, err := s.keys.Seal(ctx, p.Tenant, externalKeyAAD(p.Tenant, out.Backend, out.Endpoint), []byte(in.Key))
		if err != nil {
			return nil, fmt.Errorf("seal the external service's key: %w", err)
		}
		out.SealedKey, keyNote = sealed, "new"
	case same && len(prev.SealedKey) > 0:
		out.SealedKey = prev.SealedKey
	case prev.enabled() && len(prev.SealedKey) > 0:
		return nil, errs.E(errs.Invalid, "Enter the API key again: the external service or its endpoint changed, and a key is only ever sent where it was entered for.")
	default:
		return nil, errs.E(errs.Invalid, "The external service needs an API key.")
	}
	pol.External = out
	return map[string]string{"external": string(out.Backend), "external_mode": string(out.Mode), "external_endpoint": out.Endpoint, "external_key": keyNote}, nil
}

// strongest returns the strongest action of the rules covering s: the most
// a verdict about a message from s can lead to.
func (p Policy) strongest(s Subject) Action {
	var a Action
	for _, r := range p.Rules {
		if r.Scope.Covers(s) && r.Action.rank() > a.rank() {
			a = r.Action
		}
	}
	return a
}

// borderlineVerdict reports whether the local verdict is in the band where a
// second opinion is asked: highest score in [BorderlineThreshold,
// FlagThreshold).
func borderlineVerdict(v Verdict) bool {
	_, m := v.Max()
	return m >= BorderlineThreshold && m < FlagThreshold
}

// wantsExternal reports whether the tenant's external backend is to be
// asked about a message with local verdict v.
func wantsExternal(e *External, v Verdict) bool {
	return e.enabled() && (e.mode() == ModeOnly || borderlineVerdict(v))
}

// scorer is an external backend: a Classifier that scores some categories.
type scorer interface {
	Classifier
	Covers() []Category
}

// backendFor builds the tenant's external backend, opening its key.
func (s *Service) backendFor(ctx context.Context, tenant ids.TenantID, e *External) (scorer, error) {
	key, err := s.keys.Open(ctx, tenant, externalKeyAAD(tenant, e.Backend, e.endpoint()), e.SealedKey)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: the key could not be opened", ErrExternal, e.Backend)
	}
	o := HTTPOptions{Endpoint: e.endpoint(), Key: string(key), Client: s.extClient}
	if e.Backend == BackendAzure {
		return NewAzure(o), nil
	}
	return NewOpenAI(o), nil
}

// errBreakerOpen is why a backend was not asked.
var errBreakerOpen = errors.New("circuit open after repeated failures")

// consult asks the tenant's external backend about in, within
// ExternalTimeout and behind the tenant's breaker, and returns the verdict
// to act on: the backend's scores for the categories it scores and the
// local ones for the rest, or on any failure the local verdict with a note
// saying why.
func (s *Service) consult(ctx context.Context, tenant ids.TenantID, e *External, in Input, local Verdict) Verdict {
	key := string(tenant) + "/" + string(e.Backend)
	fallback := func(why string) Verdict {
		v := local
		v.Notes = append(slices.Clone(local.Notes), fmt.Sprintf("external %s not used (%s); local verdict", e.Backend, why))
		return v
	}
	if !s.breakers.allow(key) {
		return fallback(errBreakerOpen.Error())
	}
	cctx, cancel := context.WithTimeout(ctx, s.extTimeout)
	defer cancel()
	ext, err := s.callExternal(cctx, tenant, e, in, local)
	if err != nil {
		if ctx.Err() != nil {
			// The caller gave up: not the backend's fault.
			s.breakers.done(key, true)
			return fallback("request ended")
		}
		s.breakers.done(key, false)
		why := "error"
		if errors.Is(err, context.DeadlineExceeded) || cctx.Err() != nil {
			why = "timed out"
		}
		s.log.WarnContext(ctx, "external moderation backend failed; local verdict used", "tenant", string(tenant), "backend", string(e.Backend),
			"breaker", s.breakers.state(key), "err", err)
		return fallback(why)
	}
	s.breakers.done(key, true)
	return ext
}

// callExternal runs the backend and merges its answer with the local
// verdict's categories it does not score. A panic is an error.
func (s *Service) callExternal(ctx context.Context, tenant ids.TenantID, e *External, in Input, local Verdict) (v Verdict, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %s panicked", ErrExternal, e.Backend)
		}
	}()
	b, err := s.backendFor(ctx, tenant, e)
	if err != nil {
		return Verdict{}, err
	}
	v, err = b.Classify(ctx, in)
	if err != nil {
		return Verdict{}, err
	}
	return merge(local, v, b.Covers(), e.mode()), nil
}

// merge takes the external verdict's scores for the categories it covers
// and the local verdict's for the rest, with the local spans of those.
func merge(local, ext Verdict, covers []Category, mode ExternalMode) Verdict {
	v := ext
	v.Scores = make(map[Category]float64, len(Categories))
	for _, c := range Categories {
		if slices.Contains(covers, c) {
			v.Scores[c] = ext.Scores[c]
		} else {
			v.Scores[c] = local.Scores[c]
		}
	}
	v.Spans = nil
	for _, sp := range local.Spans {
		if !slices.Contains(covers, sp.Category) {
			v.Spans = append(v.Spans, sp)
		}
	}
	if v.Lang == LangAuto {
		v.Lang = local.Lang
	}
	v.Truncated = v.Truncated || local.Truncated
	v.Notes = append(slices.Clone(local.Notes), ext.Notes...)
	what := "second opinion"
	if mode == ModeOnly {
		what = "external backend only"
	}
	var kept []string
	for _, c := range Categories {
		if !slices.Contains(covers, c) {
			kept = append(kept, string(c))
		}
	}
	v.Notes = append(v.Notes, fmt.Sprintf("decided by %s (%s); local scores kept for %s", ext.Backend, what, strings.Join(kept, ", ")))
	return v
}

// screenExternal finishes Screen for a tenant whose external backend is to
// be asked about the message; see the comment at the top of this file.
func (s *Service) screenExternal(ctx context.Context, d chat.Draft, pol Policy, subj Subject, in Input, local Verdict) (chat.Screening, error) {
	e := pol.External
	ask := func(ctx context.Context) Verdict { return s.consult(ctx, d.Actor.Tenant, e, in, local) }
	if pol.strongest(subj).rank() >= ActionWarn.rank() {
		v := ask(ctx)
		sc, err := s.act(ctx, d, pol, subj, in, v)
		sc.Note = joinNote(sc.Note, "decided by "+string(v.Backend))
		return sc, err
	}
	// Flag at most: send now, ask after the commit, in the background.
	return chat.Screening{Note: "external " + string(e.Backend) + " asked after the send", After: func(ctx context.Context, sent chat.View) {
		s.bg.Add(1)
		go func() {
			defer s.bg.Done()
			v := ask(ctx)
			sc, err := s.act(ctx, d, pol, subj, in, v)
			if err != nil {
				s.log.ErrorContext(ctx, "moderation after the send", "tenant", string(d.Actor.Tenant), "message", d.MessageID, "err", err)
				return
			}
			if sc.After != nil {
				sc.After(ctx, sent)
			}
		}()
	}}, nil
}

func joinNote(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}
