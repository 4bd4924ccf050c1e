package sfu

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"
)

// maxRecordingsPerRoom bounds concurrent recordings of one room: each costs a
// copy of every packet.
const maxRecordingsPerRoom = 2

// RecordingOptions configure a recording. The zero value takes the defaults.
type RecordingOptions struct {
	// QueuePackets is how many packets may wait for the sink. When the sink
	// falls further behind, packets are dropped (and counted in
	// RecordingStats.Dropped); a dropped video packet makes the recording skip
	// that track to its next keyframe. Default 4096 (about two seconds of a
	// busy room).
	QueuePackets int
}

// RecordedTrack describes a track as a recording sees it.
type RecordedTrack struct {
	TrackInfo
	// ClockRate is the codec's RTP clock rate (48000 for Opus, 90000 for video).
	ClockRate uint32
	// Channels is the audio codec's channel count; 0 for video.
	Channels uint16
	// RequestKeyframe asks the publisher of a video track for a keyframe
	// (rate-limited by Config.KeyframeRequestInterval), e.g. to start a new
	// file. It does nothing for audio or after the track ended.
	RequestKeyframe func()
}

// RecordingSink receives what a recording taps. Its methods are called from
// one goroutine per recording, in order, never concurrently. While a method
// blocks, packets queue and, past RecordingOptions.QueuePackets, are dropped:
// forwarding to subscribers never waits for a sink.
type RecordingSink interface {
	// TrackStarted announces a track before its first packet.
	TrackStarted(t RecordedTrack)
	// WriteRTP delivers one packet of a started track, with the time it
	// arrived at the SFU. Per track, sequence numbers and timestamps are
	// continuous across simulcast layer switches and mutes (a mute shows as
	// a gap in timestamps as long as the mute); a gap in sequence numbers
	// means packets were lost or dropped. The sink owns pkt.
	WriteRTP(track TrackID, pkt *rtp.Packet, at time.Time)
	// TrackEnded says a started track sends no more packets: it was
	// unpublished, or the recording stopped.
	TrackEnded(track TrackID)
}

// RecordingStats count a recording's packets.
type RecordingStats struct {
	// Packets is how many packets were queued for the sink.
	Packets uint64
	// Dropped is how many packets were dropped because the sink fell behind.
	Dropped uint64
}

// Recording taps the published tracks of a room for a RecordingSink: every
// audio and video track published now or later, until Stop or until the room
// closes. Its methods are safe for concurrent use.
type Recording struct {
	room *Room
	sink RecordingSink

	q    chan recPacket
	kick chan struct{} // wakes the worker when a track ends

	mu      sync.Mutex
	taps    map[*publishedTrack]*recTap
	ended   []*recTap // ended taps the worker has not yet told the sink about
	stopped bool

	quit     chan struct{}
	done     chan struct{}
	stopOnce sync.Once

	packets, dropped atomic.Uint64
	halted           atomic.Bool // set first by Stop: taps stop queueing
}

type recPacket struct {
	tap *recTap
	pkt *rtp.Packet
	at  int64 // unix nanos
}

// StartRecording starts tapping the room's tracks into sink: those published
// now and those published later. Video publishers are asked for a keyframe so
// the recording can start at once. It fails with ErrClosed when the room is
// closed and ErrTooManyRecordings when the room is already recorded twice.
func (r *Room) StartRecording(sink RecordingSink, opts RecordingOptions) (*Recording, error) {
	if opts.QueuePackets <= 0 {
		opts.QueuePackets = 4096
	}
	rec := &Recording{
		room: r,
		sink: sink,
		q:    make(chan recPacket, opts.QueuePackets),
		kick: make(chan struct{}, 1),
		taps: map[*publishedTrack]*recTap{},
		quit: make(chan struct{}),
		done: make(chan struct{}),
	}
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil, ErrClosed
	}
	if len(r.recordings) >= maxRecordingsPerRoom {
		r.mu.Unlock()
		return nil, ErrTooManyRecordings
	}
	if r.recordings == nil {
		r.recordings = map[*Recording]struct{}{}
	}
	r.recordings[rec] = struct{}{}
	tracks := make([]*publishedTrack, 0, len(r.tracks))
	for _, t := range r.tracks {
		tracks = append(tracks, t)
	}
	r.wg.Add(1)
	r.mu.Unlock()
	go rec.run()
	for _, t := range tracks {
		rec.attach(t)
	}
	r.log.Info("sfu recording started", "tracks", len(tracks))
	return rec, nil
}

