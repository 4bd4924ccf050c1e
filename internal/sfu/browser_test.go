package sfu

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/kaigi/kaigi/internal/browsertest"
)

// A browser that joins a meeting under way answers the server's offer (the
// others' tracks) and offers its own microphone and camera in the same
// bundle, sometimes after its first offer crossed the server's and was
// rolled back. Chromium then numbers its new m-sections' header extensions
// with its defaults whatever the bundle already uses, and refuses its own
// offer when an id means two things ("a BUNDLE group contains a codec
// collision for header extension id=2": the server's mid was 2, Chromium's
// abs-send-time): the browser never sent its media.
func TestABrowserOffersItsMediaAfterAnsweringTheServer(t *testing.T) {
	s, rec := newTestSFU(t, nil)
	b := browsertest.New(t)
	for _, tc := range []struct {
		name     string
		rollback bool
	}{{"its media added after the answer", false}, {"its first offer rolled back", true}} {
		t.Run(tc.name, func(t *testing.T) {
			p, signals, next := joinAfterAlice(t, s, rec, RoomID("browser-"+strconv.FormatBool(tc.rollback)))
			offer := next(SignalOffer)

			page := b.NewPage(t)
			page.Navigate(t, "about:blank")
			// The browser's own media, as meet.js adds it: a transceiver per
			// track, the camera in three simulcast layers.
			const addMedia = `pc.addTransceiver("audio", { direction: "sendrecv" });
				pc.addTransceiver("video", { direction: "sendrecv", sendEncodings: [{ rid: "q", scaleResolutionDownBy: 4 }, { rid: "h", scaleResolutionDownBy: 2 }, { rid: "f" }] });`
			first := ""
			if tc.rollback {
				first = addMedia + `
				await pc.setLocalDescription();
				await pc.setLocalDescription({ type: "rollback" });`
			}
			answer := browsertest.Eval[string](t, page, `(async () => {
				window.pc = new RTCPeerConnection();
				`+first+`
				await pc.setRemoteDescription({ type: "offer", sdp: `+strconv.Quote(offer.SDP)+` });
				await pc.setLocalDescription();
				return pc.localDescription.sdp;
			})()`)
			if err := p.HandleAnswer(answer); err != nil {
				t.Fatalf("the server refused the browser's answer: %v", err)
			}
			// The server offers again when a track it offered starts: answer
			// until it has nothing more to offer.
			for settled := false; !settled; {
				select {
				case s := <-signals:
					if s.Type != SignalOffer {
						continue
					}
					again := browsertest.Eval[string](t, page, `(async () => {
						await pc.setRemoteDescription({ type: "offer", sdp: `+strconv.Quote(s.SDP)+` });
						await pc.setLocalDescription();
						return pc.localDescription.sdp;
					})()`)
					if err := p.HandleAnswer(again); err != nil {
						t.Fatalf("the server refused the browser's answer: %v", err)
					}
				case <-time.After(500 * time.Millisecond):
					settled = true
				}
			}
			add := addMedia
			if tc.rollback {
				add = "" // its transceivers are still there, without a mid
			}
			own := browsertest.Eval[string](t, page, `(async () => {
				`+add+`
				try {
					await pc.setLocalDescription();
				} catch (e) {
					return "refused: " + e;
				}
				return pc.localDescription.sdp;
			})()`)
			if strings.HasPrefix(own, "refused: ") {
				for _, l := range strings.Split(offer.SDP, "\r\n") {
					if strings.HasPrefix(l, "m=") || strings.HasPrefix(l, "a=extmap") {
						t.Logf("server's offer: %s", l)
					}
				}
				t.Fatalf("the browser could not offer its media after answering the server: %s", own)
			}
			if err := p.HandleOffer(own); err != nil {
				t.Fatalf("the server refused the browser's offer: %v", err)
			}
			reply := next(SignalAnswer)
			state := browsertest.Eval[string](t, page, `(async () => {
				await pc.setRemoteDescription({ type: "answer", sdp: `+strconv.Quote(reply.SDP)+` });
				return pc.signalingState + ", sending on " + pc.getTransceivers().filter((tr) => tr.mid !== null && (tr.currentDirection || "").startsWith("send")).length;
			})()`)
			if state != "stable, sending on 2" {
				t.Fatalf("after the server's answer the browser is %q, want stable and sending on its 2 transceivers", state)
			}
		})
	}
}

// TestTheServersHeaderExtensionIDsAreChromiums pins the ids the server
// offers to Chromium's defaults (see headerExtensions), whatever order pion
// would number them in.
func TestTheServersHeaderExtensionIDsAreChromiums(t *testing.T) {
	s, rec := newTestSFU(t, nil)
	_, _, next := joinAfterAlice(t, s, rec, "ids")
	offer := next(SignalOffer).SDP
	want := map[string]int{
		"urn:ietf:params:rtp-hdrext:ssrc-audio-level":                               1,
		"http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01": 3,
		"urn:ietf:params:rtp-hdrext:sdes:mid":                                       4,
		"urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id":                             10,
		"urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id":                    11,
	}
	seen := map[string]bool{}
	for _, l := range strings.Split(offer, "\r\n") {
		rest, ok := strings.CutPrefix(l, "a=extmap:")
		if !ok {
			continue
		}
		id, uri, _ := strings.Cut(rest, " ")
		n, _ := strconv.Atoi(id)
		if w, known := want[uri]; !known || n != w {
			t.Errorf("the server offers %s as id %d; Chromium's is %d (0: the server should not offer it)", uri, n, w)
		}
		seen[uri] = true
	}
	for uri := range want {
		if !seen[uri] {
			t.Errorf("the server does not offer %s", uri)
		}
	}
}

// joinAfterAlice joins bob to a room where alice already publishes audio
// and video: the server offers him her tracks. next returns the next signal
// of a type sent to bob, skipping others.
func joinAfterAlice(t *testing.T, s *SFU, rec *eventRecorder, room RoomID) (*Participant, chan Signal, func(SignalType) Signal) {
	t.Helper()
	r, err := s.Room(room)
	if err != nil {
		t.Fatal(err)
	}
	startPublisher(t, r, "alice")
	published(t, rec, "alice", webrtc.RTPCodecTypeAudio)
	published(t, rec, "alice", webrtc.RTPCodecTypeVideo)
	signals := make(chan Signal, 64)
	p, err := r.Join("bob", JoinOptions{OnSignal: func(s Signal) { signals <- s }})
	if err != nil {
		t.Fatal(err)
	}
	next := func(want SignalType) Signal {
		t.Helper()
		timeout := time.After(connectTimeout)
		for {
			select {
			case s := <-signals:
				if s.Type == want {
					return s
				}
			case <-timeout:
				t.Fatalf("no %s from the server", want)
			}
		}
	}
	return p, signals, next
}
