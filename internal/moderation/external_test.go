package moderation

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kaigi/kaigi/internal/audit"
	"github.com/kaigi/kaigi/internal/chat"
	"github.com/kaigi/kaigi/internal/clock"
	"github.com/kaigi/kaigi/internal/errs"
	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/keys"
	"github.com/kaigi/kaigi/internal/principal"
)

const testKey = "sk-test-SECRET-4f9a1c"

// openAIServer speaks OpenAI's documented moderation format: it checks
// the request and answers with the given category scores.
func openAIServer(t *testing.T, scores map[string]float64, calls *atomic.Int32) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls != nil {
			calls.Add(1)
		}
		if r.Method != http.MethodPost || r.URL.Path != "/v1/moderations" {
			t.Errorf("openai: %s %s", r.Method, r.URL.Path)
		}
		if got := r.Header.Get("Authorization"); got != "Bearer "+testKey {
			t.Errorf("openai: Authorization %q", got)
		}
		if ct := r.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("openai: Content-Type %q", ct)
		}
		var req struct {
			Model string `json:"model"`
			Input string `json:"input"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Model != "omni-moderation-latest" || req.Input == "" {
			t.Errorf("openai: request %+v %v", req, err)
		}
		cats, all := map[string]bool{}, map[string]float64{}
		for _, k := range []string{"harassment", "harassment/threatening", "hate", "hate/threatening", "illicit", "illicit/violent", "self-harm",
			"self-harm/instructions", "self-harm/intent", "sexual", "sexual/minors", "violence", "violence/graphic"} {
			all[k] = scores[k]
			cats[k] = scores[k] >= 0.5
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"id": "modr-1", "model": "omni-moderation-latest", "results": []any{
			map[string]any{"flagged": true, "categories": cats, "category_scores": all},
		}})
	}))
	t.Cleanup(srv.Close)
	return srv
}

// azureServer speaks Azure AI Content Safety's documented text:analyze
// format.
func azureServer(t *testing.T, severities map[string]int, calls *atomic.Int32) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls != nil {
			calls.Add(1)
		}
		if r.Method != http.MethodPost || r.URL.Path != "/contentsafety/text:analyze" || r.URL.Query().Get("api-version") != "2024-09-01" {
			t.Errorf("azure: %s %s", r.Method, r.URL)
		}
		if got := r.Header.Get("Ocp-Apim-Subscription-Key"); got != testKey {
			t.Errorf("azure: key header %q", got)
		}
		if r.Header.Get("Authorization") != "" {
			t.Error("azure: an Authorization header was sent")
		}
		var req struct {
			Text       string   `json:"text"`
			Categories []string `json:"categories"`
			OutputType string   `json:"outputType"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Text == "" || req.OutputType != "FourSeverityLevels" ||
			strings.Join(req.Categories, ",") != "Hate,SelfHarm,Sexual,Violence" {
			t.Errorf("azure: request %+v %v", req, err)
		}
		var out []map[string]any
		for _, c := range []string{"Hate", "SelfHarm", "Sexual", "Violence"} {
			out = append(out, map[string]any{"category": c, "severity": severities[c]})
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"blocklistsMatch": []any{}, "categoriesAnalysis": out})
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestOpenAIMapsCategories(t *testing.T) {
	srv := openAIServer(t, map[string]float64{"harassment": 0.2, "harassment/threatening": 0.81, "hate": 0.1, "hate/threatening": 0.05,
		"sexual": 0.01, "sexual/minors": 0.3, "self-harm": 0.1, "self-harm/intent": 0.6, "violence": 0.7, "illicit": 0.99}, nil)
	v, err := NewOpenAI(HTTPOptions{Endpoint: srv.URL, Key: testKey}).Classify(t.Context(), Input{Text: "I will find you"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[Category]float64{Harassment: 0.81, Threat: 0.81, Hate: 0.1, Sexual: 0.3, SelfHarm: 0.6, Profanity: 0}
	for c, w := range want {
		if v.Scores[c] != w {
			t.Errorf("%s = %v, want %v", c, v.Scores[c], w)
		}
	}
	if v.Backend != BackendOpenAI || len(v.Spans) != 0 {
		t.Fatalf("backend %q spans %v", v.Backend, v.Spans)
	}
}

func TestAzureMapsSeverities(t *testing.T) {
	srv := azureServer(t, map[string]int{"Hate": 2, "SelfHarm": 0, "Sexual": 4, "Violence": 6}, nil)
	v, err := NewAzure(HTTPOptions{Endpoint: srv.URL + "/", Key: testKey}).Classify(t.Context(), Input{Text: "text"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[Category]float64{Hate: 0.4, SelfHarm: 0, Sexual: 0.7, Threat: 0.95, Harassment: 0, Profanity: 0}
	for c, w := range want {
		if v.Scores[c] != w {
			t.Errorf("%s = %v, want %v", c, v.Scores[c], w)
		}
	}
	if v.Backend != BackendAzure {
		t.Fatalf("backend %q", v.Backend)
	}
	if s := v.Scores[Hate]; !(s >= BorderlineThreshold && s < FlagThreshold) {
		t.Fatalf("low severity scores %v, want borderline", s)
	}
}

func TestExternalTruncatesLongText(t *testing.T) {
	var got int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct{ Text string }
		_ = json.NewDecoder(r.Body).Decode(&req)
		got = len([]rune(req.Text))
		_, _ = io.WriteString(w, `{"categoriesAnalysis":[{"category":"Hate","severity":0}]}`)
	}))
	t.Cleanup(srv.Close)
	v, err := NewAzure(HTTPOptions{Endpoint: srv.URL, Key: testKey, MaxChars: 100}).Classify(t.Context(), Input{Text: strings.Repeat("あ", 500)})
	if err != nil || got != 100 || !v.Truncated || len(v.Notes) == 0 {
		t.Fatalf("sent %d characters, verdict %+v %v", got, v, err)
	}
}

// ---- the service

// xorSealer stands in for the key service: it binds the AAD and hides the
// plaintext (so that a test can look for the key in what is stored).
type xorSealer struct{}

func (xorSealer) Seal(_ context.Context, tenant ids.TenantID, aad keys.AAD, p []byte) ([]byte, error) {
	out := []byte(string(tenant) + "|" + aad.Kind + "|" + aad.ID + "|")
	for _, b := range p {
		out = append(out, b^0x5a)
	}
	return out, nil
}

func (xorSealer) Open(_ context.Context, tenant ids.TenantID, aad keys.AAD, c []byte) ([]byte, error) {
	prefix := string(tenant) + "|" + aad.Kind + "|" + aad.ID + "|"
	if !bytes.HasPrefix(c, []byte(prefix)) {
		return nil, fmt.Errorf("open: wrong AAD")
	}
	var out []byte
	for _, b := range c[len(prefix):] {
		out = append(out, b^0x5a)
	}
	return out, nil
}

// memStore keeps a policy (as JSON, like the SQL stores), alerts and audit
// records in memory.
type memStore struct {
	Store
	mu      sync.Mutex
	raw     []byte
	alerts  []Alert
	records []audit.Record
}

type memTx struct{ s *memStore }

func (m *memStore) Policy(context.Context, ids.TenantID) (Policy, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var p Policy
	if m.raw == nil {
		return p, false, nil
	}
	return p, true, json.Unmarshal(m.raw, &p)
}

func (m *memStore) UpdateModeration(_ context.Context, fn func(tx Tx) error) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return fn(memTx{m})
}

