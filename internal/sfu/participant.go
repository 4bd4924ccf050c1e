package sfu

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// SignalType tells what a Signal carries.
type SignalType string

// Signal types.
const (
	SignalOffer     SignalType = "offer"
	SignalAnswer    SignalType = "answer"
	SignalCandidate SignalType = "candidate"
)

// Signal is one signalling message between the SFU and a client, ready to be
// marshalled as JSON for the WebSocket: {"type":"offer","sdp":"..."} or
// {"type":"candidate","candidate":{"candidate":"...","sdpMid":"0",...}}.
type Signal struct {
	Type      SignalType               `json:"type"`
	SDP       string                   `json:"sdp,omitempty"`
	Candidate *webrtc.ICECandidateInit `json:"candidate,omitempty"`
}

const maxQueuedRemoteCandidates = 64

// Participant is one admitted member of a room and its peer connection. Its
// methods are safe for concurrent use.
type Participant struct {
	room *Room
	id   ParticipantID
	log  *slog.Logger
	opts JoinOptions
	pc   *webrtc.PeerConnection

	// negMu serialises SDP operations and guards negPending and remoteCands.
	negMu       sync.Mutex
	negPending  bool
	remoteCands []webrtc.ICECandidateInit

	// sigMu guards the outgoing signal queue.
	sigMu      sync.Mutex
	sigQ       []Signal
	sigReady   chan struct{}
	descSent   bool
	earlyCands []Signal
	overflowed bool

	connectOnce  sync.Once
	connected    atomic.Bool
	connectTimer *time.Timer // guarded by mu

	mu        sync.Mutex
	closed    bool
	published map[*webrtc.RTPReceiver]*publishedTrack
	subs      map[TrackID]*downTrack
	sources   map[string]Source
	mutedKind map[webrtc.RTPCodecType]bool

	done chan struct{}
	wg   sync.WaitGroup
}

func newParticipant(r *Room, id ParticipantID, opts JoinOptions) (*Participant, error) {
	pc, err := r.sfu.api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return nil, fmt.Errorf("sfu: new peer connection: %w", err)
	}
	p := &Participant{
		room:      r,
		id:        id,
		log:       r.log.With("participant", string(id)),
		opts:      opts,
		pc:        pc,
		sigReady:  make(chan struct{}, 1),
		published: map[*webrtc.RTPReceiver]*publishedTrack{},
		subs:      map[TrackID]*downTrack{},
		sources:   map[string]Source{},
		mutedKind: map[webrtc.RTPCodecType]bool{},
		done:      make(chan struct{}),
	}
	pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c == nil {
			return
		}
		init := c.ToJSON()
		p.push(Signal{Type: SignalCandidate, Candidate: &init})
	})
	pc.OnTrack(p.onTrack)
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		p.mu.Lock()
		closed := p.closed
		p.mu.Unlock()
		if closed {
			return
		}
		if s == webrtc.PeerConnectionStateConnected {
			p.connected.Store(true)
		}
		r.emit(Event{Type: EventConnectionState, Participant: id, State: s})
		if s == webrtc.PeerConnectionStateFailed {
			go p.Remove()
		}
	})
	p.wg.Add(1)
	go p.signalLoop()
	return p, nil
}

// Done is closed once the participant has been removed: by Remove, or by the
// server itself when its connection did not come up within
// Config.ConnectTimeout or failed.
func (p *Participant) Done() <-chan struct{} { return p.done }

// ID returns the participant's id.
func (p *Participant) ID() ParticipantID { return p.id }

// Room returns the participant's room.
func (p *Participant) Room() *Room { return p.room }

// ConnectionState is the state of the participant's peer connection.
func (p *Participant) ConnectionState() webrtc.PeerConnectionState { return p.pc.ConnectionState() }

// DTLSState is the state of the DTLS transport that keys SRTP; media flows only
// once it is connected.
func (p *Participant) DTLSState() webrtc.DTLSTransportState {
	return p.pc.SCTP().Transport().State()
}

