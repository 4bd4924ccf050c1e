package provider

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/hex"
	"fmt"
	"html/template"
	"regexp"
	"sort"
	"strconv"
	"time"

	"github.com/kaigi/kaigi/internal/errs"
)

// Figures are the transparency report's numbers for one group of requests.
// Shares are of the requests received in the period; requests still open
// count in Pending and in no share.
type Figures struct {
	Requests        int     `json:"requests" doc:"Requests received."`
	Accounts        int     `json:"accounts" doc:"Accounts specified in them."`
	Rejected        int     `json:"rejected"`
	NoData          int     `json:"no_data"`
	NonContent      int     `json:"non_content_disclosed"`
	Content         int     `json:"content_disclosed"`
	Withdrawn       int     `json:"withdrawn"`
	Pending         int     `json:"pending"`
	ShareRejected   float64 `json:"share_rejected" doc:"Rejected / received, 0 to 1."`
	ShareNoData     float64 `json:"share_no_data"`
	ShareNonContent float64 `json:"share_non_content"`
	ShareContent    float64 `json:"share_content"`
}

func (f *Figures) add(r LegalRequest) {
	f.Requests++
	f.Accounts += r.Accounts
	switch r.Outcome {
	case OutcomeRejected:
		f.Rejected++
	case OutcomeNoData:
		f.NoData++
	case OutcomeNonContent:
		f.NonContent++
	case OutcomeContent:
		f.Content++
	case OutcomeWithdrawn:
		f.Withdrawn++
	default:
		f.Pending++
	}
}

func (f *Figures) finish() {
	if f.Requests == 0 {
		return
	}
	share := func(n int) float64 { return float64(n) / float64(f.Requests) }
	f.ShareRejected, f.ShareNoData, f.ShareNonContent, f.ShareContent = share(f.Rejected), share(f.NoData), share(f.NonContent), share(f.Content)
}

// CountryFigures are one country's figures, over all requests and over
// those about enterprise customers.
type CountryFigures struct {
	Country    string  `json:"country"`
	All        Figures `json:"all"`
	Enterprise Figures `json:"enterprise"`
}

// Report is the transparency report of one half-year.
type Report struct {
	Period     string           `json:"period" doc:"YYYY-H1 (January to June) or YYYY-H2 (July to December), UTC."`
	From       time.Time        `json:"from"`
	To         time.Time        `json:"to"`
	All        Figures          `json:"all"`
	Enterprise Figures          `json:"enterprise" doc:"The same figures for requests about enterprise customers."`
	Countries  []CountryFigures `json:"countries"`
	LedgerSize int64            `json:"ledger_size" doc:"How many ledger entries the report was computed from."`
	LedgerHash string           `json:"ledger_hash" doc:"Hex SHA-256 chain hash of the ledger's head at that size: the state the figures come from."`
	Generated  time.Time        `json:"generated"`
}

var periodRE = regexp.MustCompile(`^(\d{4})-H([12])$`)

// ParsePeriod returns the bounds [from, to) of a half-year "YYYY-H1|H2".
func ParsePeriod(p string) (from, to time.Time, err error) {
	m := periodRE.FindStringSubmatch(p)
	if m == nil {
		return from, to, errs.E(errs.Invalid, "A period is a half-year written like 2026-H1 or 2026-H2.")
	}
	year, _ := strconv.Atoi(m[1])
	if year < 2000 || year > 9999 {
		return from, to, errs.E(errs.Invalid, "The year of the period is out of range.")
	}
	month := time.January
	if m[2] == "2" {
		month = time.July
	}
	from = time.Date(year, month, 1, 0, 0, 0, 0, time.UTC)
	return from, from.AddDate(0, 6, 0), nil
}

// PeriodOf returns the half-year containing t.
func PeriodOf(t time.Time) string {
	t = t.UTC()
	h := 1
	if t.Month() >= time.July {
		h = 2
	}
	return fmt.Sprintf("%d-H%d", t.Year(), h)
}

// Compute builds the report of period from the requests received in it.
func Compute(period string, reqs []LegalRequest, ledgerSize int64, ledgerHash []byte, now time.Time) (Report, error) {
	from, to, err := ParsePeriod(period)
	if err != nil {
		return Report{}, err
	}
	rep := Report{Period: period, From: from, To: to, Countries: []CountryFigures{}, LedgerSize: ledgerSize, LedgerHash: hex.EncodeToString(ledgerHash), Generated: now.UTC()}
	byCountry := map[string]*CountryFigures{}
	for _, r := range reqs {
		if r.Received.Before(from) || !r.Received.Before(to) {
			continue
		}
		c := byCountry[r.Country]
		if c == nil {
			c = &CountryFigures{Country: r.Country}
			byCountry[r.Country] = c
		}
		rep.All.add(r)
		c.All.add(r)
		if r.Customer == CustomerEnterprise {
			rep.Enterprise.add(r)
			c.Enterprise.add(r)
		}
	}
	rep.All.finish()
	rep.Enterprise.finish()
	for _, c := range byCountry {
		c.All.finish()
		c.Enterprise.finish()
		rep.Countries = append(rep.Countries, *c)
	}
	sort.Slice(rep.Countries, func(i, j int) bool { return rep.Countries[i].Country < rep.Countries[j].Country })
	return rep, nil
}

