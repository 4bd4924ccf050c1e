package httpapi

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/kaigi/kaigi/internal/clock"
	"github.com/kaigi/kaigi/internal/principal"
	"github.com/kaigi/kaigi/internal/provider"
	"github.com/kaigi/kaigi/internal/signing"
)

// TrustDeps are what the Trust Center's routes need.
type TrustDeps struct {
	Subprocessors *provider.Subprocessors
	Signing       *signing.Key
	Clock         clock.Clock
	Ready         []Dependency // the dependencies /readyz checks
	Publisher     string       // who publishes, e.g. "Kaigi"
	BaseURL       string       // the public URL
	// SecurityContact is security.txt's Contact (a mailto: or https: URI);
	// empty: mailto:security@<host of the public URL>.
	SecurityContact string
}

// ServiceStatus is the public status of the service.
type ServiceStatus struct {
	Status     string            `json:"status" doc:"operational, or degraded when a dependency does not answer."`
	Components map[string]string `json:"components" doc:"Each dependency that /readyz checks: operational or unavailable."`
	Checked    time.Time         `json:"checked"`
}

// HeaderFeedSignature carries a signed feed's detached Ed25519 signature (base64).
const HeaderFeedSignature = "X-Kaigi-Feed-Signature"

// RegisterTrust registers the subprocessor registry (operators change it;
// tenant admins read notices, object and set a webhook; anyone reads the
// list and its feeds) and the public Trust Center's data: status,
// compliance mapping and /.well-known/security.txt.
func RegisterTrust(s *Server, d TrustDeps) {
	sp := d.Subprocessors
	route := func(method, pattern, summary string, pol principal.Policy, req, resp any, h HandlerFunc) {
		s.Handle(Route{Method: method, Pattern: pattern, Policy: pol, Doc: Doc{Summary: summary, Tag: "trust", Request: req, Response: resp}, Handler: h})
	}
	admin := principal.HasRole(principal.TenantAdmin)

	// Operators.
	route("GET", "/api/v1/operator/subprocessors", "The subprocessor registry with every change and every tenant's objections.",
		principal.OperatorOnly, nil, provider.OperatorView{},
		JSON(http.StatusOK, func(r *http.Request, p principal.Principal, _ None) (provider.OperatorView, error) {
			return sp.Operator(r.Context(), p)
		}))
	route("POST", "/api/v1/operator/subprocessors", "Announce a new subprocessor; it takes effect no earlier than 6 months (customer data) or 30 days after today. Tenants are notified.",
		principal.OperatorOnly, provider.Input{}, provider.Change{},
		JSON(http.StatusCreated, func(r *http.Request, p principal.Principal, in provider.Input) (provider.Change, error) {
			return sp.Add(r.Context(), p, in)
		}))
	route("PUT", "/api/v1/operator/subprocessors/{id}", "Announce a change of a subprocessor's terms, under the same notice periods. Tenants are notified.",
		principal.OperatorOnly, provider.Input{}, provider.Change{},
		JSON(http.StatusOK, func(r *http.Request, p principal.Principal, in provider.Input) (provider.Change, error) {
			return sp.Update(r.Context(), p, r.PathValue("id"), in)
		}))
	route("POST", "/api/v1/operator/subprocessors/{id}/removal", "Announce that a subprocessor will no longer be used (never backdated). Tenants are notified.",
		principal.OperatorOnly, provider.Removal{}, provider.Change{},
		JSON(http.StatusOK, func(r *http.Request, p principal.Principal, in provider.Removal) (provider.Change, error) {
			return sp.Remove(r.Context(), p, r.PathValue("id"), in)
		}))

	// Tenant admins.
	route("GET", "/api/v1/admin/subprocessor-notices", "Every announced subprocessor change, newest first, with the tenant's objections.",
		admin, nil, []provider.Notice{},
		JSON(http.StatusOK, func(r *http.Request, p principal.Principal, _ None) ([]provider.Notice, error) {
			return sp.Notices(r.Context(), p)
		}))
	route("POST", "/api/v1/admin/subprocessor-notices/{id}/objection", "Record the tenant's objection to an announced change, with a reason (replaces an earlier one).",
		admin, provider.ObjectionInput{}, provider.Objection{},
		JSON(http.StatusCreated, func(r *http.Request, p principal.Principal, in provider.ObjectionInput) (provider.Objection, error) {
			return sp.Object(r.Context(), p, r.PathValue("id"), in)
		}))
	route("GET", "/api/v1/admin/subprocessor-webhook", "The tenant's webhook for subprocessor notices (never its secret).",
		admin, nil, provider.WebhookSetting{},
		JSON(http.StatusOK, func(r *http.Request, p principal.Principal, _ None) (provider.WebhookSetting, error) {
			return sp.Webhook(r.Context(), p)
		}))
	route("PUT", "/api/v1/admin/subprocessor-webhook", "Set the tenant's https webhook for subprocessor notices; answers its new HMAC-SHA256 signing secret, shown only now.",
		admin, provider.WebhookInput{}, provider.WebhookSetting{},
		JSON(http.StatusOK, func(r *http.Request, p principal.Principal, in provider.WebhookInput) (provider.WebhookSetting, error) {
			return sp.SetWebhook(r.Context(), p, in)
		}))
	route("DELETE", "/api/v1/admin/subprocessor-webhook", "Remove the tenant's webhook for subprocessor notices.",
		admin, nil, nil,
		JSON(http.StatusNoContent, func(r *http.Request, p principal.Principal, _ None) (None, error) {
			return None{}, sp.DeleteWebhook(r.Context(), p)
		}))

	// Everyone.
	route("GET", "/api/v1/trust/subprocessors", "The subprocessors in force, announced changes not yet in force, and every change.",
		principal.Public, nil, provider.Registry{},
		JSON(http.StatusOK, func(r *http.Request, _ principal.Principal, _ None) (provider.Registry, error) {
			return sp.Registry(r.Context())
		}))
	feed := func(r *http.Request) ([]byte, error) {
		reg, err := sp.Registry(r.Context())
		if err != nil {
			return nil, err
		}
		return provider.FeedJSON(reg, d.Publisher, d.BaseURL), nil
	}
	s.Handle(Route{Method: http.MethodGet, Pattern: "/api/v1/trust/subprocessors/feed.json", Policy: principal.Public, Raw: true,
		Doc: Doc{Summary: "The signed JSON feed of the registry: its bytes are signed (Ed25519, the key of /api/v1/service); the signature is in " + HeaderFeedSignature + " (base64) and at feed.json.sig (raw).",
			Tag: "trust", Response: provider.Feed{}},
		Handler: func(w http.ResponseWriter, r *http.Request, _ principal.Principal) error {
			b, err := feed(r)
			if err != nil {
				return err
			}
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Cache-Control", "no-cache")
			w.Header().Set(HeaderFeedSignature, base64.StdEncoding.EncodeToString(d.Signing.Sign(b)))
			w.Write(b)
			return nil
		}})
	s.Handle(Route{Method: http.MethodGet, Pattern: "/api/v1/trust/subprocessors/feed.json.sig", Policy: principal.Public, Raw: true,
		Doc: Doc{Summary: "The raw 64-byte Ed25519 signature of feed.json, for openssl pkeyutl -verify -rawin -sigfile.", Tag: "trust", ContentType: "application/octet-stream"},
		Handler: func(w http.ResponseWriter, r *http.Request, _ principal.Principal) error {
			b, err := feed(r)
			if err != nil {
				return err
			}
			w.Header().Set("Content-Type", "application/octet-stream")
			w.Header().Set("Cache-Control", "no-cache")
			w.Write(d.Signing.Sign(b))
			return nil
		}})
	s.Handle(Route{Method: http.MethodGet, Pattern: "/api/v1/trust/subprocessors/feed.atom", Policy: principal.Public, Raw: true,
		Doc: Doc{Summary: "The registry's changes as an Atom 1.0 feed.", Tag: "trust", ContentType: "application/atom+xml"},
		Handler: func(w http.ResponseWriter, r *http.Request, _ principal.Principal) error {
			reg, err := sp.Registry(r.Context())
			if err != nil {
				return err
			}
			w.Header().Set("Content-Type", "application/atom+xml; charset=utf-8")
			w.Header().Set("Cache-Control", "no-cache")
			w.Write(provider.FeedAtom(reg, d.Publisher, d.BaseURL))
			return nil
		}})
	route("GET", "/api/v1/trust/controls", "The compliance mapping: GDPR, HIPAA, SOC 2 and ISO 27001 controls, the Kaigi feature that meets each, and the tests that prove it.",
		principal.Public, nil, []provider.Control{},
		JSON(http.StatusOK, func(r *http.Request, _ principal.Principal, _ None) ([]provider.Control, error) {
			return provider.Controls, nil
		}))
	route("GET", "/api/v1/trust/status", "Service status: whether each dependency the readiness check uses answers.",
		principal.Public, nil, ServiceStatus{},
		JSON(http.StatusOK, func(r *http.Request, _ principal.Principal, _ None) (ServiceStatus, error) {
			ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
			defer cancel()
			st := ServiceStatus{Status: "operational", Components: map[string]string{}, Checked: d.Clock.Now().UTC()}
			for _, dep := range d.Ready {
				if err := dep.Ping.Ping(ctx); err != nil {
					s.log.WarnContext(ctx, "status check failed", "dependency", dep.Name, "err", err)
					st.Status, st.Components[dep.Name] = "degraded", "unavailable"
					continue
				}
				st.Components[dep.Name] = "operational"
			}
			return st, nil
		}))
	s.Handle(Route{Method: http.MethodGet, Pattern: "/.well-known/security.txt", Policy: principal.Public, Raw: true,
		Doc: Doc{Summary: "How to report a security problem (RFC 9116).", Tag: "trust", ContentType: "text/plain"},
		Handler: func(w http.ResponseWriter, r *http.Request, _ principal.Principal) error {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.Header().Set("Cache-Control", "max-age=3600")
			w.Write(SecurityTxt(d.BaseURL, d.SecurityContact, d.Clock.Now()))
			return nil
		}})
}

// SecurityTxt is the deployment's security.txt (RFC 9116) as of now: it
// expires 180 days later, well within the year the RFC recommends.
func SecurityTxt(baseURL, contact string, now time.Time) []byte {
	base := strings.TrimRight(baseURL, "/")
	if contact == "" {
		var host string
		if u, err := url.Parse(base); err == nil {
			host = u.Hostname()
		}
		contact = "mailto:security@" + host
	}
	lines := []string{
		"# How to report a security problem in this Kaigi service.",
		"Contact: " + contact,
		"Expires: " + now.UTC().Add(180*24*time.Hour).Truncate(time.Second).Format(time.RFC3339),
		"Canonical: " + base + "/.well-known/security.txt",
		"Policy: " + base + "/trust/security",
		"Preferred-Languages: en, ja",
	}
	return fmt.Appendf(nil, "%s\n", strings.Join(lines, "\n"))
}