// push queues an outgoing signal. Candidates wait until the first description
// has been queued, so a client never gets a candidate before an offer or answer.
func (p *Participant) push(s Signal) {
	p.sigMu.Lock()
	if s.Type == SignalCandidate && !p.descSent {
		p.earlyCands = append(p.earlyCands, s)
		p.sigMu.Unlock()
		return
	}
	if len(p.sigQ) >= p.room.sfu.cfg.Limits.PendingSignals {
		overflowed := p.overflowed
		p.overflowed = true
		p.sigMu.Unlock()
		if !overflowed {
			p.log.Warn("sfu signal queue full: removing participant")
			go p.Remove()
		}
		return
	}
	p.sigQ = append(p.sigQ, s)
	if s.Type != SignalCandidate && !p.descSent {
		p.descSent = true
		p.sigQ = append(p.sigQ, p.earlyCands...)
		p.earlyCands = nil
	}
	p.sigMu.Unlock()
	if s.Type != SignalCandidate {
		p.connectOnce.Do(p.armConnectTimer)
	}
	select {
	case p.sigReady <- struct{}{}:
	default:
	}
}

// armConnectTimer removes the participant if its peer connection has not
// connected within Config.ConnectTimeout of the first description sent.
func (p *Participant) armConnectTimer() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	p.connectTimer = time.AfterFunc(p.room.sfu.cfg.ConnectTimeout, func() {
		if !p.connected.Load() {
			p.log.Info("sfu participant did not connect in time: removing")
			p.Remove()
		}
	})
}

func (p *Participant) signalLoop() {
	defer p.wg.Done()
	for {
		p.sigMu.Lock()
		q := p.sigQ
		p.sigQ = nil
		p.sigMu.Unlock()
		for _, s := range q {
			select {
			case <-p.done:
				return
			default:
			}
			p.opts.OnSignal(s)
		}
		select {
		case <-p.sigReady:
		case <-p.done:
			return
		}
	}
}

// negotiate sends an offer if subscriptions changed and no offer is outstanding.
func (p *Participant) negotiate() {
	p.negMu.Lock()
	defer p.negMu.Unlock()
	p.negotiateLocked()
}

func (p *Participant) markNegotiationNeeded() {
	p.negMu.Lock()
	p.negPending = true
	p.negMu.Unlock()
}

func (p *Participant) negotiateLocked() {
	if !p.negPending || p.pc.SignalingState() != webrtc.SignalingStateStable || p.isClosed() {
		return
	}
	offer, err := p.pc.CreateOffer(nil)
	if err != nil {
		p.log.Warn("sfu create offer", "err", err)
		return
	}
	if err := p.pc.SetLocalDescription(offer); err != nil {
		p.log.Warn("sfu set local offer", "err", err)
		return
	}
	p.negPending = false
	p.push(Signal{Type: SignalOffer, SDP: offer.SDP})
}

func (p *Participant) isClosed() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.closed
}

// checkSDP rejects oversized or unparseable SDP and offers with more media
// sections than the participant could legitimately have, before pion sees it.
func (p *Participant) checkSDP(raw string, offer bool) error {
	if len(raw) == 0 || len(raw) > p.room.sfu.cfg.Limits.SDPBytes {
		return fmt.Errorf("%w: sdp size %d", ErrBadSignal, len(raw))
	}
	var sd sdp.SessionDescription
	if err := sd.UnmarshalString(raw); err != nil {
		return fmt.Errorf("%w: %v", ErrBadSignal, err)
	}
	if len(sd.MediaDescriptions) == 0 {
		return fmt.Errorf("%w: no media sections", ErrBadSignal)
	}
	if offer {
		max := len(p.pc.GetTransceivers()) + p.room.sfu.cfg.Limits.TracksPerParticipant + 1
		if len(sd.MediaDescriptions) > max {
			return fmt.Errorf("%w: %d media sections", ErrBadSignal, len(sd.MediaDescriptions))
		}
	}
	return nil
}

