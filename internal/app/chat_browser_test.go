package app_test

import (
	"bytes"
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/kaigi/kaigi/internal/app/apptest"
	"github.com/kaigi/kaigi/internal/browsertest"
	"github.com/kaigi/kaigi/internal/chat"
	"github.com/kaigi/kaigi/internal/httpapi"
	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/realtime"
)

// The chat UI end to end, in Chromium against a whole node with its
// WebSocket gateway: people are signed in through the API and their session
// cookie handed to their browser (the identity UI has its own tests); from
// there on, everything is done through the page.

// chatWait bounds how long a live change may take to show in another page.
const chatWait = 10 * time.Second

// openChatAs opens path in a browser context of its own, signed in as c,
// and waits until the app has started. The page must end without console
// errors, except those the test clears on purpose.
func openChatAs(t *testing.T, b *browsertest.Browser, w *rtWorld, c *client, path string, opts ...browsertest.PageOption) ui {
	t.Helper()
	p := b.NewPage(t, opts...)
	u, err := url.Parse(c.base)
	if err != nil {
		t.Fatal(err)
	}
	var token string
	for _, ck := range c.http.Jar.Cookies(u) {
		if ck.Name == httpapi.SessionCookie(false) {
			token = ck.Value
		}
	}
	if token == "" {
		t.Fatal("the client has no session cookie")
	}
	ctx, cancel := p.TimeoutContext()
	defer cancel()
	yes := true
	if _, err := chromedp.Call(ctx, network.SetCookie, network.SetCookieParams{
		Name: httpapi.SessionCookie(false), Value: token, URL: w.origin + "/", Path: "/",
		HTTPOnly: &yes, SameSite: network.CookieSameSiteLax,
	}); err != nil {
		t.Fatalf("set the session cookie: %v", err)
	}
	p.Navigate(t, w.origin+path)
	u2 := ui{t, p}
	u2.waitUntil("the app", `document.documentElement.dataset.state === "ready"`)
	t.Cleanup(func() { p.ExpectNoConsoleErrors(t) })
	return u2
}

// waitChannel waits until the page shows a channel with its history loaded
// and its live connection up.
func (u ui) waitChannel(name string) {
	u.t.Helper()
	u.waitUntil("the channel "+name, `document.querySelector("#channel-title") && document.querySelector("#channel-title").textContent.trim() === `+js(name)+
		` && document.querySelector(".chat-main .msg-list[aria-busy='false']") && document.querySelector(".chat-main .composer-input, .chat-main .chat-archived-note")`)
}

// enter presses Enter as a keyboard does: one keydown that carries the
// text, so that a page that prevents the keydown's default (a composer that
// sends on Enter) also prevents the new line. chromedp's KeyEvent sends the
// text as a separate char event, which no page can prevent.
func (u ui) enter() {
	u.t.Helper()
	ctx, cancel := u.p.TimeoutContext()
	defer cancel()
	down := input.DispatchKeyEventParams{Type: input.DispatchKeyEventTypeKeyDown, Key: "Enter", Code: "Enter",
		WindowsVirtualKeyCode: 13, NativeVirtualKeyCode: 13, Text: "\r", UnmodifiedText: "\r"}
	up := input.DispatchKeyEventParams{Type: input.DispatchKeyEventTypeKeyUp, Key: "Enter", Code: "Enter", WindowsVirtualKeyCode: 13, NativeVirtualKeyCode: 13}
	for _, e := range []input.DispatchKeyEventParams{down, up} {
		if _, err := chromedp.Call(ctx, input.DispatchKeyEvent, e); err != nil {
			u.t.Fatalf("press Enter: %v", err)
		}
	}
}

// insertText types text as an input method would, in one go: for
// characters that have no key, such as U+202E.
func (u ui) insertText(text string) {
	u.t.Helper()
	ctx, cancel := u.p.TimeoutContext()
	defer cancel()
	if _, err := chromedp.Call(ctx, input.InsertText, input.InsertTextParams{Text: text}); err != nil {
		u.t.Fatalf("insert text: %v", err)
	}
}

// bodies returns the text of every message body in the channel's list.
func (u ui) bodies() []string {
	u.t.Helper()
	return eval[[]string](u, `[...document.querySelectorAll(".chat-main .msg-body")].map(b => b.textContent)`)
}

// countBody returns how many messages of the channel's list read text.
func (u ui) countBody(text string) int {
	u.t.Helper()
	return eval[int](u, `[...document.querySelectorAll(".chat-main .msg-body")].filter(b => b.textContent === `+js(text)+`).length`)
}

// inviteNamed invites a member with a display name of their own, who
// accepts and signs in.
func inviteNamed(t *testing.T, w *world, email, name string) (*client, ids.UserID) {
	t.Helper()
	var inv httpapi.InviteCreated
	r := w.admin.do("POST", "/api/v1/admin/invitations", map[string]string{"email": email, "kind": "member"})
	if r.status != 201 {
		t.Fatalf("invite: %d %s", r.status, r.body)
	}
	r.json(t, &inv)
	c := newClient(t, w.s.URL)
	if r := c.do("POST", "/api/v1/invitations/accept", map[string]string{"token": fragmentParam(t, inv.Link, "token"), "display_name": name, "password": goodPassword}); r.status != 201 {
		t.Fatalf("accept: %d %s", r.status, r.body)
	}
	if _, r := c.signIn(email, goodPassword); r.status != 200 {
		t.Fatalf("sign in: %d %s", r.status, r.body)
	}
	return c, mustAccount(t, w, email)
}

func addToTeam(t *testing.T, w *rtWorld, team string, id ids.UserID) {
	t.Helper()
	if r := w.admin.do("PUT", "/api/v1/teams/"+team+"/members/"+string(id), map[string]string{"role": "member"}); r.status != 204 {
		t.Fatalf("add to team: %d %s", r.status, r.body)
	}
}

