package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/logging"
	"github.com/pion/webrtc/v4"
)

// newMediaAPI builds the pion API every synthetic participant shares: the
// SFU's codecs (Opus 111, VP8 96), and the interceptors a browser runs —
// NACK, RTCP reports, transport-wide congestion control — on loopback UDP
// only.
func newMediaAPI() (*webrtc.API, error) {
	m := &webrtc.MediaEngine{}
	videoFB := []webrtc.RTCPFeedback{{Type: "goog-remb"}, {Type: "ccm", Parameter: "fir"}, {Type: "nack"}, {Type: "nack", Parameter: "pli"}}
	if err := m.RegisterCodec(webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus,
		ClockRate: 48000, Channels: 2, SDPFmtpLine: "minptime=10;useinbandfec=1"}, PayloadType: 111}, webrtc.RTPCodecTypeAudio); err != nil {
		return nil, err
	}
	if err := m.RegisterCodec(webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8,
		ClockRate: 90000, RTCPFeedback: videoFB}, PayloadType: 96}, webrtc.RTPCodecTypeVideo); err != nil {
		return nil, err
	}
	reg := &interceptor.Registry{}
	if err := webrtc.ConfigureNack(m, reg); err != nil {
		return nil, err
	}
	if err := webrtc.ConfigureRTCPReports(reg); err != nil {
		return nil, err
	}
	if err := webrtc.ConfigureTWCCHeaderExtensionSender(m, reg); err != nil {
		return nil, err
	}
	if err := webrtc.ConfigureTWCCSender(m, reg); err != nil {
		return nil, err
	}
	lf := logging.NewDefaultLoggerFactory()
	lf.DefaultLogLevel = logging.LogLevelDisabled
	se := webrtc.SettingEngine{LoggerFactory: lf}
	se.SetIncludeLoopbackCandidate(true)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	return webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(reg), webrtc.WithSettingEngine(se)), nil
}

// mpeer is one synthetic participant: a meeting-only WebSocket (the path of
// someone joining by the link without signing in) and a pion
// PeerConnection negotiated over meeting.signal frames. It is the polite
// peer of perfect negotiation: the SFU's offer wins a glare, and the client
// rolls its own back, answers, and offers again.
type mpeer struct {
	name string
	ws   *websocket.Conn
	pc   *webrtc.PeerConnection
	rx   *receiver

	admitted chan struct{} // closed at meeting.admitted
	failed   chan struct{} // closed with err set: refused, or the socket ended
	failOnce sync.Once
	err      error

	meeting atomic.Value  // string: the meeting's id, from the first frame naming it
	out     chan []byte   // frames to send, in order, by one writer
	stop    chan struct{} // closed by close: the writer ends

	mu        sync.Mutex // serialises SDP operations and guards what follows
	wantOffer bool       // tracks to announce: offer once stable
	early     []webrtc.ICECandidateInit

	streams []*pubStream
	glare   atomic.Int64
	offers  atomic.Int64 // offers received from the SFU
	ended   atomic.Bool  // the socket ended
	closing atomic.Bool
	done    chan struct{} // the reader ended
}

// dialPeer opens the meeting-only socket and says hello.
func dialPeer(ctx context.Context, hc *http.Client, base, origin, name string, api *webrtc.API, rx *receiver) (*mpeer, error) {
	h := http.Header{}
	h.Set("Origin", origin)
	dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	url := "ws" + strings.TrimPrefix(strings.TrimRight(base, "/"), "http") + "/api/v1/meetings/live"
	ws, resp, err := websocket.Dial(dctx, url, &websocket.DialOptions{HTTPClient: hc, HTTPHeader: h, CompressionMode: websocket.CompressionDisabled})
	if err != nil {
		if resp != nil {
			return nil, fmt.Errorf("meeting socket refused: %s", resp.Status)
		}
		return nil, fmt.Errorf("meeting socket: %w", err)
	}
	ws.SetReadLimit(16 << 20) // participant lists of a 100-person room
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		ws.CloseNow()
		return nil, err
	}
	p := &mpeer{name: name, ws: ws, pc: pc, rx: rx, admitted: make(chan struct{}), failed: make(chan struct{}), done: make(chan struct{}),
		out: make(chan []byte, 256), stop: make(chan struct{})}
	p.meeting.Store("")
	pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c == nil {
			return
		}
		init := c.ToJSON()
		p.signal(map[string]any{"type": "candidate", "candidate": init})
	})
	pc.OnTrack(func(tr *webrtc.TrackRemote, r *webrtc.RTPReceiver) {
		go func() { // RTCP from the SFU (sender reports), for the interceptors
			for {
				if _, _, err := r.ReadRTCP(); err != nil {
					return
				}
			}
		}()
		p.rx.readTrack(tr)
	})
	go p.read(ctx)
	go p.write(ctx)
	p.enqueue(map[string]any{"type": "hello", "cursors": map[string]int64{}})
	return p, nil
}