func (m *memStore) ChannelMembers(context.Context, string) ([]ids.UserID, error) { return nil, nil }

func (tx memTx) PutPolicy(_ context.Context, _ ids.TenantID, p Policy, _ ids.UserID, _ time.Time) error {
	b, err := json.Marshal(p)
	tx.s.raw = b
	return err
}
func (tx memTx) InsertAlert(_ context.Context, a Alert) error {
	tx.s.alerts = append(tx.s.alerts, a)
	return nil
}
func (tx memTx) UpdateAlert(context.Context, Alert) error   { return nil }
func (tx memTx) InsertNotice(context.Context, Notice) error { return nil }
func (tx memTx) LockAuditHead(context.Context, ids.TenantID) (int64, []byte, error) {
	return int64(len(tx.s.records)), nil, nil
}
func (tx memTx) InsertAuditRecord(_ context.Context, r audit.Record) error {
	tx.s.records = append(tx.s.records, r)
	return nil
}

var (
	testAdmin   = principal.Principal{Kind: principal.Member, Tenant: "t1", User: "ada", Roles: []principal.Role{principal.TenantAdmin}}
	testOfficer = principal.Principal{Kind: principal.Member, Tenant: "t1", User: "cora", Roles: []principal.Role{principal.ComplianceOfficer}}
	testSender  = principal.Principal{Kind: principal.Member, Tenant: "t1", User: "max"}
)

