package sfu

import (
	"log/slog"
	"sync"
	"time"
)

const roomEventQueue = 1024

// Room is a set of participants whose published tracks are forwarded to each
// other. It is safe for concurrent use.
type Room struct {
	sfu *SFU
	id  RoomID
	log *slog.Logger

	mu           sync.Mutex
	participants map[ParticipantID]*Participant
	tracks       map[TrackID]*publishedTrack
	closed       bool
	speaker      ParticipantID
	recordings   map[*Recording]struct{}

	events chan Event
	done   chan struct{}
	wg     sync.WaitGroup
}

func newRoom(s *SFU, id RoomID) *Room {
	r := &Room{
		sfu:          s,
		id:           id,
		log:          s.log.With("room", string(id)),
		participants: map[ParticipantID]*Participant{},
		tracks:       map[TrackID]*publishedTrack{},
		events:       make(chan Event, roomEventQueue),
		done:         make(chan struct{}),
	}
	r.wg.Add(2)
	go r.eventLoop()
	go r.speakerLoop()
	return r
}

// ID returns the room's id.
func (r *Room) ID() RoomID { return r.id }

// JoinOptions say how a participant joins.
type JoinOptions struct {
	// OnSignal receives the offers, answers and ICE candidates to send to the
	// client, in order, from one goroutine per participant. Required. It should
	// hand the signal to the connection's send queue and return: while it blocks,
	// further signals wait, and past Limits.PendingSignals the participant is removed.
	OnSignal func(Signal)
	// ReceiveOnly participants may not publish: tracks they send are not forwarded.
	ReceiveOnly bool
}

// Join admits a participant: it creates its peer connection and subscribes it
// to every track already published. The server sends an offer at once if there
// are tracks to receive; otherwise it waits for the client's offer.
func (r *Room) Join(id ParticipantID, opts JoinOptions) (*Participant, error) {
	if opts.OnSignal == nil {
		return nil, ErrInvalidConfig
	}
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil, ErrClosed
	}
	if _, ok := r.participants[id]; ok {
		r.mu.Unlock()
		return nil, ErrParticipantExists
	}
	if len(r.participants) >= r.sfu.cfg.Limits.ParticipantsPerRoom {
		r.mu.Unlock()
		return nil, ErrRoomFull
	}
	p, err := newParticipant(r, id, opts)
	if err != nil {
		r.mu.Unlock()
		return nil, err
	}
	r.participants[id] = p
	existing := make([]*publishedTrack, 0, len(r.tracks))
	for _, t := range r.tracks {
		existing = append(existing, t)
	}
	r.mu.Unlock()
	r.sfu.metrics.Participants.Inc()

	for _, t := range existing {
		p.subscribe(t)
	}
	p.negotiate()
	return p, nil
}

// Participant returns a joined participant.
func (r *Room) Participant(id ParticipantID) (*Participant, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	p, ok := r.participants[id]
	return p, ok
}

// Participants returns the ids of the joined participants.
func (r *Room) Participants() []ParticipantID {
	r.mu.Lock()
	defer r.mu.Unlock()
	ids := make([]ParticipantID, 0, len(r.participants))
	for id := range r.participants {
		ids = append(ids, id)
	}
	return ids
}

// Tracks describes the published tracks.
func (r *Room) Tracks() []TrackInfo {
	r.mu.Lock()
	ts := make([]*publishedTrack, 0, len(r.tracks))
	for _, t := range r.tracks {
		ts = append(ts, t)
	}
	r.mu.Unlock()
	infos := make([]TrackInfo, 0, len(ts))
	for _, t := range ts {
		infos = append(infos, t.info())
	}
	return infos
}

// Close removes every participant and releases the room. The room's id may be
// opened again afterwards with SFU.Room.
func (r *Room) Close() {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return
	}
	r.closed = true
	ps := make([]*Participant, 0, len(r.participants))
	for _, p := range r.participants {
		ps = append(ps, p)
	}
	r.mu.Unlock()
	for _, p := range ps {
		p.Remove()
	}
	r.stopRecordings()
	r.sfu.forgetRoom(r)
	close(r.done)
	r.wg.Wait()
}

// publish registers a track and subscribes every other participant to it. It
// reports false when the room's track limit is reached.
func (r *Room) publish(t *publishedTrack) bool {
	r.mu.Lock()
	if r.closed || len(r.tracks) >= r.sfu.cfg.Limits.TracksPerRoom {
		r.mu.Unlock()
		return false
	}
	r.tracks[t.id] = t
	subs := make([]*Participant, 0, len(r.participants))
	for _, p := range r.participants {
		if p != t.owner {
			subs = append(subs, p)
		}
	}
	recs := r.recordingsLocked()
	r.mu.Unlock()
	for _, rec := range recs {
		rec.attach(t)
	}
	r.sfu.metrics.Tracks.Inc()
	info := t.info()
	r.emit(Event{Type: EventTrackPublished, Participant: t.owner.id, Track: &info})
	for _, p := range subs {
		p.subscribe(t)
		p.negotiate()
	}
	return true
}

// unpublish removes a track from the room and from every subscriber.
func (r *Room) unpublish(t *publishedTrack) {
	r.mu.Lock()
	if r.tracks[t.id] != t {
		r.mu.Unlock()
		return
	}
	delete(r.tracks, t.id)
	r.mu.Unlock()
	t.detachRecs()
	r.sfu.metrics.Tracks.Dec()
	for _, d := range t.detachAll() {
		d.sub.unsubscribe(d)
	}
	info := t.info()
	r.emit(Event{Type: EventTrackUnpublished, Participant: t.owner.id, Track: &info})
}

func (r *Room) removeParticipant(p *Participant) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.participants[p.id] != p {
		return false
	}
	delete(r.participants, p.id)
	if r.speaker == p.id {
		r.speaker = ""
	}
	return true
}

// emit queues an event for OnEvent; it never blocks.
func (r *Room) emit(e Event) {
	if r.sfu.cfg.OnEvent == nil {
		return
	}
	e.Room = r.id
	select {
	case r.events <- e:
	default:
		r.sfu.metrics.EventsDropped.Inc()
		r.log.Warn("sfu event dropped", "type", e.Type.String())
	}
}

func (r *Room) eventLoop() {
	defer r.wg.Done()
	for {
		select {
		case e := <-r.events:
			r.sfu.cfg.OnEvent(e)
		case <-r.done:
			for {
				select {
				case e := <-r.events:
					r.sfu.cfg.OnEvent(e)
				default:
					return
				}
			}
		}
	}
}

// speakerThreshold is the least average loudness (127 - dBov) that counts as
// speaking: -50 dBov.
const speakerThreshold = 127 - 50

func (r *Room) speakerLoop() {
	defer r.wg.Done()
	tick := time.NewTicker(r.sfu.cfg.ActiveSpeakerInterval)
	defer tick.Stop()
	for {
		select {
		case <-r.done:
			return
		case <-tick.C:
			r.detectSpeaker()
		}
	}
}

func (r *Room) detectSpeaker() {
	r.mu.Lock()
	var best ParticipantID
	bestLevel := 0
	for _, t := range r.tracks {
		lvl, ok := t.takeLevel()
		if !ok || lvl < speakerThreshold || t.muted.Load() {
			continue
		}
		if lvl > bestLevel {
			best, bestLevel = t.owner.id, lvl
		}
	}
	changed := best != r.speaker
	if changed {
		r.speaker = best
	}
	r.mu.Unlock()
	if changed {
		r.emit(Event{Type: EventActiveSpeaker, Participant: best, Level: bestLevel})
	}
}
