package httpapi

import (
	"net/http"

	"github.com/kaigi/kaigi/internal/moderation"
	"github.com/kaigi/kaigi/internal/principal"
)

// Bodies of the moderation routes.
type (
	// ReportBody reports a concern about a message.
	ReportBody struct {
		Category moderation.Category `json:"category,omitempty" doc:"Optional: harassment, threat, hate, sexual, self_harm or profanity."`
		Reason   string              `json:"reason,omitempty" doc:"What concerns you, at most 2000 characters; only compliance reviewers read it."`
	}
	// PeopleBody lists who an alert's pseudonyms stand for.
	PeopleBody struct {
		People []moderation.Person `json:"people"`
	}
)

// policyEditors are tenant admins and compliance officers.
var policyEditors = principal.Policy{Name: "role tenant_admin or compliance_officer", Allow: func(p principal.Principal) error {
	if principal.HasRole(principal.TenantAdmin).Allow(p) == nil {
		return nil
	}
	return principal.HasRole(principal.ComplianceOfficer).Allow(p)
}}

// RegisterModeration registers the communication-compliance routes: the
// tenant's moderation policy, the review queue for compliance officers,
// reports of concern and the notices reviewers send.
func RegisterModeration(s *Server, m *moderation.Service) {
	route := func(method, pattern, summary string, pol principal.Policy, req, resp any, h HandlerFunc) {
		s.Handle(Route{Method: method, Pattern: pattern, Policy: pol, Doc: Doc{Summary: summary, Tag: "moderation", Request: req, Response: resp}, Handler: h})
	}
	officer := principal.HasRole(principal.ComplianceOfficer)
	id := func(r *http.Request) string { return r.PathValue("id") }

	route("GET", "/api/v1/moderation/policy", "The organisation's moderation policy: rules (scope, categories and thresholds, flag/warn/block) and pattern detection.",
		policyEditors, nil, moderation.Policy{},
		JSON(http.StatusOK, func(r *http.Request, p principal.Principal, _ None) (moderation.Policy, error) {
			return m.Policy(r.Context(), p)
		}))
	route("PUT", "/api/v1/moderation/policy", "Replace the moderation policy (audited; applies on every node within seconds).",
		policyEditors, moderation.Policy{}, nil,
		JSON(http.StatusNoContent, func(r *http.Request, p principal.Principal, b moderation.Policy) (None, error) {
			return None{}, m.SetPolicy(r.Context(), p, b)
		}))
	route("GET", "/api/v1/moderation/alerts", "The review queue: open alerts (or ?status=), newest first, people as pseudonyms, no content (the read is audited).",
		officer, nil, []moderation.AlertSummary{},
		JSON(http.StatusOK, func(r *http.Request, p principal.Principal, _ None) ([]moderation.AlertSummary, error) {
			limit, err := queryInt(r, "limit", 100)
			if err != nil {
				return nil, err
			}
			return m.Alerts(r.Context(), p, r.URL.Query().Get("status"), int(limit))
		}))
	route("GET", "/api/v1/moderation/alerts/{id}", "An alert with its message in context, opened from sealed storage, people as pseudonyms (the read is audited).",
		officer, nil, moderation.AlertDetail{},
		JSON(http.StatusOK, func(r *http.Request, p principal.Principal, _ None) (moderation.AlertDetail, error) {
			return m.Alert(r.Context(), p, id(r))
		}))
	route("POST", "/api/v1/moderation/alerts/{id}/unmask", "Who an alert's pseudonyms stand for (audited).",
		officer, nil, PeopleBody{},
		JSON(http.StatusOK, func(r *http.Request, p principal.Principal, _ None) (PeopleBody, error) {
			people, err := m.Unmask(r.Context(), p, id(r))
			return PeopleBody{People: people}, err
		}))
	route("POST", "/api/v1/moderation/alerts/{id}/actions", "Act on an alert: resolve, false_positive, notify (a template), escalate (to another compliance officer), remove (the message, from its conversation) or ediscovery (put its messages into a new or existing eDiscovery case). Audited; never on an alert about yourself.",
		officer, moderation.Review{}, moderation.AlertSummary{},
		JSON(http.StatusOK, func(r *http.Request, p principal.Principal, b moderation.Review) (moderation.AlertSummary, error) {
			return m.Act(r.Context(), p, id(r), b)
		}))
	route("POST", "/api/v1/messages/{id}/report", "Report a concern about a message you can see to your organisation's compliance reviewers.",
		principal.TenantUser, ReportBody{}, moderation.ReportReceipt{},
		JSON(http.StatusAccepted, func(r *http.Request, p principal.Principal, b ReportBody) (moderation.ReportReceipt, error) {
			return m.Report(r.Context(), p, id(r), b.Category, b.Reason)
		}))
	route("GET", "/api/v1/me/moderation-notices", "Notices compliance reviewers sent you, newest first.",
		principal.TenantUser, nil, []moderation.Notice{},
		JSON(http.StatusOK, func(r *http.Request, p principal.Principal, _ None) ([]moderation.Notice, error) {
			return m.Notices(r.Context(), p)
		}))
}