type world struct {
	s     *Service
	st    *memStore
	clock *clock.Fake
	log   *bytes.Buffer
}

func newWorld(t *testing.T, local Verdict, o ServiceOptions) *world {
	t.Helper()
	w := &world{st: &memStore{}, clock: clock.NewFake(time.Date(2025, 1, 1, 9, 0, 0, 0, time.UTC)), log: &bytes.Buffer{}}
	var mu sync.Mutex
	o.Store, o.Keys, o.Audit, o.Clock = w.st, xorSealer{}, audit.New(w.clock), w.clock
	o.Log = slog.New(slog.NewTextHandler(lockedWriter{&mu, w.log}, nil))
	o.Classifier = classifierFunc(func(context.Context, Input) (Verdict, error) { return local, nil })
	o.AllowLoopbackEndpoints = true
	w.s = New(o)
	t.Cleanup(w.s.bg.Wait)
	return w
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func (w *world) set(t *testing.T, p principal.Principal, pol Policy) {
	t.Helper()
	if err := w.s.SetPolicy(t.Context(), p, pol); err != nil {
		t.Fatalf("set policy: %v", err)
	}
}

func (w *world) screen(t *testing.T) (chat.Screening, error) {
	t.Helper()
	return w.s.Screen(t.Context(), chat.Draft{Actor: testSender, Channel: chat.Channel{ID: "c1", Kind: chat.Standard, Team: "tm"}, MessageID: ids.New(), Body: "borderline words"})
}

var (
	blockThreats = Rule{Name: "threats", Action: ActionBlock, Categories: map[Category]float64{Threat: 0.5}}
	flagAll      = Rule{Name: "all", Action: ActionFlag}
	borderlineV  = verdict(map[Category]float64{Threat: 0.35, Profanity: 0.4})
	cleanV       = verdict(nil)
)

// TestExternalNothingSentUnlessEnabled: with no external service, with
// backend local, and in second-opinion mode for a message the local
// classifier finds clean, no request leaves.
func TestExternalNothingSentUnlessEnabled(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { t.Error("a message was sent to an external service") }))
	t.Cleanup(srv.Close)
	for _, tc := range []struct {
		name  string
		local Verdict
		ext   *External
	}{
		{"no external section", borderlineV, nil},
		{"backend local", borderlineV, &External{Backend: BackendLocal, Endpoint: srv.URL}},
		{"second opinion, clean", cleanV, &External{Backend: BackendOpenAI, Mode: ModeSecondOpinion, Endpoint: srv.URL, Key: testKey}},
		{"second opinion, flagged", verdict(map[Category]float64{Threat: 0.9}), &External{Backend: BackendAzure, Endpoint: srv.URL, Key: testKey}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, tc.local, ServiceOptions{})
			w.set(t, testAdmin, Policy{Rules: []Rule{blockThreats, flagAll}, External: tc.ext})
			sc, _ := w.screen(t) // held or passed: only what is sent matters here
			if sc.After != nil {
				sc.After(t.Context(), chat.View{})
			}
			w.s.bg.Wait()
		})
	}
}

