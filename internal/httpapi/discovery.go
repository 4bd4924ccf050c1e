package httpapi

import (
	"net/http"
	"strconv"

	"github.com/kaigi/kaigi/internal/compliance/discovery"
	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/principal"
)

// Bodies of the eDiscovery and export routes.
type (
	// CaseBody names a new case.
	CaseBody struct {
		Name string `json:"name" doc:"1 to 200 characters; stored sealed."`
	}
	// CaseStateBody closes or reopens a case.
	CaseStateBody struct {
		State string `json:"state" doc:"open or closed."`
	}
	// ReviewAdded says how many items were new in the review set.
	ReviewAdded struct {
		Added int64 `json:"added"`
	}
)

// RegisterDiscovery registers eDiscovery (cases, searches, review sets and
// case exports, for compliance officers who are members of the case), a
// person's own data export, and the admins' person and tenant exports.
// Every export's status and package are behind one pair of routes; the
// service decides who may see which.
func RegisterDiscovery(s *Server, d *discovery.Service) {
	route := func(method, pattern, summary string, pol principal.Policy, req, resp any, h HandlerFunc) {
		s.Handle(Route{Method: method, Pattern: pattern, Policy: pol, Doc: Doc{Summary: summary, Tag: "ediscovery", Request: req, Response: resp}, Handler: h})
	}
	officer := principal.HasRole(principal.ComplianceOfficer)
	admin := principal.HasRole(principal.TenantAdmin)
	id := func(r *http.Request) string { return r.PathValue("id") }
	page := func(r *http.Request) (string, int, error) {
		limit, err := queryInt(r, "limit", 50)
		return r.URL.Query().Get("after"), int(min(limit, 1000)), err
	}

	route("GET", "/api/v1/ediscovery/cases", "The eDiscovery cases you are a member of, newest first.",
		officer, nil, []discovery.Case{},
		JSON(http.StatusOK, func(r *http.Request, p principal.Principal, _ None) ([]discovery.Case, error) {
			return d.Cases(r.Context(), p)
		}))
	route("POST", "/api/v1/ediscovery/cases", "Open a case, with you as its first member (audited).",
		officer, CaseBody{}, discovery.Case{},
		JSON(http.StatusCreated, func(r *http.Request, p principal.Principal, b CaseBody) (discovery.Case, error) {
			return d.CreateCase(r.Context(), p, b.Name)
		}))
	route("GET", "/api/v1/ediscovery/cases/{id}", "A case and its members; only members see it.",
		officer, nil, discovery.Case{},
		JSON(http.StatusOK, func(r *http.Request, p principal.Principal, _ None) (discovery.Case, error) {
			return d.Case(r.Context(), p, id(r))
		}))
	route("POST", "/api/v1/ediscovery/cases/{id}/state", "Close or reopen a case (audited).",
		officer, CaseStateBody{}, discovery.Case{},
		JSON(http.StatusOK, func(r *http.Request, p principal.Principal, b CaseStateBody) (discovery.Case, error) {
			return d.SetState(r.Context(), p, id(r), b.State)
		}))
	route("PUT", "/api/v1/ediscovery/cases/{id}/members/{account}", "Add a compliance officer of your organisation to a case (audited).",
		officer, nil, discovery.Case{},
		JSON(http.StatusOK, func(r *http.Request, p principal.Principal, _ None) (discovery.Case, error) {
			return d.AddMember(r.Context(), p, id(r), ids.UserID(r.PathValue("account")))
		}))
	route("DELETE", "/api/v1/ediscovery/cases/{id}/members/{account}", "Remove a member from a case (audited); the last member stays.",
		officer, nil, nil,
		JSON(http.StatusNoContent, func(r *http.Request, p principal.Principal, _ None) (None, error) {
			return None{}, d.RemoveMember(r.Context(), p, id(r), ids.UserID(r.PathValue("account")))
		}))
	route("POST", "/api/v1/ediscovery/cases/{id}/searches", "Search the organisation's messages, attachment names and meeting chats for a case; runs as a job with progress (audited with what it found).",
		officer, discovery.Query{}, discovery.Search{},
		JSON(http.StatusAccepted, func(r *http.Request, p principal.Principal, q discovery.Query) (discovery.Search, error) {
			return d.CreateSearch(r.Context(), p, id(r), q)
		}))
	route("GET", "/api/v1/ediscovery/cases/{id}/searches", "A case's searches, newest first, with their progress.",
		officer, nil, []discovery.Search{},
		JSON(http.StatusOK, func(r *http.Request, p principal.Principal, _ None) ([]discovery.Search, error) {
			return d.Searches(r.Context(), p, id(r))
		}))
	route("GET", "/api/v1/ediscovery/searches/{id}", "One search with its progress.",
		officer, nil, discovery.Search{},
		JSON(http.StatusOK, func(r *http.Request, p principal.Principal, _ None) (discovery.Search, error) {
			return d.GetSearch(r.Context(), p, id(r))
		}))
	route("GET", "/api/v1/ediscovery/searches/{id}/results", "A page of a search's results, opened (?after=, ?limit=; the read is audited).",
		officer, nil, discovery.Page{},
		JSON(http.StatusOK, func(r *http.Request, p principal.Principal, _ None) (discovery.Page, error) {
			after, limit, err := page(r)
			if err != nil {
				return discovery.Page{}, err
			}
			return d.Results(r.Context(), p, id(r), after, limit)
		}))
	route("GET", "/api/v1/ediscovery/cases/{id}/review", "A page of a case's review set, opened (?after=, ?limit=; the read is audited).",
		officer, nil, discovery.Page{},
		JSON(http.StatusOK, func(r *http.Request, p principal.Principal, _ None) (discovery.Page, error) {
			after, limit, err := page(r)
			if err != nil {
				return discovery.Page{}, err
			}
			return d.ReviewSet(r.Context(), p, id(r), after, limit)
		}))
	route("POST", "/api/v1/ediscovery/cases/{id}/review", "Add a search's results (all, or some) to the case's review set (audited).",
		officer, discovery.ReviewChange{}, ReviewAdded{},
		JSON(http.StatusOK, func(r *http.Request, p principal.Principal, b discovery.ReviewChange) (ReviewAdded, error) {
			n, err := d.AddToReview(r.Context(), p, id(r), b)
			return ReviewAdded{Added: n}, err
		}))
	route("DELETE", "/api/v1/ediscovery/cases/{id}/review/{item}", "Take an item out of the review set (audited).",
		officer, nil, nil,
		JSON(http.StatusNoContent, func(r *http.Request, p principal.Principal, _ None) (None, error) {
			return None{}, d.RemoveFromReview(r.Context(), p, id(r), r.PathValue("item"))
		}))
	route("POST", "/api/v1/ediscovery/cases/{id}/exports", "Export the review set or a search's results as a signed package; runs as a job with progress (audited).",
		officer, discovery.CaseExportRequest{}, discovery.Export{},
		JSON(http.StatusAccepted, func(r *http.Request, p principal.Principal, b discovery.CaseExportRequest) (discovery.Export, error) {
			return d.ExportCase(r.Context(), p, id(r), b)
		}))
	route("GET", "/api/v1/ediscovery/cases/{id}/exports", "A case's exports with their progress.",
		officer, nil, []discovery.Export{},
		JSON(http.StatusOK, func(r *http.Request, p principal.Principal, _ None) ([]discovery.Export, error) {
			return d.CaseExports(r.Context(), p, id(r))
		}))

	route("GET", "/api/v1/exports/{id}", "An export with its progress: a case's (its members), your own data (you), a person's or the organisation's (tenant admins).",
		principal.TenantUser, nil, discovery.Export{},
		JSON(http.StatusOK, func(r *http.Request, p principal.Principal, _ None) (discovery.Export, error) {
			return d.GetExport(r.Context(), p, id(r))
		}))
	s.Handle(Route{Method: http.MethodGet, Pattern: "/api/v1/exports/{id}/package", Policy: principal.TenantUser, Raw: true,
		Doc: Doc{Summary: "Download a finished export package (a tar archive; see docs/export-format.md); the download is audited with the package's SHA-256.",
			Tag: "ediscovery", ContentType: "application/x-tar"},
		Handler: func(w http.ResponseWriter, r *http.Request, p principal.Principal) error {
			return streamPackage(w, func(e discovery.Export) string { return "kaigi-" + e.Kind + "-export-" + e.ID + ".tar" },
				func(set func(discovery.Export)) error { return d.Download(r.Context(), p, id(r), set, w) })
		}})

	route("POST", "/api/v1/me/exports", "Download your own data: start an export of your profile, the messages you wrote, your files and the meetings you organised.",
		principal.TenantUser, nil, discovery.Export{},
		JSON(http.StatusAccepted, func(r *http.Request, p principal.Principal, _ None) (discovery.Export, error) {
			return d.ExportSelf(r.Context(), p)
		}))
	route("GET", "/api/v1/me/exports", "Your own-data exports with their progress.",
		principal.TenantUser, nil, []discovery.Export{},
		JSON(http.StatusOK, func(r *http.Request, p principal.Principal, _ None) ([]discovery.Export, error) {
			return d.MyExports(r.Context(), p)
		}))
	route("POST", "/api/v1/admin/accounts/{id}/exports", "Export a person's data (a data subject request; audited).",
		admin, nil, discovery.Export{},
		JSON(http.StatusAccepted, func(r *http.Request, p principal.Principal, _ None) (discovery.Export, error) {
			return d.ExportUser(r.Context(), p, ids.UserID(id(r)))
		}))
	route("POST", "/api/v1/admin/exports", "Export the whole organisation: people, teams, channels, chats, messages, files, meetings, recordings, policies and the audit log (audited).",
		admin, nil, discovery.Export{},
		JSON(http.StatusAccepted, func(r *http.Request, p principal.Principal, _ None) (discovery.Export, error) {
			return d.ExportTenant(r.Context(), p)
		}))
	route("GET", "/api/v1/admin/exports", "The organisation's and people's exports, newest first, with their progress.",
		admin, nil, []discovery.Export{},
		JSON(http.StatusOK, func(r *http.Request, p principal.Principal, _ None) ([]discovery.Export, error) {
			return d.AdminExports(r.Context(), p)
		}))
}

// streamPackage answers with a finished export package as a download: the
// headers (its name, size and SHA-256; never shown inline) are set when
// download calls set, just before the bytes; a failure after that aborts
// the response, so the client sees a short download rather than a
// package with an error in it.
func streamPackage(w http.ResponseWriter, filename func(discovery.Export) string, download func(set func(discovery.Export)) error) error {
	started := false
	err := download(func(e discovery.Export) {
		h := w.Header()
		h.Set("Content-Type", "application/x-tar")
		h.Set("Content-Disposition", `attachment; filename="`+filename(e)+`"`)
		h.Set("Content-Length", strconv.FormatInt(e.Bytes, 10))
		h.Set("Cache-Control", "private, no-store")
		h.Set("Content-Security-Policy", "sandbox; default-src 'none'")
		h.Set("X-Kaigi-SHA256", e.SHA256)
		w.WriteHeader(http.StatusOK)
		started = true
	})
	if err != nil && started {
		panic(http.ErrAbortHandler)
	}
	return err
}
