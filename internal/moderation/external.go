package moderation

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kaigi/kaigi/internal/errs"
)

// The external backends. They are off by default: no message text leaves
// the deployment unless a tenant admin configures one in the tenant's
// [Policy].
const (
	// BackendOpenAI is OpenAI's moderation endpoint (POST /v1/moderations).
	BackendOpenAI Backend = "openai"
	// BackendAzure is Azure AI Content Safety's text analysis
	// (POST /contentsafety/text:analyze).
	BackendAzure Backend = "azure"
)

// ExternalMode says when an external backend is asked.
type ExternalMode string

// The modes.
const (
	// ModeOnly asks the external backend about every message in scope; its
	// scores replace the local ones for the categories it scores.
	ModeOnly ExternalMode = "only"
	// ModeSecondOpinion asks it only about messages the local classifier
	// finds borderline: a highest score in [BorderlineThreshold,
	// FlagThreshold), i.e. [0.3, 0.5).
	ModeSecondOpinion ExternalMode = "second_opinion"
)

// DefaultOpenAIBase is the OpenAI API's base URL, used when a policy names
// no endpoint.
const DefaultOpenAIBase = "https://api.openai.com"

// External is a tenant's optional external moderation service, part of its
// [Policy]. The zero value (or a nil *External) is the local classifier
// only. Enabling or changing it needs a tenant admin; anyone who may edit
// the policy may turn it off.
//
// The API key is write-only: it is sealed with the tenant's keys before the
// policy is stored, never returned (KeySet says whether one is set), never
// logged, never audited. Changing the backend or the endpoint needs the key
// again, so that a stored key is never sent to an address it was not
// entered for.
type External struct {
	// Backend is local (the default), openai or azure.
	Backend Backend `json:"backend" doc:"local (default: nothing leaves the deployment), openai or azure."`
	// Mode is only or second_opinion (the default when Backend is external).
	Mode ExternalMode `json:"mode,omitempty" doc:"only (every message in scope is sent) or second_opinion (only messages the local classifier finds borderline)."`
	// Endpoint is the service's base URL: https, no query. For openai
	// default DefaultOpenAIBase; for azure the resource's endpoint,
	// required.
	Endpoint string `json:"endpoint,omitempty" doc:"Base URL, https only; for azure the resource endpoint."`
	// Key is the API key, on input only. Empty on input keeps the stored
	// key when the backend and endpoint are unchanged.
	Key string `json:"key,omitempty" doc:"Write-only API key; never returned. Empty keeps the stored key if backend and endpoint are unchanged."`
	// KeySet, on output, says a key is stored.
	KeySet bool `json:"key_set,omitempty" doc:"Output only: a key is stored."`
	// SealedKey is the key sealed with the tenant's keys, as stored; the
	// service ignores it on input and never returns it.
	SealedKey []byte `json:"sealed_key,omitempty" doc:"Server-side only; ignored on input, never returned."`
}

// enabled reports whether e sends text to an external backend.
func (e *External) enabled() bool {
	return e != nil && (e.Backend == BackendOpenAI || e.Backend == BackendAzure)
}

// mode returns e's mode with its default.
func (e *External) mode() ExternalMode {
	if e.Mode == "" {
		return ModeSecondOpinion
	}
	return e.Mode
}

// endpoint returns e's endpoint with its default.
func (e *External) endpoint() string {
	if e.Endpoint == "" && e.Backend == BackendOpenAI {
		return DefaultOpenAIBase
	}
	return strings.TrimRight(e.Endpoint, "/")
}

const maxKeyLen = 1024

// validate checks an external configuration an admin submits (without its
// key, which SetPolicy checks against the stored one). allowLoopback lets
// http and loopback addresses through, for tests against local servers.
func (e *External) validate(allowLoopback bool) error {
	switch e.Backend {
	case "", BackendLocal:
		return nil
	case BackendOpenAI, BackendAzure:
	default:
		return errs.E(errs.Invalid, "The external service must be local, openai or azure.")
	}
	switch e.Mode {
	case "", ModeOnly, ModeSecondOpinion:
	default:
		return errs.E(errs.Invalid, "The external service's mode must be only or second_opinion.")
	}
	if e.Backend == BackendAzure && e.Endpoint == "" {
		return errs.E(errs.Invalid, "Azure AI Content Safety needs the endpoint of your resource, such as https://NAME.cognitiveservices.azure.com.")
	}
	if err := checkEndpoint(e.endpoint(), allowLoopback); err != nil {
		return err
	}
	if len(e.Key) > maxKeyLen || strings.ContainsFunc(e.Key, func(r rune) bool { return r <= ' ' || r == 0x7f }) || !utf8.ValidString(e.Key) {
		// The message never repeats the key.
		return errs.E(errs.Invalid, "The API key must be at most %d characters, without spaces.", maxKeyLen)
	}
	return nil
}