// TestExternalDecides: a borderline message gets a second opinion that
// decides, in both formats; a policy that may block waits for it.
func TestExternalDecides(t *testing.T) {
	for _, tc := range []struct {
		name string
		ext  func(t *testing.T, calls *atomic.Int32) *External
	}{
		{"openai", func(t *testing.T, calls *atomic.Int32) *External {
			return &External{Backend: BackendOpenAI, Endpoint: openAIServer(t, map[string]float64{"violence": 0.9}, calls).URL, Key: testKey}
		}},
		{"azure", func(t *testing.T, calls *atomic.Int32) *External {
			return &External{Backend: BackendAzure, Endpoint: azureServer(t, map[string]int{"Violence": 6}, calls).URL, Key: testKey}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var calls atomic.Int32
			w := newWorld(t, borderlineV, ServiceOptions{})
			w.set(t, testAdmin, Policy{Rules: []Rule{blockThreats}, External: tc.ext(t, &calls)})
			_, err := w.screen(t)
			if !errs.Is(err, errs.ModerationHeld) || calls.Load() != 1 {
				t.Fatalf("screen: %v after %d calls, want held after one", err, calls.Load())
			}
			if len(w.st.alerts) != 1 || !strings.Contains(strings.Join(w.st.alerts[0].Info.Notes, " "), "decided by "+tc.name) {
				t.Fatalf("alerts %+v", w.st.alerts)
			}
			if got := w.st.alerts[0].Info.Scores[Profanity]; got != 0.4 {
				t.Fatalf("profanity %v: the local score should be kept for what the backend does not score", got)
			}
		})
	}
}

// TestExternalFlagOnlyAsksAfterTheSend: when the policy can only flag, the
// send does not wait; the answer raises the alert after the commit.
func TestExternalFlagOnlyAsksAfterTheSend(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-release
		_, _ = io.WriteString(w, `{"categoriesAnalysis":[{"category":"Hate","severity":4},{"category":"Violence","severity":0}]}`)
	}))
	t.Cleanup(srv.Close)
	w := newWorld(t, borderlineV, ServiceOptions{})
	w.set(t, testAdmin, Policy{Rules: []Rule{flagAll}, External: &External{Backend: BackendAzure, Mode: ModeOnly, Endpoint: srv.URL, Key: testKey}})
	start := time.Now()
	sc, err := w.screen(t)
	if err != nil || sc.After == nil || !strings.Contains(sc.Note, "after the send") {
		t.Fatalf("screening %+v %v", sc, err)
	}
	sc.After(t.Context(), chat.View{Seq: 7})
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Fatalf("the send waited %v for the external service", d)
	}
	close(release)
	w.s.bg.Wait()
	if len(w.st.alerts) != 1 || w.st.alerts[0].Kind != KindFlag || w.st.alerts[0].Info.Scores[Hate] != 0.7 {
		t.Fatalf("alerts %+v", w.st.alerts)
	}
}

// TestExternalFailureFallsBackToLocal: a backend that overruns, fails or
// answers nonsense is abandoned and the local verdict decides, with a note.
func TestExternalFailureFallsBackToLocal(t *testing.T) {
	for _, tc := range []struct {
		name    string
		handler http.HandlerFunc
		note    string
	}{
		{"timeout", func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-time.After(300 * time.Millisecond):
			}
		}, "timed out"},
		{"5xx", func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "overloaded", http.StatusServiceUnavailable)
		}, "error"},
		{"garbage", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "<html>not json") }, "error"},
		{"no results", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, `{"results":[]}`) }, "error"},
		{"score out of range", func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.WriteString(w, `{"results":[{"category_scores":{"hate":7}}]}`)
		}, "error"},
		{"redirect", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "http://127.0.0.1:1/steal", http.StatusTemporaryRedirect)
		}, "error"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(tc.handler)
			t.Cleanup(srv.Close)
			// The local verdict blocks on its own: falling back must still block.
			w := newWorld(t, verdict(map[Category]float64{Threat: 0.9}), ServiceOptions{ExternalTimeout: 100 * time.Millisecond})
			w.set(t, testAdmin, Policy{Rules: []Rule{blockThreats}, External: &External{Backend: BackendOpenAI, Mode: ModeOnly, Endpoint: srv.URL, Key: testKey}})
			start := time.Now()
			_, err := w.screen(t)
			if d := time.Since(start); d > time.Second {
				t.Fatalf("the send waited %v", d)
			}
			if !errs.Is(err, errs.ModerationHeld) || len(w.st.alerts) != 1 {
				t.Fatalf("screen %v, alerts %d: want the local verdict to hold it", err, len(w.st.alerts))
			}
			notes := strings.Join(w.st.alerts[0].Info.Notes, " ")
			if !strings.Contains(notes, "external openai not used ("+tc.note) {
				t.Fatalf("notes %q, want the fallback noted as %q", notes, tc.note)
			}
			if strings.Contains(w.log.String(), testKey) || strings.Contains(errs.MessageOf(err), testKey) {
				t.Fatal("the key reached a log or an error")
			}
		})
	}
}