// Report computes the report of a period from the ledger as it is now.
func (l *Ledger) Report(ctx context.Context, period string) (Report, error) {
	from, to, err := ParsePeriod(period)
	if err != nil {
		return Report{}, err
	}
	if from.After(l.clock.Now()) {
		return Report{}, errs.E(errs.Invalid, "The period %s has not begun.", period)
	}
	// Read the head first: the figures are then at least as new as it.
	size, hash, err := l.store.LedgerHead(ctx)
	if err != nil {
		return Report{}, err
	}
	reqs, err := l.store.LegalRequests(ctx, from, to)
	if err != nil {
		return Report{}, err
	}
	return Compute(period, reqs, size, hash, l.clock.Now())
}

func pct(f float64) string { return strconv.FormatFloat(f*100, 'f', 1, 64) }

// CSV renders the report: one row per country and segment, then the totals;
// every row carries the ledger state it was computed from.
func (r Report) CSV() []byte {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	w.Write([]string{"period", "country", "segment", "requests", "accounts", "rejected_pct", "no_data_pct", "non_content_pct", "content_pct", "pending", "ledger_size", "ledger_sha256"})
	row := func(country, segment string, f Figures) {
		w.Write([]string{r.Period, country, segment, strconv.Itoa(f.Requests), strconv.Itoa(f.Accounts), pct(f.ShareRejected), pct(f.ShareNoData),
			pct(f.ShareNonContent), pct(f.ShareContent), strconv.Itoa(f.Pending), strconv.FormatInt(r.LedgerSize, 10), r.LedgerHash})
	}
	for _, c := range r.Countries {
		row(c.Country, "all", c.All)
		row(c.Country, "enterprise", c.Enterprise)
	}
	row("ALL", "all", r.All)
	row("ALL", "enterprise", r.Enterprise)
	w.Flush()
	return b.Bytes()
}

var reportHTML = template.Must(template.New("report").Funcs(template.FuncMap{"pct": pct}).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Transparency report {{.Period}}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body><main>
<h1>Transparency report {{.Period}}</h1>
<p>Requests from government agencies for customer data received from {{.From.Format "2 January 2006"}} to before {{.To.Format "2 January 2006"}} (UTC).
Computed from the request ledger at entry {{.LedgerSize}}, whose chain hash is <code>{{.LedgerHash}}</code>.</p>
<table>
<thead><tr><th scope="col">Country</th><th scope="col">Segment</th><th scope="col">Requests</th><th scope="col">Accounts specified</th>
<th scope="col">Rejected</th><th scope="col">No data found</th><th scope="col">Non-content disclosed</th><th scope="col">Content disclosed</th><th scope="col">Still open</th></tr></thead>
<tbody>
{{range .Countries}}<tr><th scope="row">{{.Country}}</th><td>all</td><td>{{.All.Requests}}</td><td>{{.All.Accounts}}</td><td>{{pct .All.ShareRejected}}%</td><td>{{pct .All.ShareNoData}}%</td><td>{{pct .All.ShareNonContent}}%</td><td>{{pct .All.ShareContent}}%</td><td>{{.All.Pending}}</td></tr>
<tr><th scope="row">{{.Country}}</th><td>enterprise</td><td>{{.Enterprise.Requests}}</td><td>{{.Enterprise.Accounts}}</td><td>{{pct .Enterprise.ShareRejected}}%</td><td>{{pct .Enterprise.ShareNoData}}%</td><td>{{pct .Enterprise.ShareNonContent}}%</td><td>{{pct .Enterprise.ShareContent}}%</td><td>{{.Enterprise.Pending}}</td></tr>
{{end}}<tr><th scope="row">All</th><td>all</td><td>{{.All.Requests}}</td><td>{{.All.Accounts}}</td><td>{{pct .All.ShareRejected}}%</td><td>{{pct .All.ShareNoData}}%</td><td>{{pct .All.ShareNonContent}}%</td><td>{{pct .All.ShareContent}}%</td><td>{{.All.Pending}}</td></tr>
<tr><th scope="row">All</th><td>enterprise</td><td>{{.Enterprise.Requests}}</td><td>{{.Enterprise.Accounts}}</td><td>{{pct .Enterprise.ShareRejected}}%</td><td>{{pct .Enterprise.ShareNoData}}%</td><td>{{pct .Enterprise.ShareNonContent}}%</td><td>{{pct .Enterprise.ShareContent}}%</td><td>{{.Enterprise.Pending}}</td></tr>
</tbody></table>
<p>Generated {{.Generated.Format "2006-01-02 15:04 MST"}}. Also as <a href="?period={{.Period}}&amp;format=json">JSON</a> and <a href="?period={{.Period}}&amp;format=csv">CSV</a>.</p>
</main></body></html>
`))

// HTML renders the report as a page of its own.
func (r Report) HTML() ([]byte, error) {
	var b bytes.Buffer
	err := reportHTML.Execute(&b, r)
	return b.Bytes(), err
}

// LastPeriod is the last complete half-year by the ledger's clock: the
// report published by default.
func (l *Ledger) LastPeriod() string {
	from, _, _ := ParsePeriod(PeriodOf(l.clock.Now()))
	return PeriodOf(from.AddDate(0, -1, 0))
}

// CurrentPeriod is the half-year under way by the ledger's clock.
func (l *Ledger) CurrentPeriod() string { return PeriodOf(l.clock.Now()) }
