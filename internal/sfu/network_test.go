package sfu

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kaigi/kaigi/internal/clock"
	"github.com/pion/interceptor"
	"github.com/pion/sdp/v3"
	"github.com/pion/turn/v4"
	"github.com/pion/webrtc/v4"
)

// dropOnce drops, on the receive path of one client, the 30th video packet the
// first time it arrives, below the client's NACK generator.
type dropOnce struct {
	mu      sync.Mutex
	count   int
	dropped bool
	seq     atomic.Int32 // -1 until dropped
}

func (f *dropOnce) NewInterceptor(string) (interceptor.Interceptor, error) {
	return &dropper{f: f}, nil
}

type dropper struct {
	interceptor.NoOp
	f *dropOnce
}

func (d *dropper) BindRemoteStream(info *interceptor.StreamInfo, reader interceptor.RTPReader) interceptor.RTPReader {
	if !strings.EqualFold(info.MimeType, webrtc.MimeTypeVP8) {
		return reader
	}
	return interceptor.RTPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		for {
			n, attr, err := reader.Read(b, a)
			if err != nil || n < 4 {
				return n, attr, err
			}
			seq := binary.BigEndian.Uint16(b[2:4])
			d.f.mu.Lock()
			d.f.count++
			drop := d.f.count == 30 && !d.f.dropped
			if drop {
				d.f.dropped = true
				d.f.seq.Store(int32(seq))
			}
			d.f.mu.Unlock()
			if !drop {
				return n, attr, err
			}
		}
	})
}

func TestNACKRetransmission(t *testing.T) {
	s, rec := newTestSFU(t, nil)
	r, _ := s.Room("nack")
	startPublisher(t, r, "alice")
	video := published(t, rec, "alice", webrtc.RTPCodecTypeVideo)
	drop := &dropOnce{}
	drop.seq.Store(-1)
	sub := newClient(t, clientOpts{first: drop, noReplayProtect: true})
	sub.join(r, "bob", JoinOptions{})
	rt := receiving(t, sub, video.ID, 1)
	waitFor(t, connectTimeout, "a packet to be dropped", func() bool { return drop.seq.Load() >= 0 })
	seq := uint16(drop.seq.Load())
	waitFor(t, connectTimeout, "the dropped packet to be retransmitted", func() bool { return rt.seen(seq) })
	if got := counterValue(s.Metrics().NACKsReceived); got == 0 {
		t.Error("NACK not counted")
	}
}

func testSecret() TURNSecret { return NewTURNSecret(bytes.Repeat([]byte{0x5a}, 32)) }

func TestTURNRelayOnlyClientConnects(t *testing.T) {
	s, rec := newTestSFU(t, func(c *Config) {
		c.TURN = &TURNConfig{UDPAddr: "127.0.0.1:0", TCPAddr: "127.0.0.1:0", Secret: testSecret()}
	})
	r, _ := s.Room("turn")
	startPublisher(t, r, "alice")
	video := published(t, rec, "alice", webrtc.RTPCodecTypeVideo)

	creds, err := s.TURNCredentials("bob")
	if err != nil {
		t.Fatal(err)
	}
	if len(creds.URLs) != 2 || !strings.HasPrefix(creds.Username, "") || !strings.HasSuffix(creds.Username, ":bob") {
		t.Fatalf("credentials = %+v", creds)
	}
	sub := newClient(t, clientOpts{
		relayOnly:  true,
		iceServers: []webrtc.ICEServer{{URLs: creds.URLs[:1], Username: creds.Username, Credential: creds.Credential}},
	})
	sub.join(r, "bob", JoinOptions{})
	receiving(t, sub, video.ID, 20)
	pair, err := sub.pc.SCTP().Transport().ICETransport().GetSelectedCandidatePair()
	if err != nil || pair == nil {
		t.Fatalf("selected pair: %v", err)
	}
	if pair.Local.Typ != webrtc.ICECandidateTypeRelay {
		t.Errorf("local candidate type = %s, want relay", pair.Local.Typ)
	}
}