// TestBreakerOpensAndRecovers: after Failures failures in a row calls stop;
// after the cool-down one trial goes through; success closes the breaker.
func TestBreakerOpensAndRecovers(t *testing.T) {
	var calls atomic.Int32
	var healthy atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if !healthy.Load() {
			http.Error(w, "down", http.StatusBadGateway)
			return
		}
		_, _ = io.WriteString(w, `{"results":[{"flagged":false,"categories":{},"category_scores":{"violence":0.01}}]}`)
	}))
	t.Cleanup(srv.Close)
	w := newWorld(t, borderlineV, ServiceOptions{Breaker: BreakerConfig{Failures: 3, Cooldown: time.Minute}})
	w.set(t, testAdmin, Policy{Rules: []Rule{blockThreats}, External: &External{Backend: BackendOpenAI, Endpoint: srv.URL, Key: testKey}})
	key := "t1/openai"
	screen := func() {
		t.Helper()
		if _, err := w.screen(t); err != nil {
			t.Fatalf("screen: %v", err) // borderline, below the rule: passes either way
		}
	}
	for range 3 {
		screen()
	}
	if calls.Load() != 3 || w.s.breakers.state(key) != breakerOpen {
		t.Fatalf("%d calls, breaker %s; want 3 and open", calls.Load(), w.s.breakers.state(key))
	}
	screen()
	if calls.Load() != 3 {
		t.Fatal("an open breaker let a call through")
	}
	w.clock.Advance(time.Minute)
	if w.s.breakers.state(key) != breakerHalfOpen {
		t.Fatalf("breaker %s after the cool-down", w.s.breakers.state(key))
	}
	screen() // the trial fails: open again
	if calls.Load() != 4 || w.s.breakers.state(key) != breakerOpen {
		t.Fatalf("%d calls, breaker %s; want 4 and open", calls.Load(), w.s.breakers.state(key))
	}
	w.clock.Advance(time.Minute)
	healthy.Store(true)
	screen()
	screen()
	if calls.Load() != 6 || w.s.breakers.state(key) != breakerClosed {
		t.Fatalf("%d calls, breaker %s; want 6 and closed", calls.Load(), w.s.breakers.state(key))
	}
	// One tenant's breaker is not another's.
	if w.s.breakers.state("t2/openai") != breakerClosed {
		t.Fatal("another tenant's breaker is open")
	}
}

// TestBreakerHalfOpenAllowsOneTrial: while the trial call is under way,
// other calls are refused.
func TestBreakerHalfOpenAllowsOneTrial(t *testing.T) {
	c := clock.NewFake(time.Unix(0, 0))
	bs := newBreakers(BreakerConfig{Failures: 1, Cooldown: time.Second}, c)
	if !bs.allow("k") {
		t.Fatal("closed breaker refused")
	}
	bs.done("k", false)
	if bs.allow("k") {
		t.Fatal("open breaker allowed")
	}
	c.Advance(time.Second)
	if !bs.allow("k") || bs.allow("k") {
		t.Fatal("half-open breaker must allow exactly one trial")
	}
	bs.done("k", true)
	if first, second := bs.allow("k"), bs.allow("k"); !first || !second {
		t.Fatal("closed breaker refused")
	}
}

