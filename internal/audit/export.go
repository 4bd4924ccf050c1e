package audit

import (
	"context"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"io"
	"strconv"
	"time"

	"github.com/kaigi/kaigi/internal/errs"
	"github.com/kaigi/kaigi/internal/principal"
)

// Export formats.
const (
	FormatJSONL = "jsonl"
	FormatCSV   = "csv"
)

// exportPage is how many records an export reads at a time.
const exportPage = 1000

// CSVHeader is the first row of a CSV export.
var CSVHeader = []string{"seq", "time", "actor_id", "actor_kind", "source", "action", "target", "result", "details", "prev_hash", "hash"}

// CheckExport checks, before anything is written, that p may export with f
// in format.
func CheckExport(p principal.Principal, f *Filter, format string) error {
	if err := CanRead(p); err != nil {
		return err
	}
	if format != FormatJSONL && format != FormatCSV {
		return errs.E(errs.Invalid, "format must be jsonl or csv.")
	}
	f.Before, f.After, f.Ascending, f.Limit = 0, 0, true, 0
	if err := f.Validate(); err != nil {
		return err
	}
	f.Limit = exportPage
	return nil
}

// Export writes every record of p's tenant matching f to w, oldest first, as
// JSON Lines or CSV. It reads the log a page at a time and never holds the
// export in memory; when w can Flush, each page is flushed. The export is
// audited ("audit.export") with the format, the filter's field names and the
// number of records written, also when it fails part way.
func (s *Service) Export(ctx context.Context, p principal.Principal, f Filter, format string, w io.Writer) (int64, error) {
	if err := CheckExport(p, &f, format); err != nil {
		return 0, err
	}
	var n int64
	write, flush := exportWriter(format, w)
	err := func() error {
		if err := write(nil); err != nil {
			return err
		}
		for {
			recs, err := s.store.SearchAudit(ctx, p.Tenant, f)
			if err != nil {
				return err
			}
			for i := range recs {
				if err := write(&recs[i]); err != nil {
					return err
				}
				n++
			}
			if err := flush(); err != nil {
				return err
			}
			if len(recs) < f.Limit {
				return nil
			}
			f.After = recs[len(recs)-1].Seq
		}
	}()
	res := Success
	if err != nil {
		res = Failure
	}
	// The record of the export outlives a client that went away.
	rerr := s.record(context.WithoutCancel(ctx), Entry{Actor: p, Action: "audit.export", Target: "tenant:" + string(p.Tenant), Result: res,
		Details: map[string]string{"format": format, "filters": f.Fields(), "count": strconv.FormatInt(n, 10)}})
	if err != nil {
		return n, err
	}
	return n, rerr
}

// exportWriter returns a function that writes one record (nil: the header,
// if the format has one) and one that flushes.
func exportWriter(format string, w io.Writer) (write func(*Record) error, flush func() error) {
	flushW := func() {
		if f, ok := w.(interface{ Flush() }); ok {
			f.Flush()
		}
	}
	if format == FormatCSV {
		cw := csv.NewWriter(w)
		return func(r *Record) error {
				if r == nil {
					return cw.Write(CSVHeader)
				}
				return cw.Write(CSVRow(*r))
			}, func() error {
				cw.Flush()
				flushW()
				return cw.Error()
			}
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return func(r *Record) error {
			if r == nil {
				return nil
			}
			return enc.Encode(r)
		}, func() error {
			flushW()
			return nil
		}
}

// CSVRow is a record as a CSV row, each cell safe to open in a spreadsheet.
func CSVRow(r Record) []string {
	row := []string{strconv.FormatInt(r.Seq, 10), r.Time.UTC().Format(time.RFC3339Nano), r.ActorID, r.ActorKind, r.Source, r.Action, r.Target,
		string(r.Result), r.Details, hex.EncodeToString(r.PrevHash), hex.EncodeToString(r.Hash)}
	for i, c := range row {
		row[i] = SafeCell(c)
	}
	return row
}

// SafeCell defuses a cell that a spreadsheet application would run as a
// formula (starting with =, +, -, @, a tab or a carriage return) by
// prefixing it with an apostrophe.
func SafeCell(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + s
	}
	return s
}
