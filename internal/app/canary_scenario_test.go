package app_test

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"golang.org/x/text/unicode/norm"

	"github.com/kaigi/kaigi/internal/app/apptest"
	"github.com/kaigi/kaigi/internal/chat"
	"github.com/kaigi/kaigi/internal/compliance/discovery"
	"github.com/kaigi/kaigi/internal/compliance/retention"
	"github.com/kaigi/kaigi/internal/config"
	"github.com/kaigi/kaigi/internal/identity"
	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/lockbox"
	"github.com/kaigi/kaigi/internal/meeting"
	"github.com/kaigi/kaigi/internal/moderation"
	"github.com/kaigi/kaigi/internal/principal"
	"github.com/kaigi/kaigi/internal/provider"
)

// canary is one marker put into one place of the scenario. Each place gets
// a marker of its own, so that a hit names what leaked.
type canary struct {
	tag    string
	text   string
	onDisk bool     // must be absent from the data directory too
	raw    [][]byte // forms looked for byte for byte
	folded [][]byte // ASCII forms looked for ignoring ASCII case
}

type canaries []*canary

// kanjiDigits writes the sixteen hex digits in kanji, for a marker of
// Japanese text with no ASCII in it.
var kanjiDigits = []rune("〇一二三四五六七八九甲乙丙丁戊己")

// add records a marker with the forms to look for, and adds for every
// marker its hex and base64 encodings (how a []byte is logged or stored in
// JSON): base64 at each of the three alignments it may start at.
func (cs *canaries) add(tag, text string, onDisk bool, raw, folded []string) string {
	c := &canary{tag: tag, text: text, onDisk: onDisk}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding} {
		for k := range 3 {
			b64 := enc.EncodeToString(append(make([]byte, k), text...))
			raw = append(raw, b64[(k*8+5)/6:(k+len(text))*8/6])
		}
	}
	for _, f := range raw {
		c.raw = append(c.raw, []byte(f))
	}
	for _, f := range append(folded, hex.EncodeToString([]byte(text))) {
		c.folded = append(c.folded, asciiLower([]byte(f)))
	}
	*cs = append(*cs, c)
	return text
}

// canaryID is 80 random bits in hex: nothing else in the logs, the metrics
// or the data directory holds it by chance.
func canaryID() string { return hex.EncodeToString(ids.Token(10)) }

// ascii is a Latin marker, CANARY and 20 hex digits: 26 bytes, short enough
// for every field, a reaction included. It is found in any case and inside
// any escaping, as the hex digits are plain ASCII.
func (cs *canaries) ascii(tag string) string {
	id := canaryID()
	return cs.add(tag, "CANARY"+id, true, nil, []string{id})
}

// japanese is a marker of Japanese text only. With no ASCII in it, its UTF-8
// bytes and their escaped forms (JSON \u, URL %XX) are looked for.
func (cs *canaries) japanese(tag string) string {
	var core strings.Builder
	for _, r := range canaryID() {
		core.WriteRune(kanjiDigits[strings.IndexRune("0123456789abcdef", r)])
	}
	return cs.add(tag, "極秘カナリア"+core.String(), true, []string{core.String()}, escapes(core.String()))
}

// wide is a full-width marker (ＣＡＮＡＲＹ and full-width digits), which
// compatibility normalisation folds to ASCII as search does: the folded
// form is looked for too.
func (cs *canaries) wide(tag string) string {
	id := canaryID()
	var core strings.Builder
	for _, r := range id {
		if r >= 'a' {
			core.WriteRune('ａ' + r - 'a')
		} else {
			core.WriteRune('０' + r - '0')
		}
	}
	return cs.add(tag, "ＣＡＮＡＲＹ"+core.String(), true, []string{core.String(), strings.ToUpper(core.String())}, append(escapes(core.String()), id))
}

// meta is a marker for a field Kaigi keeps in plaintext by design (names
// and titles, an operator's reason and ticket, a display name): it must
// stay out of the logs and the metrics; on disk it is only reported.
func (cs *canaries) meta(tag string) string {
	id := canaryID()
	return cs.add(tag, "CANARYMETA"+id, false, nil, []string{id})
}

