package discovery

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/kaigi/kaigi/internal/audit"
	"github.com/kaigi/kaigi/internal/chat"
	"github.com/kaigi/kaigi/internal/errs"
	"github.com/kaigi/kaigi/internal/identity"
	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/jobs"
	"github.com/kaigi/kaigi/internal/keys"
	"github.com/kaigi/kaigi/internal/principal"
)

// Format names the package format and its version (export.json).
const Format = "kaigi-export/1"

// Names of the files every package ends with.
const (
	ManifestName  = "manifest.sha256"
	SignatureName = "manifest.sha256.sig"
	KeyName       = "signing-key.pem"
)

// SafeName turns an attachment's name into a file name safe in a tar
// archive and in sha256sum's manifest: letters (of any script), digits, '.',
// '-' and '_' kept, everything else '_', no leading dot, at most 100 bytes.
func SafeName(name string) string {
	var b strings.Builder
	for _, r := range name {
		switch {
		case unicode.IsLetter(r), unicode.IsDigit(r), r == '.', r == '-', r == '_':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	s := strings.TrimLeft(b.String(), ".")
	for len(s) > 100 {
		_, size := lastRune(s)
		s = s[:len(s)-size]
	}
	if s == "" {
		s = "file"
	}
	return s
}

func lastRune(s string) (rune, int) {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i]&0xC0 != 0x80 {
			return []rune(s[i:])[0], len(s) - i
		}
	}
	return 0, 1
}

func partKey(export string, kind string, n int) string {
	return fmt.Sprintf("exports/%s/%s-%06d", export, kind, n)
}

func manifestAAD(export, kind string, n int) keys.AAD {
	return keys.AAD{Kind: "export-manifest", ID: export + "/" + kind + "/" + strconv.Itoa(n)}
}

// ---- starting exports

// CaseExportRequest says what a case export holds.
type CaseExportRequest struct {
	Source string `json:"source" doc:"review (the case's review set) or search (a search's results)."`
	Search string `json:"search,omitempty" doc:"The search, for source search."`
}

// ExportCase starts an export of a case's review set or of a search's results.
func (s *Service) ExportCase(ctx context.Context, p principal.Principal, caseID string, req CaseExportRequest) (Export, error) {
	c, err := s.caseFor(ctx, p, caseID)
	if err != nil {
		return Export{}, err
	}
	if c.State == Closed {
		return Export{}, ErrClosed
	}
	source := "review"
	switch req.Source {
	case "review", "":
	case "search":
		sr, err := s.o.Store.Search(ctx, req.Search)
		if !ids.Valid(req.Search) || err != nil || sr.Case != c.ID || sr.Tenant != c.Tenant {
			return Export{}, ErrNoSearch
		}
		if sr.State != Done {
			return Export{}, errs.E(errs.Conflict, "The search has not finished yet.")
		}
		source = "search:" + sr.ID
	default:
		return Export{}, errs.E(errs.Invalid, "Export the review set (source review) or a search's results (source search).")
	}
	return s.startExport(ctx, p, KindCase, c.ID, source, nil)
}

// ExportSelf starts an export of the actor's own data.
func (s *Service) ExportSelf(ctx context.Context, p principal.Principal) (Export, error) {
	if !p.IsTenantUser() {
		return Export{}, errs.E(errs.Forbidden, "Only people in an organisation can download their data.")
	}
	return s.startExport(ctx, p, KindSelf, string(p.User), "", nil)
}

// ExportUser starts an export of a person's data for a tenant admin.
func (s *Service) ExportUser(ctx context.Context, p principal.Principal, account ids.UserID) (Export, error) {
	if err := admin(p); err != nil {
		return Export{}, err
	}
	a, err := s.o.Accounts.AccountByID(ctx, account)
	if !ids.Valid(string(account)) || err != nil || a.Tenant != p.Tenant || a.Realm != identity.TenantRealm {
		return Export{}, errs.E(errs.NotFound, "There is no such person in your organisation.")
	}
	return s.startExport(ctx, p, KindUser, string(a.ID), "", nil)
}

// ExportTenant starts an export of the whole tenant.
func (s *Service) ExportTenant(ctx context.Context, p principal.Principal) (Export, error) {
	if err := admin(p); err != nil {
		return Export{}, err
	}
	return s.startExport(ctx, p, KindTenant, string(p.Tenant), "", nil)
}

func admin(p principal.Principal) error {
	if p.Tenant == "" || !p.Has(principal.TenantAdmin) {
		return errs.E(errs.Forbidden, "Only tenant admins export a person's or the organisation's data.")
	}
	return nil
}