// Stop ends the recording: it stops tapping, hands the sink every packet
// already queued, ends every started track with TrackEnded and returns when
// the sink will be called no more. It is idempotent and safe to call after
// the room closed (which stops the recording itself).
func (rec *Recording) Stop() {
	rec.stopOnce.Do(func() {
		rec.halted.Store(true)
		rec.mu.Lock()
		rec.stopped = true
		taps := make([]*recTap, 0, len(rec.taps))
		for _, tap := range rec.taps {
			taps = append(taps, tap)
		}
		rec.taps = map[*publishedTrack]*recTap{}
		rec.mu.Unlock()
		for _, tap := range taps {
			tap.pt.detachRec(tap)
		}
		close(rec.quit)
		<-rec.done
		r := rec.room
		r.mu.Lock()
		delete(r.recordings, rec)
		r.mu.Unlock()
		s := rec.Stats()
		r.log.Info("sfu recording stopped", "packets", s.Packets, "dropped", s.Dropped)
	})
	<-rec.done
}

// Done is closed when the recording has stopped, by Stop or because the room
// closed.
func (rec *Recording) Done() <-chan struct{} { return rec.done }

// Stats returns the recording's packet counts so far.
func (rec *Recording) Stats() RecordingStats {
	return RecordingStats{Packets: rec.packets.Load(), Dropped: rec.dropped.Load()}
}

// attach starts tapping a track, once.
func (rec *Recording) attach(t *publishedTrack) {
	rec.mu.Lock()
	if rec.stopped || rec.taps[t] != nil {
		rec.mu.Unlock()
		return
	}
	tap := &recTap{rec: rec, pt: t, rewriter: rewriter{resync: true}}
	rec.taps[t] = tap
	rec.mu.Unlock()
	t.attachRec(tap)
	if rec.halted.Load() { // Stop ran meanwhile and may have missed the tap
		t.detachRec(tap)
		return
	}
	if t.video {
		t.requestKeyframe(tap.wanted())
	}
}

// trackEnded is called when a tapped track is unpublished.
func (rec *Recording) trackEnded(tap *recTap) {
	rec.mu.Lock()
	if rec.taps[tap.pt] != tap {
		rec.mu.Unlock()
		return
	}
	delete(rec.taps, tap.pt)
	rec.ended = append(rec.ended, tap)
	rec.mu.Unlock()
	select {
	case rec.kick <- struct{}{}:
	default:
	}
}

// run hands queued packets to the sink until the recording stops.
func (rec *Recording) run() {
	defer rec.room.wg.Done()
	defer close(rec.done)
	started := map[*recTap]bool{}
	deliver := func(p recPacket) {
		if p.tap.isEnded() {
			return
		}
		if !started[p.tap] {
			started[p.tap] = true
			rec.sink.TrackStarted(p.tap.describe())
		}
		rec.sink.WriteRTP(p.tap.pt.id, p.pkt, time.Unix(0, p.at))
	}
	// endTracks tells the sink about ended tracks; it runs only when the
	// queue is empty, so every packet queued before a track ended is
	// delivered first.
	endTracks := func(all bool) {
		rec.mu.Lock()
		ended := rec.ended
		rec.ended = nil
		rec.mu.Unlock()
		for _, tap := range ended {
			tap.end()
		}
		for tap := range started {
			if all || tap.isEnded() {
				tap.end()
				delete(started, tap)
				rec.sink.TrackEnded(tap.pt.id)
			}
		}
	}
	for {
		select {
		case p := <-rec.q:
			deliver(p)
		case <-rec.kick:
		case <-rec.quit:
			for {
				select {
				case p := <-rec.q:
					deliver(p)
				default:
					endTracks(true)
					return
				}
			}
		}
		if len(rec.q) == 0 {
			endTracks(false)
		}
	}
}

// enqueue queues a packet for the sink without blocking; it reports false
// when the queue is full.
func (rec *Recording) enqueue(p recPacket) bool {
	select {
	case rec.q <- p:
		rec.packets.Add(1)
		return true
	default:
		rec.dropped.Add(1)
		return false
	}
}

// stopRecordings stops the room's recordings when it closes.
func (r *Room) stopRecordings() {
	r.mu.Lock()
	recs := make([]*Recording, 0, len(r.recordings))
	for rec := range r.recordings {
		recs = append(recs, rec)
	}
	r.mu.Unlock()
	for _, rec := range recs {
		rec.Stop()
	}
}

