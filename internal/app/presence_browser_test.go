package app_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/kaigi/kaigi/internal/app/apptest"
	"github.com/kaigi/kaigi/internal/browsertest"
	"github.com/kaigi/kaigi/internal/realtime"
)

// Presence in the chat UI end to end: dots beside the people of the page,
// named in words, that follow people as they come, choose a status and go;
// the person's own status chosen by keyboard; and a guest's page that never
// hears of someone outside the guest's team.

// presenceInterval is the nodes' presence interval in these tests: a notice
// holds for three of them.
const presenceInterval = time.Second

// storeExpr evaluates to the page's chat store: the same module instance
// the app uses, imported from where the app's own script comes from.
const storeExpr = `import(new URL("chatstore.js", document.querySelector('script[type="module"][src]').src).href)`

// dot returns the presence and accessible name of the first dot of account
// within scope, "" if there is none.
func (u ui) dot(scope, account string) (presence, label string) {
	u.t.Helper()
	got := eval[[]string](u, `(() => {
		const d = document.querySelector(`+js(scope+` .presence[data-presence-for="`+account+`"]`)+`);
		return d ? [d.dataset.presence, d.getAttribute("aria-label") || "", d.getAttribute("role") || ""] : ["", "", ""];
	})()`)
	if got[0] != "" && got[2] != "img" {
		u.t.Errorf("the dot of %s in %s has role %q, want img (named by its label)", account, scope, got[2])
	}
	return got[0], got[1]
}

// waitDot waits until the first dot of account within scope shows presence
// with the label.
func (u ui) waitDot(scope, account, presence, label string) {
	u.t.Helper()
	u.waitUntil(account+" "+presence+" in "+scope, `(() => {
		const d = document.querySelector(`+js(scope+` .presence[data-presence-for="`+account+`"]`)+`);
		return d && d.dataset.presence === `+js(presence)+` && d.getAttribute("aria-label") === `+js(label)+`;
	})()`)
}