func (p *mpeer) fail(err error) {
	p.failOnce.Do(func() {
		p.err = err
		close(p.failed)
	})
}

// enqueue queues a frame for the writer: frames leave in the order queued
// (an answer before the offer that follows it).
func (p *mpeer) enqueue(v any) {
	b, err := json.Marshal(v)
	if err != nil {
		p.fail(err)
		return
	}
	select {
	case p.out <- b:
	case <-p.stop:
	}
}

// write sends the queued frames until close.
func (p *mpeer) write(ctx context.Context) {
	for {
		select {
		case b := <-p.out:
			wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			err := p.ws.Write(wctx, websocket.MessageText, b)
			cancel()
			if err != nil {
				if !p.closing.Load() {
					p.fail(fmt.Errorf("write to the meeting socket: %w", err))
				}
				return
			}
		case <-p.stop:
			return
		}
	}
}

// signal queues a meeting.signal frame.
func (p *mpeer) signal(sig any) {
	p.enqueue(map[string]any{"type": "meeting.signal", "meeting": p.meeting.Load().(string), "signal": sig})
}

// meetingFrame is the part of a server frame the client reads.
type meetingFrame struct {
	Type    string          `json:"type"`
	Meeting string          `json:"meeting"`
	Code    string          `json:"code"`
	Message string          `json:"message"`
	Signal  json.RawMessage `json:"signal"`
}

var participantsFrame = []byte(`{"type":"meeting.participants"`)

// read handles the socket's frames until it ends.
func (p *mpeer) read(ctx context.Context) {
	defer close(p.done)
	for {
		_, b, err := p.ws.Read(ctx)
		if err != nil {
			p.ended.Store(true)
			if !p.closing.Load() {
				p.fail(fmt.Errorf("the meeting socket ended: %s", endReason(err)))
			}
			return
		}
		if bytes.HasPrefix(b, participantsFrame) {
			continue // the room's list, sent at every arrival: not needed
		}
		var fs []meetingFrame
		if len(b) > 0 && b[0] == '[' {
			err = json.Unmarshal(b, &fs)
		} else {
			var f meetingFrame
			err = json.Unmarshal(b, &f)
			fs = []meetingFrame{f}
		}
		if err != nil {
			p.fail(fmt.Errorf("a frame that is not JSON: %w", err))
			continue
		}
		for _, f := range fs {
			p.handle(f)
		}
	}
}

func (p *mpeer) handle(f meetingFrame) {
	if f.Meeting != "" && p.meeting.Load().(string) == "" {
		p.meeting.Store(f.Meeting)
	}
	switch f.Type {
	case "meeting.admitted":
		select {
		case <-p.admitted:
		default:
			close(p.admitted)
		}
	case "meeting.signal":
		if err := p.handleSignal(f.Signal); err != nil {
			p.fail(err)
		}
	case "meeting.error":
		p.fail(fmt.Errorf("meeting.error %s: %s", f.Code, f.Message))
	case "meeting.lobby":
		p.fail(errors.New("sent to the lobby: the meeting's bypass should be everyone"))
	case "meeting.denied", "meeting.removed", "meeting.ended":
		p.fail(fmt.Errorf("%s: %s", f.Type, f.Message))
	}
}