// startExport records an export and enqueues its job. A disclosure's scope
// is kept sealed with it, in the same transaction.
func (s *Service) startExport(ctx context.Context, p principal.Principal, kind, subject, source string, scope *Disclosure) (Export, error) {
	// One export of the same thing at a time: a person's own data, a
	// person's, the tenant's (each reads and seals everything once more).
	if kind != KindCase {
		recent, err := s.o.Store.Exports(ctx, p.Tenant, kind, subject, 1)
		if err != nil {
			return Export{}, err
		}
		running := len(recent) > 0 && recent[0].State == Running
		if running && s.o.JobStore != nil { // a failed, cancelled or lost job's export no longer counts
			j, err := s.o.JobStore.Job(ctx, recent[0].Job)
			running = err == nil && !jobs.Finished(j.State)
		}
		if running {
			return Export{}, errs.E(errs.Conflict, "An export of this is already under way; wait for it to finish, then download it or start another.")
		}
	}
	now := s.o.Clock.Now()
	e := Export{ID: ids.New(), Tenant: p.Tenant, Kind: kind, Subject: subject, Source: source, Job: ids.New(), CreatedBy: p.User, Created: now, State: Running}
	err := s.o.Store.UpdateDiscovery(ctx, func(tx Tx) error {
		if err := tx.InsertExport(ctx, e); err != nil {
			return err
		}
		d := map[string]string{"kind": kind, "subject": subject, "job": e.Job}
		if source != "" {
			d["source"] = source
		}
		entry := audit.Entry{Actor: p, Action: "export.create", Target: "export:" + e.ID, Details: d}
		if scope != nil {
			if err := s.putScope(ctx, tx, e, *scope); err != nil {
				return err
			}
			disclosureAudit(&entry, e)
			d["accounts"] = strconv.Itoa(len(scope.Accounts))
		}
		_, err := s.o.Audit.Append(ctx, tx, entry)
		return err
	})
	if err != nil {
		return Export{}, err
	}
	j, err := s.o.Jobs.Enqueue(ctx, jobs.Job{ID: e.Job, Tenant: p.Tenant, Kind: JobExport, Subject: kind + ":" + subject, CreatedBy: p.User, Params: []byte(e.ID)})
	if err != nil {
		return Export{}, err
	}
	e.Progress = &j
	return e, nil
}

// ---- reading exports

// exportFor returns an export the actor may see and download.
func (s *Service) exportFor(ctx context.Context, p principal.Principal, id string) (Export, error) {
	if !ids.Valid(id) || p.Tenant == "" {
		return Export{}, ErrNoExport
	}
	e, err := s.o.Store.Export(ctx, id)
	if err != nil || e.Tenant != p.Tenant {
		return Export{}, ErrNoExport
	}
	switch e.Kind {
	case KindCase:
		if _, err := s.caseFor(ctx, p, e.Subject); err != nil {
			return Export{}, ErrNoExport
		}
	case KindSelf:
		if !p.IsTenantUser() || string(p.User) != e.Subject {
			return Export{}, ErrNoExport
		}
	case KindDisclosure:
		// Nobody of the tenant sees a legal disclosure: it may be under a
		// non-disclosure order. Operators download it through the ledger.
		return Export{}, ErrNoExport
	default:
		if admin(p) != nil {
			return Export{}, ErrNoExport
		}
	}
	s.progress(ctx, &e)
	return e, nil
}

func (s *Service) progress(ctx context.Context, e *Export) {
	if s.o.JobStore == nil {
		return
	}
	if j, err := s.o.JobStore.Job(ctx, e.Job); err == nil {
		e.Progress = &j
		if e.State == Running && (j.State == jobs.Failed || j.State == jobs.Cancelled) {
			e.State = Failed
		}
	}
}

// GetExport returns an export with its progress.
func (s *Service) GetExport(ctx context.Context, p principal.Principal, id string) (Export, error) {
	return s.exportFor(ctx, p, id)
}

// CaseExports returns a case's exports.
func (s *Service) CaseExports(ctx context.Context, p principal.Principal, caseID string) ([]Export, error) {
	c, err := s.caseFor(ctx, p, caseID)
	if err != nil {
		return nil, err
	}
	return s.list(ctx, c.Tenant, KindCase, c.ID)
}

// MyExports returns the actor's own-data exports.
func (s *Service) MyExports(ctx context.Context, p principal.Principal) ([]Export, error) {
	if !p.IsTenantUser() {
		return nil, errs.E(errs.Forbidden, "Only people in an organisation can download their data.")
	}
	return s.list(ctx, p.Tenant, KindSelf, string(p.User))
}

