package httpapi

import (
	"fmt"
	"mime"
	"net/http"
	"time"

	"github.com/kaigi/kaigi/internal/audit"
	"github.com/kaigi/kaigi/internal/errs"
	"github.com/kaigi/kaigi/internal/principal"
)

// Bodies of the audit routes.
type (
	// RetentionBody sets how long the audit log is kept.
	RetentionBody struct {
		RetentionYears int `json:"retention_years" doc:"1 to 10."`
	}
	// SinksBody lists the audit sinks.
	SinksBody struct {
		Sinks []audit.Sink `json:"sinks"`
	}
)

// auditFilter reads a search's filter from the query string.
func auditFilter(r *http.Request) (audit.Filter, error) {
	q := r.URL.Query()
	var f audit.Filter
	for _, name := range []string{"from", "to", "actor_id", "actor_kind", "action", "target", "result", "before", "limit", "format"} {
		if len(q[name]) > 1 {
			return f, errs.E(errs.Invalid, "%s may be given once.", name)
		}
	}
	parseTime := func(name string) (time.Time, error) {
		s := q.Get(name)
		if s == "" {
			return time.Time{}, nil
		}
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return time.Time{}, errs.E(errs.Invalid, "%s must be a time like 2026-01-31T09:00:00Z.", name)
		}
		return t, nil
	}
	var err error
	if f.From, err = parseTime("from"); err != nil {
		return f, err
	}
	if f.To, err = parseTime("to"); err != nil {
		return f, err
	}
	f.ActorID, f.ActorKind, f.Action, f.Target, f.Result = q.Get("actor_id"), q.Get("actor_kind"), q.Get("action"), q.Get("target"), audit.Result(q.Get("result"))
	if f.Before, err = queryInt(r, "before", 0); err != nil {
		return f, err
	}
	limit, err := queryInt(r, "limit", 0)
	if err != nil {
		return f, err
	}
	if limit > audit.MaxSearchLimit {
		return f, errs.E(errs.Invalid, "limit must be between 1 and %d.", audit.MaxSearchLimit)
	}
	f.Limit = int(limit)
	return f, nil
}

// RegisterAudit registers the audit log's routes for compliance officers
// and tenant admins: search, export, retention and SIEM sinks. (Verification
// is registered with the service routes.)
func RegisterAudit(s *Server, a *audit.Service) {
	route := func(method, pattern, summary string, pol principal.Policy, req, resp any, h HandlerFunc) {
		s.Handle(Route{Method: method, Pattern: pattern, Policy: pol, Doc: Doc{Summary: summary, Tag: "audit", Request: req, Response: resp}, Handler: h})
	}
	readers := policyEditors // tenant admins and compliance officers
	admin := principal.HasRole(principal.TenantAdmin)

	route("GET", "/api/v1/audit/records", "Search the organisation's audit log, newest first: ?from=&to= (RFC 3339), actor_id, actor_kind, action (exact, or a prefix ending in . or *), target, result, limit (≤ 500), before (the previous page's next). The search is audited.",
		readers, nil, audit.Page{},
		JSON(http.StatusOK, func(r *http.Request, p principal.Principal, _ None) (audit.Page, error) {
			f, err := auditFilter(r)
			if err != nil {
				return audit.Page{}, err
			}
			return a.Search(r.Context(), p, f)
		}))
	s.Handle(Route{Method: http.MethodGet, Pattern: "/api/v1/audit/export", Policy: readers, Raw: true,
		Doc: Doc{Summary: "Export the audit records matching the search's filters, oldest first, streamed: ?format=jsonl (JSON Lines) or csv (cells safe for spreadsheets). Audited.",
			Tag: "audit", ContentType: "application/x-ndjson"},
		Handler: func(w http.ResponseWriter, r *http.Request, p principal.Principal) error {
			f, err := auditFilter(r)
			if err != nil {
				return err
			}
			format := r.URL.Query().Get("format")
			if format == "" {
				format = audit.FormatJSONL
			}
			check := f
			if err := audit.CheckExport(p, &check, format); err != nil {
				return err
			}
			h := w.Header()
			ctype := "application/x-ndjson; charset=utf-8"
			if format == audit.FormatCSV {
				ctype = "text/csv; charset=utf-8"
			}
			h.Set("Content-Type", ctype)
			name := fmt.Sprintf("audit-%s.%s", time.Now().UTC().Format("20060102-150405"), format)
			h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": name}))
			h.Set("Cache-Control", "private, no-store")
			h.Set("X-Content-Type-Options", "nosniff")
			w.WriteHeader(http.StatusOK)
			n, err := a.Export(r.Context(), p, f, format, flushWriter{w})
			if err != nil {
				s.log.WarnContext(r.Context(), "audit export ended early", "request_id", RequestID(r.Context()), "tenant", string(p.Tenant), "written", n, "err", err)
				panic(http.ErrAbortHandler) // the client sees a cut transfer, never a partial file that looks whole
			}
			return nil
		}})
	route("GET", "/api/v1/audit/settings", "The organisation's audit settings: retention in years and the last record removed by retention.",
		readers, nil, audit.Settings{},
		JSON(http.StatusOK, func(r *http.Request, p principal.Principal, _ None) (audit.Settings, error) {
			return a.Settings(r.Context(), p)
		}))
	route("PUT", "/api/v1/audit/settings", "Set how long audit records are kept, 1 to 10 years (audited). Older records are removed; the chain stays verifiable from a signed anchor.",
		admin, RetentionBody{}, audit.Settings{},
		JSON(http.StatusOK, func(r *http.Request, p principal.Principal, b RetentionBody) (audit.Settings, error) {
			return a.SetRetention(r.Context(), p, b.RetentionYears)
		}))
	route("GET", "/api/v1/audit/sinks", "Where the audit log is streamed (signed webhooks, syslog over TLS), with each one's delivery status.",
		readers, nil, SinksBody{},
		JSON(http.StatusOK, func(r *http.Request, p principal.Principal, _ None) (SinksBody, error) {
			list, err := a.Sinks(r.Context(), p)
			return SinksBody{Sinks: list}, err
		}))
	route("POST", "/api/v1/audit/sinks", "Stream new audit records to a SIEM: a webhook (https://, signed with a secret shown only in this answer) or syslog over TLS (host:port). Audited.",
		readers, audit.NewSink{}, audit.CreatedSink{},
		JSON(http.StatusCreated, func(r *http.Request, p principal.Principal, b audit.NewSink) (audit.CreatedSink, error) {
			return a.CreateSink(r.Context(), p, b)
		}))
	route("DELETE", "/api/v1/audit/sinks/{id}", "Stop streaming to a sink and remove it (audited).",
		readers, nil, nil,
		JSON(http.StatusNoContent, func(r *http.Request, p principal.Principal, _ None) (None, error) {
			return None{}, a.RemoveSink(r.Context(), p, r.PathValue("id"))
		}))
}

// flushWriter passes Flush on to the response, so each exported page leaves
// at once.
type flushWriter struct{ w http.ResponseWriter }

func (f flushWriter) Write(b []byte) (int, error) { return f.w.Write(b) }
func (f flushWriter) Flush()                      { _ = http.NewResponseController(f.w).Flush() }
