package httpapi

import (
	"context"
	"crypto/subtle"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/kaigi/kaigi/internal/audit"
	"github.com/kaigi/kaigi/internal/errs"
	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/principal"
)

// Pinger is a dependency that /readyz checks.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Dependency is a named Pinger.
type Dependency struct {
	Name string
	Ping Pinger
}

// AuditVerifier verifies one tenant's audit chain.
type AuditVerifier func(ctx context.Context, tenant ids.TenantID) (audit.Report, error)

// SetupChecker checks a first-operator setup token.
type SetupChecker func(ctx context.Context, token string) (expires time.Time, err error)

// ServiceDeps are what the service routes need.
type ServiceDeps struct {
	Info         Info
	Ready        []Dependency
	Gatherer     prometheus.Gatherer
	MetricsToken string
	PublicKeyPEM []byte // the service signing key's public half
	VerifierKey  string // the same key as a signed-note verifier key
	VerifyAudit  AuditVerifier
	CheckSetup   SetupChecker
}

// Health is the body of /healthz and /readyz.
type Health struct {
	Status string            `json:"status" doc:"ok, or unavailable."`
	Checks map[string]string `json:"checks,omitempty" doc:"Each dependency: ok or what is wrong."`
}

// ServiceInfo is the public description of this deployment.
type ServiceInfo struct {
	Name         string `json:"name"`
	Version      string `json:"version"`
	PublicKeyPEM string `json:"public_key_pem" doc:"Ed25519 public key (PKIX PEM) that signs checkpoints, exports and certificates."`
	VerifierKey  string `json:"verifier_key" doc:"The same key as a signed-note verifier key."`
}

// AuditVerification is the outcome of verifying the caller's tenant's chain.
type AuditVerification struct {
	OK          bool   `json:"ok"`
	Records     int64  `json:"records"`
	Checkpoints int    `json:"checkpoints"`
	BrokenAt    int64  `json:"broken_at,omitempty" doc:"The first record at which the chain breaks."`
	Problem     string `json:"problem,omitempty"`
}

// SetupRequest carries a first-operator setup token.
type SetupRequest struct {
	Token string `json:"token"`
}

// SetupStatus says whether a setup token is good.
type SetupStatus struct {
	Valid   bool      `json:"valid"`
	Expires time.Time `json:"expires"`
}

// metricsPolicy is public as far as principals go: scrapers carry no session.
// When a metrics token is configured the handler demands it (compared in
// constant time) before anything is gathered.
var metricsPolicy = principal.Policy{Name: "public; metrics bearer token when configured", Allow: principal.Public.Allow}

// RegisterService registers the health, metrics, API-description, service
// information, audit verification and setup routes.
func RegisterService(s *Server, d ServiceDeps) {
	s.Handle(Route{Method: http.MethodGet, Pattern: "/healthz", Policy: principal.Public,
		Doc: Doc{Summary: "Liveness: the process answers.", Tag: "service", Response: Health{}},
		Handler: func(w http.ResponseWriter, r *http.Request, _ principal.Principal) error {
			WriteJSON(w, http.StatusOK, Health{Status: "ok"})
			return nil
		}})
	s.Handle(Route{Method: http.MethodGet, Pattern: "/readyz", Policy: principal.Public,
		Doc: Doc{Summary: "Readiness: the database and the event bus answer.", Tag: "service", Response: Health{}},
		Handler: func(w http.ResponseWriter, r *http.Request, _ principal.Principal) error {
			ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
			defer cancel()
			h := Health{Status: "ok", Checks: map[string]string{}}
			for _, dep := range d.Ready {
				if err := dep.Ping.Ping(ctx); err != nil {
					s.log.WarnContext(ctx, "readiness check failed", "dependency", dep.Name, "err", err)
					h.Status, h.Checks[dep.Name] = "unavailable", "unreachable"
					continue
				}
				h.Checks[dep.Name] = "ok"
			}
			status := http.StatusOK
			if h.Status != "ok" {
				status = http.StatusServiceUnavailable
			}
			WriteJSON(w, status, h)
			return nil
		}})
	metrics := promhttp.HandlerFor(d.Gatherer, promhttp.HandlerOpts{})
	s.Handle(Route{Method: http.MethodGet, Pattern: "/metrics", Policy: metricsPolicy, Raw: true,
		Doc: Doc{Summary: "Prometheus metrics (never content or tenant names).", Tag: "service", ContentType: "text/plain"},
		Handler: func(w http.ResponseWriter, r *http.Request, _ principal.Principal) error {
			if d.MetricsToken != "" {
				got := []byte(r.Header.Get("Authorization"))
				want := []byte("Bearer " + d.MetricsToken)
				if subtle.ConstantTimeCompare(got, want) != 1 {
					return errs.E(errs.Unauthenticated, "The metrics endpoint needs its bearer token.")
				}
			}
			metrics.ServeHTTP(w, r)
			return nil
		}})
	s.Handle(Route{Method: http.MethodGet, Pattern: "/api/openapi.json", Policy: principal.Public,
		Doc: Doc{Summary: "This API's OpenAPI 3.1 description.", Tag: "service"},
		Handler: func(w http.ResponseWriter, r *http.Request, _ principal.Principal) error {
			WriteJSON(w, http.StatusOK, s.OpenAPI(d.Info))
			return nil
		}})
	s.Handle(Route{Method: http.MethodGet, Pattern: "/api/v1/service", Policy: principal.Public,
		Doc: Doc{Summary: "The deployment's name, version and public signing key.", Tag: "service", Response: ServiceInfo{}},
		Handler: func(w http.ResponseWriter, r *http.Request, _ principal.Principal) error {
			WriteJSON(w, http.StatusOK, ServiceInfo{Name: d.Info.Title, Version: d.Info.Version, PublicKeyPEM: string(d.PublicKeyPEM), VerifierKey: d.VerifierKey})
			return nil
		}})
	s.Handle(Route{Method: http.MethodGet, Pattern: "/api/v1/audit/verification", Policy: principal.HasRole(principal.ComplianceOfficer),
		Doc: Doc{Summary: "Verify the caller's tenant's audit chain and signed checkpoints.", Tag: "audit", Response: AuditVerification{}},
		Handler: func(w http.ResponseWriter, r *http.Request, p principal.Principal) error {
			rep, err := d.VerifyAudit(r.Context(), p.Tenant)
			if err != nil {
				return err
			}
			out := AuditVerification{OK: rep.OK(), Records: rep.Records, Checkpoints: rep.Checkpoints}
			if !rep.OK() {
				out.BrokenAt, out.Problem = rep.Problem.Seq, rep.Problem.Reason
			}
			WriteJSON(w, http.StatusOK, out)
			return nil
		}})
	s.Handle(Route{Method: http.MethodPost, Pattern: "/api/v1/setup/verify", Policy: principal.Public,
		Doc: Doc{Summary: "Check a first-operator setup link's token.", Tag: "setup", Request: SetupRequest{}, Response: SetupStatus{}},
		Handler: func(w http.ResponseWriter, r *http.Request, _ principal.Principal) error {
			var req SetupRequest
			if err := DecodeJSON(r, &req); err != nil {
				return err
			}
			if req.Token == "" || len(req.Token) > 128 {
				return errs.E(errs.Invalid, "The setup token is missing or malformed; copy the whole link printed at start-up.")
			}
			exp, err := d.CheckSetup(r.Context(), req.Token)
			if err != nil {
				return err
			}
			WriteJSON(w, http.StatusOK, SetupStatus{Valid: true, Expires: exp})
			return nil
		}})
}
