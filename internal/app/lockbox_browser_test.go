package app_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp/kb"
	"github.com/transparency-dev/merkle/rfc6962"
	"github.com/transparency-dev/merkle/testonly"

	"github.com/kaigi/kaigi/internal/app/apptest"
	"github.com/kaigi/kaigi/internal/browsertest"
	"github.com/kaigi/kaigi/internal/lockbox"
	"github.com/kaigi/kaigi/internal/provider"
	"github.com/kaigi/kaigi/internal/signing"
	"github.com/kaigi/kaigi/internal/transparency"
)

// The lockbox end to end in Chromium: an operator, in the operator console,
// files a request for one channel; the tenant's lockbox approver — a plain
// member with the role, whose passkey lives in Chromium's virtual
// authenticator — sees it in the compliance center with its justification,
// ticket, reason and time left, and approves it with the passkey; the
// operator activates the grant and reads exactly that channel, and is
// refused another; the approver's access-transparency page, open all along,
// shows the access as it happens with its inclusion proof verified in the
// browser against the signed head; after the grant's end the operator is
// refused, and both pages say the grant ended.

// lockboxWorld starts a realtime node whose fake clock reads the real time
// (so that the browsers' countdowns and the node agree), with a tenant.
func lockboxWorld(t *testing.T) *rtWorld {
	t.Helper()
	s := realtimeNode(t, apptest.Options{}, "")
	if d := time.Since(s.Clock.Now()); d > 0 {
		s.Clock.Advance(d)
	}
	return realtimeWorldOn(t, s)
}

// openApproverWithPasskey makes email a lockbox approver and opens a
// browser of their own, with a virtual authenticator, in which they sign in
// with their password and register a passkey as the second factor the role
// needs; then it opens path in the app.
func openApproverWithPasskey(t *testing.T, b *browsertest.Browser, w *rtWorld, email, path string) ui {
	t.Helper()
	id := mustAccount(t, w.world, email)
	if r := w.admin.do("PUT", "/api/v1/admin/accounts/"+string(id)+"/roles", map[string]any{"roles": []string{"lockbox_approver"}}); r.status != 204 {
		t.Fatalf("make %s an approver: %d %s", email, r.status, r.body)
	}
	p := b.NewPage(t)
	addAuthenticator(t, p)
	p.Navigate(t, w.origin+"/healthz")
	browsertest.Eval[bool](t, p, passkeyPageJS)
	sb := browsertest.Eval[map[string]any](t, p, `kaigiPasskeys.signInWithPassword(`+js(email)+`, `+js(goodPassword)+`)`)
	if sb["state"] != "enrol_mfa" && sb["state"] != "active" {
		t.Fatalf("the approver's sign-in: %v", sb)
	}
	browsertest.Eval[map[string]any](t, p, `kaigiPasskeys.register("Laptop")`)
	if s := browsertest.Eval[map[string]any](t, p, `kaigiPasskeys.session()`); s["state"] != "active" {
		t.Fatalf("the approver's session after enrolment: %v", s)
	}
	p.Navigate(t, w.origin+path)
	p.ClearConsole() // the JSON page's missing icon
	u := ui{t, p}
	u.waitUntil("the app", `document.documentElement.dataset.state === "ready"`)
	t.Cleanup(func() { p.ExpectNoConsoleErrors(t) })
	return u
}