// recoverBadSignal turns a panic inside pion's SDP handling into ErrBadSignal:
// a malformed message from one client must not take the node down.
func (p *Participant) recoverBadSignal(err *error) {
	if v := recover(); v != nil {
		p.log.Error("sfu panic handling signal", "panic", fmt.Sprint(v))
		*err = fmt.Errorf("%w: rejected", ErrBadSignal)
	}
}

// HandleOffer applies the client's offer and sends the answer through OnSignal.
// It returns ErrGlare when the server's own offer is outstanding (the offer is
// ignored; see the package documentation) and ErrBadSignal for SDP that cannot
// be applied.
func (p *Participant) HandleOffer(raw string) (err error) {
	defer p.recoverBadSignal(&err)
	if err := p.checkSDP(raw, true); err != nil {
		return err
	}
	p.negMu.Lock()
	defer p.negMu.Unlock()
	return p.handleOfferLocked(raw)
}

func (p *Participant) handleOfferLocked(raw string) error {
	if p.isClosed() {
		return ErrClosed
	}
	if p.pc.SignalingState() == webrtc.SignalingStateHaveLocalOffer {
		return ErrGlare
	}
	if err := p.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: raw}); err != nil {
		return fmt.Errorf("%w: offer: %v", ErrBadSignal, err)
	}
	p.flushRemoteCandidatesLocked()
	answer, err := p.pc.CreateAnswer(nil)
	if err != nil {
		return fmt.Errorf("%w: answer: %v", ErrBadSignal, err)
	}
	if err := p.pc.SetLocalDescription(answer); err != nil {
		return fmt.Errorf("%w: answer: %v", ErrBadSignal, err)
	}
	p.push(Signal{Type: SignalAnswer, SDP: answer.SDP})
	p.negotiateLocked()
	return nil
}

// HandleAnswer applies the client's answer to the server's outstanding offer.
// A bad answer returns ErrBadSignal and leaves the offer outstanding: the client
// may answer it again.
func (p *Participant) HandleAnswer(raw string) (err error) {
	defer p.recoverBadSignal(&err)
	if err := p.checkSDP(raw, false); err != nil {
		return err
	}
	p.negMu.Lock()
	defer p.negMu.Unlock()
	if p.isClosed() {
		return ErrClosed
	}
	if p.pc.SignalingState() != webrtc.SignalingStateHaveLocalOffer {
		return ErrUnexpectedAnswer
	}
	if err := p.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: raw}); err != nil {
		return fmt.Errorf("%w: answer: %v", ErrBadSignal, err)
	}
	p.flushRemoteCandidatesLocked()
	p.negotiateLocked()
	return nil
}

// AddICECandidate adds a candidate the client trickled. Candidates that arrive
// before the first remote description are queued (up to 64).
func (p *Participant) AddICECandidate(c webrtc.ICECandidateInit) (err error) {
	defer p.recoverBadSignal(&err)
	if len(c.Candidate) > 1024 {
		return fmt.Errorf("%w: candidate too long", ErrBadSignal)
	}
	// Checked now, not when a queued candidate is applied: a malformed one
	// is refused to its sender at once. Empty means end of candidates.
	if c.Candidate != "" {
		if _, err := ice.UnmarshalCandidate(strings.TrimPrefix(c.Candidate, "candidate:")); err != nil {
			return fmt.Errorf("%w: candidate: %v", ErrBadSignal, err)
		}
	}
	p.negMu.Lock()
	defer p.negMu.Unlock()
	if p.isClosed() {
		return ErrClosed
	}
	if p.pc.RemoteDescription() == nil {
		if len(p.remoteCands) >= maxQueuedRemoteCandidates {
			return fmt.Errorf("%w: too many early candidates", ErrBadSignal)
		}
		p.remoteCands = append(p.remoteCands, c)
		return nil
	}
	if err := p.pc.AddICECandidate(c); err != nil {
		return fmt.Errorf("%w: candidate: %v", ErrBadSignal, err)
	}
	return nil
}

