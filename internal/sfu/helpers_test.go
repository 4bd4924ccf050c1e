package sfu

import (
	"errors"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// connectTimeout is generous: tests must pass on a loaded two-core machine.
const connectTimeout = 45 * time.Second

type eventRecorder struct {
	mu     sync.Mutex
	events []Event
}

func (r *eventRecorder) add(e Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

func (r *eventRecorder) find(match func(Event) bool) (Event, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, e := range r.events {
		if match(e) {
			return e, true
		}
	}
	return Event{}, false
}

func testLogger(t testing.TB) *slog.Logger {
	t.Helper()
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	return slog.New(slog.DiscardHandler)
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(b []byte) (int, error) { w.t.Log(string(b)); return len(b), nil }

// newTestSFU starts an SFU on loopback with ephemeral ports.
func newTestSFU(t testing.TB, mutate func(*Config)) (*SFU, *eventRecorder) {
	t.Helper()
	rec := &eventRecorder{}
	cfg := Config{
		UDPAddr:         "127.0.0.1:0",
		TCPAddr:         "127.0.0.1:0",
		IncludeLoopback: true,
		Logger:          testLogger(t),
		OnEvent:         rec.add,
	}
	if mutate != nil {
		mutate(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s, rec
}

func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

type clientOpts struct {
	networks        []webrtc.NetworkType
	iceServers      []webrtc.ICEServer
	relayOnly       bool
	first           interceptor.Factory // registered before the default interceptors: closest to the network
	noReplayProtect bool
}

// recvTrack is what a client receives on one remote track.
type recvTrack struct {
	remote  *webrtc.TrackRemote
	packets atomic.Int64
	bytes   atomic.Int64
	ended   atomic.Bool
	mu      sync.Mutex
	seqs    map[uint16]int
	marks   map[byte]int // count of packets by payload marker byte (last byte)
}

func (r *recvTrack) seen(seq uint16) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.seqs[seq] > 0
}

func (r *recvTrack) marked(m byte) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.marks[m]
}

// client is a pion peer in the test process playing a browser: the polite peer
// of perfect negotiation.
type client struct {
	t  testing.TB
	pc *webrtc.PeerConnection
	p  *Participant

	mu        sync.Mutex // serialises SDP operations
	needOffer bool

	tmu    sync.Mutex
	tracks map[string]*recvTrack // by msid track id

	tap      func(Signal) // sees every signal first; set before join
	wg       sync.WaitGroup
	stop     chan struct{}
	stopOnce sync.Once
}

func newClient(t testing.TB, o clientOpts) *client {
	t.Helper()
	m := &webrtc.MediaEngine{}
	if err := m.RegisterDefaultCodecs(); err != nil {
		t.Fatal(err)
	}
	if err := m.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: audioLevelURI}, webrtc.RTPCodecTypeAudio); err != nil {
		t.Fatal(err)
	}
	reg := &interceptor.Registry{}
	if o.first != nil {
		reg.Add(o.first)
	}
	if err := webrtc.RegisterDefaultInterceptors(m, reg); err != nil {
		t.Fatal(err)
	}
	se := webrtc.SettingEngine{LoggerFactory: &pionLoggerFactory{log: testLogger(t).With("client", true)}}
	se.SetIncludeLoopbackCandidate(true)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	nets := o.networks
	if nets == nil {
		nets = []webrtc.NetworkType{webrtc.NetworkTypeUDP4}
	}
	se.SetNetworkTypes(nets)
	se.SetInterfaceFilter(func(name string) bool { return name == "lo" })
	if o.noReplayProtect {
		// The NACK test drops a packet after SRTP has seen it; its retransmission
		// reuses the index, which replay protection would discard.
		se.DisableSRTPReplayProtection(true)
	}
	api := webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(reg), webrtc.WithSettingEngine(se))
	cfg := webrtc.Configuration{ICEServers: o.iceServers}
	if o.relayOnly {
		cfg.ICETransportPolicy = webrtc.ICETransportPolicyRelay
	}
	pc, err := api.NewPeerConnection(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c := &client{t: t, pc: pc, tracks: map[string]*recvTrack{}, stop: make(chan struct{})}
	pc.OnTrack(func(remote *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		rt := &recvTrack{remote: remote, seqs: map[uint16]int{}, marks: map[byte]int{}}
		c.tmu.Lock()
		c.tracks[remote.ID()] = rt
		c.tmu.Unlock()
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			for {
				pkt, _, err := remote.ReadRTP()
				if err != nil {
					rt.ended.Store(true)
					return
				}
				rt.packets.Add(1)
				rt.bytes.Add(int64(len(pkt.Payload)))
				rt.mu.Lock()
				rt.seqs[pkt.SequenceNumber]++
				if n := len(pkt.Payload); n > 0 {
					rt.marks[pkt.Payload[n-1]]++
				}
				rt.mu.Unlock()
			}
		}()
	})
	t.Cleanup(c.close)
	return c
}

