package app_test

import (
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/kaigi/kaigi/internal/app/apptest"
	"github.com/kaigi/kaigi/internal/browsertest"
	"github.com/kaigi/kaigi/internal/meeting"
)

// mediaWait bounds how long media may take to flow between two browsers.
const mediaWait = 45 * time.Second

// TestMeetingBrowserLobbyAndMedia is the meeting end to end, in three
// Chromium pages with fake cameras and microphones, all media on loopback:
// the organiser joins; a guest and a person who is not signed in wait in the
// lobby and receive no media; the organiser admits the guest and denies the
// other; organiser and guest then each receive the other's audio and video
// (inbound bytes and decoded frames grow, from WebRTC getStats), and the
// denied person never had a peer connection at all.
func TestMeetingBrowserLobbyAndMedia(t *testing.T) {
	var logs lockedBuffer
	w := startRealtimeWorld(t, apptest.Options{Log: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	ctx := t.Context()
	m, code := openMeeting(t, w, "Launch review")

	// Host candidates as plain addresses, not mDNS names: on a loaded
	// machine Chromium's mDNS registration here sometimes never ends, and
	// the page gathers no candidate at all (Call health then shows "ICE new
	// (gathering), 0↑"). The server does not need the names: it learns the
	// browser's address from its connectivity checks.
	b := browsertest.New(t, browsertest.WithFlag("allow-loopback-in-peer-connection", true), browsertest.WithTimeout(mediaWait),
		browsertest.WithFlag("disable-features", "Translate,BlinkGenPropertyTrees,WebRtcHideLocalIpsWithMdns"))
	// When media does not flow, say what the server saw (who is in the
	// meeting, whether sockets or peer connections were dropped) while the
	// pages are still open.
	diagnose := func() {
		for _, l := range strings.Split(logs.String(), "\n") {
			if strings.Contains(l, "meeting") || strings.Contains(l, "sfu") || strings.Contains(l, "realtime") || strings.Contains(l, "level=WARN") || strings.Contains(l, "level=ERROR") {
				t.Logf("server log: %.300s", l)
			}
		}
		in, lobby := w.s.Meetings.Live(m.ID)
		t.Logf("diagnostics: in the meeting %+v, waiting %+v", in, lobby)
		fams, err := w.s.Registry.Gather()
		if err != nil {
			return
		}
		for _, f := range fams {
			if n := f.GetName(); strings.HasPrefix(n, "kaigi_realtime_slow") || strings.HasPrefix(n, "kaigi_realtime_connections") || strings.HasPrefix(n, "kaigi_sfu") {
				for _, mt := range f.GetMetric() {
					t.Logf("diagnostics: %s %v = %v%v", n, mt.GetLabel(), mt.GetCounter().GetValue(), mt.GetGauge().GetValue())
				}
			}
		}
	}
	join := func(u ui, name string) {
		u.waitUntil("the pre-join screen", `!!document.querySelector("#meet-join")`)
		if name != "" {
			u.p.Do(t, chromedp.SetValue(chromedp.CSS(`#meet-name`), name))
		}
		u.waitUntil("the camera preview", `(() => { const v = document.querySelector(".meet-preview"); return !!(v && v.srcObject && v.srcObject.getTracks().length === 2); })()`)
		u.p.Do(t, chromedp.Click(chromedp.CSS(`#meet-join`)))
	}

	org := openChatAs(t, b, w, w.admin, "/meet#"+code)
	join(org, "")
	org.waitUntil("the organiser in the meeting", `!!document.querySelector("#meet-grid") && !!document.querySelector("#meet-lobby-panel")`)

	guest := openChatAs(t, b, w, w.guest, "/meet#"+code)
	join(guest, "")
	guest.waitUntil("the guest in the lobby", `!!document.querySelector("#meet-lobby")`)

	anon := ui{t, b.NewPage(t)}
	anon.p.Navigate(t, w.origin+"/meet#"+code)
	join(anon, "Mallory Visitor")
	anon.waitUntil("the anonymous person in the lobby", `!!document.querySelector("#meet-lobby")`)

	org.waitUntil("two people in the lobby panel", `document.querySelectorAll("#meet-lobby-list li").length === 2`)
	for _, u := range []ui{guest, anon} {
		if eval[bool](u, `!!document.querySelector("#meet-grid") || !!document.querySelector("#meet-people li") || [...document.querySelectorAll("video")].some(v => v.srcObject && !v.classList.contains("meet-preview"))`) {
			t.Error("someone in the lobby sees the meeting")
		}
	}
	org.shot("meeting-organiser-lobby")
	guest.shot("meeting-guest-waiting")

	// Admit the guest, deny the anonymous person, by the buttons in the lobby panel.
	clickIn := func(u ui, row, label string) {
		t.Helper()
		ok := eval[bool](u, `(() => {
			const li = [...document.querySelectorAll("#meet-lobby-list li")].find(li => li.textContent.includes(`+strconv.Quote(row)+`));
			const b = li && [...li.querySelectorAll("button")].find(b => b.textContent.trim() === `+strconv.Quote(label)+`);
			if (b) b.click();
			return !!b;
		})()`)
		if !ok {
			t.Fatalf("no %q button for %q in the lobby panel", label, row)
		}
	}
	clickIn(org, "Gwen Guest", "Admit")
	org.waitUntil("one left in the lobby", `document.querySelectorAll("#meet-lobby-list li").length === 1`)
	clickIn(org, "Mallory Visitor", "Deny")
	anon.waitUntil("the refusal", `!!document.querySelector("#meet-ended")`)
	guest.waitUntil("the guest in the meeting", `!!document.querySelector("#meet-grid")`)

	// Both now receive each other's audio and video: the numbers grow.
	stats := func(u ui) (bytes, audio, frames int) {
		u.t.Helper()
		n := func(id string) int {
			v, _ := strconv.Atoi(eval[string](u, `(document.getElementById(`+strconv.Quote(id)+`) || {}).textContent || "0"`))
			return v
		}
		return n("meet-health-bytes"), n("meet-health-audio-bytes"), n("meet-health-frames")
	}
	// ICE and DTLS take longer than the usual wait when the machine is
	// busy (the race detector, other browsers): allow a minute.
	mediaArriving := func(what string) {
		t.Helper()
		for _, u := range []ui{org, guest} {
			arriving := `(() => {
				const n = id => Number((document.getElementById(id) || {}).textContent || 0);
				return n("meet-health-audio-bytes") > 0 && n("meet-health-frames") > 10;
			})()`
			for deadline := time.Now().Add(time.Minute); !eval[bool](u, arriving); time.Sleep(50 * time.Millisecond) {
				if time.Now().After(deadline) {
					diagnose()
					for _, v := range []ui{org, guest} {
						t.Logf("diagnostics: a page's people %q, connection %q", eval[string](v, `(document.getElementById("meet-people") || {}).innerText || ""`),
							eval[string](v, `["meet-health-state", "meet-health-negotiation", "meet-health-bytes", "meet-health-audio-bytes", "meet-health-frames", "meet-health-layers"].map((id) => (document.getElementById(id) || {}).textContent || "-").join(" / ")`))
					}
					u.waitUntil(what, arriving) // fails with the page's state
				}
			}
		}
	}
	mediaArriving("audio and video arriving")
	b1, a1, f1 := stats(guest)
	o1, oa1, of1 := stats(org)
	// Each page refreshes its numbers once a second: wait for both.
	guest.waitUntil("more media for the guest", `Number(document.getElementById("meet-health-frames").textContent) > `+strconv.Itoa(f1+20))
	org.waitUntil("more media for the organiser", `Number(document.getElementById("meet-health-frames").textContent) > `+strconv.Itoa(of1+20))
	b2, a2, f2 := stats(guest)
	o2, oa2, of2 := stats(org)
	if !(b2 > b1 && a2 > a1 && f2 > f1) {
		t.Errorf("the guest's inbound media does not grow: bytes %d→%d, audio %d→%d, frames %d→%d", b1, b2, a1, a2, f1, f2)
	}
	if !(o2 > o1 && oa2 >= oa1 && of2 >= of1) {
		t.Errorf("the organiser's inbound media does not grow: bytes %d→%d, audio %d→%d, frames %d→%d", o1, o2, oa1, oa2, of1, of2)
	}
	// All media goes over the loopback: each browser's chosen route is to
	// the server's loopback address (the SFU listens on nothing else; UDP,
	// or ICE-TCP when the browser settles on that).
	for _, u := range []ui{org, guest} {
		route := `(document.getElementById("meet-health-route") || {}).textContent || ""`
		for deadline := time.Now().Add(15 * time.Second); !eval[bool](u, `/^(udp|tcp) 127\.0\.0\.1:\d+$/.test(`+route+`)`); time.Sleep(50 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("the route to the media server is %q, want the server's loopback address", eval[string](u, route))
			}
		}
	}
	// The camera goes out in simulcast layers, of which the server picks
	// the one each grid needs.
	for _, u := range []ui{org, guest} {
		u.waitUntil("several video layers sent", `Number((document.getElementById("meet-health-layers") || {}).textContent || 0) >= 2`)
	}
	org.shot("meeting-organiser-with-guest")

	// The media server drops the guest's session on its own, as when their
	// connection fails (a network change): the meeting gives them a new
	// one, the page connects again (its counters start over) and both
	// receive each other's media once more.
	frames := func(u ui) int {
		return eval[int](u, `Number(document.getElementById("meet-health-frames").textContent)`)
	}
	before := frames(guest)
	var guestID string
	in, _ := w.s.Meetings.Live(m.ID)
	for _, p := range in {
		if p.Name == "Gwen Guest" {
			guestID = p.ID
		}
	}
	if !w.s.DropMedia(m.ID, guestID) {
		t.Fatalf("the guest %q has no media session to drop", guestID)
	}
	guest.waitUntil("a new peer connection (its counters start over)", `Number(document.getElementById("meet-health-frames").textContent) < `+strconv.Itoa(before))
	mediaArriving("audio and video arriving after the guest's media session was replaced")
	since := frames(org)
	org.waitUntil("the guest's media reaching the organiser again", `Number(document.getElementById("meet-health-frames").textContent) > `+strconv.Itoa(since+20))
	guest.waitUntil("several video layers sent again", `Number((document.getElementById("meet-health-layers") || {}).textContent || 0) >= 2`)

	// Muting: the organiser mutes the guest from the people list; the
	// guest's page says so and silences its microphone, and one press of
	// its mic button unmutes, after which the server forwards the guest's
	// audio again.
	muteGuest := `#meet-people button[data-mute="` + guestID + `"]`
	org.p.Do(t, chromedp.Click(chromedp.CSS(muteGuest)))
	guest.waitUntil("the guest's mic button showing them muted", `document.getElementById("meet-mic").getAttribute("aria-pressed") === "true"`)
	if muted, ok := w.s.MediaMuted(m.ID, guestID); !ok || !muted {
		t.Fatalf("after the organiser muted the guest, their media session: muted %v, exists %v", muted, ok)
	}
	guest.p.Do(t, chromedp.Click(chromedp.CSS(`#meet-mic`)))
	org.waitUntil("the guest shown unmuted again (the mute button back)", `!!document.querySelector('`+muteGuest+`')`)
	if muted, ok := w.s.MediaMuted(m.ID, guestID); !ok || muted {
		t.Fatalf("after the guest unmuted, their media session: muted %v, exists %v", muted, ok)
	}

	// Recording: the organiser starts it, everyone in the meeting is told,
	// and after it stops the files are listed with the meeting, play back
	// as WebM for the organiser only, and every step is audited.
	org.p.Do(t, chromedp.Click(chromedp.CSS(`#meet-record`)))
	for _, u := range []ui{org, guest} {
		u.waitUntil("the recording notice", `!document.getElementById("meet-recording").hidden`)
	}
	guest.shot("meeting-guest-recorded")
	since = frames(org)
	org.waitUntil("three seconds of media recorded", `Number(document.getElementById("meet-health-frames").textContent) > `+strconv.Itoa(since+60))
	org.p.Do(t, chromedp.Click(chromedp.CSS(`#meet-record`)))
	guest.waitUntil("the recording stopped", `document.getElementById("meet-recording").hidden`)
	var recs []meeting.Recording
	w.admin.do("GET", "/api/v1/meetings/"+m.ID+"/recordings", nil).json(t, &recs)
	if len(recs) < 2 {
		t.Fatalf("recordings: %+v, want the organiser's and the guest's camera and microphone", recs)
	}
	names := map[string]bool{}
	for _, r := range recs {
		names[r.Name] = true
		if r.Bytes < 1000 || r.Seconds < 1 {
			t.Errorf("recording %+v is too small", r)
		}
	}
	if !names["Ada Admin"] || !names["Gwen Guest"] {
		t.Errorf("recorded people: %v", names)
	}
	play := w.admin.do("GET", "/api/v1/recordings/"+recs[0].ID, nil)
	if play.status != 200 || len(play.body) < 4 || string(play.body[:4]) != "\x1a\x45\xdf\xa3" {
		t.Errorf("playback: %d, %d bytes, starting %x", play.status, len(play.body), play.body[:min(4, len(play.body))])
	}
	if r := w.guest.do("GET", "/api/v1/recordings/"+recs[0].ID, nil); r.status != 403 {
		t.Errorf("a participant who was not invited plays the recording back: %d", r.status)
	}
	audited := map[string]bool{}
	all, err := w.s.DB.AuditRecords(ctx, w.tenant.ID, 0, 100000)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range all {
		audited[r.Action] = true
	}
	for _, a := range []string{"meeting.recording.start", "meeting.recording.stop", "meeting.recording.read"} {
		if !audited[a] {
			t.Errorf("%s is not in the audit log", a)
		}
	}

	// The denied person never had media: no peer connection, nothing in the SFU.
	if eval[bool](anon, `!!document.getElementById("meet-health-bytes")`) {
		t.Error("the denied person had a peer connection")
	}
	in, lobby := w.s.Meetings.Live(m.ID)
	if len(in) != 2 || len(lobby) != 0 {
		t.Errorf("live meeting: %d in, %d waiting; want the organiser and the guest only", len(in), len(lobby))
	}
	anon.p.ClearConsole()
}
