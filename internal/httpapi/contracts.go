package httpapi

import (
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

// RegisterContracts registers the contract lifecycle's routes: operators
// set a tenant's contract end and see every contract with its countdowns;
// a tenant's admins see their own.
func RegisterContracts(s *Server, cs *provider.Contracts, hs provider.HealthStore) {
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
}