// recordingsLocked returns the room's recordings; r.mu must be held.
func (r *Room) recordingsLocked() []*Recording {
	recs := make([]*Recording, 0, len(r.recordings))
	for rec := range r.recordings {
		recs = append(recs, rec)
	}
	return recs
}

// attachRec adds a recording's tap to the track (copy on write, like down
// tracks) and points it at the best layer.
func (t *publishedTrack) attachRec(tap *recTap) {
	t.mu.Lock()
	defer t.mu.Unlock()
	tap.setWant(t.pickLocked(QualityHigh))
	var old []*recTap
	if p := t.recs.Load(); p != nil {
		old = *p
	}
	next := make([]*recTap, len(old), len(old)+1)
	copy(next, old)
	next = append(next, tap)
	t.recs.Store(&next)
}

func (t *publishedTrack) detachRec(tap *recTap) {
	t.mu.Lock()
	defer t.mu.Unlock()
	p := t.recs.Load()
	if p == nil {
		return
	}
	next := make([]*recTap, 0, len(*p))
	for _, o := range *p {
		if o != tap {
			next = append(next, o)
		}
	}
	t.recs.Store(&next)
}

// detachRecs removes every recording's tap from an unpublished track and
// tells the recordings the track ended.
func (t *publishedTrack) detachRecs() {
	t.mu.Lock()
	p := t.recs.Swap(nil)
	t.mu.Unlock()
	if p == nil {
		return
	}
	for _, tap := range *p {
		tap.rec.trackEnded(tap)
	}
}

// writeRecs hands a forwarded packet to the track's recordings.
func (t *publishedTrack) writeRecs(l *layer, pkt *rtp.Packet, now int64) {
	if p := t.recs.Load(); p != nil {
		for _, tap := range *p {
			tap.write(l, pkt, now)
		}
	}
}

// pickRecLayersLocked points the recordings at the best layer after a new
// one appeared; t.mu must be held.
func (t *publishedTrack) pickRecLayersLocked() {
	if p := t.recs.Load(); p != nil {
		for _, tap := range *p {
			tap.setWant(t.pickLocked(QualityHigh))
		}
	}
}

// recTap is one recording's view of one published track: it picks the best
// simulcast layer and, like a down track, rewrites sequence numbers and
// timestamps so layer switches, mutes and drops leave a continuous stream.
type recTap struct {
	rec *Recording
	pt  *publishedTrack

	ended atomic.Bool

	mu sync.Mutex
	rewriter
}

func (tap *recTap) isEnded() bool { return tap.ended.Load() }
func (tap *recTap) end()          { tap.ended.Store(true) }

func (tap *recTap) describe() RecordedTrack {
	c := tap.pt.codec
	return RecordedTrack{TrackInfo: tap.pt.info(), ClockRate: c.ClockRate, Channels: c.Channels,
		RequestKeyframe: tap.requestKeyframe}
}

func (tap *recTap) requestKeyframe() {
	if tap.isEnded() {
		return
	}
	tap.mu.Lock()
	l := tap.cur
	if l == nil {
		l = tap.want
	}
	tap.mu.Unlock()
	tap.pt.requestKeyframe(l)
}

func (tap *recTap) setWant(l *layer) {
	tap.mu.Lock()
	defer tap.mu.Unlock()
	tap.want = l
}

func (tap *recTap) wanted() *layer {
	tap.mu.Lock()
	defer tap.mu.Unlock()
	return tap.want
}

// write queues one packet of layer l if it is the layer being recorded,
// switching layers and resuming only at keyframes.
func (tap *recTap) write(l *layer, pkt *rtp.Packet, now int64) {
	if tap.rec.halted.Load() {
		return
	}
	tap.mu.Lock()
	defer tap.mu.Unlock()
	t := tap.pt
	// Leave a gap of one sequence number at a resync: the sink must not
	// join the frame cut short before it to the next.
	seq, ts, ok := tap.rewrite(t, l, pkt, now, 2)
	if !ok {
		return
	}
	out := &rtp.Packet{Header: rtp.Header{
		Version: 2, Marker: pkt.Marker, PayloadType: pkt.PayloadType,
		SequenceNumber: seq, Timestamp: ts, SSRC: pkt.SSRC,
	}, Payload: append([]byte(nil), pkt.Payload...)}
	if !tap.rec.enqueue(recPacket{tap: tap, pkt: out, at: now}) && t.video {
		// The frame this packet belongs to is lost: skip to the next keyframe.
		tap.resync = true
		t.requestKeyframe(l)
	}
}