func (c *client) close() {
	c.stopOnce.Do(func() { close(c.stop) })
	c.mu.Lock()
	_ = c.pc.Close()
	c.mu.Unlock()
	c.wg.Wait()
}

// join admits the client to the room and wires its signalling.
func (c *client) join(r *Room, id ParticipantID, opts JoinOptions) *Participant {
	c.t.Helper()
	opts.OnSignal = c.onSignal
	c.pc.OnICECandidate(func(cand *webrtc.ICECandidate) {
		if cand == nil {
			return
		}
		if err := c.p.AddICECandidate(cand.ToJSON()); err != nil && !errors.Is(err, ErrClosed) {
			c.t.Logf("AddICECandidate: %v", err)
		}
	})
	c.mu.Lock()
	defer c.mu.Unlock()
	p, err := r.Join(id, opts)
	if err != nil {
		c.t.Fatalf("Join(%s): %v", id, err)
	}
	c.p = p
	return p
}

func (c *client) onSignal(s Signal) {
	c.mu.Lock()
	defer c.mu.Unlock()
	select {
	case <-c.stop:
		return // closing: late signals are expected
	default:
	}
	if c.tap != nil {
		c.tap(s)
	}
	switch s.Type {
	case SignalOffer:
		if err := c.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: s.SDP}); err != nil {
			c.t.Errorf("client set offer: %v", err)
			return
		}
		ans, err := c.pc.CreateAnswer(nil)
		if err != nil {
			c.t.Errorf("client answer: %v", err)
			return
		}
		if err := c.pc.SetLocalDescription(ans); err != nil {
			c.t.Errorf("client set answer: %v", err)
			return
		}
		if err := c.p.HandleAnswer(ans.SDP); err != nil && !errors.Is(err, ErrClosed) {
			c.t.Errorf("HandleAnswer: %v", err)
		}
		if c.needOffer {
			c.offerLocked()
		}
	case SignalAnswer:
		if err := c.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: s.SDP}); err != nil {
			c.t.Errorf("client set answer: %v", err)
		}
	case SignalCandidate:
		if err := c.pc.AddICECandidate(*s.Candidate); err != nil {
			c.t.Logf("client add candidate: %v", err)
		}
	}
}

// offer sends the client's offer (after adding tracks).
func (c *client) offer() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offerLocked()
}

func (c *client) offerLocked() {
	if c.pc.SignalingState() != webrtc.SignalingStateStable {
		c.needOffer = true
		return
	}
	// pion cannot roll back a local offer, so this client cannot be the polite
	// peer a browser is. It avoids glare instead: it offers only while the
	// server has no offer outstanding, holding the server's negotiation lock so
	// none can start meanwhile. A server offer already outstanding is on its way
	// to onSignal, which offers again after answering it.
	c.p.negMu.Lock()
	defer c.p.negMu.Unlock()
	if c.p.pc.SignalingState() != webrtc.SignalingStateStable {
		c.needOffer = true
		return
	}
	o, err := c.pc.CreateOffer(nil)
	if err != nil {
		c.t.Errorf("client offer: %v", err)
		return
	}
	if err := c.pc.SetLocalDescription(o); err != nil {
		c.t.Errorf("client set offer: %v", err)
		return
	}
	c.needOffer = false
	if err := c.p.handleOfferLocked(o.SDP); err != nil {
		c.t.Errorf("HandleOffer: %v", err)
	}
}

func (c *client) track(id TrackID) *recvTrack {
	c.tmu.Lock()
	defer c.tmu.Unlock()
	return c.tracks[string(id)]
}

