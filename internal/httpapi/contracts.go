package httpapi

import (
	"encoding/base64"
	"net/http"
	"time"

	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/principal"
	"github.com/kaigi/kaigi/internal/provider"
)

// ContractBody sets a tenant's contract end.
type ContractBody struct {
	End time.Time `json:"end,omitzero" doc:"When the contract ends (RFC 3339); absent or zero: open-ended."`
}

// DeletionCodeBody confirms an accelerated deletion.
type DeletionCodeBody struct {
	Code string `json:"code" doc:"The confirmation code sent by email to the admin who asked."`
}

// HeaderCertificateSignature carries a deletion certificate's Ed25519
// signature (base64).
const HeaderCertificateSignature = "X-Kaigi-Signature"

// RegisterContracts registers the contract lifecycle's routes: operators
// set a tenant's contract end and see every contract with its countdowns;
// a tenant's admins see their own.
func RegisterContracts(s *Server, cs *provider.Contracts, ds *provider.Deletions, hs provider.HealthStore) {
	route := func(method, pattern, summary string, pol principal.Policy, req, resp any, h HandlerFunc) {
		s.Handle(Route{Method: method, Pattern: pattern, Policy: pol, Doc: Doc{Summary: summary, Tag: "provider", Request: req, Response: resp}, Handler: h})
	}
	route("PUT", "/api/v1/operator/tenants/{id}/contract", "Set (or remove) a tenant's contract end; moving it later reactivates an ended tenant (audited in the tenant's log).",
		principal.OperatorOnly, ContractBody{}, provider.Contract{},
		JSON(http.StatusOK, func(r *http.Request, p principal.Principal, b ContractBody) (provider.Contract, error) {
			return cs.SetEnd(r.Context(), p, ids.TenantID(r.PathValue("id")), b.End)
		}))
	route("GET", "/api/v1/operator/contracts", "Every tenant contract with an end, its state and its countdowns (export window, deletion).",
		principal.OperatorOnly, nil, []provider.Contract{},
		JSON(http.StatusOK, func(r *http.Request, p principal.Principal, _ None) ([]provider.Contract, error) {
			return cs.All(r.Context(), p)
		}))
	route("GET", "/api/v1/operator/tenants/{id}/health", "A tenant's health for the operator: counts of accounts, teams, channels, messages, files and recordings, the last activity, and its contract — never content.",
		principal.OperatorOnly, nil, provider.Health{},
		JSON(http.StatusOK, func(r *http.Request, p principal.Principal, _ None) (provider.Health, error) {
			return cs.Health(r.Context(), p, hs, ids.TenantID(r.PathValue("id")))
		}))
	route("GET", "/api/v1/admin/contract", "Your organisation's contract: its end, state and countdowns.",
		principal.HasRole(principal.TenantAdmin), nil, provider.Contract{},
		JSON(http.StatusOK, func(r *http.Request, p principal.Principal, _ None) (provider.Contract, error) {
			return cs.Of(r.Context(), p.Tenant)
		}))

	// Deletion: the customer's accelerated deletion, the operator's view,
	// and the public certificates.
	admin := principal.HasRole(principal.TenantAdmin)
	route("POST", "/api/v1/admin/deletion", "Ask for the early deletion of all your organisation's data (after the contract has ended): a confirmation code is emailed to you.",
		admin, nil, provider.Deletion{},
		JSON(http.StatusAccepted, func(r *http.Request, p principal.Principal, _ None) (provider.Deletion, error) {
			return ds.Request(r.Context(), p)
		}))
	route("POST", "/api/v1/admin/deletion/confirm", "Confirm the early deletion with the emailed code; it runs three days later unless an admin cancels it.",
		admin, DeletionCodeBody{}, provider.Deletion{},
		JSON(http.StatusOK, func(r *http.Request, p principal.Principal, b DeletionCodeBody) (provider.Deletion, error) {
			return ds.Confirm(r.Context(), p, b.Code)
		}))
	route("DELETE", "/api/v1/admin/deletion", "Cancel an early deletion that has not started.",
		admin, nil, nil,
		JSON(http.StatusNoContent, func(r *http.Request, p principal.Principal, _ None) (None, error) {
			return None{}, ds.Cancel(r.Context(), p)
		}))
	route("GET", "/api/v1/operator/deletions", "Every tenant deletion: requested, scheduled, running and done, with keys destroyed and counts.",
		principal.OperatorOnly, nil, []provider.Deletion{},
		JSON(http.StatusOK, func(r *http.Request, p principal.Principal, _ None) ([]provider.Deletion, error) {
			return ds.All(r.Context(), p)
		}))
	s.Handle(Route{Method: http.MethodGet, Pattern: "/api/v1/trust/deletions/{tenant}", Policy: principal.Public, Raw: true,
		Doc: Doc{Summary: "A deleted tenant's deletion certificate: its bytes are signed (Ed25519, the key of /api/v1/service); the signature is in " + HeaderCertificateSignature + " (base64) and at …/signature (raw).",
			Tag: "trust", Response: provider.Certificate{}},
		Handler: func(w http.ResponseWriter, r *http.Request, _ principal.Principal) error {
			cert, sig, err := ds.CertificateOf(r.Context(), ids.TenantID(r.PathValue("tenant")))
			if err != nil {
				return err
			}
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set(HeaderCertificateSignature, base64.StdEncoding.EncodeToString(sig))
			w.Write(cert)
			return nil
		}})
	s.Handle(Route{Method: http.MethodGet, Pattern: "/api/v1/trust/deletions/{tenant}/signature", Policy: principal.Public, Raw: true,
		Doc: Doc{Summary: "The raw 64-byte Ed25519 signature of a deletion certificate, for openssl pkeyutl -verify -rawin -sigfile.", Tag: "trust", ContentType: "application/octet-stream"},
		Handler: func(w http.ResponseWriter, r *http.Request, _ principal.Principal) error {
			_, sig, err := ds.CertificateOf(r.Context(), ids.TenantID(r.PathValue("tenant")))
			if err != nil {
				return err
			}
			w.Header().Set("Content-Type", "application/octet-stream")
			w.Write(sig)
			return nil
		}})
}