func (p *Participant) flushRemoteCandidatesLocked() {
	for _, c := range p.remoteCands {
		if err := p.pc.AddICECandidate(c); err != nil {
			p.log.Debug("sfu queued candidate rejected", "err", err)
		}
	}
	p.remoteCands = nil
}

// SetTrackSource declares what the client's track with that MediaStreamTrack id
// (the msid track id in its offer) carries. Call it before the client's offer
// that adds the track; undeclared audio is SourceMicrophone, video SourceCamera.
func (p *Participant) SetTrackSource(clientTrackID string, src Source) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.sources) < 4*p.room.sfu.cfg.Limits.TracksPerParticipant {
		p.sources[clientTrackID] = src
	}
}

// SetMuted stops (true) or resumes (false) forwarding of every track of that
// kind the participant publishes, now and later. Muted audio does not count for
// active speaker detection.
func (p *Participant) SetMuted(kind webrtc.RTPCodecType, muted bool) {
	p.mu.Lock()
	p.mutedKind[kind] = muted
	var ts []*publishedTrack
	for _, t := range p.published {
		if t.kind == kind {
			ts = append(ts, t)
		}
	}
	p.mu.Unlock()
	for _, t := range ts {
		t.setMuted(muted)
	}
}

// Muted reports whether what the participant publishes of kind is not
// forwarded (SetMuted).
func (p *Participant) Muted(kind webrtc.RTPCodecType) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.mutedKind[kind]
}

// SetTrackMuted stops or resumes forwarding of one published track, e.g. the
// screen share but not the camera.
func (p *Participant) SetTrackMuted(id TrackID, muted bool) error {
	p.mu.Lock()
	var t *publishedTrack
	for _, pt := range p.published {
		if pt.id == id {
			t = pt
		}
	}
	p.mu.Unlock()
	if t == nil {
		return ErrUnknownTrack
	}
	t.setMuted(muted)
	return nil
}

// SetSubscriptionQuality chooses the simulcast layer this participant receives
// of a track. The switch happens at the next keyframe of that layer.
func (p *Participant) SetSubscriptionQuality(id TrackID, q Quality) error {
	d := p.subscription(id)
	if d == nil {
		return ErrUnknownTrack
	}
	d.setQuality(q)
	return nil
}

// SetSubscriptionPaused stops (true) or resumes forwarding of one track to this
// participant, e.g. for video tiles that are off screen.
func (p *Participant) SetSubscriptionPaused(id TrackID, paused bool) error {
	d := p.subscription(id)
	if d == nil {
		return ErrUnknownTrack
	}
	d.setPaused(paused)
	return nil
}

// Subscriptions returns the ids of the tracks this participant receives.
func (p *Participant) Subscriptions() []TrackID {
	p.mu.Lock()
	defer p.mu.Unlock()
	ids := make([]TrackID, 0, len(p.subs))
	for id := range p.subs {
		ids = append(ids, id)
	}
	return ids
}

// Published describes the tracks this participant publishes.
func (p *Participant) Published() []TrackInfo {
	p.mu.Lock()
	ts := make([]*publishedTrack, 0, len(p.published))
	for _, t := range p.published {
		ts = append(ts, t)
	}
	p.mu.Unlock()
	infos := make([]TrackInfo, 0, len(ts))
	for _, t := range ts {
		infos = append(infos, t.info())
	}
	return infos
}

func (p *Participant) subscription(id TrackID) *downTrack {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.subs[id]
}

