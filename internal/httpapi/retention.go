package httpapi

import (
	"net/http"

	"github.com/kaigi/kaigi/internal/compliance/retention"
	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/jobs"
	"github.com/kaigi/kaigi/internal/principal"
)

// RetentionJobs lists retention and erasure jobs.
type RetentionJobs struct {
	Jobs []jobs.Job `json:"jobs"`
}

// RegisterRetention registers the retention policy, legal hold, deletion
// job, "why is this kept?" and erasure routes of the compliance center.
func RegisterRetention(s *Server, rs *retention.Service) {
	route := func(method, pattern, summary string, pol principal.Policy, req, resp any, h HandlerFunc) {
		s.Handle(Route{Method: method, Pattern: pattern, Policy: pol, Doc: Doc{Summary: summary, Tag: "retention", Request: req, Response: resp}, Handler: h})
	}
	managers := policyEditors // tenant admins and compliance officers
	officer := principal.HasRole(principal.ComplianceOfficer)
	admin := principal.HasRole(principal.TenantAdmin)
	id := func(r *http.Request) string { return r.PathValue("id") }

	route("GET", "/api/v1/compliance/retention/policies", "The organisation's retention policies.",
		managers, nil, []retention.Policy{},
		JSON(http.StatusOK, func(r *http.Request, p principal.Principal, _ None) ([]retention.Policy, error) {
			return rs.Policies(r.Context(), p)
		}))
	route("POST", "/api/v1/compliance/retention/policies", "Create a retention policy: retain, delete or retain_then_delete, for 1 to 36500 days from an item's creation, over the whole organisation or teams, chats and people (audited).",
		managers, retention.Policy{}, retention.Policy{},
		JSON(http.StatusCreated, func(r *http.Request, p principal.Principal, b retention.Policy) (retention.Policy, error) {
			return rs.CreatePolicy(r.Context(), p, b)
		}))
	route("DELETE", "/api/v1/compliance/retention/policies/{id}", "Remove a retention policy (audited); what it kept returns to the other policies.",
		managers, nil, nil,
		JSON(http.StatusNoContent, func(r *http.Request, p principal.Principal, _ None) (None, error) {
			return None{}, rs.DeletePolicy(r.Context(), p, id(r))
		}))
	route("GET", "/api/v1/compliance/retention/items/{id}", "Why is this kept? The policies and holds that apply to a message or recording and what happens to it when (audited).",
		managers, nil, retention.Fate{},
		JSON(http.StatusOK, func(r *http.Request, p principal.Principal, _ None) (retention.Fate, error) {
			return rs.WhyKept(r.Context(), p, id(r))
		}))
	route("POST", "/api/v1/compliance/retention/runs", "Run the deletion job now (or get the one queued or running); follow its progress in the jobs (audited).",
		managers, nil, jobs.Job{},
		JSON(http.StatusAccepted, func(r *http.Request, p principal.Principal, _ None) (jobs.Job, error) {
			return rs.RunNow(r.Context(), p)
		}))
	route("GET", "/api/v1/compliance/retention/jobs", "The deletion and erasure jobs, newest first, with their progress.",
		managers, nil, RetentionJobs{},
		JSON(http.StatusOK, func(r *http.Request, p principal.Principal, _ None) (RetentionJobs, error) {
			js, err := rs.Jobs(r.Context(), p)
			if js == nil {
				js = []jobs.Job{}
			}
			return RetentionJobs{Jobs: js}, err
		}))
	route("GET", "/api/v1/compliance/retention/jobs/{id}", "One deletion or erasure job with its progress (done of total) and result (counts).",
		managers, nil, jobs.Job{},
		JSON(http.StatusOK, func(r *http.Request, p principal.Principal, _ None) (jobs.Job, error) {
			return rs.Job(r.Context(), p, id(r))
		}))
	route("GET", "/api/v1/compliance/holds", "Legal holds, newest first (?all=true: released ones too); keywords are counted, not shown.",
		officer, nil, []retention.Hold{},
		JSON(http.StatusOK, func(r *http.Request, p principal.Principal, _ None) ([]retention.Hold, error) {
			return rs.Holds(r.Context(), p, r.URL.Query().Get("all") == "true")
		}))
	route("POST", "/api/v1/compliance/holds", "Place a legal hold on custodians, locations (teams, channels, chats) and/or a query (keywords, senders, dates); with neither custodians nor locations it covers the whole organisation (audited).",
		officer, retention.Hold{}, retention.Hold{},
		JSON(http.StatusCreated, func(r *http.Request, p principal.Principal, b retention.Hold) (retention.Hold, error) {
			return rs.CreateHold(r.Context(), p, b)
		}))
	route("GET", "/api/v1/compliance/holds/{id}", "A legal hold with its keywords (the read is audited).",
		officer, nil, retention.Hold{},
		JSON(http.StatusOK, func(r *http.Request, p principal.Principal, _ None) (retention.Hold, error) {
			return rs.Hold(r.Context(), p, id(r))
		}))
	route("POST", "/api/v1/compliance/holds/{id}/release", "Release a legal hold (audited): what it held returns to the retention policies.",
		officer, nil, nil,
		JSON(http.StatusNoContent, func(r *http.Request, p principal.Principal, _ None) (None, error) {
			return None{}, rs.ReleaseHold(r.Context(), p, id(r))
		}))
	route("POST", "/api/v1/admin/accounts/{id}/erase", "Erase a person (data subject request): pseudonymise their identity everywhere and delete their messages and recordings except what a legal hold keeps; runs as a job (audited).",
		admin, nil, jobs.Job{},
		JSON(http.StatusAccepted, func(r *http.Request, p principal.Principal, _ None) (jobs.Job, error) {
			return rs.Erase(r.Context(), p, ids.UserID(id(r)))
		}))
}
