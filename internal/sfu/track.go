package sfu

import (
	"crypto/rand"
	"encoding/hex"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// layer is one RTP stream of a published track: the only one without
// simulcast, one per RID with it.
type layer struct {
	rid     string
	rank    int
	remote  *webrtc.TrackRemote
	ssrc    uint32
	lastPLI atomic.Int64 // unix nanos of the last PLI sent for this stream
}

// publishedTrack is a track a participant sends, fanned out to down tracks.
type publishedTrack struct {
	id       TrackID
	owner    *Participant
	kind     webrtc.RTPCodecType
	source   Source
	codec    webrtc.RTPCodecParameters
	receiver *webrtc.RTPReceiver
	levelExt uint8 // negotiated id of the audio level extension, 0 if none
	video    bool
	keyframe func([]byte) bool

	muted atomic.Bool
	epoch atomic.Uint32 // bumped on every mute change: down tracks resync

	levelSum, levelCount atomic.Int64

	mu     sync.Mutex
	layers []*layer
	live   int
	downs  atomic.Pointer[[]*downTrack] // copy on write; read per packet without locks
	recs   atomic.Pointer[[]*recTap]    // recordings tapping the track; copy on write, nil when none
}

func newTrackID() TrackID {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return TrackID("TR" + hex.EncodeToString(b[:]))
}

func newPublishedTrack(p *Participant, remote *webrtc.TrackRemote, receiver *webrtc.RTPReceiver, src Source) *publishedTrack {
	t := &publishedTrack{
		id:       newTrackID(),
		owner:    p,
		kind:     remote.Kind(),
		source:   src,
		codec:    remote.Codec(),
		receiver: receiver,
		video:    remote.Kind() == webrtc.RTPCodecTypeVideo,
	}
	t.keyframe = keyframeDetector(t.codec.MimeType)
	for _, e := range receiver.GetParameters().HeaderExtensions {
		if e.URI == audioLevelURI {
			t.levelExt = uint8(e.ID)
		}
	}
	t.downs.Store(&[]*downTrack{})
	return t
}

func (t *publishedTrack) info() TrackInfo {
	t.mu.Lock()
	defer t.mu.Unlock()
	info := TrackInfo{
		ID: t.id, Participant: t.owner.id, Kind: t.kind, Source: t.source,
		MimeType: t.codec.MimeType, Muted: t.muted.Load(),
	}
	for _, l := range t.layers {
		if l.rid != "" {
			info.Layers = append(info.Layers, l.rid)
		}
	}
	return info
}

// ridRank orders simulcast RIDs from lowest to highest quality. It knows the
// q/h/f (quarter, half, full), l/m/h and 0/1/2 schemes; unknown RIDs rank after.
func ridRank(rid string, others []*layer) int {
	switch rid {
	case "", "q", "l", "0", "low":
		return 0
	case "m", "1", "mid", "medium":
		return 1
	case "f", "2", "high", "full":
		return 2
	case "h":
		for _, o := range others {
			if o.rid == "f" || o.rid == "q" {
				return 1 // half, in q/h/f
			}
		}
		return 2 // high, in l/m/h
	}
	return 3
}

// addLayer records a new RTP stream of the track. It returns nil for a RID
// already seen or beyond three layers.
func (t *publishedTrack) addLayer(remote *webrtc.TrackRemote) *layer {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.layers) >= 3 {
		return nil
	}
	for _, l := range t.layers {
		if l.rid == remote.RID() {
			return nil
		}
	}
	l := &layer{rid: remote.RID(), remote: remote, ssrc: uint32(remote.SSRC())}
	t.layers = append(t.layers, l)
	for _, o := range t.layers {
		o.rank = ridRank(o.rid, t.layers)
	}
	sort.SliceStable(t.layers, func(i, j int) bool { return t.layers[i].rank < t.layers[j].rank })
	t.live++
	for _, d := range *t.downs.Load() {
		d.setWant(t.pickLocked(d.wantQuality()))
	}
	t.pickRecLayersLocked()
	return l
}

// pickLocked returns the layer to forward for a wanted quality.
func (t *publishedTrack) pickLocked(q Quality) *layer {
	n := len(t.layers)
	switch {
	case n == 0:
		return nil
	case q <= QualityLow:
		return t.layers[0]
	case q == QualityMedium:
		return t.layers[(n-1)/2]
	default:
		return t.layers[n-1]
	}
}

func (t *publishedTrack) pick(q Quality) *layer {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.pickLocked(q)
}

func (t *publishedTrack) attach(d *downTrack) {
	t.mu.Lock()
	defer t.mu.Unlock()
	d.setWant(t.pickLocked(d.wantQuality()))
	old := *t.downs.Load()
	next := make([]*downTrack, len(old), len(old)+1)
	copy(next, old)
	next = append(next, d)
	t.downs.Store(&next)
}