func TestLockboxBrowserOperatorRequestsApproverApprovesWithPasskey(t *testing.T) {
	w := lockboxWorld(t)
	send(t, w.admin, w.general.ID, "Falcon: the launch slips a week.", "")
	send(t, w.admin, w.general.ID, "Falcon: budget approved.", "")
	send(t, w.admin, w.boardGen.ID, "Board: not for the operator.", "")

	b := browsertest.New(t)
	approver := openApproverWithPasskey(t, b, w, "max@acme.example", "/compliance")
	approver.waitPage("/compliance", "Compliance center")
	approver.waitUntil("the empty lockbox", `document.querySelector("#lockbox-pending .item-empty")`)
	if got := eval[[]string](approver, `[...document.querySelectorAll(".tabs .tab")].map(a => a.textContent.trim())`); strings.Join(got, "|") != "Lockbox|Access transparency" {
		t.Errorf("an approver who is a plain member sees the tabs %q", got)
	}

	op := setUpOperator(t, w.s)
	oper := openChatAs(t, b, w, op, "/operator")
	oper.waitPage("/operator", "Operator console")
	oper.waitUntil("the tenants", `document.querySelector("#operator-tenants-table") && document.querySelector("#lb-tenant").options.length === 2`)
	if got := oper.text("#operator-tenants-table tbody"); !strings.Contains(got, "Acme Corp") || strings.Contains(got, "Falcon") {
		t.Errorf("the tenants list: %q", got)
	}
	// Each tenant's contract and health (counts, never content), as the API says.
	var health provider.Health
	if r := op.do("GET", "/api/v1/operator/tenants/"+string(w.tenant.ID)+"/health", nil); r.status != 200 {
		t.Fatalf("health: %d %s", r.status, r.body)
	} else {
		r.json(t, &health)
	}
	row := `#operator-tenants-table tr[data-tenant="` + string(w.tenant.ID) + `"]`
	oper.waitUntil("the tenant's health", `document.querySelector('`+row+` [data-figure=contract]').dataset.state === "active"`)
	if got := oper.text(row + ` [data-figure=accounts]`); got != strconv.FormatInt(health.Accounts, 10) || health.Accounts < 2 {
		t.Errorf("accounts: the page %q, the API %d", got, health.Accounts)
	}
	if got := oper.text(row + ` [data-figure=messages]`); got != strconv.FormatInt(health.Messages, 10) {
		t.Errorf("messages: the page %q, the API %d", got, health.Messages)
	}

	// An empty form is refused in the page, field by field.
	oper.focus("#lb-file")
	oper.press(kb.Enter)
	oper.waitUntil("the form's errors", `document.querySelector("#lb-tenant").getAttribute("aria-invalid") === "true" && document.activeElement.id === "lb-tenant"`)
	for _, id := range []string{"lb-resources", "lb-reason", "lb-ticket"} {
		if !eval[bool](oper, `document.querySelector("#`+id+`").getAttribute("aria-invalid") === "true"`) {
			t.Errorf("%s is not marked invalid", id)
		}
	}
	// A channel of another tenant: the server refuses, and the page says why.
	eval[bool](oper, `(() => { const s = document.querySelector("#lb-tenant"); s.selectedIndex = 1; s.dispatchEvent(new Event("change")); return true; })()`)
	oper.setComposer("#lb-resources", "channel:"+strings.Repeat("z", 26))
	oper.setComposer("#lb-reason", "Messages in General do not display for the customer.")
	oper.setComposer("#lb-ticket", "SUP-42")
	eval[bool](oper, `(() => { const s = document.querySelector("#lb-duration"); s.value = "1h"; s.dispatchEvent(new Event("change")); return true; })()`)
	oper.focus("#lb-file")
	oper.press(kb.Enter)
	oper.waitUntil("the refusal", `document.querySelector("#operator-file-panel").closest(".area").querySelector('[role="alert"]').textContent.includes("not one of that tenant")`)
	oper.expectRefused("400")

	// The request for the one channel.
	oper.setComposer("#lb-resources", "channel:"+w.general.ID)
	oper.focus("#lb-file")
	oper.press(kb.Enter)
	oper.waitUntil("the pending request", `document.querySelector('#operator-requests .lockbox-item[data-state="pending"]')`)
	var mine []lockbox.Request
	op.do("GET", "/api/v1/operator/lockbox", nil).json(t, &mine)
	if len(mine) != 1 || mine[0].Ticket != "SUP-42" || mine[0].Duration != lockbox.Duration(time.Hour) {
		t.Fatalf("the operator's requests: %+v", mine)
	}
	req := mine[0]
	if got := oper.text("#operator-requests .countdown"); !strings.HasPrefix(got, "Expires in 11:") && !strings.HasPrefix(got, "Expires in 12:") {
		t.Errorf("the operator's countdown: %q", got)
	}

	// The approver sees it without reloading, with what they need to decide.
	item := `#lockbox-pending .lockbox-item[data-id="` + req.ID + `"]`
	approver.waitUntil("the request, live", `document.querySelector(`+js(item)+`)`)
	got := approver.text(item)
	for _, want := range []string{"Support you asked for", "SUP-42", "Messages in General do not display", "General", w.general.ID, "1 hour", "Expires in 1"} {
		if !strings.Contains(got, want) {
			t.Errorf("the pending request lacks %q: %q", want, got)
		}
	}
	if strings.Contains(got, w.boardGen.ID) {
		t.Errorf("the pending request names the board: %q", got)
	}
	approver.shot("lockbox-pending")

	// A read before approval is refused.
	read := func(channel string) response {
		return op.do("GET", "/api/v1/operator/lockbox/"+req.ID+"/channels/"+channel+"/messages", nil)
	}
	if r := read(w.general.ID); r.status != 403 {
		t.Fatalf("a read before approval: %d %s", r.status, r.body)
	}

	// The approver approves with the passkey, from the keyboard.
	approver.focus("#approve-" + req.ID)
	approver.press(kb.Enter)
	approver.waitUntil("the grant", `document.querySelector('#lockbox-granted .lockbox-item[data-id="`+req.ID+`"][data-state="approved"]')`)
	if f := approver.focused(); f != "#lockbox-granted-panel-heading" {
		t.Errorf("the focus after approving is on %s", f)
	}
	if got := approver.text(`#lockbox-granted .lockbox-item .countdown`); !strings.HasPrefix(got, "Ends in 0:5") && !strings.HasPrefix(got, "Ends in 1:00") {
		t.Errorf("the grant's countdown: %q", got)
	}
	if !eval[bool](approver, `!!document.querySelector("#revoke-`+req.ID+`")`) {
		t.Error("no way to revoke the grant")
	}

	// The approver watches the transparency log.
	approver.clickJS("the transparency tab", `document.querySelector('a.tab[href="/compliance/transparency"]')`)
	approver.waitUntil("the log, verified", `document.querySelector("#transparency-head")?.dataset.signature === "ok" &&
		document.querySelectorAll('#transparency-entries tbody tr[data-proof="verified"]').length === 2`)
	if got := approver.text("#transparency-entries tbody"); !strings.Contains(got, "Request filed") || !strings.Contains(got, "Approved") {
		t.Errorf("the log's entries: %q", got)
	}

	// The operator activates and reads the channel, in the console.
	oper.waitUntil("the approval, live", `document.querySelector("#activate-`+req.ID+`")`)
	oper.focus("#activate-" + req.ID)
	oper.press(kb.Enter)
	oper.waitUntil("the grant in use", `document.querySelector('#operator-requests .lockbox-item[data-state="active"]') && document.activeElement && document.activeElement.id === "read-`+req.ID+`"`)
	oper.press(kb.Enter)
	oper.waitUntil("the reader", `document.querySelector("#reader-channel") && document.querySelector("#reader-channel").value === `+js(w.general.ID))
	oper.focus("#reader-read")
	oper.press(kb.Enter)
	oper.waitUntil("the channel's messages", `document.querySelectorAll("#reader-messages .reader-message").length === 2`)
	if got := oper.text("#reader-messages"); !strings.Contains(got, "the launch slips a week") || !strings.Contains(got, "budget approved") || strings.Contains(got, "Board") {
		t.Errorf("the operator read %q", got)
	}
	oper.shot("operator-reader")

	// Another channel: refused, with the reason in the page.
	oper.setComposer("#reader-channel", w.boardGen.ID)
	oper.focus("#reader-read")
	oper.press(kb.Enter)
	oper.waitUntil("the refusal", `document.querySelector("#reader-channel").getAttribute("aria-invalid") === "true" && !document.querySelector("#reader-messages")`)
	if got := oper.text("#reader-channel-error"); !strings.Contains(got, "only under an approved lockbox grant that covers it") {
		t.Errorf("the refusal reads %q", got)
	}
	oper.expectRefused("403")
	if r := read(w.boardGen.ID); r.status != 403 || strings.Contains(string(r.body), "Board:") {
		t.Fatalf("a read of another channel over HTTP: %d %s", r.status, r.body)
	}

	// The approver's page shows the access as it happened, its proof
	// checked in the browser, and the log still extends what it saw.
	access := `#transparency-entries tbody tr[data-kind="access"]`
	approver.waitUntil("the access, live and verified", `document.querySelector('`+access+`[data-proof="verified"]')`)
	if got := approver.text(access); !strings.Contains(got, "channel:"+w.general.ID) || !strings.Contains(got, "2 messages") || !strings.Contains(got, req.ID) || !strings.Contains(got, "operator") {
		t.Errorf("the access entry: %q", got)
	}
	if got := approver.text("#transparency-head"); !strings.Contains(got, "Extends the log seen before") {
		t.Errorf("the head after the access: %q", got)
	}
	if n := eval[int](approver, `document.querySelectorAll('#transparency-entries tbody tr[data-proof="failed"]').length`); n != 0 {
		t.Errorf("%d entries failed their proofs", n)
	}
	approver.allLanguages("lockbox-transparency")

	// The approver subscribes a webhook from the keyboard: the secret is
	// shown once, the webhook listed as the API has it; then removes it.
	approver.focus("#hook-url")
	approver.typeText("http://siem.example.com/kaigi")
	approver.focus("#hook-add")
	approver.press(kb.Enter)
	approver.waitUntil("plain http refused in the page", `document.querySelector("#hook-url[aria-invalid=true]")`)
	eval[bool](approver, `(document.querySelector("#hook-url").value = "", true)`)
	approver.typeText("https://siem.example.com/kaigi")
	approver.focus("#hook-add")
	approver.press(kb.Enter)
	approver.waitUntil("the secret and the webhook", `document.querySelector("#hook-secret") && document.querySelector("#transparency-hooks .hook-item")`)
	var hooks []transparency.Hook
	w.admin.do("GET", "/api/v1/transparency/webhooks", nil).json(t, &hooks)
	if len(hooks) != 1 || hooks[0].URL != "https://siem.example.com/kaigi" || !strings.HasPrefix(approver.text("#hook-secret"), "whsec_") {
		t.Fatalf("webhooks: %+v, secret shown %q", hooks, approver.text("#hook-secret"))
	}
	approver.focus(`[data-remove-hook="` + hooks[0].ID + `"]`)
	approver.press(kb.Enter)
	approver.waitUntil("the confirmation", `document.querySelector("dialog[open]")`)
	approver.clickJS("the confirm button", `document.querySelector("dialog[open] .button-danger")`)
	approver.waitUntil("no webhook", `document.querySelector("#transparency-hooks-empty")`)

	// The grant ends: the operator is refused at once, and both pages say
	// so. (The console's own polling may notice the end first and close the
	// reader; either way no read goes through.)
	w.s.Clock.Advance(time.Hour + time.Second)
	oper.setComposer("#reader-channel", w.general.ID)
	oper.focus("#reader-read")
	oper.press(kb.Enter)
	oper.waitUntil("the refusal after the end", `(() => {
		const ch = document.querySelector("#reader-channel");
		return ch ? ch.getAttribute("aria-invalid") === "true" : !!document.querySelector('#operator-requests .lockbox-item[data-state="completed"]');
	})()`)
	if n := eval[int](oper, `document.querySelectorAll("#reader-messages .reader-message").length`); n != 0 {
		t.Errorf("the reader shows %d messages after the grant's end", n)
	}
	oper.expectRefused("403")
	if r := read(w.general.ID); r.status != 403 {
		t.Fatalf("a read after the grant's end: %d %s", r.status, r.body)
	}
	oper.waitUntil("the grant ended", `document.querySelector('#operator-requests .lockbox-item[data-state="completed"]') && !document.querySelector("#read-`+req.ID+`") && !document.querySelector("#reader-form")`)
	approver.clickJS("the lockbox tab", `document.querySelector('a.tab[href="/compliance/lockbox"]')`)
	approver.waitUntil("the grant in the history", `document.querySelector('#lockbox-history .lockbox-item[data-id="`+req.ID+`"][data-state="completed"]') && document.querySelector("#lockbox-granted .item-empty")`)
	if got := approver.text("#lockbox-history .lockbox-accesses"); got != "1" {
		t.Errorf("the history counts %q reads", got)
	}
	approver.shot("lockbox-history")
}