// handleSignal applies the SFU's offer, answer or candidate.
func (p *mpeer) handleSignal(raw json.RawMessage) error {
	var s struct {
		Type      string                   `json:"type"`
		SDP       string                   `json:"sdp"`
		Candidate *webrtc.ICECandidateInit `json:"candidate"`
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		return fmt.Errorf("a signal that is not JSON: %w", err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	switch s.Type {
	case "offer":
		p.offers.Add(1)
		if p.pc.SignalingState() == webrtc.SignalingStateHaveLocalOffer {
			// Glare: the SFU ignored our offer. Be polite: roll ours back,
			// answer theirs, offer again once stable.
			p.glare.Add(1)
			if err := p.pc.SetLocalDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeRollback}); err != nil {
				return fmt.Errorf("roll back an offer after glare: %w", err)
			}
			p.wantOffer = true
		}
		if err := p.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: s.SDP}); err != nil {
			return fmt.Errorf("apply the SFU's offer: %w", err)
		}
		p.flushEarlyLocked()
		ans, err := p.pc.CreateAnswer(nil)
		if err != nil {
			return fmt.Errorf("answer: %w", err)
		}
		if err := p.pc.SetLocalDescription(ans); err != nil {
			return fmt.Errorf("answer: %w", err)
		}
		p.signal(map[string]any{"type": "answer", "sdp": ans.SDP})
		if p.wantOffer {
			return p.offerLocked()
		}
	case "answer":
		if err := p.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: s.SDP}); err != nil {
			return fmt.Errorf("apply the SFU's answer: %w", err)
		}
		p.flushEarlyLocked()
		if p.wantOffer {
			return p.offerLocked()
		}
	case "candidate":
		if s.Candidate == nil {
			return nil
		}
		if p.pc.RemoteDescription() == nil {
			p.early = append(p.early, *s.Candidate)
			return nil
		}
		if err := p.pc.AddICECandidate(*s.Candidate); err != nil {
			return fmt.Errorf("add the SFU's candidate: %w", err)
		}
	}
	return nil
}

func (p *mpeer) flushEarlyLocked() {
	for _, c := range p.early {
		_ = p.pc.AddICECandidate(c)
	}
	p.early = nil
}

// join asks to join the meeting with its code and waits for the admission.
func (p *mpeer) join(ctx context.Context, code string, timeout time.Duration) error {
	p.enqueue(map[string]any{"type": "meeting.join", "code": code, "name": p.name})
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-p.admitted:
		return nil
	case <-p.failed:
		return p.err
	case <-t.C:
		return fmt.Errorf("not admitted within %s", timeout)
	case <-ctx.Done():
		return ctx.Err()
	}
}

// publish adds a send-only track per stream and offers them.
func (p *mpeer) publish(streams []*pubStream) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, s := range streams {
		tx, err := p.pc.AddTransceiverFromTrack(s.track, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
		if err != nil {
			return err
		}
		s.sender = tx.Sender()
		go s.readRTCP()
	}
	p.streams = append(p.streams, streams...)
	p.wantOffer = true
	return p.offerLocked()
}

// offerLocked offers when stable; otherwise the answer to the outstanding
// exchange offers.
func (p *mpeer) offerLocked() error {
	if p.pc.SignalingState() != webrtc.SignalingStateStable {
		p.wantOffer = true
		return nil
	}
	o, err := p.pc.CreateOffer(nil)
	if err != nil {
		return fmt.Errorf("offer: %w", err)
	}
	if err := p.pc.SetLocalDescription(o); err != nil {
		return fmt.Errorf("offer: %w", err)
	}
	p.wantOffer = false
	p.signal(map[string]any{"type": "offer", "sdp": o.SDP})
	return nil
}

// waitFor polls cond until it holds, the peer fails, or timeout passes.
func (p *mpeer) waitFor(ctx context.Context, timeout time.Duration, what string, cond func() bool) error {
	deadline := time.Now().Add(timeout)
	for !cond() {
		select {
		case <-p.failed:
			return p.err
		case <-ctx.Done():
			return ctx.Err()
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: not %s within %s (peer connection %s)", p.name, what, timeout, p.pc.ConnectionState())
		}
		time.Sleep(20 * time.Millisecond)
	}
	return nil
}

func (p *mpeer) connected() bool {
	return p.pc.ConnectionState() == webrtc.PeerConnectionStateConnected
}

// close ends the peer connection and the socket (the server then takes the
// participant out of the meeting).
func (p *mpeer) close() {
	if p.closing.Swap(true) {
		return
	}
	close(p.stop)
	_ = p.pc.Close()
	p.ws.CloseNow()
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
	}
}