// AdminExports returns the tenant's person and tenant exports.
func (s *Service) AdminExports(ctx context.Context, p principal.Principal) ([]Export, error) {
	if err := admin(p); err != nil {
		return nil, err
	}
	a, err := s.list(ctx, p.Tenant, KindTenant, "")
	if err != nil {
		return nil, err
	}
	b, err := s.list(ctx, p.Tenant, KindUser, "")
	if err != nil {
		return nil, err
	}
	out := append(a, b...)
	slices.SortFunc(out, func(x, y Export) int { return y.Created.Compare(x.Created) })
	return out, nil
}

func (s *Service) list(ctx context.Context, tenant ids.TenantID, kind, subject string) ([]Export, error) {
	out, err := s.o.Store.Exports(ctx, tenant, kind, subject, 100)
	if err != nil {
		return nil, err
	}
	for i := range out {
		s.progress(ctx, &out[i])
	}
	return out, nil
}

// Download writes a finished package to w, after auditing the download
// with the package's SHA-256. set is called with the export first, to
// set headers.
func (s *Service) Download(ctx context.Context, p principal.Principal, id string, set func(Export), w io.Writer) error {
	e, err := s.exportFor(ctx, p, id)
	if err != nil {
		return err
	}
	if e.State != Done {
		return errs.E(errs.Conflict, "The export is not ready yet.")
	}
	parts, err := s.o.Store.Parts(ctx, e.ID, "part")
	if err != nil {
		return err
	}
	if err := s.record(ctx, audit.Entry{Actor: p, Action: "export.download", Target: "export:" + e.ID,
		Details: map[string]string{"kind": e.Kind, "subject": e.Subject, "sha256": e.SHA256, "bytes": strconv.FormatInt(e.Bytes, 10)}}); err != nil {
		return err
	}
	set(e)
	return s.stream(ctx, e, parts, w)
}