// TestLockboxBrowserMerkleVerifierAgreesWithGo checks the page's RFC 9162
// proof verification (transparency.js) against transparency-dev/merkle:
// every inclusion proof of trees of 1 to 17 entries and every consistency
// proof between them verify, and each one with a flipped byte, a wrong
// index, an index beyond the size, or a missing hash does not. (A proof
// with a larger size may verify: the size is bound to the root by the
// signed checkpoint, which the page checks too.)
func TestLockboxBrowserMerkleVerifierAgreesWithGo(t *testing.T) {
	s := realtimeNode(t, apptest.Options{}, "")
	b := browsertest.New(t)
	p := b.NewPage(t)
	p.Navigate(t, s.Config.URL()+"/signin")
	u := ui{t, p}
	u.waitUntil("the app", `document.documentElement.dataset.state === "ready"`)
	t.Cleanup(func() { p.ExpectNoConsoleErrors(t) })
	eval[bool](u, `(async () => {
		const src = [...document.querySelectorAll('script[type="module"]')].map(s => s.src).find(Boolean);
		window.tlog = await import(new URL("transparency.js", src).href);
		return true;
	})()`)

	const n = 17
	tree := testonly.New(rfc6962.DefaultHasher)
	type inclusion struct {
		Index, Size int
		Leaf, Root  []byte
		Proof       [][]byte
	}
	type consistency struct {
		Size1, Size2 int
		Root1, Root2 []byte
		Proof        [][]byte
	}
	var incl []inclusion
	var cons []consistency
	for i := range n {
		tree.AppendData([]byte(fmt.Sprintf(`{"index":%d}`, i)))
	}
	for size := 1; size <= n; size++ {
		for i := range size {
			pr, err := tree.InclusionProof(uint64(i), uint64(size))
			if err != nil {
				t.Fatal(err)
			}
			incl = append(incl, inclusion{i, size, tree.LeafHash(uint64(i)), tree.HashAt(uint64(size)), pr})
		}
		for s1 := 1; s1 <= size; s1++ {
			pr, err := tree.ConsistencyProof(uint64(s1), uint64(size))
			if err != nil {
				t.Fatal(err)
			}
			cons = append(cons, consistency{s1, size, tree.HashAt(uint64(s1)), tree.HashAt(uint64(size)), pr})
		}
	}
	// The leaf hash of the page is RFC 6962's.
	data := []byte(`{"index":3}`)
	want := sha256.Sum256(append([]byte{0}, data...))
	if got := eval[string](u, `window.tlog.leafHash(new TextEncoder().encode(`+js(string(data))+`)).then(window.tlog.hex)`); got != fmt.Sprintf("%x", want) {
		t.Fatalf("leaf hash %s, want %x", got, want)
	}

	vectors, _ := json.Marshal(map[string]any{"incl": incl, "cons": cons})
	// Every check returns [honest, tampered...]: the first must be true,
	// the others false.
	res := eval[map[string][]string](u, `(async () => {
		const v = `+string(vectors)+`;
		const d = window.tlog.b64decode;
		const flip = (b) => { const c = Uint8Array.from(b); c[c.length - 1] ^= 1; return c; };
		const bad = {incl: [], cons: []};
		for (const c of v.incl) {
			const proof = (c.Proof || []).map(d), leaf = d(c.Leaf), root = d(c.Root);
			const ok = await window.tlog.verifyInclusion(c.Index, c.Size, leaf, proof, root);
			const tampered = [
				await window.tlog.verifyInclusion(c.Index, c.Size, flip(leaf), proof, root),
				await window.tlog.verifyInclusion(c.Index, c.Size, leaf, proof, flip(root)),
				await window.tlog.verifyInclusion(c.Size, c.Size, leaf, proof, root),
				proof.length ? await window.tlog.verifyInclusion(c.Index, c.Size, leaf, proof.slice(1), root) : false,
				proof.length ? await window.tlog.verifyInclusion(c.Index, c.Size, leaf, [flip(proof[0]), ...proof.slice(1)], root) : false,
				c.Size > 1 ? await window.tlog.verifyInclusion((c.Index + 1) % c.Size, c.Size, leaf, proof, root) : false,
			];
			if (!ok || tampered.some(Boolean)) bad.incl.push(c.Index + "/" + c.Size + ": " + ok + " " + tampered);
		}
		for (const c of v.cons) {
			const proof = (c.Proof || []).map(d), r1 = d(c.Root1), r2 = d(c.Root2);
			const ok = await window.tlog.verifyConsistency(c.Size1, c.Size2, proof, r1, r2);
			const tampered = [
				await window.tlog.verifyConsistency(c.Size1, c.Size2, proof, flip(r1), r2),
				await window.tlog.verifyConsistency(c.Size1, c.Size2, proof, r1, flip(r2)),
				proof.length ? await window.tlog.verifyConsistency(c.Size1, c.Size2, [flip(proof[0]), ...proof.slice(1)], r1, r2) : false,
				proof.length ? await window.tlog.verifyConsistency(c.Size1, c.Size2, proof.slice(0, -1), r1, r2) : false,
				c.Size2 > c.Size1 ? await window.tlog.verifyConsistency(c.Size2, c.Size1, proof, r2, r1) : false,
			];
			if (!ok || tampered.some(Boolean)) bad.cons.push(c.Size1 + "→" + c.Size2 + ": " + ok + " " + tampered);
		}
		return bad;
	})()`)
	if len(res["incl"]) > 0 || len(res["cons"]) > 0 {
		t.Fatalf("the page's verifier disagrees with transparency-dev/merkle:\ninclusion: %v\nconsistency: %v", res["incl"], res["cons"])
	}
	t.Logf("checked %d inclusion and %d consistency proofs, each honest and tampered", len(incl), len(cons))

	// A checkpoint signed as the node signs them: parsed, its signature
	// verified with the published key, and a changed byte refused. Also with
	// a key whose base64 holds a "+", which a verifier key's other fields
	// are separated by.
	svc := struct {
		VerifierKey string `json:"verifier_key"`
	}{}
	newClient(t, s.URL).do("GET", "/api/v1/service", nil).json(t, &svc)
	text := "example.org/log\n3\n" + base64.StdEncoding.EncodeToString(tree.HashAt(3)) + "\n"
	keys := []*signing.Key{s.Signing}
	for len(keys) < 2 {
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		k, err := signing.New("kaigi", priv)
		if err != nil {
			t.Fatal(err)
		}
		if parts := strings.SplitN(k.VerifierKey(), "+", 3); strings.Contains(parts[2], "+") {
			keys = append(keys, k)
		}
	}
	for i, k := range keys {
		vkey := k.VerifierKey()
		if i == 0 && vkey != svc.VerifierKey {
			t.Fatalf("the service publishes %q, the node signs with %q", svc.VerifierKey, vkey)
		}
		note, err := k.SignNote(text)
		if err != nil {
			t.Fatal(err)
		}
		sig := eval[[]any](u, `(async () => {
			const cp = window.tlog.parseCheckpoint(`+js(note)+`);
			const forged = window.tlog.parseCheckpoint(`+js(strings.Replace(note, "\n3\n", "\n4\n", 1))+`);
			return [cp.size, window.tlog.hex(cp.root), await window.tlog.verifyNoteSignature(cp, `+js(vkey)+`),
				await window.tlog.verifyNoteSignature(forged, `+js(vkey)+`)];
		})()`)
		if sig[0] != float64(3) || sig[1] != fmt.Sprintf("%x", tree.HashAt(3)) || sig[2] != true || sig[3] != false {
			t.Fatalf("checkpoint signed with %s: %v", vkey, sig)
		}
	}
}