func TestTURNRefusesBadCredentialsAndForeignPeers(t *testing.T) {
	fake := clock.NewFake(time.Now())
	s, _ := newTestSFU(t, func(c *Config) {
		c.Clock = fake
		c.TURN = &TURNConfig{UDPAddr: "127.0.0.1:0", Secret: testSecret(), CredentialTTL: time.Hour}
	})
	udp, _ := s.TURNAddrs()
	good, err := s.TURNCredentials("bob")
	if err != nil {
		t.Fatal(err)
	}
	allocate := func(t *testing.T, user, pass string) (*turn.Client, error) {
		t.Helper()
		c, err := turn.NewClient(&turn.ClientConfig{
			TURNServerAddr: udp.String(), STUNServerAddr: udp.String(),
			Username: user, Password: pass, Realm: "kaigi", Conn: loopbackUDP(t),
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(c.Close)
		if err := c.Listen(); err != nil {
			t.Fatal(err)
		}
		_, err = c.Allocate()
		return c, err
	}
	t.Run("valid credentials allocate", func(t *testing.T) {
		c, err := allocate(t, good.Username, good.Credential)
		if err != nil {
			t.Fatalf("Allocate: %v", err)
		}
		t.Run("relay to the SFU is permitted", func(t *testing.T) {
			if err := c.CreatePermission(s.UDPAddr()); err != nil {
				t.Fatalf("CreatePermission(sfu): %v", err)
			}
		})
		t.Run("relay elsewhere is refused", func(t *testing.T) {
			if err := c.CreatePermission(&net.UDPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 9}); err == nil {
				t.Fatal("relay to a foreign address permitted: open relay")
			}
		})
	})
	t.Run("wrong password refused", func(t *testing.T) {
		if _, err := allocate(t, good.Username, "d3JvbmcK"); err == nil {
			t.Fatal("allocated with a wrong password")
		}
	})
	t.Run("forged username refused", func(t *testing.T) {
		forged := strings.Replace(good.Username, ":bob", ":eve", 1)
		if _, err := allocate(t, forged, good.Credential); err == nil {
			t.Fatal("allocated with a username the password was not derived for")
		}
	})
	t.Run("expired credentials refused", func(t *testing.T) {
		fake.Advance(2 * time.Hour)
		defer fake.Advance(-2 * time.Hour)
		if _, err := allocate(t, good.Username, good.Credential); err == nil {
			t.Fatal("allocated with expired credentials")
		}
	})
}

func TestTCPFallback(t *testing.T) {
	s, rec := newTestSFU(t, nil)
	r, _ := s.Room("tcp")
	startPublisher(t, r, "alice")
	video := published(t, rec, "alice", webrtc.RTPCodecTypeVideo)
	sub := newClient(t, clientOpts{networks: []webrtc.NetworkType{webrtc.NetworkTypeTCP4}})
	sub.join(r, "bob", JoinOptions{})
	receiving(t, sub, video.ID, 20)
	pair, err := sub.pc.SCTP().Transport().ICETransport().GetSelectedCandidatePair()
	if err != nil || pair == nil {
		t.Fatalf("selected pair: %v", err)
	}
	if pair.Local.Protocol != webrtc.ICEProtocolTCP {
		t.Errorf("protocol = %s, want tcp", pair.Local.Protocol)
	}
}

func TestSimulcastLayerSelection(t *testing.T) {
	s, rec := newTestSFU(t, nil)
	r, _ := s.Room("simulcast")
	pub := newClient(t, clientOpts{})
	layers := pub.addVideo("q", "h", "f")
	pub.join(r, "alice", JoinOptions{})
	pub.offer()
	pub.waitConnected()
	tx := pub.pc.GetTransceivers()[0]
	for i, l := range layers {
		for _, e := range l.sender.GetParameters().HeaderExtensions {
			switch e.URI {
			case sdp.SDESMidURI:
				l.midExt = uint8(e.ID)
			case sdp.SDESRTPStreamIDURI:
				l.ridExt = uint8(e.ID)
			}
		}
		l.mid, l.rid = tx.Mid(), l.local.RID()
		if l.midExt == 0 || l.ridExt == 0 {
			t.Fatal("simulcast header extensions not negotiated")
		}
		pub.send(l, true, "qhf"[i])
	}
	video := published(t, rec, "alice", webrtc.RTPCodecTypeVideo)
	sub := newClient(t, clientOpts{})
	bob := sub.join(r, "bob", JoinOptions{})
	rt := receiving(t, sub, video.ID, 10)
	waitFor(t, connectTimeout, "high layer by default", func() bool { return rt.marked('f') > 10 })
	waitFor(t, connectTimeout, "three layers", func() bool {
		p, _ := r.Participant("alice")
		info := p.Published()
		return len(info) == 1 && len(info[0].Layers) == 3
	})
	if err := bob.SetSubscriptionQuality(video.ID, QualityLow); err != nil {
		t.Fatal(err)
	}
	waitFor(t, connectTimeout, "low layer after switching", func() bool { return rt.marked('q') > 10 })
	f := rt.marked('f')
	time.Sleep(300 * time.Millisecond)
	if rt.marked('f') > f+2 {
		t.Errorf("still receiving the high layer after switching: %d -> %d", f, rt.marked('f'))
	}
	if err := bob.SetSubscriptionQuality("nope", QualityLow); !errors.Is(err, ErrUnknownTrack) {
		t.Errorf("unknown track: %v", err)
	}
}

func TestActiveSpeakerFromAudioLevel(t *testing.T) {
	s, rec := newTestSFU(t, func(c *Config) { c.ActiveSpeakerInterval = 200 * time.Millisecond })
	r, _ := s.Room("speaker")
	quiet := newClient(t, clientOpts{})
	qa := quiet.addAudio()
	quiet.join(r, "quiet", JoinOptions{})
	quiet.offer()
	loud := newClient(t, clientOpts{})
	la := loud.addAudio()
	loud.join(r, "loud", JoinOptions{})
	loud.offer()
	for _, c := range []*client{quiet, loud} {
		c.waitConnected()
	}
	for _, pt := range []*pubTrack{qa, la} {
		for _, e := range pt.sender.GetParameters().HeaderExtensions {
			if e.URI == audioLevelURI {
				pt.audioExt = uint8(e.ID)
			}
		}
		if pt.audioExt == 0 {
			t.Fatal("audio level extension not negotiated")
		}
	}
	qa.level.Store(90) // -90 dBov: silence
	la.level.Store(20) // -20 dBov: speech
	quiet.send(qa, false, 'a')
	loud.send(la, false, 'a')
	waitFor(t, connectTimeout, "active speaker", func() bool {
		_, ok := rec.find(func(e Event) bool { return e.Type == EventActiveSpeaker && e.Participant == "loud" })
		return ok
	})
	if _, ok := rec.find(func(e Event) bool { return e.Type == EventActiveSpeaker && e.Participant == "quiet" }); ok {
		t.Error("the silent participant was announced as speaker")
	}
	// Muted microphones do not speak.
	p, _ := r.Participant("loud")
	p.SetMuted(webrtc.RTPCodecTypeAudio, true)
	waitFor(t, connectTimeout, "speaker cleared", func() bool {
		_, ok := rec.find(func(e Event) bool { return e.Type == EventActiveSpeaker && e.Participant == "" })
		return ok
	})
}

func TestGlareServerOfferWins(t *testing.T) {
	s, rec := newTestSFU(t, nil)
	r, _ := s.Room("glare")
	startPublisher(t, r, "alice")
	video := published(t, rec, "alice", webrtc.RTPCodecTypeVideo)

	sub := newClient(t, clientOpts{})
	a := sub.addAudio()
	sub.mu.Lock()                                                // hold the server's offer back from the client for now
	p, err := r.Join("bob", JoinOptions{OnSignal: sub.onSignal}) // offers alice's tracks at once
	if err != nil {
		sub.mu.Unlock()
		t.Fatal(err)
	}
	sub.p = p
	sub.pc.OnICECandidate(func(cand *webrtc.ICECandidate) {
		if cand != nil {
			_ = p.AddICECandidate(cand.ToJSON())
		}
	})
	// A colliding client offer. pion cannot roll back a local offer, so it
	// comes from a throwaway peer connection: the server must ignore it
	// before applying anything.
	other := newClient(t, clientOpts{})
	other.addAudio()
	o, err := other.pc.CreateOffer(nil)
	if err != nil {
		sub.mu.Unlock()
		t.Fatal(err)
	}
	if err := p.HandleOffer(o.SDP); !errors.Is(err, ErrGlare) {
		t.Errorf("colliding offer: err = %v, want ErrGlare", err)
	}
	sub.needOffer = true // the polite client offers again once it has answered
	sub.mu.Unlock()
	sub.send(a, false, 'b')

	receiving(t, sub, video.ID, 20)
	published(t, rec, "bob", webrtc.RTPCodecTypeAudio)
}

func TestPublicIPsReplaceHostCandidates(t *testing.T) {
	s, _ := newTestSFU(t, func(c *Config) { c.PublicIPs = []string{"203.0.113.9"} })
	r, _ := s.Room("nat")
	var mu sync.Mutex
	var cands []string
	c := newClient(t, clientOpts{})
	c.addAudio()
	c.tap = func(sig Signal) {
		if sig.Type == SignalCandidate {
			mu.Lock()
			cands = append(cands, sig.Candidate.Candidate)
			mu.Unlock()
		}
	}
	c.join(r, "alice", JoinOptions{})
	c.offer()
	waitFor(t, connectTimeout, "server candidates", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(cands) > 0
	})
	mu.Lock()
	defer mu.Unlock()
	for _, cand := range cands {
		if !strings.Contains(cand, "203.0.113.9") || strings.Contains(cand, "127.0.0.1") {
			t.Errorf("candidate %q does not carry only the public address", cand)
		}
	}
}

func TestGoroutinesEndAfterClose(t *testing.T) {
	base := runtime.NumGoroutine()
	func() {
		s, rec := newTestSFU(t, nil)
		r, _ := s.Room("leak")
		pub, _, _ := startPublisher(t, r, "alice")
		video := published(t, rec, "alice", webrtc.RTPCodecTypeVideo)
		var subs []*client
		for _, id := range []ParticipantID{"bob", "carol"} {
			c := newClient(t, clientOpts{})
			c.join(r, id, JoinOptions{})
			subs = append(subs, c)
		}
		for _, c := range subs {
			receiving(t, c, video.ID, 10)
		}
		p, _ := r.Participant("bob")
		p.Remove()
		subs[0].close()
		pub.close()
		subs[1].close()
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}()
	deadline := time.Now().Add(connectTimeout)
	for runtime.NumGoroutine() > base {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			n := runtime.Stack(buf, true)
			t.Fatalf("goroutines: %d before, %d after close\n%s", base, runtime.NumGoroutine(), buf[:n])
		}
		time.Sleep(50 * time.Millisecond)
	}
}