// stream writes a package's parts to w in order.
func (s *Service) stream(ctx context.Context, e Export, parts []Part, w io.Writer) error {
	for _, part := range parts {
		rc, err := s.o.Blobs.Get(ctx, e.Tenant, partKey(e.ID, "part", part.N))
		if err != nil {
			return err
		}
		_, err = io.Copy(w, rc)
		rc.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

// ---- building packages

// exportCursor is where an export job is.
type exportCursor struct {
	Phase    string         `json:"phase"` // docs, messages, recordings, audit, final
	After    string         `json:"after,omitempty"`
	AfterSeq int64          `json:"after_seq,omitempty"`
	Parts    int            `json:"parts"`
	Chunks   map[string]int `json:"chunks,omitempty"`
	Done     int64          `json:"done"`
	Messages int64          `json:"messages"`
	Files    int64          `json:"files"`
	// Account is, for a disclosure, the index of the account whose
	// messages are being read.
	Account int `json:"account,omitempty"`
}

// builder builds one package.
type builder struct {
	s     *Service
	e     Export
	run   *jobs.Run
	cur   exportCursor
	total int64
	step  int
	scope *Disclosure // a disclosure's, nil for other kinds

	// hashN and hashState are the package's running hash after the part
	// this run wrote last, so that the next part need not read every
	// part's row to find it.
	hashN     int
	hashState []byte
}

func (s *Service) runExport(ctx context.Context, run *jobs.Run) error {
	j := run.Job()
	e, err := s.o.Store.Export(ctx, string(j.Params))
	if err != nil || e.Tenant != j.Tenant {
		return errs.E(errs.NotFound, "The export no longer exists.")
	}
	b := &builder{s: s, e: e, run: run, cur: exportCursor{Phase: "docs", Chunks: map[string]int{}}}
	if e.Kind == KindDisclosure {
		sc, err := s.scope(ctx, e)
		if err != nil {
			return err
		}
		b.scope = &sc
	}
	if j.Cursor != "" {
		if err := json.Unmarshal([]byte(j.Cursor), &b.cur); err != nil {
			return fmt.Errorf("export cursor: %w", err)
		}
		if b.cur.Chunks == nil {
			b.cur.Chunks = map[string]int{}
		}
	}
	b.total = j.Total
	if b.total == 0 {
		n, err := b.count(ctx)
		if err != nil {
			return err
		}
		b.total = n + 1
	}
	for b.cur.Phase != "end" {
		if err := ctx.Err(); err != nil {
			return err
		}
		var err error
		switch b.cur.Phase {
		case "docs":
			err = b.docs(ctx)
		case "messages":
			err = b.messages(ctx)
		case "recordings":
			err = b.recordings(ctx)
		case "audit":
			err = b.auditLog(ctx)
		case "final":
			err = b.final(ctx)
		default:
			return fmt.Errorf("export cursor: unknown phase %q", b.cur.Phase)
		}
		if err != nil {
			if errors.Is(err, jobs.ErrLeaseLost) || errors.Is(err, jobs.ErrCancelled) {
				return err
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return err
		}
		if err := b.checkpoint(ctx); err != nil {
			return err
		}
	}
	run.SetResult("export:" + e.ID)
	return nil
}

func (b *builder) checkpoint(ctx context.Context) error {
	cb, _ := json.Marshal(b.cur)
	done := min(b.cur.Done, b.total-1)
	if b.cur.Phase == "end" {
		done = b.total
	}
	if err := b.run.Checkpoint(ctx, string(cb), done, b.total); err != nil {
		return err
	}
	b.step++
	if f := b.s.after.Load(); f != nil {
		(*f)(ctx, b.e.ID, b.step)
	}
	return nil
}

// count returns how many messages the package holds.
func (b *builder) count(ctx context.Context) (int64, error) {
	if b.scope == nil {
		return b.s.o.Store.CountSelected(ctx, b.selection())
	}
	if !b.withMessages() {
		return 0, nil
	}
	var total int64
	for _, a := range b.scope.Accounts {
		n, err := b.s.o.Store.CountSelected(ctx, Selection{Tenant: b.e.Tenant, Author: a})
		if err != nil {
			return 0, err
		}
		total += n
	}
	return total, nil
}

// withMessages says whether the package holds messages: every kind does,
// but a disclosure only when content was approved.
func (b *builder) withMessages() bool {
	return b.scope == nil || slices.Contains(b.scope.Categories, Content)
}

func (b *builder) selection() Selection {
	sel := Selection{Tenant: b.e.Tenant}
	switch b.e.Kind {
	case KindDisclosure:
		// One account at a time: the messages each named account wrote in
		// this tenant, and nobody else's.
		if b.scope != nil && b.cur.Account < len(b.scope.Accounts) {
			sel.Author = b.scope.Accounts[b.cur.Account]
		}
	case KindCase:
		if id, ok := strings.CutPrefix(b.e.Source, "search:"); ok {
			sel.Search = id
		} else {
			sel.Case = b.e.Subject
		}
	case KindSelf, KindUser:
		sel.Author = ids.UserID(b.e.Subject)
	case KindTenant:
		sel.All = true
	}
	return sel
}

// manifest collects the lines of the files written to one part.
type manifest struct{ lines []string }

// add writes a file to tw from r, which must yield exactly size bytes, and
// records its SHA-256.
func (m *manifest) add(tw *tar.Writer, path string, size int64, modTime time.Time, r io.Reader) error {
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: path, Size: size, Mode: 0o644, ModTime: modTime.Truncate(time.Second)}); err != nil {
		return err
	}
	h := sha256.New()
	n, err := io.Copy(tw, io.TeeReader(io.LimitReader(r, size), h))
	if err != nil {
		return err
	}
	if n != size {
		// Not the path: an attachment's is named after the file (content).
		return fmt.Errorf("export: a file gave %d bytes instead of %d", n, size)
	}
	m.lines = append(m.lines, hex.EncodeToString(h.Sum(nil))+"  "+path+"\n")
	return nil
}

func (m *manifest) addBytes(tw *tar.Writer, path string, modTime time.Time, data []byte) error {
	return m.add(tw, path, int64(len(data)), modTime, bytes.NewReader(data))
}

// packageHash returns the package's running hash after part n (0: none).
func (b *builder) packageHash(ctx context.Context, n int) (hash.Hash, error) {
	h := sha256.New()
	if n == 0 {
		return h, nil
	}
	if n == b.hashN && b.hashState != nil {
		return h, h.(encoding.BinaryUnmarshaler).UnmarshalBinary(b.hashState)
	}
	parts, err := b.s.o.Store.Parts(ctx, b.e.ID, "part")
	if err != nil {
		return nil, err
	}
	for _, p := range parts {
		if p.N == n {
			return h, h.(encoding.BinaryUnmarshaler).UnmarshalBinary(p.HashState)
		}
	}
	return nil, fmt.Errorf("export %s: part %d is missing", b.e.ID, n)
}

// writePart writes the next part of the package: the tar entries fill
// writes (the archive's end too when last). It stores the part's blob and
// row, and advances the cursor's part count.
func (b *builder) writePart(ctx context.Context, last bool, fill func(tw *tar.Writer, m *manifest) error) error {
	n := b.cur.Parts + 1
	h, err := b.packageHash(ctx, n-1)
	if err != nil {
		return err
	}
	m := &manifest{}
	pr, pw := io.Pipe()
	go func() {
		tw := tar.NewWriter(pw)
		err := fill(tw, m)
		if err == nil && last {
			err = tw.Close()
		} else if err == nil {
			err = tw.Flush()
		}
		pw.CloseWithError(err)
	}()
	size, err := b.s.o.Blobs.Put(ctx, b.e.Tenant, partKey(b.e.ID, "part", n), io.TeeReader(pr, h))
	pr.CloseWithError(errors.New("export: part abandoned"))
	if err != nil {
		return err
	}
	state, err := h.(encoding.BinaryMarshaler).MarshalBinary()
	if err != nil {
		return err
	}
	sealed, err := b.s.o.Keys.Seal(ctx, b.e.Tenant, manifestAAD(b.e.ID, "part", n), []byte(strings.Join(m.lines, "")))
	if err != nil {
		return err
	}
	if err := b.s.o.Store.UpdateDiscovery(ctx, func(tx Tx) error {
		return tx.PutPart(ctx, b.e.ID, Part{Kind: "part", N: n, Bytes: size, Manifest: sealed, HashState: state})
	}); err != nil {
		return err
	}
	b.cur.Parts, b.hashN, b.hashState = n, n, state
	return nil
}

// stage stores the next chunk of a big file (messages.jsonl, audit.jsonl)
// that the last part joins.
func (b *builder) stage(ctx context.Context, kind string, data []byte) error {
	n := b.cur.Chunks[kind] + 1
	size, err := b.s.o.Blobs.Put(ctx, b.e.Tenant, partKey(b.e.ID, kind, n), bytes.NewReader(data))
	if err != nil {
		return err
	}
	if err := b.s.o.Store.UpdateDiscovery(ctx, func(tx Tx) error {
		return tx.PutPart(ctx, b.e.ID, Part{Kind: kind, N: n, Bytes: size})
	}); err != nil {
		return err
	}
	b.cur.Chunks[kind] = n
	return nil
}

func jsonl[T any](xs []T) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	for _, x := range xs {
		if err := enc.Encode(x); err != nil {
			return nil, err
		}
	}
	return buf.Bytes(), nil
}