// TestExternalKeyConfidentiality: the key is stored sealed, never returned
// by GET, never in the audit record, logs or error messages.
func TestExternalKeyConfidentiality(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { http.Error(w, "no", 500) }))
	t.Cleanup(srv.Close)
	w := newWorld(t, borderlineV, ServiceOptions{})
	w.set(t, testAdmin, Policy{Rules: []Rule{blockThreats}, External: &External{Backend: BackendOpenAI, Endpoint: srv.URL, Key: testKey}})
	if bytes.Contains(w.st.raw, []byte(testKey)) {
		t.Fatal("the key is stored in the clear")
	}
	got, err := w.s.Policy(t.Context(), testOfficer)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(got)
	if bytes.Contains(b, []byte(testKey)) || bytes.Contains(b, []byte("sealed_key")) || !got.External.KeySet {
		t.Fatalf("GET policy: %s", b)
	}
	for _, r := range w.st.records {
		if strings.Contains(r.Details, testKey) {
			t.Fatalf("audit record %s: %s", r.Action, r.Details)
		}
		if r.Action == "moderation.policy.update" && r.DetailMap()["external_key"] != "new" {
			t.Fatalf("audit details %s", r.Details)
		}
	}
	if _, err := w.screen(t); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(w.log.String(), "external moderation backend failed") || strings.Contains(w.log.String(), testKey) {
		t.Fatalf("log: %s", w.log.String())
	}
	// A bad key is refused without being repeated.
	bad := testKey + " x"
	err = w.s.SetPolicy(t.Context(), testAdmin, Policy{External: &External{Backend: BackendOpenAI, Endpoint: srv.URL, Key: bad}})
	if err == nil || strings.Contains(errs.MessageOf(err), testKey) || strings.Contains(err.Error(), testKey) {
		t.Fatalf("bad key: %v", err)
	}
	if s := fmt.Sprintf("%v %+v %#v", apiKey(testKey), NewOpenAI(HTTPOptions{Key: testKey}), NewAzure(HTTPOptions{Key: testKey})); strings.Contains(s, testKey) {
		t.Fatalf("a backend prints its key: %s", s)
	}
}

// TestExternalKeyMoveIntegrity: a sealed key is bound to its tenant,
// backend and endpoint; changed in storage, it no longer opens and the
// local verdict decides.
func TestExternalKeyMoveIntegrity(t *testing.T) {
	var calls atomic.Int32
	srv := openAIServer(t, nil, &calls)
	w := newWorld(t, borderlineV, ServiceOptions{})
	w.set(t, testAdmin, Policy{Rules: []Rule{blockThreats}, External: &External{Backend: BackendOpenAI, Endpoint: srv.URL, Key: testKey}})
	w.st.raw = bytes.Replace(w.st.raw, []byte(srv.URL), []byte(srv.URL+"/elsewhere"), 1)
	w.s.policies = map[ids.TenantID]cachedPolicy{}
	if _, err := w.screen(t); err != nil || calls.Load() != 0 {
		t.Fatalf("screen %v, %d calls: a moved key must not be sent", err, calls.Load())
	}
}