// TestPresenceBrowser: Ada has the channel open; Max opens the app and Ada
// sees his dot go online, named "Online", beside his message and on their
// chat; Max sets Busy with the keyboard and Ada sees it, also in the
// channel's people and in Japanese; Max closes his page and Ada sees him
// offline within the presence time-to-live. Wide and phone screenshots.
func TestPresenceBrowser(t *testing.T) {
	w := startRealtimeWorld(t, apptest.Options{Realtime: realtime.Options{PresenceInterval: presenceInterval}})
	maxID := string(w.memberID)
	send(t, w.member, w.general.ID, "Morning! I'll be in the review until noon.", "")
	send(t, w.admin, w.general.ID, "Thanks Max, ping me after.", "")
	send(t, w.member, startChat(t, w.admin, w.memberID), "Got a minute?", "")
	b := browsertest.New(t)
	path := "/chat/" + w.general.ID

	ada := openChatAs(t, b, w, w.admin, path)
	ada.waitChannel("General")
	ada.waitUntil("the live connection", `document.querySelector(".chat").dataset.connection === "online"`)
	msgs := ".chat-main .msg-list"
	ada.waitUntil("Max's message with a dot", `document.querySelector(`+js(msgs+` .presence[data-presence-for="`+maxID+`"]`)+`)`)
	if p, l := ada.dot(msgs, maxID); p != "offline" || l != "Offline" {
		t.Errorf("before Max comes his dot is %q named %q, want offline, Offline", p, l)
	}
	// Ada's own dot: she is online, and her status line says Available.
	ada.waitDot(msgs, string(mustAccount(t, w.world, "admin@acme.example")), "online", "Online")
	if got := ada.text(".chat-me-status"); got != "Your status: Available" {
		t.Errorf("Ada's status line reads %q", got)
	}

	maxPage := openChatAs(t, b, w, w.member, path)
	maxPage.waitChannel("General")
	came := time.Now()
	ada.waitDot(msgs, maxID, "online", "Online")
	t.Logf("Ada saw Max online %v after his page was ready", time.Since(came).Round(time.Millisecond))
	// Their chat, in the sidebar, carries his dot too, and so its link's name.
	ada.waitDot(".chat-sidebar", maxID, "online", "Online")
	if got := eval[string](ada, `(() => { const a = document.querySelector('.chat-sidebar .presence[data-presence-for="`+maxID+`"]').closest("a"); return a ? a.textContent + "|" + a.querySelector(".presence").getAttribute("aria-label") : ""; })()`); !strings.HasSuffix(got, "|Online") {
		t.Errorf("the chat's link holds %q, want its dot named Online", got)
	}
	ada.shot("presence-online-wide")

	// Max chooses Busy, by keyboard only: Enter opens the choices on the
	// current one, ArrowDown moves to Busy (and chooses it), Enter closes.
	maxPage.focus(".chat-me-button")
	maxPage.enter()
	maxPage.waitUntil("the choices, on Available", `document.querySelector(".chat-me-button").getAttribute("aria-expanded") === "true" && document.activeElement && document.activeElement.matches('input[name="kaigi-status"][value="online"]:checked')`)
	if got := maxPage.text(".chat-status-legend"); got != "Set your status" {
		t.Errorf("the choices' legend = %q", got)
	}
	labels := eval[[]string](maxPage, `[...document.querySelectorAll(".chat-status-choice")].map(l => l.textContent.trim())`)
	if strings.Join(labels, "|") != "Available|Busy|Do not disturb|Away" {
		t.Errorf("the choices = %q", labels)
	}
	maxPage.press(kb.ArrowDown)
	maxPage.waitUntil("Busy chosen", `document.activeElement.matches('input[value="busy"]:checked')`)
	maxPage.shot("status-menu-wide")
	maxPage.enter()
	maxPage.waitUntil("the choices closed, the focus back", `document.querySelector(".chat-status-menu").hidden && document.activeElement === document.querySelector(".chat-me-button")`)
	if got := maxPage.text(".chat-me-status"); got != "Your status: Busy" {
		t.Errorf("Max's status line reads %q", got)
	}
	if got := eval[string](maxPage, `localStorage.getItem("kaigi.status")`); got != "busy" {
		t.Errorf("the browser remembers %q, want busy", got)
	}
	ada.waitDot(msgs, maxID, "busy", "Busy")
	ada.waitDot(".chat-sidebar", maxID, "busy", "Busy")
	maxPage.waitDot(msgs, maxID, "busy", "Busy") // his own dot, as the others see it

	// The channel's people: Max listed, busy, in words.
	ada.clickJS("people button", `document.querySelector(".chat-members-button")`)
	ada.waitUntil("the channel's people", `document.querySelector("dialog[open] .member-list-presence")`)
	row := `document.querySelector('dialog[open] .member[data-account="` + maxID + `"]')`
	if got := eval[string](ada, row+`.querySelector(".presence-text").textContent`); got != "Busy" {
		t.Errorf("the people list says Max is %q", got)
	}
	ada.shot("presence-members-wide")
	// The list keeps up while open.
	maxPage.focus(".chat-me-button")
	maxPage.enter()
	maxPage.waitUntil("the choices", `document.activeElement.matches('input[value="busy"]')`)
	maxPage.press(kb.ArrowDown)
	maxPage.waitUntil("Do not disturb chosen", `document.activeElement.matches('input[value="dnd"]:checked')`)
	maxPage.press(kb.Escape)
	maxPage.waitUntil("the choices closed", `document.querySelector(".chat-status-menu").hidden && document.activeElement === document.querySelector(".chat-me-button")`)
	ada.waitUntil("do not disturb in the open list", row+`.querySelector(".presence-text").textContent === "Do not disturb"`)
	ada.press(kb.Escape)
	ada.waitUntil("the list closed", `!document.querySelector("dialog[open]")`)
	ada.waitDot(msgs, maxID, "dnd", "Do not disturb")

	// In Japanese, the same dots say it in Japanese.
	ada.language("ja")
	ada.waitDot(msgs, maxID, "dnd", "応答不可")
	ada.p.SetViewport(t, 360, 780)
	ada.waitUntil("the phone layout", `getComputedStyle(document.querySelector(".chat-sidebar")).display === "none"`)
	ada.shot("presence-dnd-ja-phone")
	ada.language("en")
	ada.waitDot(msgs, maxID, "dnd", "Do not disturb")
	ada.shot("presence-dnd-phone")
	ada.p.SetViewport(t, 1280, 800)

	// On a phone, the status is chosen from the list of channels. Loading
	// the page anew must not leave the old page's socket (and its "do not
	// disturb", which would outrank Busy) open behind it.
	maxPage.p.SetViewport(t, 360, 780)
	maxPage.p.Navigate(t, w.origin+"/chat")
	maxPage.waitUntil("the list", `document.querySelector(".chat-sidebar a[data-channel]") && getComputedStyle(document.querySelector(".chat-main")).display === "none"`)
	maxPage.clickJS("status button", `document.querySelector(".chat-me-button")`)
	maxPage.waitUntil("the choices", `!document.querySelector(".chat-status-menu").hidden`)
	maxPage.p.Do(t, chromedp.Click(chromedp.CSS(`label[for="status-busy"]`))) // a pointer's click
	maxPage.waitUntil("the choices closed by the click", `document.querySelector(".chat-status-menu").hidden && document.querySelector(".chat-me-status").textContent.includes("Busy")`)
	ada.waitDot(msgs, maxID, "busy", "Busy")
	maxPage.clickJS("status button", `document.querySelector(".chat-me-button")`)
	maxPage.waitUntil("the choices", `!document.querySelector(".chat-status-menu").hidden`)
	maxPage.shot("status-menu-phone")

	// Max closes his page: Ada sees him offline, within the time-to-live
	// (three intervals; a closed socket says so at once).
	ctx, cancel := context.WithTimeout(maxPage.p.Context(), 10*time.Second)
	closed := time.Now()
	if err := chromedp.Cancel(ctx); err != nil {
		t.Logf("closing Max's page: %v", err)
	}
	cancel()
	ada.waitDot(msgs, maxID, "offline", "Offline")
	if took := time.Since(closed); took > 3*presenceInterval+2*time.Second {
		t.Errorf("Max showed offline %v after his page closed, beyond the presence time-to-live", took)
	} else {
		t.Logf("Ada saw Max offline %v after his page closed", took.Round(time.Millisecond))
	}
	ada.waitDot(".chat-sidebar", maxID, "offline", "Offline")
	ada.shot("presence-offline-wide")
}