func pretty(v any) ([]byte, error) {
	b, err := json.MarshalIndent(v, "", "  ")
	return append(b, '\n'), err
}

// Info is export.json: what the package is.
type Info struct {
	Format      string     `json:"format"`
	ID          string     `json:"id"`
	Kind        string     `json:"kind"`
	Tenant      string     `json:"tenant"`
	TenantName  string     `json:"tenant_name"`
	Subject     string     `json:"subject"`
	Source      string     `json:"source,omitempty"`
	RequestedBy ids.UserID `json:"requested_by"`
	Created     time.Time  `json:"created"`
	// A disclosure's request, categories and accounts.
	Request    string       `json:"request,omitempty"`
	Categories []string     `json:"categories,omitempty"`
	Accounts   []ids.UserID `json:"accounts,omitempty"`
}

// Profile is a person as exported (no secrets).
type Profile struct {
	ID          ids.UserID       `json:"id"`
	Email       string           `json:"email"`
	DisplayName string           `json:"display_name"`
	Kind        principal.Kind   `json:"kind"`
	Roles       []principal.Role `json:"roles"`
	State       string           `json:"state"`
	Created     time.Time        `json:"created"`
}

func profileOf(a identity.Account) Profile {
	return Profile{ID: a.ID, Email: a.Email, DisplayName: a.DisplayName, Kind: a.Kind, Roles: a.Roles, State: a.State, Created: a.Created}
}

