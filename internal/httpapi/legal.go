package httpapi

import (
	"net/http"

	"github.com/kaigi/kaigi/internal/compliance/discovery"
	"github.com/kaigi/kaigi/internal/errs"
	"github.com/kaigi/kaigi/internal/principal"
	"github.com/kaigi/kaigi/internal/provider"
)

// LedgerCheck is the result of recomputing the ledger's hash chain.
type LedgerCheck struct {
	Entries int64  `json:"entries"`
	OK      bool   `json:"ok"`
	Problem string `json:"problem,omitempty"`
}

// RegisterLegal registers the law-enforcement request ledger (operators),
// the download of a disclosure's package (built by d), and the public
// transparency report computed from the ledger.
func RegisterLegal(s *Server, l *provider.Ledger, d *discovery.Service) {
	route := func(method, pattern, summary string, pol principal.Policy, req, resp any, h HandlerFunc) {
		s.Handle(Route{Method: method, Pattern: pattern, Policy: pol, Doc: Doc{Summary: summary, Tag: "provider", Request: req, Response: resp}, Handler: h})
	}
	route("POST", "/api/v1/operator/legal-requests", "Enter a law-enforcement request into the ledger (identifying details sealed; audited; chained).",
		principal.OperatorOnly, provider.Intake{}, provider.LegalRequest{},
		JSON(http.StatusCreated, func(r *http.Request, p principal.Principal, b provider.Intake) (provider.LegalRequest, error) {
			return l.Enter(r.Context(), p, b)
		}))
	route("GET", "/api/v1/operator/legal-requests", "The ledger's requests received in ?period= (YYYY-H1 or YYYY-H2; default the current half-year).",
		principal.OperatorOnly, nil, []provider.LegalRequest{},
		JSON(http.StatusOK, func(r *http.Request, p principal.Principal, _ None) ([]provider.LegalRequest, error) {
			period := r.URL.Query().Get("period")
			if period == "" {
				period = l.CurrentPeriod()
			}
			from, to, err := provider.ParsePeriod(period)
			if err != nil {
				return nil, err
			}
			return l.Requests(r.Context(), p, from, to)
		}))
	route("GET", "/api/v1/operator/legal-requests/{id}", "One request of the ledger with its sealed details opened (agency, contact, accounts named, summary); the read is audited in the operator's log.",
		principal.OperatorOnly, nil, provider.LegalRequestView{},
		JSON(http.StatusOK, func(r *http.Request, p principal.Principal, _ None) (provider.LegalRequestView, error) {
			return l.RequestWithDetails(r.Context(), p, r.PathValue("id"))
		}))
	route("POST", "/api/v1/operator/legal-requests/{id}/steps", "Record a step: redirect, review (reject, narrow, proceed), disclose (never wider than approved; naming the customer's accounts builds the disclosure package), gag (a non-disclosure order with its end date), notify, close.",
		principal.OperatorOnly, provider.Step{}, provider.LegalRequest{},
		JSON(http.StatusOK, func(r *http.Request, p principal.Principal, b provider.Step) (provider.LegalRequest, error) {
			return l.Advance(r.Context(), p, r.PathValue("id"), b)
		}))
	// The one way an operator receives a tenant's content outside the
	// lockbox: the package of a disclosure that a compulsory instrument
	// made and legal review approved, holding exactly the approved
	// categories for the accounts disclosed. Reached only through the
	// ledger's request, audited in the operator's own log.
	s.Handle(Route{Method: http.MethodGet, Pattern: "/api/v1/operator/legal-requests/{id}/disclosure", Policy: principal.OperatorOnly, Raw: true,
		Doc: Doc{Summary: "Download a request's disclosure package (a tar archive in the export format, see docs/export-format.md: exactly the approved categories for the accounts disclosed); 409 while it is being built, 404 when none was; audited in the operator's log with its SHA-256.",
			Tag: "provider", ContentType: "application/x-tar"},
		Handler: func(w http.ResponseWriter, r *http.Request, p principal.Principal) error {
			lr, err := l.Request(r.Context(), p, r.PathValue("id"))
			if err != nil {
				return err
			}
			if lr.Disclosure == "" {
				return errs.E(errs.NotFound, "No package was built for this request: nothing was disclosed yet, nothing was found, or the disclosure named no accounts.")
			}
			return streamPackage(w, func(discovery.Export) string { return "kaigi-disclosure-" + lr.ID + ".tar" },
				func(set func(discovery.Export)) error {
					return d.DownloadDisclosure(r.Context(), p, lr.ID, lr.Tenant, lr.Disclosure, set, w)
				})
		}})
	route("GET", "/api/v1/operator/legal-ledger/verification", "Recompute the ledger's hash chain.",
		principal.OperatorOnly, nil, LedgerCheck{},
		JSON(http.StatusOK, func(r *http.Request, p principal.Principal, _ None) (LedgerCheck, error) {
			n, err := l.VerifyChain(r.Context())
			if err != nil {
				return LedgerCheck{Entries: n, Problem: err.Error()}, nil
			}
			return LedgerCheck{Entries: n, OK: true}, nil
		}))
	s.Handle(Route{Method: http.MethodGet, Pattern: "/api/v1/trust/transparency-report", Policy: principal.Public, Raw: true,
		Doc: Doc{Summary: "The transparency report of ?period= (YYYY-H1 or YYYY-H2; default the last complete half-year) as ?format=json (default), csv or html, computed from the request ledger and carrying the hash of the ledger state it came from.",
			Tag: "trust", Response: provider.Report{}},
		Handler: func(w http.ResponseWriter, r *http.Request, p principal.Principal) error {
			period := r.URL.Query().Get("period")
			if period == "" {
				period = l.LastPeriod()
			}
			rep, err := l.Report(r.Context(), period)
			if err != nil {
				return err
			}
			w.Header().Set("Cache-Control", "no-store")
			switch r.URL.Query().Get("format") {
			case "", "json":
				WriteJSON(w, http.StatusOK, rep)
			case "csv":
				w.Header().Set("Content-Type", "text/csv; charset=utf-8")
				w.Header().Set("Content-Disposition", `attachment; filename="kaigi-transparency-`+rep.Period+`.csv"`)
				w.Write(rep.CSV())
			case "html":
				b, err := rep.HTML()
				if err != nil {
					return err
				}
				w.Header().Set("Content-Type", "text/html; charset=utf-8")
				w.Write(b)
			default:
				return errs.E(errs.Invalid, "The format is json, csv or html.")
			}
			return nil
		}})
}