func escapes(s string) []string {
	q := strconv.QuoteToASCII(s)
	return []string{q[1 : len(q)-1], url.QueryEscape(s)}
}

func asciiLower(b []byte) []byte {
	out := make([]byte, len(b))
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		out[i] = c
	}
	return out
}

// canaryHit is a marker found in a haystack: which, in what form, where.
type canaryHit struct {
	c    *canary
	form string
	at   int
	n    int
}

func (cs canaries) find(b []byte) []canaryHit {
	low := asciiLower(b)
	var out []canaryHit
	for _, c := range cs {
		for _, f := range c.raw {
			if i := bytes.Index(b, f); i >= 0 {
				out = append(out, canaryHit{c, string(f), i, len(f)})
			}
		}
		for _, f := range c.folded {
			if i := bytes.Index(low, f); i >= 0 {
				out = append(out, canaryHit{c, string(f), i, len(f)})
			}
		}
	}
	return out
}

// checkDetector makes sure every marker is found however a log line, a
// metric label or a stored record might have written it, so that a clean
// scan means something.
func (cs canaries) checkDetector(t *testing.T) {
	t.Helper()
	for _, c := range cs {
		var jsonLine, textLine bytes.Buffer
		slog.New(slog.NewJSONHandler(&jsonLine, nil)).Info("m", "v", c.text, "b", []byte("x"+c.text))
		slog.New(slog.NewTextHandler(&textLine, nil)).Info("m", "v", c.text)
		forms := map[string]string{"slog JSON": jsonLine.String(), "slog text": textLine.String(),
			"lower case": strings.ToLower(c.text), "upper case": strings.ToUpper(c.text), "NFKC": norm.NFKC.String(c.text),
			"Go quoted": fmt.Sprintf("%q", c.text), "ASCII quoted": strconv.QuoteToASCII(c.text), "URL query": url.QueryEscape(c.text),
			"URL path": url.PathEscape(c.text), "hex": fmt.Sprintf("%X", c.text), "base64": base64.StdEncoding.EncodeToString([]byte("ab" + c.text)),
			"base64 in JSON": func() string { b, _ := json.Marshal([]byte("a" + c.text)); return string(b) }(),
		}
		for name, form := range forms {
			found := false
			for _, h := range cs.find([]byte("<" + form + ">")) {
				found = found || h.c == c
			}
			if !found {
				t.Errorf("the detector misses the marker of %q written as %s: %s", c.tag, name, form)
			}
		}
	}
}

// lineAround returns the line of b holding byte i, cut to a readable length.
func lineAround(b []byte, i int) string {
	start := bytes.LastIndexByte(b[:i], '\n') + 1
	end := len(b)
	if j := bytes.IndexByte(b[i:], '\n'); j >= 0 {
		end = i + j
	}
	if end-start > 600 {
		start, end = max(start, i-300), min(end, i+300)
	}
	return string(b[start:end])
}