// docs writes the first part: export.json and what the kind of export
// holds besides messages.
func (b *builder) docs(ctx context.Context) error {
	s, e := b.s, b.e
	t, err := s.o.Accounts.TenantByID(ctx, e.Tenant)
	if err != nil {
		return err
	}
	files := map[string][]byte{}
	put := func(name string, v any, lines bool) error {
		var data []byte
		var err error
		if lines {
			data, err = v.(func() ([]byte, error))()
		} else {
			data, err = pretty(v)
		}
		files[name] = data
		return err
	}
	info := Info{Format: Format, ID: e.ID, Kind: e.Kind, Tenant: string(e.Tenant), TenantName: t.Name, Subject: e.Subject, Source: e.Source,
		RequestedBy: e.CreatedBy, Created: e.Created}
	if b.scope != nil {
		info.Request, info.Categories, info.Accounts = b.scope.Request, b.scope.Categories, b.scope.Accounts
	}
	if err := put("export.json", info, false); err != nil {
		return err
	}
	switch e.Kind {
	case KindCase:
		c, err := s.o.Store.Case(ctx, e.Subject)
		if err != nil {
			return err
		}
		name, err := s.o.Keys.Open(ctx, c.Tenant, caseNameAAD(c.ID), c.Sealed)
		if err != nil {
			return err
		}
		ms, err := s.o.Store.CaseMembers(ctx, c.ID)
		if err != nil {
			return err
		}
		doc := map[string]any{"id": c.ID, "name": string(name), "state": c.State, "created": c.Created, "created_by": c.CreatedBy, "members": ms}
		if id, ok := strings.CutPrefix(e.Source, "search:"); ok {
			sr, err := s.o.Store.Search(ctx, id)
			if err != nil {
				return err
			}
			if err := s.openSearch(ctx, &sr); err != nil {
				return err
			}
			sr.Progress = nil
			doc["search"] = sr
		}
		if err := put("case.json", doc, false); err != nil {
			return err
		}
	case KindSelf, KindUser:
		a, err := s.o.Accounts.AccountByID(ctx, ids.UserID(e.Subject))
		if err != nil {
			return err
		}
		if err := put("profile.json", profileOf(a), false); err != nil {
			return err
		}
		ms, err := s.o.Store.TenantMeetings(ctx, e.Tenant, a.ID)
		if err != nil {
			return err
		}
		if err := put("meetings.jsonl", func() ([]byte, error) { return jsonl(ms) }, true); err != nil {
			return err
		}
	case KindTenant:
		if err := put("tenant.json", t, false); err != nil {
			return err
		}
		as, err := s.o.Accounts.Accounts(ctx, identity.TenantRealm, e.Tenant)
		if err != nil {
			return err
		}
		ps := make([]Profile, len(as))
		for i, a := range as {
			ps[i] = profileOf(a)
		}
		if err := put("users.jsonl", func() ([]byte, error) { return jsonl(ps) }, true); err != nil {
			return err
		}
		teams, err := s.o.Store.TenantTeams(ctx, e.Tenant)
		if err != nil {
			return err
		}
		type teamDoc struct {
			Team    any `json:"team"`
			Members any `json:"members"`
		}
		var tds []teamDoc
		for _, tm := range teams {
			ms, err := s.o.Chat.TeamMembers(ctx, tm.ID)
			if err != nil {
				return err
			}
			tds = append(tds, teamDoc{tm, ms})
		}
		if err := put("teams.jsonl", func() ([]byte, error) { return jsonl(tds) }, true); err != nil {
			return err
		}
		chans, err := s.o.Store.TenantChannels(ctx, e.Tenant)
		if err != nil {
			return err
		}
		type chanDoc struct {
			Channel any          `json:"channel"`
			Members []ids.UserID `json:"members"`
		}
		var cds []chanDoc
		for _, c := range chans {
			c.ReadSeq = 0
			ms, err := s.o.Chat.ChannelMembers(ctx, c.ID)
			if err != nil {
				return err
			}
			cds = append(cds, chanDoc{c, ms})
		}
		if err := put("channels.jsonl", func() ([]byte, error) { return jsonl(cds) }, true); err != nil {
			return err
		}
		ms, err := s.o.Store.TenantMeetings(ctx, e.Tenant, "")
		if err != nil {
			return err
		}
		if err := put("meetings.jsonl", func() ([]byte, error) { return jsonl(ms) }, true); err != nil {
			return err
		}
		pol, _, err := s.o.Policies.Policy(ctx, e.Tenant)
		if err != nil {
			return err
		}
		if err := put("policies/moderation.json", pol, false); err != nil {
			return err
		}
		if err := put("policies/tenant.json", t.Policy, false); err != nil {
			return err
		}
	case KindDisclosure:
		if err := b.disclosureDocs(ctx, files); err != nil {
			return err
		}
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	slices.Sort(names)
	if err := b.writePart(ctx, false, func(tw *tar.Writer, m *manifest) error {
		for _, n := range names {
			if err := m.addBytes(tw, n, e.Created, files[n]); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		return err
	}
	b.cur.Phase = "messages"
	if !b.withMessages() {
		b.cur.Phase = "final"
	}
	return nil
}

// messages handles one batch of messages: their lines are staged, their
// attachments written as a part.
func (b *builder) messages(ctx context.Context) error {
	s, e := b.s, b.e
	ms, err := s.o.Store.SelectedMessages(ctx, b.selection(), b.cur.After, s.o.BatchSize)
	if err != nil {
		return err
	}
	if len(ms) == 0 {
		if b.scope != nil && b.cur.Account+1 < len(b.scope.Accounts) {
			b.cur.Account, b.cur.After = b.cur.Account+1, ""
			return nil
		}
		b.cur.Phase, b.cur.After = "recordings", ""
		if e.Kind != KindTenant {
			b.cur.Phase = "final"
		}
		return nil
	}
	o := newOpener(s, e.Tenant)
	recs, files, err := o.records(ctx, ms)
	if err != nil {
		return err
	}
	data, err := jsonl(recs)
	if err != nil {
		return err
	}
	if len(files) > 0 {
		if err := b.writePart(ctx, false, func(tw *tar.Writer, m *manifest) error {
			for _, f := range files {
				rc, err := s.o.Blobs.Get(ctx, f.Tenant, chat.FileKey(f.ID))
				if err != nil {
					return err
				}
				err = m.add(tw, "attachments/"+f.ID+"-"+SafeName(f.Name), f.Size, e.Created, rc)
				rc.Close()
				if err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			return err
		}
	}
	if err := b.stage(ctx, "messages", data); err != nil {
		return err
	}
	b.cur.After = ms[len(ms)-1].ID
	b.cur.Done += int64(len(ms))
	b.cur.Messages += int64(len(recs))
	b.cur.Files += int64(len(files))
	return nil
}

// recordings writes a few meeting recordings per part (tenant exports).
func (b *builder) recordings(ctx context.Context) error {
	s, e := b.s, b.e
	rs, err := s.o.Store.TenantRecordings(ctx, e.Tenant, b.cur.After, 5)
	if err != nil {
		return err
	}
	if len(rs) == 0 {
		b.cur.Phase, b.cur.After = "audit", ""
		return nil
	}
	meta, err := jsonl(rs)
	if err != nil {
		return err
	}
	if err := b.writePart(ctx, false, func(tw *tar.Writer, m *manifest) error {
		for _, r := range rs {
			rc, err := s.o.Blobs.Get(ctx, e.Tenant, r.BlobKey)
			if err != nil {
				return err
			}
			err = m.add(tw, "recordings/"+r.ID+"-"+SafeName(r.Kind)+".webm", r.Bytes, e.Created, rc)
			rc.Close()
			if err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		return err
	}
	if err := b.stage(ctx, "recordings", meta); err != nil {
		return err
	}
	b.cur.After = rs[len(rs)-1].ID
	b.cur.Files += int64(len(rs))
	return nil
}

// auditLog stages the tenant's audit log, a thousand records at a time.
func (b *builder) auditLog(ctx context.Context) error {
	rs, err := b.s.o.AuditLog.AuditRecords(ctx, b.e.Tenant, b.cur.AfterSeq, 1000)
	if err != nil {
		return err
	}
	if len(rs) == 0 {
		b.cur.Phase = "final"
		return nil
	}
	data, err := jsonl(rs)
	if err != nil {
		return err
	}
	if err := b.stage(ctx, "audit", data); err != nil {
		return err
	}
	b.cur.AfterSeq = rs[len(rs)-1].Seq
	return nil
}

// staged are the big files joined in the last part, by chunk kind.
var staged = []struct{ kind, name string }{{"messages", "messages.jsonl"}, {"recordings", "recordings.jsonl"}, {"audit", "audit.jsonl"}}

// final writes the last part: the staged files, the signing key, the
// manifest of every file and its signature, and the archive's end.
func (b *builder) final(ctx context.Context) error {
	s, e := b.s, b.e
	earlier, err := s.o.Store.Parts(ctx, e.ID, "part")
	if err != nil {
		return err
	}
	var lines []string
	for _, p := range earlier {
		if p.N > b.cur.Parts {
			continue // a last part written before an interruption: written again
		}
		m, err := s.o.Keys.Open(ctx, e.Tenant, manifestAAD(e.ID, "part", p.N), p.Manifest)
		if err != nil {
			return err
		}
		lines = append(lines, strings.SplitAfter(string(m), "\n")...)
	}
	type stagedFile struct {
		name  string
		kind  string
		size  int64
		parts []Part
	}
	var files []stagedFile
	for _, st := range staged {
		if (st.kind != "messages" && e.Kind != KindTenant) || (st.kind == "messages" && !b.withMessages()) {
			continue
		}
		ps, err := s.o.Store.Parts(ctx, e.ID, st.kind)
		if err != nil {
			return err
		}
		f := stagedFile{name: st.name, kind: st.kind}
		for _, p := range ps {
			if p.N <= b.cur.Chunks[st.kind] {
				f.size += p.Bytes
				f.parts = append(f.parts, p)
			}
		}
		files = append(files, f)
	}
	if err := b.writePart(ctx, true, func(tw *tar.Writer, m *manifest) error {
		for _, f := range files {
			r := &chunks{ctx: ctx, s: s, e: e, kind: f.kind, parts: f.parts}
			err := m.add(tw, f.name, f.size, e.Created, r)
			r.close()
			if err != nil {
				return err
			}
		}
		if err := m.addBytes(tw, KeyName, e.Created, s.o.Signer.PublicPEM()); err != nil {
			return err
		}
		all := append(slices.Clone(lines), m.lines...)
		all = slices.DeleteFunc(all, func(l string) bool { return l == "" })
		slices.SortFunc(all, func(a, b string) int { return strings.Compare(a[66:], b[66:]) })
		man := []byte(strings.Join(all, ""))
		sig := s.o.Signer.Sign(man)
		for _, x := range []struct {
			name string
			data []byte
		}{{ManifestName, man}, {SignatureName, sig}} {
			if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: x.name, Size: int64(len(x.data)), Mode: 0o644, ModTime: e.Created.Truncate(time.Second)}); err != nil {
				return err
			}
			if _, err := tw.Write(x.data); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		return err
	}
	parts, err := s.o.Store.Parts(ctx, e.ID, "part")
	if err != nil {
		return err
	}
	var size int64
	for _, p := range parts {
		size += p.Bytes
	}
	h, err := b.packageHash(ctx, b.cur.Parts)
	if err != nil {
		return err
	}
	e.State, e.Parts, e.Bytes, e.SHA256, e.Messages, e.Files = Done, b.cur.Parts, size, hex.EncodeToString(h.Sum(nil)), b.cur.Messages, b.cur.Files
	// Progress reaches its total before the package shows as ready. Done
	// again after an interruption here, the last part is simply rewritten.
	cb, _ := json.Marshal(b.cur)
	if err := b.run.Checkpoint(ctx, string(cb), b.total, b.total); err != nil {
		return err
	}
	actor := principal.Job(JobExport, e.Tenant)
	if err := s.o.Store.UpdateDiscovery(ctx, func(tx Tx) error {
		if err := tx.FinishExport(ctx, e); err != nil {
			return err
		}
		entry := audit.Entry{Actor: actor, Action: "export.ready", Target: "export:" + e.ID,
			Details: map[string]string{"kind": e.Kind, "subject": e.Subject, "requested_by": string(e.CreatedBy), "sha256": e.SHA256,
				"bytes": strconv.FormatInt(size, 10), "parts": strconv.Itoa(e.Parts), "messages": strconv.FormatInt(e.Messages, 10), "files": strconv.FormatInt(e.Files, 10)}}
		if e.Kind == KindDisclosure {
			disclosureAudit(&entry, e)
		}
		_, err := s.o.Audit.Append(ctx, tx, entry)
		return err
	}); err != nil {
		return err
	}
	// The staged chunks are in the package now.
	for _, f := range files {
		for _, p := range f.parts {
			if err := s.o.Blobs.Delete(ctx, e.Tenant, partKey(e.ID, f.kind, p.N)); err != nil {
				s.o.Log.WarnContext(ctx, "export: remove a staged chunk", "export", e.ID, "err", err)
			}
		}
	}
	b.cur.Phase = "end"
	return nil
}

// chunks reads staged chunks one after another.
type chunks struct {
	ctx   context.Context
	s     *Service
	e     Export
	kind  string
	parts []Part
	rc    io.ReadCloser
}

func (c *chunks) Read(p []byte) (int, error) {
	for {
		if c.rc == nil {
			if len(c.parts) == 0 {
				return 0, io.EOF
			}
			rc, err := c.s.o.Blobs.Get(c.ctx, c.e.Tenant, partKey(c.e.ID, c.kind, c.parts[0].N))
			if err != nil {
				return 0, err
			}
			c.rc, c.parts = rc, c.parts[1:]
		}
		n, err := c.rc.Read(p)
		if err == io.EOF {
			c.rc.Close()
			c.rc = nil
			if n > 0 {
				return n, nil
			}
			continue
		}
		return n, err
	}
}

func (c *chunks) close() {
	if c.rc != nil {
		c.rc.Close()
	}
}