// TestPresenceBrowserGuestHearsOnlyTheirTeam: Bo, who is only in the Board,
// comes online; the guest's page, open all along in their team's channel,
// sees Max come and go but never receives a word about Bo — not on its
// socket, not in its store — while Ada, who shares the Board with Bo, does.
func TestPresenceBrowserGuestHearsOnlyTheirTeam(t *testing.T) {
	w := startRealtimeWorld(t, apptest.Options{Realtime: realtime.Options{PresenceInterval: presenceInterval}})
	bo, boID := inviteNamed(t, w.world, "bo@acme.example", "Bo Board")
	addToTeam(t, w, w.board.ID, boID)
	send(t, w.member, w.general.ID, "Hello from Max", "")
	b := browsertest.New(t)

	guest := openChatAs(t, b, w, w.guest, "/chat/"+w.general.ID)
	var mu sync.Mutex
	var frames []string
	if err := chromedp.Listen(guest.p.Context(), func(ev any) {
		if f, ok := ev.(*network.EventWebSocketFrameReceived); ok && f.Response != nil {
			mu.Lock()
			frames = append(frames, string(f.Response.PayloadData))
			mu.Unlock()
		}
	}); err != nil {
		t.Fatal(err)
	}
	// Again, now that every frame is heard from the first.
	guest.p.Navigate(t, w.origin+"/chat/"+w.general.ID)
	guest.waitChannel("General")
	guest.waitUntil("the live connection", `document.querySelector(".chat").dataset.connection === "online"`)

	ada := openChatAs(t, b, w, w.admin, "/chat/"+w.boardGen.ID)
	ada.waitChannel("General")
	maxUI := openChatAs(t, b, w, w.member, "/chat/"+w.general.ID)
	maxUI.waitChannel("General")
	guest.waitDot(".chat-main .msg-list", string(w.memberID), "online", "Online") // the guest does hear of their team

	boPage := openChatAs(t, b, w, bo, "/chat/"+w.boardGen.ID)
	boPage.waitChannel("General")
	ada.waitUntil("Bo online in Ada's store", storeExpr+`.then(s => s.presenceOf(`+js(string(boID))+`) === "online")`)
	// Several presence intervals: Bo's node announces him again meanwhile.
	time.Sleep(3 * presenceInterval)
	if got := eval[string](guest, storeExpr+`.then(s => s.presenceOf(`+js(string(boID))+`))`); got != "offline" {
		t.Errorf("the guest's store says Bo is %q", got)
	}
	if eval[bool](guest, storeExpr+`.then(s => s.state.presence.has(`+js(string(boID))+`))`) {
		t.Error("the guest's store knows Bo's presence")
	}
	if eval[bool](guest, `!!document.querySelector('[data-presence-for="`+string(boID)+`"]')`) {
		t.Error("the guest's page shows Bo")
	}
	mu.Lock()
	defer mu.Unlock()
	sawPresence := false
	for _, f := range frames {
		sawPresence = sawPresence || strings.Contains(f, `"presence"`)
		if strings.Contains(f, string(boID)) {
			t.Errorf("the guest's socket received a frame naming Bo: %s", f)
		}
	}
	if !sawPresence {
		t.Errorf("the guest's socket received no presence frame at all (%d frames): the check above proves nothing", len(frames))
	}
	guest.shot("presence-guest-wide")
}