func TestSetPolicyExternal(t *testing.T) {
	const ep = "https://moderation.example.com"
	okExt := func() *External { return &External{Backend: BackendOpenAI, Endpoint: ep, Key: testKey} }
	for _, tc := range []struct {
		name   string
		before *External // stored first, by an testAdmin
		by     principal.Principal
		ext    *External
		loop   bool
		code   errs.Code // "" : accepted
	}{
		{"admin enables", nil, testAdmin, okExt(), false, ""},
		{"openai default endpoint", nil, testAdmin, &External{Backend: BackendOpenAI, Key: testKey}, false, ""},
		{"azure needs an endpoint", nil, testAdmin, &External{Backend: BackendAzure, Key: testKey}, false, errs.Invalid},
		{"unknown backend", nil, testAdmin, &External{Backend: "acme", Endpoint: ep, Key: testKey}, false, errs.Invalid},
		{"bad mode", nil, testAdmin, &External{Backend: BackendOpenAI, Mode: "always", Endpoint: ep, Key: testKey}, false, errs.Invalid},
		{"no key", nil, testAdmin, &External{Backend: BackendOpenAI, Endpoint: ep}, false, errs.Invalid},
		{"http refused", nil, testAdmin, &External{Backend: BackendOpenAI, Endpoint: "http://moderation.example.com", Key: testKey}, false, errs.Invalid},
		{"loopback refused", nil, testAdmin, &External{Backend: BackendOpenAI, Endpoint: "https://127.0.0.1:8443", Key: testKey}, false, errs.Invalid},
		{"localhost refused", nil, testAdmin, &External{Backend: BackendOpenAI, Endpoint: "https://localhost", Key: testKey}, false, errs.Invalid},
		{"loopback with the option", nil, testAdmin, &External{Backend: BackendOpenAI, Endpoint: "http://127.0.0.1:8080", Key: testKey}, true, ""},
		{"http elsewhere even with the option", nil, testAdmin, &External{Backend: BackendOpenAI, Endpoint: "http://moderation.example.com", Key: testKey}, true, errs.Invalid},
		{"metadata address", nil, testAdmin, &External{Backend: BackendOpenAI, Endpoint: "https://169.254.169.254", Key: testKey}, true, errs.Invalid},
		{"query", nil, testAdmin, &External{Backend: BackendOpenAI, Endpoint: ep + "?x=1", Key: testKey}, false, errs.Invalid},
		{"credentials in URL", nil, testAdmin, &External{Backend: BackendOpenAI, Endpoint: "https://u:p@moderation.example.com", Key: testKey}, false, errs.Invalid},
		{"officer cannot enable", nil, testOfficer, okExt(), false, errs.Forbidden},
		{"officer keeps it unchanged", okExt(), testOfficer, &External{Backend: BackendOpenAI, Mode: ModeSecondOpinion, Endpoint: ep}, false, ""},
		{"officer cannot change the mode", okExt(), testOfficer, &External{Backend: BackendOpenAI, Mode: ModeOnly, Endpoint: ep}, false, errs.Forbidden},
		{"officer cannot change the key", okExt(), testOfficer, okExt(), false, errs.Forbidden},
		{"officer turns it off", okExt(), testOfficer, nil, false, ""},
		{"new endpoint needs the key again", okExt(), testAdmin, &External{Backend: BackendOpenAI, Endpoint: ep + "/v2"}, false, errs.Invalid},
		{"new backend needs the key again", okExt(), testAdmin, &External{Backend: BackendAzure, Endpoint: ep}, false, errs.Invalid},
		{"admin changes the mode, key kept", okExt(), testAdmin, &External{Backend: BackendOpenAI, Mode: ModeOnly, Endpoint: ep}, false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, cleanV, ServiceOptions{})
			w.s.allowLoopback = tc.loop
			if tc.before != nil {
				w.set(t, testAdmin, Policy{External: tc.before})
			}
			err := w.s.SetPolicy(t.Context(), tc.by, Policy{External: tc.ext})
			switch {
			case tc.code == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.code != "" && !errs.Is(err, tc.code):
				t.Fatalf("got %v, want %s", err, tc.code)
			case err != nil && strings.Contains(errs.MessageOf(err), testKey):
				t.Fatal("the error repeats the key")
			}
			if err != nil {
				return
			}
			got, _ := w.s.Policy(t.Context(), testAdmin)
			if tc.ext == nil && got.External != nil {
				t.Fatalf("turned off, still %+v", got.External)
			}
			if tc.ext != nil && (got.External == nil || !got.External.KeySet) {
				t.Fatalf("stored %+v", got.External)
			}
		})
	}
}
