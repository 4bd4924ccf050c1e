package httpapi

import (
	"net/http"

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

// RegisterLegal registers the law-enforcement request ledger (operators)
// and the public transparency report computed from it.
func RegisterLegal(s *Server, l *provider.Ledger) {
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
	route("POST", "/api/v1/operator/legal-requests/{id}/steps", "Record a step: redirect, review (reject, narrow, proceed), disclose (never wider than approved), gag (a non-disclosure order with its end date), notify, close.",
		principal.OperatorOnly, provider.Step{}, provider.LegalRequest{},
		JSON(http.StatusOK, func(r *http.Request, p principal.Principal, b provider.Step) (provider.LegalRequest, error) {
			return l.Advance(r.Context(), p, r.PathValue("id"), b)
		}))
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