// rawDo sends body exactly as given, with contentType, on c's session.
func rawDo(t *testing.T, c *client, method, path, contentType string, body []byte) response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, c.base+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	if c.csrf != "" {
		req.Header.Set("X-CSRF-Token", c.csrf)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

// startCanaryWorld is startWorldWith on a node that logs everything, at
// Debug, as JSON into logs; whose /metrics needs metricsToken; and whose
// public URL is http://localhost:<port> (WebAuthn, for the operator's
// passkey, takes no IP address; the sockets' Origin is that URL).
func startCanaryWorld(t *testing.T, dir string, logs *lockedBuffer, metricsToken string) *world {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	ln.Close()
	s := apptest.Start(t, apptest.Options{DataDir: dir,
		Log: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Config: func(c *config.Config) {
			c.Addr, c.PublicURL, c.TrustedProxies = "127.0.0.1:"+port, "http://localhost:"+port, "127.0.0.1/32"
			c.MetricsToken = metricsToken
		}})
	tenant, link, err := s.Identity.CreateTenant(t.Context(), principal.Job("test", ""), identity.NewTenant{Name: "Acme Corp", Domain: "acme.example", AdminEmail: "admin@acme.example"})
	if err != nil {
		t.Fatal(err)
	}
	c := newClient(t, s.URL)
	if r := c.do("POST", "/api/v1/invitations/accept", map[string]string{"token": fragmentParam(t, link, "token"), "display_name": "Ada Admin", "password": goodPassword}); r.status != 201 {
		t.Fatalf("accept: %d %s", r.status, r.body)
	}
	w := &world{s: s, tenant: tenant, admin: c}
	w.secret = enrolTOTP(t, s, c, "admin@acme.example")
	return w
}

// TestNoContentInLogsMetricsOrDiskAfterAFullScenario runs a tenant through
// everything that carries content — messages (sent, edited, in a thread,
// with a mention, reacted to, deleted), search, a file, a one-to-one chat,
// meetings and their chat and live signalling, moderation (a held message,
// a report), a legal hold, an eDiscovery case with a search and an export,
// a person's own export, the tenant's export, a retention run, a lockbox
// request, a law-enforcement intake, refused realtime frames, and requests
// refused for their content — each with a marker of its own in Latin,
// Japanese or full-width text. Then the node's logs (every level, Debug
// included), its /metrics and every byte of its data directory are
// searched: no marker is anywhere, in any case, escaping or encoding.
//
// Fields kept in plaintext by design — team and channel names, meeting
// titles, legal-hold names, a lockbox request's reason and ticket — carry
// meta markers: kept out of the logs and metrics, only reported on disk.
func TestNoContentInLogsMetricsOrDiskAfterAFullScenario(t *testing.T) {
	dir := t.TempDir()
	var logs lockedBuffer
	metricsToken := "scrape-" + hex.EncodeToString(ids.Token(16))
	base := startCanaryWorld(t, dir, &logs, metricsToken)
	s := base.s
	origin := s.Config.URL()
	cw := chatWorldOn(t, base)
	officer, _ := discoveryOfficer(t, base, "cora@acme.example")
	ch := cw.general.ID
	cs := &canaries{}
	want := func(what string, r response, status int) response {
		t.Helper()
		if r.status != status {
			t.Fatalf("%s: %d %.400s, want %d", what, r.status, r.body, status)
		}
		return r
	}
	readsBack := func(what string, body []byte, text string) {
		t.Helper()
		if !bytes.Contains(body, []byte(text)) {
			t.Fatalf("sanity: %s does not read back %q through the API: %.400s", what, text, body)
		}
	}

	// The guest's browser tab is open through it all: events reach it live.
	tab := openSocketAt(t, cw.guest, "", origin, nil)

	// Names: plaintext by design; out of logs and metrics all the same.
	var team chat.Team
	want("team", cw.admin.do("POST", "/api/v1/teams", map[string]string{"name": cs.meta("team name")}), 201).json(t, &team)
	want("channel", cw.admin.do("POST", "/api/v1/teams/"+team.ID+"/channels", map[string]string{"name": cs.meta("channel name"), "kind": "standard"}), 201)

	// Channel messages: sent, edited, replied to in a thread, mentioning,
	// reacted to (an emoji, and text where an emoji goes), deleted.
	first := send(t, cw.member, ch, "Quarterly plan: "+cs.ascii("message body")+" — see you Friday", "")
	wideMarker := cs.wide("edited body")
	edited := "Quarterly plan (edited): " + wideMarker
	want("edit", cw.member.do("PATCH", "/api/v1/messages/"+first.ID, map[string]string{"body": edited}), 200)
	replyText := "了解です。" + cs.japanese("thread reply") + "を確認しました。"
	send(t, cw.guest, ch, replyText, first.ID)
	send(t, cw.member, ch, "<@"+string(cw.guestID)+"> please look at "+cs.ascii("mention"), "")
	send(t, cw.admin, ch, "議事録：来期の予算は"+cs.japanese("japanese message")+"です", "")
	want("react", cw.guest.do("PUT", "/api/v1/messages/"+first.ID+"/reactions/"+url.PathEscape("👍"), nil), 200)
	// A reaction is stored as given, unsealed: the server must take only an
	// emoji there (a refusal passes this test), or seal what it takes.
	if r := cw.admin.do("PUT", "/api/v1/messages/"+first.ID+"/reactions/"+url.PathEscape(cs.ascii("reaction text")), nil); r.status >= 500 {
		t.Fatalf("react with text: %d %s", r.status, r.body)
	}
	gone := send(t, cw.member, ch, "Delete me: "+cs.ascii("deleted message"), "")
	want("delete", cw.member.do("DELETE", "/api/v1/messages/"+gone.ID, nil), 204)

	var views []chat.View
	want("history", cw.admin.do("GET", "/api/v1/channels/"+ch+"/messages", nil), 200).json(t, &views)
	raw, _ := json.Marshal(views)
	readsBack("the edited message", raw, edited)
	readsBack("the thread reply", raw, replyText)

	// The tab saw the reply live.
	for deadline := time.Now().Add(rtWait); ; {
		f := tab.next()
		if f.Type == "event" && f.Event.Message != nil && strings.Contains(f.Event.Message.Body, replyText) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("sanity: the guest's tab never received the thread reply")
		}
	}
	// Frames the gateway refuses, carrying markers.
	for _, frame := range []string{
		`{"type":"hello","cursors":{"` + cs.ascii("realtime cursor") + `":1`,
		`{"type":"` + cs.japanese("realtime frame type") + `"}`,
		`{"type":"status","status":"` + cs.ascii("realtime status") + `"}`,
	} {
		if err := tab.ws.Write(t.Context(), websocket.MessageText, []byte(frame)); err != nil {
			t.Fatalf("realtime frame: %v", err)
		}
	}

	// Search: what is found, and a query that finds nothing.
	var sr chat.SearchResult
	want("search", cw.admin.do("GET", "/api/v1/search?q="+url.QueryEscape(wideMarker), nil), 200).json(t, &sr)
	if len(sr.Results) != 1 || sr.Results[0].ID != first.ID {
		t.Fatalf("sanity: search for the full-width marker: %+v", sr)
	}
	want("search", cw.member.do("GET", "/api/v1/search?q="+url.QueryEscape(replyText), nil), 200).json(t, &sr)
	if len(sr.Results) != 1 || sr.Results[0].Body != replyText {
		t.Fatalf("sanity: search for the reply: %+v", sr)
	}
	want("search", cw.member.do("GET", "/api/v1/search?q="+url.QueryEscape(cs.ascii("search query")), nil), 200).json(t, &sr)
	want("search", cw.guest.do("GET", "/api/v1/search?q="+url.QueryEscape(cs.japanese("japanese search query")), nil), 200)

	// A file: its name and its content (several chunks).
	fileName := "report-" + cs.ascii("file name") + ".txt"
	fileContent := []byte(strings.Repeat("売上報告 "+cs.japanese("file content")+" quarterly numbers\n", 3000))
	fv := uploadView(t, cw.member, ch, fileName, fileContent)
	if len(fv.Files) != 1 || fv.Files[0].Name != fileName {
		t.Fatalf("sanity: the file's name: %+v", fv.Files)
	}
	if r := want("download", cw.guest.do("GET", "/api/v1/files/"+fv.Files[0].ID, nil), 200); !bytes.Equal(r.body, fileContent) {
		t.Fatal("sanity: the file does not read back")
	}

	// A one-to-one chat.
	dm := startChat(t, cw.member, cw.guestID)
	dmText := "Just between us: " + cs.wide("direct message")
	send(t, cw.member, dm, dmText, "")
	readsBack("the one-to-one chat", want("chat history", cw.guest.do("GET", "/api/v1/channels/"+dm+"/messages", nil), 200).body, dmText)

	// Meetings: a scheduled one with its chat, joined live; an instant one.
	now := s.Clock.Now()
	var mt meeting.Created
	title := cs.meta("meeting title")
	want("schedule", cw.admin.do("POST", "/api/v1/meetings", map[string]any{"title": title, "start": now, "end": now.Add(time.Hour),
		"invitees": []map[string]string{{"account": string(cw.memberID), "role": "attendee"}}}), 201).json(t, &mt)
	readsBack("the meeting", want("meeting", cw.admin.do("GET", "/api/v1/meetings/"+mt.ID, nil), 200).body, title)
	if mt.Chat == "" {
		t.Fatal("sanity: the meeting has no chat")
	}
	meetingChat := "会議メモ：" + cs.japanese("meeting chat")
	send(t, cw.admin, mt.Chat, meetingChat, "")
	readsBack("the meeting chat", want("meeting chat", cw.admin.do("GET", "/api/v1/channels/"+mt.Chat+"/messages", nil), 200).body, meetingChat)
	want("instant meeting", cw.member.do("POST", "/api/v1/meetings/instant", map[string]string{"channel": ch, "title": cs.meta("instant meeting title")}), 201)
	org, _ := dialMeeting(t, &rtWorld{world: base}, cw.admin, "/api/v1/realtime", origin)
	org.send(map[string]any{"type": "meeting.join", "meeting": mt.ID, "name": cs.meta("joiner name")})
	if f := org.next(); f.Type != "meeting.admitted" {
		t.Fatalf("the organiser joins: %+v", f)
	}
	org.send(map[string]any{"type": "meeting.signal", "meeting": mt.ID, "signal": map[string]string{"type": "offer", "sdp": "v=0 " + cs.ascii("meeting sdp")}})
	if f := org.until("meeting.error"); f.Code != "invalid" {
		t.Fatalf("malformed SDP: %+v", f)
	}
	org.send(map[string]any{"type": "meeting.do", "meeting": mt.ID, "action": cs.ascii("meeting action")})
	if f := org.until("meeting.error"); f.Code != "invalid" {
		t.Fatalf("an unknown action: %+v", f)
	}
	org.send(map[string]any{"type": "meeting.leave", "meeting": mt.ID})

	// Moderation: a message held by a block policy, and a report.
	waitForClassifier(t)
	mw := &moderationWorld{chatWorld: cw, officer: officer}
	mw.setPolicy(t, moderation.Policy{Rules: []moderation.Rule{rule(moderation.ActionBlock, moderation.Threat)}})
	held := "I will kill you " + cs.ascii("held message")
	if r := cw.member.do("POST", "/api/v1/channels/"+ch+"/messages", map[string]string{"body": held}); r.status != 422 || r.errorCode() != "moderation_held" {
		t.Fatalf("hold: %d %s", r.status, r.body)
	}
	reason := "この投稿は不適切です：" + cs.japanese("report reason")
	want("report", cw.guest.do("POST", "/api/v1/messages/"+first.ID+"/report", map[string]string{"category": "harassment", "reason": reason}), 202)
	var alertBodies []byte
	for _, a := range mw.alerts(t, "") {
		alertBodies = append(alertBodies, want("alert", officer.do("GET", "/api/v1/moderation/alerts/"+a.ID, nil), 200).body...)
	}
	readsBack("the held message", alertBodies, held)
	readsBack("the report's reason", alertBodies, reason)

	// A legal hold whose keyword is a marker in a message.
	keyword := cs.ascii("hold keyword")
	kept := send(t, cw.member, ch, "Project "+keyword+" draft", "")
	var hold retention.Hold
	want("hold", officer.do("POST", "/api/v1/compliance/holds", map[string]any{"name": cs.meta("hold name"), "query": map[string]any{"keywords": []string{keyword}}}), 201).json(t, &hold)
	readsBack("the hold's keywords", want("hold", officer.do("GET", "/api/v1/compliance/holds/"+hold.ID, nil), 200).body, keyword)
	if f := (&retentionWorld{chatWorld: cw}).whyKept(t, officer, kept.ID); f.Outcome != retention.OutcomeHeld {
		t.Fatalf("sanity: the keyword hold does not hold its message: %+v", f)
	}

	// eDiscovery: a case, a search for a marker, an export of what it found.
	caseName := "調査：" + cs.japanese("case name")
	var dc discovery.Case
	want("case", officer.do("POST", "/api/v1/ediscovery/cases", map[string]string{"name": caseName}), 201).json(t, &dc)
	readsBack("the case's name", want("case", officer.do("GET", "/api/v1/ediscovery/cases/"+dc.ID, nil), 200).body, caseName)
	evidence := cs.ascii("ediscovery keyword")
	send(t, cw.member, ch, "Budget line "+evidence+" approved", "")
	var search discovery.Search
	want("ediscovery search", officer.do("POST", "/api/v1/ediscovery/cases/"+dc.ID+"/searches", map[string]any{"keywords": evidence, "locations": []string{cw.team.ID}}), 202).json(t, &search)
	json.Unmarshal(waitJob(t, officer, "/api/v1/ediscovery/searches/"+search.ID), &search)
	if search.Hits != 1 {
		t.Fatalf("sanity: the eDiscovery search found %d messages, want 1", search.Hits)
	}
	readsBack("the search's results", want("results", officer.do("GET", "/api/v1/ediscovery/searches/"+search.ID+"/results", nil), 200).body, evidence)
	var caseExport discovery.Export
	want("case export", officer.do("POST", "/api/v1/ediscovery/cases/"+dc.ID+"/exports", map[string]string{"source": "search", "search": search.ID}), 202).json(t, &caseExport)
	waitJob(t, officer, "/api/v1/exports/"+caseExport.ID)
	readsBack("the case's export package", want("case package", officer.do("GET", "/api/v1/exports/"+caseExport.ID+"/package", nil), 200).body, evidence)

	// The member's own data.
	var own discovery.Export
	want("own export", cw.member.do("POST", "/api/v1/me/exports", nil), 202).json(t, &own)
	waitJob(t, cw.member, "/api/v1/exports/"+own.ID)
	pkg := want("own package", cw.member.do("GET", "/api/v1/exports/"+own.ID+"/package", nil), 200).body
	readsBack("the own-data package", pkg, edited)
	readsBack("the own-data package", pkg, dmText)

	// The whole tenant, exported by its admin; and a retention run, which
	// opens every item to decide its fate.
	var tenantExport discovery.Export
	want("tenant export", cw.admin.do("POST", "/api/v1/admin/exports", nil), 202).json(t, &tenantExport)
	waitJob(t, cw.admin, "/api/v1/exports/"+tenantExport.ID)
	readsBack("the tenant's export package", want("tenant package", cw.admin.do("GET", "/api/v1/exports/"+tenantExport.ID+"/package", nil), 200).body, meetingChat)
	runRetention(t, cw.admin)

	// The operator: a lockbox request and a law-enforcement intake.
	op := setUpOperator(t, s)
	lockboxReason := "Customer reports that " + cs.meta("lockbox reason") + " does not display"
	want("lockbox request", op.do("POST", "/api/v1/operator/lockbox", map[string]any{"tenant": base.tenant.ID, "resources": []string{"channel:" + ch},
		"justification": "customer_initiated_support", "reason": lockboxReason, "ticket": cs.meta("lockbox ticket"), "duration": "1h"}), 201)
	var requests []lockbox.Request
	want("lockbox list", cw.admin.do("GET", "/api/v1/lockbox/requests", nil), 200).json(t, &requests)
	if len(requests) != 1 || requests[0].Reason != lockboxReason {
		t.Fatalf("sanity: the lockbox request does not read back: %+v", requests)
	}
	var lr provider.LegalRequest
	want("legal intake", op.do("POST", "/api/v1/operator/legal-requests", map[string]any{"country": "JP", "instrument": "warrant", "compulsory": true,
		"customer_type": "enterprise", "tenant": base.tenant.ID, "asked": []string{"content", "non_content"},
		"details": map[string]any{"agency": "東京地方裁判所", "contact": cs.ascii("legal contact"), "accounts": []string{"max@acme.example"},
			"summary": "捜査の概要：" + cs.japanese("legal summary") + "に関する通信記録"}}), 201).json(t, &lr)
	want("legal step", op.do("POST", "/api/v1/operator/legal-requests/"+lr.ID+"/steps", map[string]any{"kind": "review", "decision": "narrow",
		"scope": []string{"non_content"}, "reason": cs.ascii("legal review reason"), "note": cs.wide("legal note")}), 200)

	// Requests refused for what they carry: the refusal must not echo it
	// into the logs either.
	msgs := "/api/v1/channels/" + ch + "/messages"
	for _, tc := range []struct {
		name   string
		r      response
		status int
	}{
		{"an over-long message", cw.member.do("POST", msgs, map[string]string{"body": cs.ascii("over-long message") + strings.Repeat(" 長い", chat.MaxMessageBytes/4)}), 413},
		{"malformed JSON", rawDo(t, cw.member, "POST", msgs, "application/json", []byte(`{"body": "`+cs.ascii("malformed json")+` and then`)), 400},
		{"JSON of the wrong type", rawDo(t, cw.member, "POST", msgs, "application/json", []byte(`{"body": ["`+cs.japanese("wrong json type")+`"]}`)), 400},
		{"an unknown field", rawDo(t, cw.member, "POST", msgs, "application/json", []byte(`{"`+cs.ascii("unknown field")+`": "x"}`)), 400},
		{"not JSON", rawDo(t, cw.member, "POST", msgs, "text/plain", []byte(cs.wide("text plain body"))), 415},
		{"a control character", cw.member.do("POST", msgs, map[string]string{"body": cs.ascii("control character") + "\x07"}), 400},
		{"a bidi override", cw.member.do("POST", msgs, map[string]string{"body": cs.japanese("bidi override") + "\u202Etxt.exe"}), 400},
		{"a thread that does not exist", cw.member.do("POST", msgs, map[string]string{"body": cs.ascii("bad thread body"), "thread": cs.ascii("bad thread id")}), 0},
		{"a channel one cannot see", cw.guest.do("POST", "/api/v1/channels/"+ids.New()+"/messages", map[string]string{"body": cs.ascii("unseen channel")}), 403},
		{"editing another's message", cw.guest.do("PATCH", "/api/v1/messages/"+first.ID, map[string]string{"body": cs.japanese("foreign edit")}), 403},
		{"a search of too many words", cw.member.do("GET", "/api/v1/search?q="+url.QueryEscape(strings.Repeat(cs.ascii("too many words")+" ", 11)), nil), 400},
		{"a search too long", cw.member.do("GET", "/api/v1/search?q="+url.QueryEscape(cs.japanese("search too long")+strings.Repeat("長", 100)), nil), 400},
		{"a file with a bidi name", upload(t, cw.member, ch, cs.ascii("bidi file name")+"\u202Etxt.exe", []byte("x")), 400},
		{"a file that lies about its type", upload(t, cw.member, ch, "photo.png", []byte(cs.ascii("lying file")+" is not an image")), 415},
		{"a report too long", cw.admin.do("POST", "/api/v1/messages/"+first.ID+"/report", map[string]string{"reason": cs.japanese("long report") + strings.Repeat("x", moderation.MaxReportReason)}), 413},
		{"a meeting title on two lines", cw.admin.do("POST", "/api/v1/meetings", map[string]any{"title": "a\n" + cs.ascii("two-line title"), "start": now, "end": now.Add(time.Hour)}), 400},
		{"a hold with too many keywords", officer.do("POST", "/api/v1/compliance/holds", map[string]any{"name": "H", "query": map[string]any{"keywords": slicesRepeat(cs.ascii("hold keywords"), 51)}}), 400},
		{"an eDiscovery search of too many words", officer.do("POST", "/api/v1/ediscovery/cases/"+dc.ID+"/searches", map[string]any{"keywords": strings.Repeat(cs.japanese("ediscovery words")+" ", 60)}), 400},
		{"a lockbox reason too long", op.do("POST", "/api/v1/operator/lockbox", map[string]any{"tenant": base.tenant.ID, "resources": []string{"channel:" + ch},
			"justification": "customer_initiated_support", "reason": cs.ascii("lockbox reason too long") + strings.Repeat("x", lockbox.MaxReasonRunes), "ticket": "T-1"}), 400},
		{"a legal summary too long", op.do("POST", "/api/v1/operator/legal-requests", map[string]any{"country": "JP", "instrument": "warrant", "customer_type": "other",
			"asked": []string{"content"}, "details": map[string]any{"agency": "A", "accounts": []string{"x@y.example"}, "summary": cs.japanese("legal summary too long") + strings.Repeat("長", 5000)}}), 400},
		{"no session", newClient(t, s.URL).do("POST", msgs, map[string]string{"body": cs.ascii("no session")}), 401},
		{"a wrong password", newClient(t, s.URL).do("POST", "/api/v1/auth/signin", map[string]string{"organisation": base.tenant.Slug, "email": "max@acme.example", "password": cs.ascii("wrong password")}), 0},
	} {
		// Status 0: any refusal of the client's request will do.
		if tc.r.status != tc.status && (tc.status != 0 || tc.r.status < 400 || tc.r.status >= 500) {
			t.Errorf("%s: %d %.300s, want %d", tc.name, tc.r.status, tc.r.body, tc.status)
		}
	}
	for _, path := range []string{"/api/v1/" + cs.ascii("unknown path"), "/api/v1/messages/" + cs.ascii("unknown message") + "/reactions/x"} {
		if r := cw.member.do("PUT", path, nil); r.status < 400 || r.status >= 500 {
			t.Errorf("PUT %s: %d %.300s, want a 4xx", path, r.status, r.body)
		}
	}

	// What the node exposes now.
	if status, _ := get(t, s.URL+"/metrics"); status != http.StatusUnauthorized {
		t.Fatalf("sanity: /metrics without its token: %d", status)
	}
	status, metrics := get(t, s.URL+"/metrics", "Authorization", "Bearer "+metricsToken)
	if status != 200 || !bytes.Contains(metrics, []byte("kaigi_http_requests_total{")) || !bytes.Contains(metrics, []byte("kaigi_realtime_")) ||
		bytes.Count(metrics, []byte("# TYPE ")) < 10 {
		t.Fatalf("sanity: /metrics: %d %.500s", status, metrics)
	}
	logged := []byte(logs.String())
	if n := bytes.Count(logged, []byte(`"msg":"request"`)); n < 100 || !bytes.Contains(logged, []byte(`"route":"/api/v1/channels/{id}/messages"`)) {
		t.Fatalf("sanity: %d request lines in %d bytes of logs", n, len(logged))
	}

	// No marker in the logs, nor in the metrics.
	cs.checkDetector(t)
	for _, h := range cs.find(logged) {
		t.Errorf("LEAK: the marker of %q (as %q) is in the logs:\n%s", h.c.tag, h.form, lineAround(logged, h.at))
	}
	for _, h := range cs.find(metrics) {
		t.Errorf("LEAK: the marker of %q (as %q) is in /metrics:\n%s", h.c.tag, h.form, lineAround(metrics, h.at))
	}

	// No content marker on disk: every file under the data directory, while
	// the node runs (so that the WAL holds the latest pages).
	scanned := map[string]bool{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		scanned[strings.SplitN(rel, string(filepath.Separator), 2)[0]] = true
		for _, h := range cs.find([]byte(rel)) {
			t.Errorf("LEAK: the marker of %q (as %q) names the file %s", h.c.tag, h.form, rel)
		}
		for _, h := range cs.find(b) {
			around := b[max(0, h.at-60):min(len(b), h.at+h.n+60)]
			if h.c.onDisk {
				t.Errorf("LEAK: the marker of %q (as %q) is readable in %s at byte %d: %q", h.c.tag, h.form, rel, h.at, around)
			} else {
				t.Logf("plaintext by design: the marker of %q is in %s at byte %d", h.c.tag, rel, h.at)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"kaigi.db", "kaigi.db-wal", "blobs", "keyring"} {
		if !scanned[name] {
			t.Errorf("sanity: %s was not scanned (found %v)", name, scanned)
		}
	}
	levels := map[string]int{}
	for _, line := range bytes.Split(bytes.TrimSpace(logged), []byte("\n")) {
		var l struct{ Level, Msg string }
		json.Unmarshal(line, &l)
		levels[l.Level+" "+l.Msg]++
	}
	t.Logf("%d markers; %d bytes of logs %v; %d bytes of metrics; scanned %v", len(*cs), len(logged), levels, len(metrics), scanned)
}