// TestChatBrowserLiveBetweenTwoPeople: two people in two browsers open the
// same channel; one types a message and presses Enter; the other sees it
// appear, without reloading, exactly once — and sees them typing first.
// A channel made meanwhile appears in the other's sidebar with its unread
// count.
func TestChatBrowserLiveBetweenTwoPeople(t *testing.T) {
	w := startRealtimeWorld(t, apptest.Options{})
	b := browsertest.New(t)
	path := "/chat/" + w.general.ID
	alice := openChatAs(t, b, w, w.admin, path)
	bob := openChatAs(t, b, w, w.member, path, browsertest.Languages("ja-JP", "ja"), browsertest.TimeZone("Asia/Tokyo"))
	alice.waitChannel("General")
	bob.waitChannel("General")
	alice.waitUntil("the live connection", `document.querySelector(".chat").dataset.connection === "online"`)
	bob.waitUntil("the live connection", `document.querySelector(".chat").dataset.connection === "online"`)

	const text = "Hello Bob, **live** from Alice"
	const shown = "Hello Bob, live from Alice"
	alice.focus(".chat-main .composer-input")
	alice.typeText("Hello Bob, ")
	bob.waitUntil("the typing notice", `document.querySelector(".chat-main .typing").textContent.includes("入力しています")`)
	alice.typeText("**live** from Alice")
	start := time.Now()
	alice.enter()

	bob.waitUntil("the message, live", `[...document.querySelectorAll(".chat-main .msg-body")].some(b => b.textContent === `+js(shown)+`)`)
	if d := time.Since(start); d > chatWait {
		t.Errorf("the message took %v to show in the other browser", d)
	}
	if got := eval[string](bob, `document.querySelector(".chat-main .msg-body strong").textContent`); got != "live" {
		t.Errorf("bold text = %q", got)
	}
	if got := eval[string](alice, `document.querySelector(".chat-main .composer-input").value`); got != "" {
		t.Errorf("the composer kept %q after sending", got)
	}
	// Exactly once, in both pages, also after the live copy and the answer
	// to sending have both arrived.
	time.Sleep(time.Second)
	for name, u := range map[string]ui{"sender": alice, "reader": bob} {
		if n := u.countBody(shown); n != 1 {
			t.Errorf("%s shows the message %d times: %q", name, n, u.bodies())
		}
	}
	if got := bob.text(".chat-main .typing"); got != "" {
		t.Errorf("still typing after the message came: %q", got)
	}
	var views []chat.View
	w.admin.do("GET", "/api/v1/channels/"+w.general.ID+"/messages", nil).json(t, &views)
	if len(views) != 1 || views[0].Body != text {
		t.Fatalf("stored messages: %+v", views)
	}

	// A new channel with a message shows in the other's sidebar, unread.
	var design chat.Channel
	r := w.admin.do("POST", "/api/v1/teams/"+w.team.ID+"/channels", map[string]string{"name": "Design", "kind": "standard"})
	if r.status != 201 {
		t.Fatalf("create channel: %d %s", r.status, r.body)
	}
	r.json(t, &design)
	send(t, w.admin, design.ID, "Mock-ups are in", "")
	bob.waitUntil("the new channel, unread", `(() => {
		const a = document.querySelector('.chat-sidebar a[data-channel="`+design.ID+`"]');
		return a && a.querySelector(".unread-badge") && a.querySelector(".unread-badge").textContent.startsWith("1");
	})()`)
	// Opening it reads it.
	bob.p.Do(t, chromedp.Click(chromedp.CSS(`.chat-sidebar a[data-channel="`+design.ID+`"]`)))
	bob.waitChannel("Design")
	if got := eval[string](bob, `location.pathname`); got != "/chat/"+design.ID {
		t.Errorf("location after opening a channel: %s", got)
	}
	bob.waitUntil("the channel read", `!document.querySelector('.chat-sidebar a[data-channel="`+design.ID+`"] .unread-badge')`)
	ctx, cancel := context.WithTimeout(t.Context(), chatWait)
	defer cancel()
	for {
		var chans []chat.Channel
		w.member.do("GET", "/api/v1/channels", nil).json(t, &chans)
		read := false
		for _, c := range chans {
			read = read || (c.ID == design.ID && c.ReadSeq == c.LastSeq && c.LastSeq > 0)
		}
		if read {
			break
		}
		if ctx.Err() != nil {
			t.Fatal("the read position did not reach the server")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// hostile are messages that try to run script, load content or mislead,
// with the text each must show as.
var hostile = []struct{ body, text string }{
	{`<script>window.pwned=1</script>`, `<script>window.pwned=1</script>`},
	{`<img src=x onerror="window.pwned=2">`, `<img src=x onerror="window.pwned=2">`},
	{`[click](javascript:window.pwned=3)`, `[click](javascript:window.pwned=3)`},
	{`<svg onload="window.pwned=4">`, `<svg onload="window.pwned=4">`},
	{`<a href="javascript:alert(1)">x</a>`, `<a href="javascript:alert(1)">x</a>`},
	{`**bold** <iframe src="https://example.com">`, `bold <iframe src="https://example.com">`},
	{`<object data="x"></object><embed src="x"><style>*{display:none}</style>`, `<object data="x"></object><embed src="x"><style>*{display:none}</style>`},
	{`[data](data:text/html,<script>window.pwned=6</script>) [vb](vbscript:x) [rel](/api/v1/session)`, `[data](data:text/html,<script>window.pwned=6</script>) [vb](vbscript:x) [rel](/api/v1/session)`},
	{`[bank](https://bank.example@evil.example/) and ![img](https://example.com/x.png)`, `[bank](https://bank.example@evil.example/) and !img`},
	{`<@../../admin> <@x" onmouseover="window.pwned=7>`, `<@../../admin> <@x" onmouseover="window.pwned=7>`},
	{`[safe](https://example.org/a?b=1) and mailto:someone@example.org`, `safe and mailto:someone@example.org`},
	{"שלום עולם and العربية", "שלום עולם and العربية"},
}

// TestChatBrowserHostileMessagesRenderAsText sends messages that try to run
// script or load content and opens the channel: nothing runs, no active
// element is made, every link goes to http(s) or mailto, and the texts
// show as typed. A direction override typed in the composer is refused by
// the API, and the page says why.
func TestChatBrowserHostileMessagesRenderAsText(t *testing.T) {
	w := startRealtimeWorld(t, apptest.Options{})
	ch := w.general.ID
	for _, m := range hostile {
		send(t, w.member, ch, m.body, "")
	}
	longWord := strings.Repeat("Supercalifragilistic", 150)
	send(t, w.member, ch, longWord, "")
	// A file whose name is markup.
	fileName := `<img src=x onerror="window.pwned=5">.txt`
	if r := upload(t, w.member, ch, fileName, []byte("just text\n")); r.status != 201 {
		t.Fatalf("upload: %d %s", r.status, r.body)
	}

	b := browsertest.New(t)
	for _, size := range []struct {
		name          string
		width, height int64
	}{{"wide", 1280, 800}, {"phone", 360, 780}} {
		t.Run(size.name, func(t *testing.T) {
			u := openChatAs(t, b, w, w.admin, "/chat/"+ch, browsertest.Viewport(size.width, size.height))
			u.waitChannel("General")
			u.waitUntil("every message", `document.querySelectorAll(".chat-main article.msg").length >= `+strconv.Itoa(len(hostile)+2))
			time.Sleep(300 * time.Millisecond)

			if got := eval[string](u, `typeof window.pwned`); got != "undefined" {
				t.Fatalf("window.pwned is %s: a message ran", got)
			}
			bad := eval[[]string](u, `(() => {
				const list = document.querySelector(".chat-main .msg-list");
				const out = [];
				for (const e of list.querySelectorAll("script, iframe, frame, img, object, embed, style, link, base, form, input, video, audio, image, foreignObject")) out.push("element " + e.tagName);
				for (const e of list.querySelectorAll(".msg-body svg, .msg-body use, .file-info svg")) out.push("svg in content");
				// The list's only SVGs are the app's own icons from its sprite.
				for (const s of list.querySelectorAll("svg")) {
					const use = s.querySelectorAll("use");
					if (!s.classList.contains("icon") || s.children.length !== 1 || use.length !== 1 || !/^#i-[a-z]+$/.test(use[0].getAttribute("href"))) out.push("svg that is not an icon");
				}
				for (const e of list.querySelectorAll("*")) {
					for (const a of e.attributes) {
						if (/^on/i.test(a.name)) out.push("attribute " + a.name + " on " + e.tagName);
						if (a.name === "style") out.push("style attribute on " + e.tagName);
						if (/^\s*(javascript|data|vbscript):/i.test(a.value)) out.push(a.name + "=" + a.value);
					}
				}
				for (const a of list.querySelectorAll("a")) {
					const proto = new URL(a.href, location.href).protocol;
					if (!["http:", "https:", "mailto:"].includes(proto)) out.push("link to " + a.getAttribute("href"));
					if (a.closest(".msg-body")) {
						if (!/^(https?|mailto):/.test(a.getAttribute("href"))) out.push("relative link in a body: " + a.getAttribute("href"));
						if (a.getAttribute("rel") !== "noopener noreferrer nofollow" || a.getAttribute("target") !== "_blank") out.push("link without rel/target: " + a.getAttribute("href"));
					}
				}
				return out;
			})()`)
			if len(bad) > 0 {
				t.Errorf("the message list holds active or unsafe content: %q", bad)
			}

			bodies := u.bodies()
			for _, m := range hostile {
				if u.countBody(m.text) != 1 {
					t.Errorf("%q does not show as %q; bodies: %q", m.body, m.text, bodies)
				}
			}
			links := eval[[]string](u, `[...document.querySelectorAll(".chat-main .msg-body a")].map(a => a.getAttribute("href") + " " + a.textContent)`)
			want := []string{"https://example.com/ https://example.com", "https://example.com/x.png img", "https://example.org/a?b=1 safe", "mailto:someone@example.org mailto:someone@example.org"}
			if strings.Join(links, "|") != strings.Join(want, "|") {
				t.Errorf("links = %q, want %q", links, want)
			}
			if got := eval[string](u, `[...document.querySelectorAll(".chat-main .msg-body strong")].map(s => s.textContent).join()`); got != "bold" {
				t.Errorf("bold = %q", got)
			}
			// Every body is isolated for direction.
			if got := eval[[]string](u, `[...document.querySelectorAll(".chat-main .msg-body")].filter(b => b.getAttribute("dir") !== "auto" || getComputedStyle(b).unicodeBidi !== "isolate").map(b => b.textContent)`); len(got) > 0 {
				t.Errorf("bodies without dir=auto and isolation: %q", got)
			}
			if got := eval[string](u, `(() => { const b = [...document.querySelectorAll(".chat-main .msg-body")].find(b => b.textContent.startsWith("שלום")); return b ? getComputedStyle(b).direction : ""; })()`); got != "rtl" {
				t.Errorf("a Hebrew message runs %q, want rtl", got)
			}
			// The long word wraps inside the message, and the page does not scroll sideways.
			if n := u.countBody(longWord); n != 1 {
				t.Errorf("the long word shows %d times", n)
			}
			if over := eval[bool](u, `(() => { const b = [...document.querySelectorAll(".chat-main .msg-body")].find(b => b.textContent.startsWith("Supercali")); return b.scrollWidth > b.clientWidth + 1 || b.getBoundingClientRect().right > document.querySelector(".chat-main").getBoundingClientRect().right; })()`); over {
				t.Error("the long word overflows its message")
			}
			if pw, vw := eval[int](u, `document.documentElement.scrollWidth`), eval[int](u, `window.innerWidth`); pw > vw {
				t.Errorf("the page is %dpx wide in a %dpx viewport", pw, vw)
			}
			if sw, cw := eval[int](u, `document.querySelector(".chat-main .msg-scroll").scrollWidth`), eval[int](u, `document.querySelector(".chat-main .msg-scroll").clientWidth`); sw > cw {
				t.Errorf("the message list is %dpx wide in %dpx: it scrolls sideways", sw, cw)
			}
			// The file's name is text on a download card.
			card := eval[[]string](u, `[...document.querySelectorAll(".chat-main .file-card")].map(a => a.querySelector(".file-name").textContent + "|" + a.getAttribute("href") + "|" + a.hasAttribute("download"))`)
			if len(card) != 1 || !strings.HasPrefix(card[0], fileName+"|/api/v1/files/") || !strings.HasSuffix(card[0], "|true") {
				t.Errorf("file card = %q", card)
			}
			u.shot("hostile-" + size.name)
			if got := eval[string](u, `typeof window.pwned`); got != "undefined" {
				t.Fatalf("window.pwned is %s after looking around", got)
			}
		})
	}

	t.Run("a direction override is refused, with the API's words", func(t *testing.T) {
		u := openChatAs(t, b, w, w.admin, "/chat/"+ch)
		u.waitChannel("General")
		u.focus(".chat-main .composer-input")
		u.typeText("Invoice for txt.exe")
		u.insertText("\u202Egnp.")
		u.enter()
		u.waitUntil("the refusal", `document.querySelector(".chat-main .composer-alert").textContent !== ""`)
		if got := u.text(".chat-main .composer-alert"); !strings.Contains(got, "change the direction of text (U+202E)") {
			t.Errorf("refusal = %q, want the API's message", got)
		}
		if got := eval[string](u, `document.querySelector(".chat-main .composer-input").value`); got != "Invoice for txt.exe\u202Egnp." {
			t.Errorf("the composer holds %q after the refusal, want the text back to fix", got)
		}
		if n := eval[int](u, `document.querySelectorAll(".chat-main .msg-pending").length`); n != 0 {
			t.Errorf("%d messages still shown as sending", n)
		}
		u.shot("bidi-refused")
		u.expectRefused("400")
	})
}

// TestChatBrowserGuestSeesOnlyTheirTeam: a guest's sidebar has their team's
// channels and nothing of the team they are not in, and a link to one of
// its channels shows that they cannot see it.
func TestChatBrowserGuestSeesOnlyTheirTeam(t *testing.T) {
	w := startRealtimeWorld(t, apptest.Options{})
	send(t, w.admin, w.boardGen.ID, "Board only: the acquisition", "")
	send(t, w.admin, w.general.ID, "Welcome, everyone", "")
	b := browsertest.New(t)
	u := openChatAs(t, b, w, w.guest, "/chat")
	u.waitChannel("General")
	groups := eval[[]string](u, `[...document.querySelectorAll(".chat-group-title")].map(h => h.textContent)`)
	if strings.Join(groups, "|") != "Project Falcon|Chats" {
		t.Errorf("the guest's sidebar groups = %q, want only their team and chats", groups)
	}
	chans := eval[[]string](u, `[...document.querySelectorAll(".chat-sidebar a[data-channel]")].map(a => a.dataset.channel)`)
	if len(chans) != 1 || chans[0] != w.general.ID {
		t.Errorf("the guest's channels = %v, want only %s", chans, w.general.ID)
	}
	if strings.Contains(eval[string](u, `document.body.textContent`), "acquisition") || strings.Contains(eval[string](u, `document.body.textContent`), "Board") {
		t.Error("the guest's page mentions the other team")
	}
	if n := eval[int](u, `document.querySelectorAll(".chat-new-team").length`); n != 0 {
		t.Error("a guest is offered to create a team")
	}
	nav := eval[[]string](u, `[...document.querySelectorAll("#site-nav a[data-nav]")].filter(a => !a.closest("[hidden]")).map(a => a.getAttribute("href"))`)
	if strings.Join(nav, " ") != "/chat /meetings /trust" {
		t.Errorf("the guest's navigation = %v, want no admin, compliance or operator console", nav)
	}
	if got := u.bodies(); len(got) != 1 || got[0] != "Welcome, everyone" {
		t.Errorf("the guest reads %q", got)
	}
	u.shot("guest")

	u.p.Navigate(t, w.origin+"/chat/"+w.boardGen.ID)
	u.waitUntil("the refusal", `document.querySelector("#channel-title") && document.querySelector("#channel-title").textContent.includes("cannot see")`)
	if strings.Contains(eval[string](u, `document.body.textContent`), "acquisition") {
		t.Error("the other team's message shows")
	}
	// The guest may post in their team's channel.
	u.p.Navigate(t, w.origin+"/chat/"+w.general.ID)
	u.waitChannel("General")
	u.focus(".chat-main .composer-input")
	u.typeText("Thanks!")
	u.enter()
	u.waitUntil("the guest's message", `[...document.querySelectorAll(".chat-main .msg-body")].some(b => b.textContent === "Thanks!")`)

	// Everywhere else, the guest's own browser is refused with 403.
	for _, path := range []string{
		"/api/v1/channels/" + w.boardGen.ID + "/messages",
		"/api/v1/channels/" + w.boardGen.ID + "/events",
		"/api/v1/teams/" + w.board.ID + "/members",
		"/api/v1/admin/accounts",
		"/api/v1/admin/policy",
	} {
		if got := eval[int](u, `fetch(`+strconv.Quote(path)+`, {headers: {Accept: "application/json"}}).then(r => r.status)`); got != 403 {
			t.Errorf("the guest's browser gets %d for %s, want 403", got, path)
		}
	}
	u.p.ClearConsole() // the refusals above are logged as failed loads

	// Removing the guest cuts their open WebSocket at once, with the code
	// that says the session ended, and the page asks them to sign in.
	closed := make(chan struct{}, 4)
	if err := chromedp.Listen(u.p.Context(), func(ev any) {
		if _, ok := ev.(*network.EventWebSocketClosed); ok {
			closed <- struct{}{}
		}
	}); err != nil {
		t.Fatal(err)
	}
	removed := time.Now()
	if r := w.admin.do("POST", "/api/v1/admin/accounts/"+string(w.guestID)+"/deactivate", nil); r.status != 204 {
		t.Fatalf("remove the guest: %d %s", r.status, r.body)
	}
	select {
	case <-closed:
	case <-time.After(chatWait):
		t.Fatal("the guest's WebSocket is still open after the guest was removed")
	}
	u.waitUntil("the sign-in page", `location.pathname === "/signin"`)
	if took := time.Since(removed); took > chatWait {
		t.Errorf("cutting the guest off took %v", took)
	}
	if status := eval[int](u, `fetch("/api/v1/channels", {headers: {Accept: "application/json"}}).then(r => r.status)`); status != 401 {
		t.Errorf("after removal the guest's browser gets %d, want 401", status)
	}
	u.p.ClearConsole()
}

// TestChatBrowserScreenshots builds a conversation over two days — names,
// a mention of the reader, a thread, reactions, a file, code, a quote, an
// edit and a deletion, a chat, an unread channel — and photographs it wide
// and at 360 pixels, in English and Japanese, light and dark.
func TestChatBrowserScreenshots(t *testing.T) {
	w := startRealtimeWorld(t, apptest.Options{})
	mika, mikaID := inviteNamed(t, w.world, "mika@acme.example", "Mika Tanaka")
	ravi, raviID := inviteNamed(t, w.world, "ravi@acme.example", "Ravi Patel")
	addToTeam(t, w, w.team.ID, mikaID)
	addToTeam(t, w, w.team.ID, raviID)
	adminID := mustAccount(t, w.world, "admin@acme.example")
	clients := []*client{w.admin, w.member, w.guest, mika, ravi}
	// advance moves the clock in small steps, using every session on the
	// way so that none goes idle. (Small steps because the admin's session,
	// upgraded by the second factor, keeps the ten-minute idle limit of a
	// half-finished sign-in: the store does not update idle_timeout.)
	advance := func(d time.Duration) {
		for d > 0 {
			step := min(d, 5*time.Minute)
			w.s.Clock.Advance(step)
			d -= step
			for _, c := range clients {
				if r := c.do("GET", "/api/v1/session", nil); r.status != 200 {
					t.Fatalf("a session ended while the clock moved: %d %s", r.status, r.body)
				}
			}
		}
	}
	react := func(c *client, id, emoji string) {
		t.Helper()
		if r := c.do("PUT", "/api/v1/messages/"+id+"/reactions/"+url.PathEscape(emoji), nil); r.status != 200 {
			t.Fatalf("react: %d %s", r.status, r.body)
		}
	}
	ch := w.general.ID

	send(t, mika, ch, "Morning all! The **Q4 plan** draft is ready for review: https://docs.example.com/q4-plan", "")
	advance(2 * time.Minute)
	send(t, ravi, ch, "Thanks <@"+string(mikaID)+">, I'll read it after stand-up.", "")
	advance(time.Minute)
	send(t, ravi, ch, "Two things to check first:\n1. the hiring numbers\n2. the travel budget", "")
	advance(7*time.Hour + 50*time.Minute)
	root := send(t, mika, ch, "<@"+string(adminID)+"> can you sign off the budget by Friday? The totals are in the deck.", "")
	advance(5 * time.Minute)
	send(t, w.admin, ch, "Yes — I'll go through it tonight.", root.ID)
	advance(3 * time.Minute)
	send(t, ravi, ch, "> the totals are in the deck\nThe deck still shows last year's rates.", root.ID)
	advance(time.Minute)
	send(t, mika, ch, "Good catch, fixing it now.", root.ID)
	react(w.admin, root.ID, "👍")
	react(ravi, root.ID, "👍")
	react(w.guest, root.ID, "🎉")
	react(mika, root.ID, "👀")
	advance(7*time.Hour + 40*time.Minute) // past midnight: a new day
	pdf := append([]byte("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj << /Type /Catalog >> endobj\n"), bytes.Repeat([]byte("0"), 180000)...)
	r := upload(t, mika, ch, "Q4-plan-v2.pdf", pdf)
	if r.status != 201 {
		t.Fatalf("upload: %d %s", r.status, r.body)
	}
	advance(2 * time.Minute)
	typo := send(t, ravi, ch, "Rates updated in the dekc", "")
	if r := ravi.do("PATCH", "/api/v1/messages/"+typo.ID, map[string]string{"body": "Rates updated in the deck ✅"}); r.status != 200 {
		t.Fatalf("edit: %d %s", r.status, r.body)
	}
	oops := send(t, w.guest, ch, "Sorry, wrong channel", "")
	if r := w.guest.do("DELETE", "/api/v1/messages/"+oops.ID, nil); r.status != 204 {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	advance(time.Minute)
	send(t, w.guest, ch, "Looks good from the partner side. Run `make verify` before you send it:\n```\nmake verify\nmake release VERSION=q4\n```", "")
	var design chat.Channel
	r = w.admin.do("POST", "/api/v1/teams/"+w.team.ID+"/channels", map[string]string{"name": "Design reviews", "kind": "private"})
	if r.status != 201 {
		t.Fatalf("channel: %d %s", r.status, r.body)
	}
	r.json(t, &design)
	var board chat.Channel
	r = w.admin.do("POST", "/api/v1/teams/"+w.board.ID+"/channels", map[string]string{"name": "Announcements", "kind": "standard"})
	r.json(t, &board)
	send(t, w.admin, board.ID, "Board meeting moved to Thursday.", "")
	chat1 := startChat(t, w.admin, mikaID)
	send(t, mika, chat1, "Do you have five minutes?", "")
	var releases chat.Channel
	r = w.admin.do("POST", "/api/v1/teams/"+w.team.ID+"/channels", map[string]string{"name": "Releases", "kind": "standard"})
	r.json(t, &releases)
	send(t, ravi, releases.ID, "Release notes for 4.2 are up.", "")
	send(t, ravi, releases.ID, "<@"+string(adminID)+"> please approve the release by noon.", "")
	if r := w.admin.do("POST", "/api/v1/channels/"+w.boardGen.ID+"/archive", nil); r.status != 204 {
		t.Fatalf("archive: %d %s", r.status, r.body)
	}

	b := browsertest.New(t)
	for _, look := range []struct {
		name string
		opts []browsertest.PageOption
	}{
		{"en-light", nil},
		{"ja-light", []browsertest.PageOption{browsertest.Languages("ja-JP", "ja"), browsertest.TimeZone("Asia/Tokyo")}},
		{"en-dark", []browsertest.PageOption{browsertest.ColorScheme("dark")}},
		{"ja-dark", []browsertest.PageOption{browsertest.Languages("ja-JP", "ja"), browsertest.TimeZone("Asia/Tokyo"), browsertest.ColorScheme("dark")}},
	} {
		t.Run(look.name, func(t *testing.T) {
			u := openChatAs(t, b, w, w.admin, "/chat/"+ch, look.opts...)
			u.waitChannel("General")
			u.waitUntil("the names", `[...document.querySelectorAll(".chat-main .msg-author")].some(a => a.textContent === "Mika Tanaka")`)
			u.waitUntil("the thread summary", `document.querySelector(".chat-main .thread-summary")`)
			u.p.Do(t, chromedp.Click(chromedp.CSS(".chat-main .thread-summary")))
			u.waitUntil("the thread", `document.querySelectorAll(".chat-thread article.msg").length === 4`)
			// The conversation, narrower now, still shows its newest message.
			u.waitUntil("the conversation at its newest", `(() => { const s = document.querySelector(".chat-main .msg-scroll"); return s.scrollHeight - s.scrollTop - s.clientHeight < 48; })()`)
			u.shot(look.name + "-wide")
			if look.name == "en-light" {
				// Switching the language translates the page in place.
				u.language("ja")
				u.waitUntil("the page in Japanese", `document.querySelector(".chat-title").textContent === "チャット" && document.querySelector(".chat-main .composer-input").placeholder === "General にメッセージを送信" && document.querySelector(".chat-thread h2").textContent === "スレッド"`)
				if got := eval[string](u, `document.title`); got != "General · Kaigi" {
					t.Errorf("title after switching = %q", got)
				}
				if got := eval[string](u, `document.querySelector(".chat-main .thread-summary .thread-count-label").textContent`); got != "返信 3 件" {
					t.Errorf("thread summary in Japanese = %q", got)
				}
				u.language("en")
				u.waitUntil("the page in English", `document.querySelector(".chat-title").textContent === "Chat" && document.querySelector(".chat-main .thread-summary .thread-count-label").textContent === "3 replies"`)
			}

			u.focus(".chat-thread .composer-input")
			u.press(kb.Escape)
			u.waitUntil("the thread closed", `document.querySelector(".chat-thread").hidden`)
			if !eval[bool](u, `document.activeElement.matches(".chat-main article.msg") && document.activeElement.textContent.includes("sign off the budget")`) {
				t.Errorf("closing the thread left the focus on %s, want its first message", u.focused())
			}
			u.p.SetViewport(t, 360, 780)
			u.waitUntil("the phone layout", `getComputedStyle(document.querySelector(".chat-sidebar")).display === "none"`)
			eval[bool](u, `(document.querySelector(".chat-main .msg-scroll").scrollTop = 1e9, true)`)
			u.shot(look.name + "-phone")
			if look.name == "en-light" || look.name == "ja-dark" {
				// On a phone the thread takes the whole screen, and closes back.
				eval[bool](u, `(document.querySelector(".chat-main .thread-summary").click(), true)`)
				u.waitUntil("the thread alone", `getComputedStyle(document.querySelector(".chat-main")).display === "none" && document.querySelectorAll(".chat-thread article.msg").length === 4`)
				u.shot(look.name + "-phone-thread")
				u.clickJS("close", `document.querySelector('.chat-thread [data-focus="thread-close"]')`)
				u.waitUntil("the channel again", `getComputedStyle(document.querySelector(".chat-main")).display !== "none"`)
			}
			u.p.Navigate(t, w.origin+"/chat")
			u.waitUntil("the list", `document.querySelector(".chat-sidebar a[data-channel]") && getComputedStyle(document.querySelector(".chat-main")).display === "none"`)
			u.shot(look.name + "-phone-list")
		})
	}

	t.Run("thread and reactions by keyboard", func(t *testing.T) {
		u := openChatAs(t, b, w, w.admin, "/chat/"+ch)
		u.waitChannel("General")
		// From the composer, Shift+Tab reaches the message list; the arrows
		// move between messages.
		u.waitUntil("the names", `[...document.querySelectorAll(".chat-main .msg-author")].some(a => a.textContent === "Mika Tanaka")`)
		eval[bool](u, `(document.querySelector(".chat-main .msg-scroll article.msg[tabindex='0']").focus(), true)`)
		if got := eval[string](u, `document.activeElement.querySelector(".msg-body") ? document.activeElement.querySelector(".msg-body").textContent : ""`); !strings.HasPrefix(got, "Looks good") {
			t.Errorf("the list's stop is %q, want the newest message", got)
		}
		for range 20 {
			if strings.Contains(eval[string](u, `document.activeElement.textContent`), "sign off the budget") {
				break
			}
			u.press(kb.ArrowUp)
		}
		if !strings.Contains(eval[string](u, `document.activeElement.textContent`), "sign off the budget") {
			t.Fatalf("ArrowUp did not reach the thread's first message; focus on %s", u.focused())
		}
		if eval[string](u, `document.activeElement.getAttribute("aria-labelledby")`) == "" {
			t.Error("a message has no name")
		}
		// Its buttons follow it in the Tab order.
		u.press(kb.Tab)
		if got := eval[string](u, `document.activeElement.getAttribute("aria-label") || document.activeElement.textContent`); !strings.Contains(got, "👍") {
			t.Errorf("Tab from the message focuses %q, want its first reaction", got)
		}
		u.enter() // take back the 👍
		u.waitUntil("the reaction taken back", `(() => { const b = document.activeElement; return b && b.dataset.emoji === "👍" && b.getAttribute("aria-pressed") === "false"; })()`)
		u.enter()
		u.waitUntil("the reaction again", `document.activeElement && document.activeElement.dataset.emoji === "👍" && document.activeElement.getAttribute("aria-pressed") === "true"`)
		u.p.Do(t, chromedp.Click(chromedp.CSS(".chat-main .thread-summary")))
		u.waitUntil("the thread's composer", `document.activeElement && document.activeElement.matches(".chat-thread .composer-input")`)
		u.typeText("On it, @Rav")
		u.waitUntil("the people offered", `document.querySelector(".chat-thread .mention-list:not([hidden]) [role=option]")`)
		u.enter()
		if got := eval[string](u, `document.querySelector(".chat-thread .composer-input").value`); got != "On it, <@"+string(raviID)+"> " {
			t.Errorf("after choosing a person the reply reads %q", got)
		}
		u.typeText("thanks")
		u.enter()
		u.waitUntil("the reply", `[...document.querySelectorAll(".chat-thread article.msg:not(.msg-pending) .msg-body")].some(b => b.textContent === "On it, @Ravi Patel thanks")`)
		if n := eval[int](u, `document.querySelectorAll(".chat-thread article.msg").length`); n != 5 {
			t.Errorf("the thread has %d messages, want 5", n)
		}
		u.waitUntil("the summary counting the reply", `document.querySelector(".chat-main .thread-summary .thread-count-label").textContent === "4 replies"`)
		if n := eval[int](u, `document.querySelectorAll(".chat-thread .msg-pending").length`); n != 0 {
			t.Errorf("%d replies still shown as sending", n)
		}
		u.shot("thread-keyboard")
		var views []chat.View
		w.admin.do("GET", "/api/v1/channels/"+ch+"/messages", nil).json(t, &views)
		found := false
		for _, v := range views {
			found = found || (v.Thread == root.ID && strings.HasPrefix(v.Body, "On it, <@"+string(raviID)+">"))
		}
		if !found {
			t.Error("the reply with the mention is not stored in the thread")
		}
	})
}

// clickJS clicks the element an expression finds, as a pointer would; for
// controls that only show while their message is pointed at.
func (u ui) clickJS(what, expr string) {
	u.t.Helper()
	if !eval[bool](u, `(() => { const e = `+expr+`; if (!e) return false; e.click(); return true; })()`) {
		u.t.Fatalf("no %s to click", what)
	}
}

// setComposer replaces the text of a composer, as typing would.
func (u ui) setComposer(sel, text string) {
	u.t.Helper()
	eval[bool](u, `(() => { const a = document.querySelector(`+js(sel)+`); a.value = `+js(text)+`; a.dispatchEvent(new Event("input", {bubbles: true})); a.focus(); return true; })()`)
}

// TestChatBrowserWorkflows drives the rest of the chat through the page:
// history loaded upward, drafts kept per channel, editing the last message
// with ArrowUp, deleting with confirmation, files sent with a caption and a
// mismatched file refused with the API's words, and the dialogs for a new
// team, a private channel, a team's members, a new chat, and archiving and
// restoring a channel.
func TestChatBrowserWorkflows(t *testing.T) {
	w := startRealtimeWorld(t, apptest.Options{})
	for i := 1; i <= 120; i++ {
		send(t, w.admin, w.boardGen.ID, "History "+fmt.Sprintf("%03d", i), "")
	}
	b := browsertest.New(t)
	u := openChatAs(t, b, w, w.admin, "/chat/"+w.boardGen.ID)
	u.waitChannel("General")
	step := func(name string, fn func(u ui)) {
		t.Helper()
		if !t.Run(name, func(t *testing.T) { fn(ui{t, u.p}) }) {
			t.FailNow()
		}
	}

	step("history loads upward, in order, once", func(u ui) {
		got := u.bodies()
		if len(got) == 0 || got[len(got)-1] != "History 120" || slices.Contains(got, "History 001") {
			t.Fatalf("first page: %d messages, last %q", len(got), got[len(got)-1])
		}
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
		defer cancel()
		for !slices.Contains(u.bodies(), "History 001") {
			if ctx.Err() != nil {
				t.Fatalf("the oldest message never loaded; %d shown", len(u.bodies()))
			}
			eval[bool](u, `(document.querySelector(".chat-main .msg-scroll").scrollTop = 0, true)`)
			time.Sleep(150 * time.Millisecond)
		}
		got = u.bodies()
		if len(got) != 120 {
			t.Errorf("%d messages after scrolling up, want 120", len(got))
		}
		for i, b := range got {
			if want := "History " + fmt.Sprintf("%03d", i+1); b != want {
				t.Fatalf("message %d is %q, want %q", i, b, want)
			}
		}
		if got := u.text(".chat-main .msg-beginning"); !strings.Contains(got, "beginning of General") {
			t.Errorf("top of the channel = %q", got)
		}
	})

	step("drafts stay with their channel", func(u ui) {
		u.p.Do(t, chromedp.Click(chromedp.CSS(`.chat-sidebar a[data-channel="`+w.general.ID+`"]`)))
		u.waitUntil("Project Falcon's General", `location.pathname === "/chat/`+w.general.ID+`"`)
		u.waitChannel("General")
		u.focus(".chat-main .composer-input")
		u.typeText("Draft for later")
		u.p.Do(t, chromedp.Click(chromedp.CSS(`.chat-sidebar a[data-channel="`+w.boardGen.ID+`"]`)))
		u.waitUntil("the Board's General", `location.pathname === "/chat/`+w.boardGen.ID+`"`)
		if got := eval[string](u, `document.querySelector(".chat-main .composer-input").value`); got != "" {
			t.Errorf("another channel's composer holds %q", got)
		}
		u.p.Do(t, chromedp.Click(chromedp.CSS(`.chat-sidebar a[data-channel="`+w.general.ID+`"]`)))
		u.waitUntil("Project Falcon's General", `location.pathname === "/chat/`+w.general.ID+`"`)
		if got := eval[string](u, `document.querySelector(".chat-main .composer-input").value`); got != "Draft for later" {
			t.Errorf("the draft came back as %q", got)
		}
		u.setComposer(".chat-main .composer-input", "")
	})

	step("edit the last message with ArrowUp, delete with confirmation", func(u ui) {
		u.focus(".chat-main .composer-input")
		u.typeText("Typo mesage")
		u.enter()
		u.waitUntil("the message", `[...document.querySelectorAll(".chat-main article.msg:not(.msg-pending) .msg-body")].some(b => b.textContent === "Typo mesage")`)
		u.press(kb.ArrowUp)
		u.waitUntil("the editor", `document.activeElement && document.activeElement.matches(".chat-main .msg-edit-input")`)
		u.setComposer(".chat-main .msg-edit-input", "Fixed message")
		u.enter()
		u.waitUntil("the edit", `[...document.querySelectorAll(".chat-main .msg-body")].some(b => b.textContent === "Fixed message")`)
		if got := eval[string](u, `[...document.querySelectorAll(".chat-main article.msg")].pop().querySelector(".msg-edited").textContent`); got != "(edited)" {
			t.Errorf("edited mark = %q", got)
		}
		if got := u.focused(); !strings.HasPrefix(got, "article:") {
			t.Errorf("after saving, focus on %s, want the message", got)
		}
		u.clickJS("delete button", `[...document.querySelectorAll(".chat-main article.msg")].pop().querySelector('[data-action="delete"]')`)
		u.waitUntil("the confirmation", `document.querySelector("dialog[open]")`)
		if got := u.focused(); !strings.Contains(got, "Cancel") {
			t.Errorf("the confirmation focuses %s, want Cancel", got)
		}
		u.shot("delete-confirm")
		u.p.Do(t, chromedp.Click(chromedp.CSS("dialog[open] .button-danger")))
		u.waitUntil("the deletion", `[...document.querySelectorAll(".chat-main .msg-deleted")].some(p => p.textContent === "This message was deleted.")`)
		if n := u.countBody("Fixed message"); n != 0 {
			t.Errorf("the deleted message still shows %d times", n)
		}
	})

	step("files: sent with a caption, a mismatch refused", func(u ui) {
		dir := t.TempDir()
		notes := filepath.Join(dir, "notes.txt")
		photo := filepath.Join(dir, "photo.png")
		if err := os.WriteFile(notes, []byte("meeting notes\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(photo, []byte("<!DOCTYPE html><html><script>alert(1)</script></html>"), 0o600); err != nil {
			t.Fatal(err)
		}
		u.p.Do(t, chromedp.SetUploadFiles(".chat-main .composer input[type=file]", []string{notes}))
		u.waitUntil("the staged file", `document.querySelector(".chat-main .staged .file-name") && document.querySelector(".chat-main .staged .file-name").textContent === "notes.txt"`)
		u.focus(".chat-main .composer-input")
		u.typeText("Notes attached")
		u.enter()
		u.waitUntil("the file card", `[...document.querySelectorAll(".chat-main .file-card .file-name")].some(n => n.textContent === "notes.txt")`)
		art := `[...document.querySelectorAll(".chat-main article.msg")].find(a => a.querySelector(".file-card"))`
		if got := eval[string](u, art+`.querySelector(".msg-body").textContent`); got != "Notes attached" {
			t.Errorf("caption = %q", got)
		}
		if got := eval[string](u, art+`.querySelector(".file-meta").textContent`); got != "14 bytes · text/plain" {
			t.Errorf("file card says %q", got)
		}
		if n := eval[int](u, `document.querySelectorAll(".chat-main .staged").length`); n != 0 {
			t.Errorf("%d files still staged after sending", n)
		}
		u.p.Do(t, chromedp.SetUploadFiles(".chat-main .composer input[type=file]", []string{photo}))
		u.waitUntil("the staged photo", `document.querySelector(".chat-main .staged")`)
		u.focus(".chat-main .composer-input")
		u.enter()
		u.waitUntil("the refusal", `document.querySelector(".chat-main .composer-alert").textContent !== ""`)
		if got := u.text(".chat-main .composer-alert"); !strings.Contains(got, "contains a web page") {
			t.Errorf("refusal = %q, want the API's words", got)
		}
		if n := eval[int](u, `document.querySelectorAll(".chat-main .staged.is-failed").length`); n != 1 {
			t.Errorf("the refused file is not marked (%d)", n)
		}
		u.shot("upload-refused")
		u.clickJS("remove button", `document.querySelector(".chat-main .staged button")`)
		u.waitUntil("the file removed", `!document.querySelector(".chat-main .staged")`)
		u.expectRefused("415")
	})

	step("a new team, a private channel, a member and a chat", func(u ui) {
		u.p.Do(t, chromedp.Click(chromedp.CSS(".chat-new-team")))
		u.waitUntil("the dialog", `document.activeElement && document.activeElement.matches("dialog[open] input[name=name]")`)
		u.typeText("Launch")
		u.enter()
		u.waitUntil("the new team's General", `[...document.querySelectorAll(".chat-group-title")].some(h => h.textContent === "Launch") && document.querySelector("#channel-title").textContent === "General" && !document.querySelector("dialog[open]")`)
		group := `[...document.querySelectorAll(".chat-group")].find(g => g.querySelector(".chat-group-title").textContent === "Launch")`
		launchGeneral := eval[string](u, `location.pathname`)

		u.clickJS("new channel button", group+`.querySelector('[data-focus^="new-channel"]')`)
		u.waitUntil("the dialog", `document.querySelector("dialog[open] input[name=name]")`)
		u.focus("dialog[open] input[name=name]")
		u.typeText("War room")
		u.clickJS("private choice", `document.querySelector('dialog[open] input[value="private"]')`)
		u.shot("new-channel")
		u.p.Do(t, chromedp.Click(chromedp.CSS(`dialog[open] button[type="submit"]`)))
		u.waitChannel("War room")
		if !eval[bool](u, group+`.querySelector('a[aria-current="page"] use').getAttribute("href") === "#i-lock"`) {
			t.Error("the private channel has no lock in the sidebar")
		}

		u.clickJS("members button", group+`.querySelector('[data-focus^="people"]')`)
		u.waitUntil("the members", `document.querySelector("dialog[open] .member-list .member")`)
		u.p.Do(t, chromedp.SetValue(`dialog[open] select[name="account"]`, string(w.memberID)))
		u.shot("team-members")
		u.p.Do(t, chromedp.Click(chromedp.CSS(`dialog[open] button[type="submit"]`)))
		u.waitUntil("the member added", `document.querySelectorAll("dialog[open] .member-list .member").length === 2`)
		u.clickJS("close", `document.querySelector("dialog[open] .button-secondary")`)
		var members []chat.TeamMember
		team := eval[string](u, group+`.querySelector(".chat-group-title").id.replace("team-", "")`)
		w.admin.do("GET", "/api/v1/teams/"+team+"/members", nil).json(t, &members)
		if len(members) != 2 {
			t.Errorf("the team has %d members, want 2: %+v", len(members), members)
		}

		u.p.Do(t, chromedp.Click(chromedp.CSS(`[data-focus="new-chat"]`)))
		u.waitUntil("the people", `document.querySelector("dialog[open] input[type=checkbox]")`)
		u.clickJS("Max", `document.querySelector('dialog[open] input[value="`+string(w.memberID)+`"]')`)
		u.p.Do(t, chromedp.Click(chromedp.CSS(`dialog[open] button[type="submit"]`)))
		u.waitChannel("Someone")
		u.focus(".chat-main .composer-input")
		u.typeText("Hi Max")
		u.enter()
		u.waitUntil("the chat message", `[...document.querySelectorAll(".chat-main article.msg:not(.msg-pending) .msg-body")].some(b => b.textContent === "Hi Max")`)

		u.p.Navigate(t, w.origin+launchGeneral)
		u.waitChannel("General")
		u.clickJS("archive button", `document.querySelector(".chat-header-actions button")`)
		u.waitUntil("the confirmation", `document.querySelector("dialog[open] .button-danger")`)
		u.p.Do(t, chromedp.Click(chromedp.CSS("dialog[open] .button-danger")))
		u.waitUntil("the archived channel", `document.querySelector(".chat-main .chat-archived-note") && !document.querySelector(".chat-main .composer")`)
		u.shot("archived")
		u.clickJS("restore button", `document.querySelector(".chat-header-actions button")`)
		u.waitUntil("the restored channel", `document.querySelector(".chat-main .composer") && !document.querySelector(".chat-main .chat-archived-note")`)
	})
}

// TestChatBrowserResumesAfterTheConnectionDrops runs a node whose gateway
// closes a socket as "too slow" whenever a live event does not fit in a
// tiny send queue — here, every message — so the page's socket drops at
// each message. The page shows that it reconnects, resumes from its
// cursors, and shows every message once, in order.
func TestChatBrowserResumesAfterTheConnectionDrops(t *testing.T) {
	s := realtimeNode(t, apptest.Options{Realtime: realtime.Options{SendQueueBytes: 256}}, "")
	w := realtimeWorldOn(t, s)
	b := browsertest.New(t)
	u := openChatAs(t, b, w, w.member, "/chat/"+w.general.ID)
	u.waitChannel("General")
	u.waitUntil("the live connection", `document.querySelector(".chat").dataset.connection === "online"`)
	eval[bool](u, `(() => {
		window.kaigiStates = [];
		const chat = document.querySelector(".chat");
		new MutationObserver(() => kaigiStates.push(chat.dataset.connection + "|" + document.querySelector(".chat-conn").textContent)).observe(chat, {attributes: true, attributeFilter: ["data-connection"]});
		return true;
	})()`)
	padding := strings.Repeat(" and more words to make the frame too big for the queue", 8)
	var want []string
	for i := 1; i <= 5; i++ {
		body := fmt.Sprintf("Message %d%s", i, padding)
		want = append(want, body)
		send(t, w.admin, w.general.ID, body, "")
		time.Sleep(200 * time.Millisecond)
	}
	u.waitUntil("every message", `document.querySelectorAll(".chat-main .msg-body").length >= 5`)
	time.Sleep(time.Second) // any duplicate would have come by now
	got := u.bodies()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("after the drops the page shows %d messages:\n%q\nwant:\n%q", len(got), got, want)
	}
	states := eval[[]string](u, `kaigiStates`)
	if !slices.Contains(states, "reconnecting|Reconnecting…") {
		t.Errorf("the page never said it was reconnecting: %q", states)
	}
	u.waitUntil("the connection back", `document.querySelector(".chat").dataset.connection === "online" && document.querySelector(".chat-conn").textContent === ""`)
}