func (t *publishedTrack) detach(d *downTrack) {
	t.mu.Lock()
	defer t.mu.Unlock()
	old := *t.downs.Load()
	next := make([]*downTrack, 0, len(old))
	for _, o := range old {
		if o != d {
			next = append(next, o)
		}
	}
	t.downs.Store(&next)
}

func (t *publishedTrack) detachAll() []*downTrack {
	t.mu.Lock()
	defer t.mu.Unlock()
	old := *t.downs.Load()
	t.downs.Store(&[]*downTrack{})
	return old
}

func (t *publishedTrack) setMuted(muted bool) {
	if t.muted.Swap(muted) == muted {
		return
	}
	t.epoch.Add(1)
	info := t.info()
	t.owner.room.emit(Event{Type: EventTrackMuted, Participant: t.owner.id, Track: &info})
	if !muted && t.video {
		for _, l := range t.snapshotLayers() {
			t.requestKeyframe(l)
		}
	}
}

func (t *publishedTrack) snapshotLayers() []*layer {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]*layer(nil), t.layers...)
}

// readLoop reads one layer's RTP and forwards it until the stream ends.
func (t *publishedTrack) readLoop(l *layer) {
	defer t.owner.wg.Done()
	buf := make([]byte, 1500)
	var pkt rtp.Packet
	for {
		n, _, err := l.remote.Read(buf)
		if err != nil {
			break
		}
		if err := pkt.Unmarshal(buf[:n]); err != nil {
			continue
		}
		t.forward(l, &pkt, n, time.Now().UnixNano())
	}
	t.mu.Lock()
	t.live--
	last := t.live == 0
	t.mu.Unlock()
	if last {
		t.owner.trackEnded(t)
	}
}

// forward is the hot path: one packet from a publisher to every subscriber.
func (t *publishedTrack) forward(l *layer, pkt *rtp.Packet, size int, now int64) {
	m := t.owner.room.sfu.metrics
	m.PacketsReceived.Inc()
	if !t.video {
		t.observeAudio(pkt)
	}
	if t.muted.Load() {
		return
	}
	t.writeRecs(l, pkt, now)
	sent := 0
	for _, d := range *t.downs.Load() {
		if d.write(l, pkt, now) {
			sent++
		}
	}
	if sent > 0 {
		m.PacketsForwarded.Add(float64(sent))
		m.BytesForwarded.Add(float64(sent * size))
	}
}

// observeAudio adds one packet's loudness (0 silent .. 127 at 0 dBov) for
// active speaker detection: from the RFC 6464 extension when present, else
// estimated from the payload size (see the package documentation).
func (t *publishedTrack) observeAudio(pkt *rtp.Packet) {
	loud := -1
	if t.levelExt != 0 {
		if ext := pkt.GetExtension(t.levelExt); len(ext) > 0 {
			loud = 127 - int(ext[0]&0x7f)
		}
	}
	if loud < 0 {
		loud = min(127, 40+len(pkt.Payload)/2)
	}
	t.levelSum.Add(int64(loud))
	t.levelCount.Add(1)
}

// takeLevel returns and resets the average loudness since the last call; false
// when too few packets arrived to judge.
func (t *publishedTrack) takeLevel() (int, bool) {
	if t.video {
		return 0, false
	}
	sum, n := t.levelSum.Swap(0), t.levelCount.Swap(0)
	if n < 5 {
		return 0, false
	}
	return int(sum / n), true
}

// requestKeyframe sends a PLI for one layer to the publisher, at most once per
// Config.KeyframeRequestInterval.
func (t *publishedTrack) requestKeyframe(l *layer) {
	if !t.video || l == nil {
		return
	}
	now := time.Now().UnixNano()
	last := l.lastPLI.Load()
	if now-last < int64(t.owner.room.sfu.cfg.KeyframeRequestInterval) || !l.lastPLI.CompareAndSwap(last, now) {
		return
	}
	if err := t.owner.pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: l.ssrc}}); err == nil {
		t.owner.room.sfu.metrics.PLIsSent.Inc()
	}
}

// rtcpLoop drains the publisher's RTCP for one layer (sender reports) so the
// receive-side interceptors run.
func (t *publishedTrack) rtcpLoop(l *layer) {
	defer t.owner.wg.Done()
	buf := make([]byte, 1500)
	for {
		var err error
		if l.rid == "" {
			_, _, err = t.receiver.Read(buf)
		} else {
			_, _, err = t.receiver.ReadSimulcast(buf, l.rid)
		}
		if err != nil {
			return
		}
	}
}