// checkEndpoint accepts an absolute https URL without credentials, query or
// fragment, whose host is not a loopback, link-local or unspecified address
// (so that a policy cannot aim the key at the node itself or at a cloud
// metadata service). With allowLoopback, http and loopback hosts pass too.
func checkEndpoint(raw string, allowLoopback bool) error {
	bad := errs.E(errs.Invalid, "The external service's endpoint must be an https URL without user name, query or fragment.")
	if len(raw) > 900 { // it is part of the sealed key's AAD, which has room for 1024 bytes
		return bad
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		return bad
	}
	host := u.Hostname()
	loop := host == "localhost" || strings.HasSuffix(host, ".localhost")
	ip := net.ParseIP(host)
	if ip != nil {
		loop = loop || ip.IsLoopback()
		if ip.IsUnspecified() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() || ip.IsMulticast() {
			return errs.E(errs.Invalid, "The external service's endpoint cannot be that address.")
		}
	}
	switch {
	case loop && !allowLoopback:
		return errs.E(errs.Invalid, "The external service's endpoint cannot be this machine.")
	case u.Scheme == "https":
		return nil
	case u.Scheme == "http" && loop && allowLoopback:
		return nil
	}
	return bad
}

// apiKey is an API key in memory. It prints as "[redacted]" however it is
// formatted or logged, so that it cannot reach a log or an error by
// accident.
type apiKey string

func (apiKey) String() string               { return "[redacted]" }
func (apiKey) GoString() string             { return "[redacted]" }
func (apiKey) LogValue() slog.Value         { return slog.StringValue("[redacted]") }
func (apiKey) MarshalJSON() ([]byte, error) { return []byte(`"[redacted]"`), nil }

// HTTPOptions configure an external backend.
type HTTPOptions struct {
	// Endpoint is the service's base URL (see [External.Endpoint]).
	Endpoint string
	// Key is the API key.
	Key string
	// Client sends the requests. Default: a client that follows no
	// redirects (a redirect could carry the key elsewhere) with a 10s
	// timeout; callers bound each call with their context as well.
	Client *http.Client
	// MaxChars is how much of a message is sent, in characters; the rest
	// is not analysed and the verdict says so. Default 10,000 (Azure's
	// limit per request).
	MaxChars int
}