func (c *client) waitConnected() {
	c.t.Helper()
	waitFor(c.t, connectTimeout, "client connected", func() bool {
		return c.pc.ConnectionState() == webrtc.PeerConnectionStateConnected
	})
}

// publisher tracks: synthetic VP8 and Opus written as raw RTP.
type pubTrack struct {
	local    *webrtc.TrackLocalStaticRTP
	sender   *webrtc.RTPSender
	seq      uint16
	ts       uint32
	keyNext  atomic.Bool
	plis     atomic.Int64
	audioExt uint8
	// Simulcast: the client must tag each layer's packets with MID and RID
	// header extensions itself (pion does not for raw RTP writers).
	midExt, ridExt uint8
	mid, rid       string
	level          atomic.Int32 // RFC 6464 level to send, 0 loud .. 127 silent
}

func (c *client) addVideo(rid ...string) []*pubTrack {
	c.t.Helper()
	var out []*pubTrack
	var first *webrtc.RTPSender
	for i, r := range append([]string{""}, rid...)[boolIdx(len(rid) > 0):] {
		var opts []func(*webrtc.TrackLocalStaticRTP)
		if r != "" {
			opts = append(opts, webrtc.WithRTPStreamID(r))
		}
		tr, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8}, "cam", "pion-video", opts...)
		if err != nil {
			c.t.Fatal(err)
		}
		pt := &pubTrack{local: tr}
		pt.keyNext.Store(true)
		if i == 0 {
			tx, err := c.pc.AddTransceiverFromTrack(tr, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
			if err != nil {
				c.t.Fatal(err)
			}
			first = tx.Sender()
		} else if err := first.AddEncoding(tr); err != nil {
			c.t.Fatal(err)
		}
		pt.sender = first
		out = append(out, pt)
	}
	c.readSenderRTCP(first, out)
	return out
}

func boolIdx(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (c *client) addAudio() *pubTrack {
	c.t.Helper()
	tr, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "mic", "pion-audio")
	if err != nil {
		c.t.Fatal(err)
	}
	tx, err := c.pc.AddTransceiverFromTrack(tr, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
	if err != nil {
		c.t.Fatal(err)
	}
	pt := &pubTrack{local: tr, sender: tx.Sender()}
	pt.level.Store(127)
	c.readSenderRTCP(tx.Sender(), []*pubTrack{pt})
	return pt
}

// readSenderRTCP counts PLIs from the SFU and makes the next frame a keyframe,
// as an encoder would.
func (c *client) readSenderRTCP(s *webrtc.RTPSender, tracks []*pubTrack) {
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		for {
			pkts, _, err := s.ReadRTCP()
			if err != nil {
				return
			}
			for _, p := range pkts {
				if _, ok := p.(*rtcp.PictureLossIndication); ok {
					for _, t := range tracks {
						t.plis.Add(1)
						t.keyNext.Store(true)
					}
				}
			}
		}
	}()
}

// send writes packets every 10ms until the client closes. marker is the last
// payload byte, so receivers can tell layers apart.
func (c *client) send(t *pubTrack, video bool, marker byte) {
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		n := 0
		for {
			select {
			case <-c.stop:
				return
			case <-tick.C:
			}
			n++
			var payload []byte
			h := rtp.Header{Version: 2, SequenceNumber: t.seq, Timestamp: t.ts, Marker: true}
			if video {
				key := t.keyNext.Swap(false) || n%50 == 0
				b1 := byte(0x01)
				if key {
					b1 = 0x00
				}
				payload = make([]byte, 200)
				payload[0], payload[1] = 0x10, b1
				t.ts += 3000
			} else {
				payload = make([]byte, 80)
				t.ts += 960
				if t.audioExt != 0 {
					if err := h.SetExtension(t.audioExt, []byte{0x80 | byte(t.level.Load())}); err != nil {
						return
					}
				}
			}
			if t.ridExt != 0 {
				if h.SetExtension(t.midExt, []byte(t.mid)) != nil || h.SetExtension(t.ridExt, []byte(t.rid)) != nil {
					return
				}
			}
			payload[len(payload)-1] = marker
			t.seq++
			if err := t.local.WriteRTP(&rtp.Packet{Header: h, Payload: payload}); err != nil && !errors.Is(err, io.ErrClosedPipe) {
				return
			}
		}
	}()
}

func loopbackUDP(t testing.TB) net.PacketConn {
	t.Helper()
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}