// onTrack runs when a publisher's track (or one simulcast layer of it) starts.
func (p *Participant) onTrack(remote *webrtc.TrackRemote, receiver *webrtc.RTPReceiver) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	if p.opts.ReceiveOnly {
		p.mu.Unlock()
		p.log.Info("sfu track from receive-only participant ignored")
		_ = receiver.Stop()
		return
	}
	t := p.published[receiver]
	isNew := t == nil
	if isNew {
		if len(p.published) >= p.room.sfu.cfg.Limits.TracksPerParticipant {
			p.mu.Unlock()
			p.log.Warn("sfu track limit reached: track ignored")
			_ = receiver.Stop()
			return
		}
		src, ok := p.sources[remote.ID()]
		if !ok {
			src = SourceCamera
			if remote.Kind() == webrtc.RTPCodecTypeAudio {
				src = SourceMicrophone
			}
		}
		t = newPublishedTrack(p, remote, receiver, src)
		t.muted.Store(p.mutedKind[remote.Kind()])
		p.published[receiver] = t
	}
	l := t.addLayer(remote)
	if l == nil {
		p.mu.Unlock()
		return
	}
	p.wg.Add(2)
	p.mu.Unlock()
	go t.readLoop(l)
	go t.rtcpLoop(l)
	if isNew && !p.room.publish(t) {
		p.log.Warn("sfu room track limit reached: track ignored")
		p.mu.Lock()
		delete(p.published, receiver)
		p.mu.Unlock()
		_ = receiver.Stop()
	}
}

// trackEnded runs when every layer of a published track has stopped.
func (p *Participant) trackEnded(t *publishedTrack) {
	p.mu.Lock()
	if p.published[t.receiver] == t {
		delete(p.published, t.receiver)
	}
	p.mu.Unlock()
	p.room.unpublish(t)
}

// subscribe adds a down track for t; the caller negotiates afterwards.
func (p *Participant) subscribe(t *publishedTrack) {
	p.mu.Lock()
	if p.closed || p.subs[t.id] != nil {
		p.mu.Unlock()
		return
	}
	d := newDownTrack(t, p)
	sender, err := p.pc.AddTrack(d)
	if err != nil {
		p.mu.Unlock()
		p.log.Warn("sfu subscribe", "track", string(t.id), "err", err)
		return
	}
	d.sender = sender
	p.subs[t.id] = d
	p.wg.Add(1)
	p.mu.Unlock()
	go d.rtcpLoop()
	t.attach(d)
	p.markNegotiationNeeded()
}

// unsubscribe removes a down track and renegotiates.
func (p *Participant) unsubscribe(d *downTrack) {
	d.pt.detach(d)
	p.mu.Lock()
	if p.subs[d.pt.id] != d {
		p.mu.Unlock()
		return
	}
	delete(p.subs, d.pt.id)
	closed := p.closed
	p.mu.Unlock()
	if closed {
		return
	}
	if err := p.pc.RemoveTrack(d.sender); err != nil && !errors.Is(err, webrtc.ErrConnectionClosed) {
		p.log.Debug("sfu remove track", "err", err)
	}
	p.markNegotiationNeeded()
	p.negotiate()
}

// Remove takes the participant out of the room: its tracks are unpublished,
// its peer connection closed and its goroutines ended before Remove returns.
// It is idempotent.
func (p *Participant) Remove() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	if p.connectTimer != nil {
		p.connectTimer.Stop()
	}
	pubs := make([]*publishedTrack, 0, len(p.published))
	for _, t := range p.published {
		pubs = append(pubs, t)
	}
	subs := make([]*downTrack, 0, len(p.subs))
	for _, d := range p.subs {
		subs = append(subs, d)
	}
	p.mu.Unlock()

	removed := p.room.removeParticipant(p)
	for _, d := range subs {
		d.pt.detach(d)
	}
	for _, t := range pubs {
		p.room.unpublish(t)
	}
	if err := p.pc.Close(); err != nil {
		p.log.Debug("sfu close peer connection", "err", err)
	}
	close(p.done)
	p.wg.Wait()
	if removed {
		p.room.sfu.metrics.Participants.Dec()
		p.room.emit(Event{Type: EventParticipantLeft, Participant: p.id})
	}
}