// NoRedirectClient returns an HTTP client that follows no redirects, with
// the given overall timeout.
func NoRedirectClient(timeout time.Duration) *http.Client {
	return &http.Client{Timeout: timeout, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

const defaultMaxChars = 10000

// maxResponse bounds how much of a backend's answer is read.
const maxResponse = 1 << 20

// ErrExternal is wrapped by every error of an external backend: a refused
// or failed request, an unexpected status, an answer that cannot be read.
// Its messages never contain the key or the message text.
var ErrExternal = errors.New("moderation: external backend failed")

type httpBackend struct {
	name     Backend
	endpoint string
	key      *apiKey // a pointer, so that printing a backend prints no key
	client   *http.Client
	maxChars int
}

func newHTTPBackend(name Backend, o HTTPOptions) httpBackend {
	if o.Client == nil {
		o.Client = NoRedirectClient(10 * time.Second)
	}
	if o.MaxChars <= 0 {
		o.MaxChars = defaultMaxChars
	}
	key := apiKey(o.Key)
	return httpBackend{name: name, endpoint: strings.TrimRight(o.Endpoint, "/"), key: &key, client: o.Client, maxChars: o.MaxChars}
}

// prefix cuts text to maxChars characters.
func (b httpBackend) prefix(text string) (string, bool) {
	if utf8.RuneCountInString(text) <= b.maxChars {
		return text, false
	}
	n := 0
	for i := range text {
		if n == b.maxChars {
			return text[:i], true
		}
		n++
	}
	return text, false
}

// post sends body as JSON and decodes a 200 answer into out.
func (b httpBackend) post(ctx context.Context, u string, header http.Header, body, out any) error {
	raw, err := json.Marshal(body)
	if err != nil {
		return fmt.Errorf("%w: %s: encode request: %v", ErrExternal, b.name, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(raw))
	if err != nil {
		return fmt.Errorf("%w: %s: bad endpoint", ErrExternal, b.name)
	}
	req.Header = header
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := b.client.Do(req)
	if err != nil {
		// A *url.Error names the URL (never the key, which is in a
		// header) and the cause.
		return fmt.Errorf("%w: %s: %v", ErrExternal, b.name, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxResponse))
		return fmt.Errorf("%w: %s: status %d", ErrExternal, b.name, resp.StatusCode)
	}
	dec := json.NewDecoder(io.LimitReader(resp.Body, maxResponse))
	if err := dec.Decode(out); err != nil {
		return fmt.Errorf("%w: %s: unreadable answer", ErrExternal, b.name)
	}
	return nil
}

func (b httpBackend) verdict(in Input, truncated bool) Verdict {
	v := newVerdict(in.Lang)
	v.Backend, v.Truncated = b.name, truncated
	if truncated {
		v.Notes = append(v.Notes, fmt.Sprintf("%s: only the first %d characters were analysed", b.name, b.maxChars))
	}
	return v
}

// ---- OpenAI

// OpenAI classifies with OpenAI's moderation endpoint: POST
// {endpoint}/v1/moderations with {"model": "omni-moderation-latest",
// "input": text} and the key as a Bearer token. Each category's score is
// the highest of the OpenAI scores mapped onto it:
//
//	harassment  ← harassment, harassment/threatening
//	threat      ← harassment/threatening, hate/threatening, violence,
//	              violence/graphic, illicit/violent
//	hate        ← hate, hate/threatening
//	sexual      ← sexual, sexual/minors
//	self_harm   ← self-harm, self-harm/intent, self-harm/instructions
//
// illicit (advice on wrongdoing) has no counterpart and is ignored; OpenAI
// scores no profanity, so profanity is left to the local classifier (see
// [OpenAI.Covers]). It returns no spans.
type OpenAI struct {
	httpBackend
	// Model is the moderation model, default "omni-moderation-latest".
	Model string
}

var _ Classifier = (*OpenAI)(nil)

// NewOpenAI returns an OpenAI backend; Endpoint defaults to
// [DefaultOpenAIBase].
func NewOpenAI(o HTTPOptions) *OpenAI {
	if o.Endpoint == "" {
		o.Endpoint = DefaultOpenAIBase
	}
	return &OpenAI{httpBackend: newHTTPBackend(BackendOpenAI, o), Model: "omni-moderation-latest"}
}

// openAIMap maps OpenAI's categories onto Kaigi's.
var openAIMap = map[string][]Category{
	"harassment":             {Harassment},
	"harassment/threatening": {Harassment, Threat},
	"hate":                   {Hate},
	"hate/threatening":       {Hate, Threat},
	"violence":               {Threat},
	"violence/graphic":       {Threat},
	"illicit/violent":        {Threat},
	"sexual":                 {Sexual},
	"sexual/minors":          {Sexual},
	"self-harm":              {SelfHarm},
	"self-harm/intent":       {SelfHarm},
	"self-harm/instructions": {SelfHarm},
}

// Covers lists the categories OpenAI scores.
func (*OpenAI) Covers() []Category { return []Category{Harassment, Threat, Hate, Sexual, SelfHarm} }

type openAIRequest struct {
	Model string `json:"model"`
	Input string `json:"input"`
}

type openAIResponse struct {
	Results []struct {
		Flagged        bool                `json:"flagged"`
		Categories     map[string]bool     `json:"categories"`
		CategoryScores map[string]*float64 `json:"category_scores"`
	} `json:"results"`
}

// Classify asks OpenAI about in.Text.
func (o *OpenAI) Classify(ctx context.Context, in Input) (Verdict, error) {
	text, truncated := o.prefix(in.Text)
	h := http.Header{}
	h.Set("Authorization", "Bearer "+string(*o.key))
	var resp openAIResponse
	if err := o.post(ctx, o.endpoint+"/v1/moderations", h, openAIRequest{Model: o.Model, Input: text}, &resp); err != nil {
		return Verdict{}, err
	}
	if len(resp.Results) == 0 || len(resp.Results[0].CategoryScores) == 0 {
		return Verdict{}, fmt.Errorf("%w: openai: answer without results", ErrExternal)
	}
	v := o.verdict(in, truncated)
	for name, score := range resp.Results[0].CategoryScores {
		if score == nil {
			continue
		}
		s := *score
		if !(s >= 0 && s <= 1) {
			return Verdict{}, fmt.Errorf("%w: openai: score out of range", ErrExternal)
		}
		for _, c := range openAIMap[name] {
			v.Scores[c] = max(v.Scores[c], s)
		}
	}
	return v, nil
}

// ---- Azure AI Content Safety

// AzureAPIVersion is the Content Safety API version Kaigi speaks.
const AzureAPIVersion = "2024-09-01"

// Azure classifies with Azure AI Content Safety: POST
// {endpoint}/contentsafety/text:analyze?api-version=2024-09-01 with
// {"text": text, "categories": ["Hate","SelfHarm","Sexual","Violence"],
// "outputType": "FourSeverityLevels"} and the key in the
// Ocp-Apim-Subscription-Key header. Categories map as Hate → hate,
// SelfHarm → self_harm, Sexual → sexual, Violence → threat; severities to
// scores as
//
//	0 → 0, 2 (low) → 0.4, 4 (medium) → 0.7, 6 (high) → 0.95
//
// so that low is borderline (counted by [Patterns], not flagged at the
// default thresholds), medium and high are flagged (the odd severities of
// the eight-level output fall between). Azure scores neither harassment
// nor profanity: those are left to the local classifier (see
// [Azure.Covers]). It returns no spans.
type Azure struct{ httpBackend }

var _ Classifier = (*Azure)(nil)

// NewAzure returns an Azure backend; Endpoint is required.
func NewAzure(o HTTPOptions) *Azure { return &Azure{newHTTPBackend(BackendAzure, o)} }

var azureMap = map[string]Category{"Hate": Hate, "SelfHarm": SelfHarm, "Sexual": Sexual, "Violence": Threat}

var azureSeverity = [...]float64{0, 0.2, 0.4, 0.55, 0.7, 0.8, 0.95, 1}

// Covers lists the categories Azure scores.
func (*Azure) Covers() []Category { return []Category{Threat, Hate, Sexual, SelfHarm} }

type azureRequest struct {
	Text       string   `json:"text"`
	Categories []string `json:"categories"`
	OutputType string   `json:"outputType"`
}

type azureResponse struct {
	CategoriesAnalysis []struct {
		Category string `json:"category"`
		Severity *int   `json:"severity"`
	} `json:"categoriesAnalysis"`
}

// Classify asks Azure about in.Text.
func (a *Azure) Classify(ctx context.Context, in Input) (Verdict, error) {
	text, truncated := a.prefix(in.Text)
	h := http.Header{}
	h.Set("Ocp-Apim-Subscription-Key", string(*a.key))
	var resp azureResponse
	u := a.endpoint + "/contentsafety/text:analyze?api-version=" + AzureAPIVersion
	if err := a.post(ctx, u, h, azureRequest{Text: text, Categories: []string{"Hate", "SelfHarm", "Sexual", "Violence"}, OutputType: "FourSeverityLevels"}, &resp); err != nil {
		return Verdict{}, err
	}
	if len(resp.CategoriesAnalysis) == 0 {
		return Verdict{}, fmt.Errorf("%w: azure: answer without categoriesAnalysis", ErrExternal)
	}
	v := a.verdict(in, truncated)
	for _, ca := range resp.CategoriesAnalysis {
		c, ok := azureMap[ca.Category]
		if !ok || ca.Severity == nil {
			continue
		}
		if *ca.Severity < 0 || *ca.Severity >= len(azureSeverity) {
			return Verdict{}, fmt.Errorf("%w: azure: severity out of range", ErrExternal)
		}
		v.Scores[c] = max(v.Scores[c], azureSeverity[*ca.Severity])
	}
	return v, nil
}
