package sfu

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// sinkRecorder is a RecordingSink that counts what it gets and can be made
// to block.
type sinkRecorder struct {
	mu      sync.Mutex
	started map[TrackID]RecordedTrack
	packets map[TrackID]int
	ended   map[TrackID]bool
	order   []string // "start", "end" per track, to check ordering
	badSeq  int      // packets whose sequence number went backwards
	lastSeq map[TrackID]uint16

	block chan struct{} // when non-nil, WriteRTP waits for it to close
}

func newSinkRecorder() *sinkRecorder {
	return &sinkRecorder{started: map[TrackID]RecordedTrack{}, packets: map[TrackID]int{}, ended: map[TrackID]bool{}, lastSeq: map[TrackID]uint16{}}
}

func (s *sinkRecorder) TrackStarted(t RecordedTrack) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.started[t.ID] = t
	s.order = append(s.order, "start "+string(t.ID))
}

func (s *sinkRecorder) WriteRTP(id TrackID, pkt *rtp.Packet, _ time.Time) {
	s.mu.Lock()
	block := s.block
	if _, ok := s.started[id]; !ok || s.ended[id] {
		s.order = append(s.order, "packet outside start/end "+string(id))
	}
	if last, ok := s.lastSeq[id]; ok && int16(pkt.SequenceNumber-last) <= 0 {
		s.badSeq++
	}
	s.lastSeq[id] = pkt.SequenceNumber
	s.packets[id]++
	s.mu.Unlock()
	if block != nil {
		<-block
	}
}

func (s *sinkRecorder) TrackEnded(id TrackID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ended[id] = true
	s.order = append(s.order, "end "+string(id))
}

func (s *sinkRecorder) count(id TrackID) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.packets[id]
}

func (s *sinkRecorder) isEnded(id TrackID) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ended[id]
}

func TestRecordingTapsCurrentAndLaterTracks(t *testing.T) {
	s, rec := newTestSFU(t, nil)
	r, _ := s.Room("rec")
	pub, _, v := startPublisher(t, r, "alice")
	audio := published(t, rec, "alice", webrtc.RTPCodecTypeAudio)
	video := published(t, rec, "alice", webrtc.RTPCodecTypeVideo)
	pub.waitConnected()
	time.Sleep(600 * time.Millisecond) // past the PLI rate limit of the publisher's first keyframe request
	plis := v.plis.Load()

	sink := newSinkRecorder()
	recording, err := r.StartRecording(sink, RecordingOptions{})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, connectTimeout, "a keyframe request to the video publisher", func() bool { return v.plis.Load() > plis })
	waitFor(t, connectTimeout, "recorded packets", func() bool { return sink.count(audio.ID) >= 20 && sink.count(video.ID) >= 20 })

	// A track published after the recording started is recorded too.
	_, _, _ = startPublisher(t, r, "bob")
	bobAudio := published(t, rec, "bob", webrtc.RTPCodecTypeAudio)
	waitFor(t, connectTimeout, "packets of a later track", func() bool { return sink.count(bobAudio.ID) >= 20 })

	sink.mu.Lock()
	st := sink.started[video.ID]
	sink.mu.Unlock()
	if st.ClockRate != 90000 || st.Participant != "alice" || st.Source != SourceCamera || st.RequestKeyframe == nil {
		t.Errorf("started video = %+v", st)
	}
	recording.Stop()
	recording.Stop() // idempotent
	for _, id := range []TrackID{audio.ID, video.ID, bobAudio.ID} {
		if !sink.isEnded(id) {
			t.Errorf("track %s not ended by Stop", id)
		}
	}
	n := sink.count(audio.ID)
	time.Sleep(200 * time.Millisecond)
	if sink.count(audio.ID) != n {
		t.Error("packets after Stop")
	}
	sink.mu.Lock()
	defer sink.mu.Unlock()
	if sink.badSeq > 0 {
		t.Errorf("%d packets with sequence numbers going backwards", sink.badSeq)
	}
	for _, o := range sink.order {
		if len(o) > 6 && o[:6] == "packet" {
			t.Errorf("sink order: %s", o)
		}
	}
	if st := recording.Stats(); st.Packets == 0 || st.Dropped != 0 {
		t.Errorf("stats = %+v", st)
	}
}

// TestSlowRecordingSinkDoesNotSlowForwarding: a sink that blocks loses
// packets (counted) while subscribers keep receiving.
func TestSlowRecordingSinkDoesNotSlowForwarding(t *testing.T) {
	s, rec := newTestSFU(t, nil)
	r, _ := s.Room("slow")
	_, _, _ = startPublisher(t, r, "alice")
	video := published(t, rec, "alice", webrtc.RTPCodecTypeVideo)
	sub := newClient(t, clientOpts{})
	sub.join(r, "bob", JoinOptions{})
	rt := receiving(t, sub, video.ID, 20)

	sink := newSinkRecorder()
	block := make(chan struct{})
	sink.block = block
	recording, err := r.StartRecording(sink, RecordingOptions{QueuePackets: 16})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, connectTimeout, "the sink to block", func() bool { return recording.Stats().Packets > 0 })
	before := rt.packets.Load()
	waitFor(t, connectTimeout, "forwarding while the sink blocks", func() bool { return rt.packets.Load() >= before+100 })
	if st := recording.Stats(); st.Dropped == 0 {
		t.Errorf("stats = %+v: nothing dropped while the sink blocked", st)
	}
	if sink.count(video.ID)+sink.count(published(t, rec, "alice", webrtc.RTPCodecTypeAudio).ID) > 1 {
		t.Error("sink got more than one packet while blocked")
	}
	close(block)
	recording.Stop()
}

func TestRecordingStopsWhenRoomCloses(t *testing.T) {
	s, rec := newTestSFU(t, nil)
	r, _ := s.Room("closing")
	_, _, _ = startPublisher(t, r, "alice")
	audio := published(t, rec, "alice", webrtc.RTPCodecTypeAudio)
	sink := newSinkRecorder()
	recording, err := r.StartRecording(sink, RecordingOptions{})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, connectTimeout, "recorded packets", func() bool { return sink.count(audio.ID) >= 10 })
	r.Close()
	select {
	case <-recording.Done():
	default:
		t.Fatal("recording not done after the room closed")
	}
	if !sink.isEnded(audio.ID) {
		t.Error("track not ended")
	}
	recording.Stop() // still fine
	if _, err := r.StartRecording(sink, RecordingOptions{}); !errors.Is(err, ErrClosed) {
		t.Errorf("StartRecording on a closed room: %v", err)
	}
}

func TestRecordingLimitPerRoom(t *testing.T) {
	s, _ := newTestSFU(t, nil)
	r, _ := s.Room("limit")
	for range maxRecordingsPerRoom {
		rec, err := r.StartRecording(newSinkRecorder(), RecordingOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer rec.Stop()
	}
	if _, err := r.StartRecording(newSinkRecorder(), RecordingOptions{}); !errors.Is(err, ErrTooManyRecordings) {
		t.Errorf("err = %v, want ErrTooManyRecordings", err)
	}
}