// TestLockboxBrowserApproverDeniesAndRevokes: the approver denies one
// request and approves another with the passkey, then revokes that grant,
// each confirmed in a dialog and by keyboard; the operator's reads under
// the revoked grant are refused at once.
func TestLockboxBrowserApproverDeniesAndRevokes(t *testing.T) {
	w := lockboxWorld(t)
	send(t, w.admin, w.general.ID, "Falcon: hello.", "")
	op := setUpOperator(t, w.s)
	file := func(ticket string) lockbox.Request {
		var r lockbox.Request
		res := op.do("POST", "/api/v1/operator/lockbox", map[string]any{"tenant": w.tenant.ID, "resources": []string{"channel:" + w.general.ID},
			"justification": "service_outage", "reason": "Restore the channel's index.", "ticket": ticket, "duration": "30m"})
		if res.status != 201 {
			t.Fatalf("file %s: %d %s", ticket, res.status, res.body)
		}
		res.json(t, &r)
		return r
	}
	denied, granted := file("OPS-1"), file("OPS-2")

	b := browsertest.New(t)
	u := openApproverWithPasskey(t, b, w, "max@acme.example", "/compliance/lockbox")
	u.waitUntil("two pending requests", `document.querySelectorAll("#lockbox-pending .lockbox-item").length === 2`)
	if got := u.text(`#lockbox-pending .lockbox-item[data-id="` + granted.ID + `"]`); !strings.Contains(got, "Restoring the service") || !strings.Contains(got, "30 minutes") {
		t.Errorf("the request reads %q", got)
	}

	// Deny: the dialog offers Cancel first; Tab, Enter confirms.
	u.focus("#deny-" + denied.ID)
	u.press(kb.Enter)
	u.waitUntil("the deny dialog", `document.querySelector("dialog[open]") && document.activeElement.textContent.trim() === "Cancel"`)
	if got := u.text("dialog[open]"); !strings.Contains(got, "OPS-1") {
		t.Errorf("the dialog reads %q", got)
	}
	u.press(kb.Tab)
	u.press(kb.Enter)
	u.waitUntil("the request denied", `document.querySelector('#lockbox-history .lockbox-item[data-id="`+denied.ID+`"][data-state="denied"]')`)

	// Approve the other, then revoke it.
	u.focus("#approve-" + granted.ID)
	u.press(kb.Enter)
	u.waitUntil("the grant", `document.querySelector("#revoke-`+granted.ID+`")`)
	read := func() response {
		return op.do("GET", "/api/v1/operator/lockbox/"+granted.ID+"/channels/"+w.general.ID+"/messages", nil)
	}
	if r := read(); r.status != 200 {
		t.Fatalf("a read under the grant: %d %s", r.status, r.body)
	}
	u.waitUntil("the read counted", `document.querySelector('#lockbox-granted .lockbox-item[data-id="`+granted.ID+`"] .lockbox-accesses').textContent === "1"`)
	u.focus("#revoke-" + granted.ID)
	u.press(kb.Enter)
	u.waitUntil("the revoke dialog", `document.querySelector("dialog[open]")`)
	u.clickJS("the confirm button", `document.querySelector("dialog[open] .button-danger")`)
	u.waitUntil("the grant revoked", `document.querySelector('#lockbox-history .lockbox-item[data-id="`+granted.ID+`"][data-state="revoked"]') && document.querySelector("#lockbox-granted .item-empty")`)
	if r := read(); r.status != 403 {
		t.Fatalf("a read after the revocation: %d %s", r.status, r.body)
	}
	var list []lockbox.Request
	op.do("GET", "/api/v1/operator/lockbox", nil).json(t, &list)
	states := map[string]string{}
	for _, r := range list {
		states[r.Ticket] = r.State
	}
	if states["OPS-1"] != lockbox.Denied || states["OPS-2"] != lockbox.Revoked {
		t.Fatalf("states after the approver's decisions: %v", states)
	}
	u.shot("lockbox-decided")
}
