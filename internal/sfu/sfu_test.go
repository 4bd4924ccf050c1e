package sfu

import (
	"errors"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
)

// published waits for the TrackPublished event of a participant's track of a kind.
func published(t *testing.T, rec *eventRecorder, who ParticipantID, kind webrtc.RTPCodecType) TrackInfo {
	t.Helper()
	var info TrackInfo
	waitFor(t, connectTimeout, "track published", func() bool {
		e, ok := rec.find(func(e Event) bool {
			return e.Type == EventTrackPublished && e.Participant == who && e.Track.Kind == kind
		})
		if ok {
			info = *e.Track
		}
		return ok
	})
	return info
}

func receiving(t *testing.T, c *client, id TrackID, n int64) *recvTrack {
	t.Helper()
	var rt *recvTrack
	waitFor(t, connectTimeout, "packets on "+string(id), func() bool {
		rt = c.track(id)
		return rt != nil && rt.packets.Load() >= n
	})
	return rt
}

// startPublisher joins a client that sends audio and video.
func startPublisher(t *testing.T, r *Room, id ParticipantID) (*client, *pubTrack, *pubTrack) {
	t.Helper()
	c := newClient(t, clientOpts{})
	a := c.addAudio()
	v := c.addVideo()[0]
	c.join(r, id, JoinOptions{})
	c.offer()
	c.send(a, false, 'a')
	c.send(v, true, 'v')
	return c, a, v
}

func TestForwardingToSubscribersOverDTLSSRTP(t *testing.T) {
	s, rec := newTestSFU(t, nil)
	r, err := s.Room("forward")
	if err != nil {
		t.Fatal(err)
	}
	pub, _, _ := startPublisher(t, r, "alice")
	audio := published(t, rec, "alice", webrtc.RTPCodecTypeAudio)
	video := published(t, rec, "alice", webrtc.RTPCodecTypeVideo)
	if audio.Source != SourceMicrophone || video.Source != SourceCamera {
		t.Errorf("sources = %s, %s", audio.Source, video.Source)
	}

	// Both subscribers join after the tracks exist: the server offers them.
	subs := []*client{newClient(t, clientOpts{}), newClient(t, clientOpts{})}
	for i, c := range subs {
		c.join(r, ParticipantID([]string{"bob", "carol"}[i]), JoinOptions{})
	}
	for _, c := range subs {
		for _, id := range []TrackID{audio.ID, video.ID} {
			rt := receiving(t, c, id, 20)
			if rt.remote.StreamID() != "alice" {
				t.Errorf("stream id = %q, want the publisher's id", rt.remote.StreamID())
			}
			if rt.bytes.Load() == 0 {
				t.Error("no bytes")
			}
		}
	}
	for _, c := range append(subs, pub) {
		c.waitConnected()
		assertSRTP(t, c.pc)
		if st := c.p.DTLSState(); st != webrtc.DTLSTransportStateConnected {
			t.Errorf("server DTLS state = %s", st)
		}
	}
	if s.Metrics() == nil {
		t.Fatal("no metrics")
	}
}

// assertSRTP checks that the transport is keyed by DTLS-SRTP.
func assertSRTP(t *testing.T, pc *webrtc.PeerConnection) {
	t.Helper()
	found := false
	for _, st := range pc.GetStats() {
		if ts, ok := st.(webrtc.TransportStats); ok {
			found = true
			if ts.DTLSState != webrtc.DTLSTransportStateConnected {
				t.Errorf("DTLS state = %s", ts.DTLSState)
			}
			if ts.SRTPCipher == "" {
				t.Error("no SRTP protection profile negotiated")
			}
		}
	}
	if !found {
		t.Error("no transport stats")
	}
}

func TestLateTrackIsOfferedToExistingSubscriber(t *testing.T) {
	s, rec := newTestSFU(t, nil)
	r, _ := s.Room("late")
	sub := newClient(t, clientOpts{})
	sub.join(r, "bob", JoinOptions{}) // empty room: no offer yet
	_, _, _ = startPublisher(t, r, "alice")
	video := published(t, rec, "alice", webrtc.RTPCodecTypeVideo)
	receiving(t, sub, video.ID, 20)
	// And a participant joining even later gets both tracks at once.
	late := newClient(t, clientOpts{})
	late.join(r, "dave", JoinOptions{})
	audio := published(t, rec, "alice", webrtc.RTPCodecTypeAudio)
	receiving(t, late, video.ID, 20)
	receiving(t, late, audio.ID, 20)
}

func TestPLIFromSubscriberReachesPublisher(t *testing.T) {
	s, rec := newTestSFU(t, nil)
	r, _ := s.Room("pli")
	_, _, v := startPublisher(t, r, "alice")
	video := published(t, rec, "alice", webrtc.RTPCodecTypeVideo)
	sub := newClient(t, clientOpts{})
	sub.join(r, "bob", JoinOptions{})
	rt := receiving(t, sub, video.ID, 20)
	before := v.plis.Load()
	ssrc := uint32(rt.remote.SSRC())
	waitFor(t, connectTimeout, "PLI at the publisher", func() bool {
		if err := sub.pc.WriteRTCP(pliFor(ssrc)); err != nil {
			t.Logf("write PLI: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
		return v.plis.Load() > before
	})
	if got := counterValue(s.Metrics().KeyframeRequestsReceived); got == 0 {
		t.Error("keyframe requests not counted")
	}
}

func TestMuteStopsForwarding(t *testing.T) {
	s, rec := newTestSFU(t, nil)
	r, _ := s.Room("mute")
	_, _, _ = startPublisher(t, r, "alice")
	audio := published(t, rec, "alice", webrtc.RTPCodecTypeAudio)
	video := published(t, rec, "alice", webrtc.RTPCodecTypeVideo)
	sub := newClient(t, clientOpts{})
	sub.join(r, "bob", JoinOptions{})
	ra := receiving(t, sub, audio.ID, 10)
	rv := receiving(t, sub, video.ID, 10)

	p, _ := r.Participant("alice")
	p.SetMuted(webrtc.RTPCodecTypeAudio, true)
	waitFor(t, connectTimeout, "muted event", func() bool {
		_, ok := rec.find(func(e Event) bool { return e.Type == EventTrackMuted && e.Track.Muted })
		return ok
	})
	// Packets in flight drain; then the count must stand still while video flows.
	stable := ra.packets.Load()
	waitFor(t, connectTimeout, "audio to stop", func() bool {
		time.Sleep(200 * time.Millisecond)
		n := ra.packets.Load()
		ok := n == stable
		stable = n
		return ok
	})
	v0 := rv.packets.Load()
	time.Sleep(500 * time.Millisecond)
	if n := ra.packets.Load(); n != stable {
		t.Fatalf("audio still forwarded while muted: %d -> %d", stable, n)
	}
	if rv.packets.Load() <= v0 {
		t.Fatal("video stopped although only audio was muted")
	}
	p.SetMuted(webrtc.RTPCodecTypeAudio, false)
	waitFor(t, connectTimeout, "audio to resume", func() bool { return ra.packets.Load() > stable+5 })
	// No sequence gap after resuming: the down track renumbers.
	ra.mu.Lock()
	defer ra.mu.Unlock()
	var lo, hi uint16
	first := true
	for seq := range ra.seqs {
		if first || int16(seq-lo) < 0 {
			lo = seq
		}
		if first || int16(seq-hi) > 0 {
			hi = seq
		}
		first = false
	}
	if span := int(hi-lo) + 1; span != len(ra.seqs) {
		t.Errorf("audio sequence has gaps: span %d, %d packets", span, len(ra.seqs))
	}
}

func TestRemoveStopsTracksAndFreesGoroutines(t *testing.T) {
	s, rec := newTestSFU(t, nil)
	r, _ := s.Room("remove")
	pubc, _, _ := startPublisher(t, r, "alice")
	video := published(t, rec, "alice", webrtc.RTPCodecTypeVideo)
	sub := newClient(t, clientOpts{})
	sub.join(r, "bob", JoinOptions{})
	rt := receiving(t, sub, video.ID, 10)

	alice, _ := r.Participant("alice")
	done := make(chan struct{})
	go func() { alice.Remove(); close(done) }()
	select {
	case <-done:
	case <-time.After(connectTimeout):
		t.Fatal("Remove did not return: goroutines of the participant did not end")
	}
	pubc.close()
	waitFor(t, connectTimeout, "track to end at the subscriber", rt.ended.Load)
	for _, typ := range []EventType{EventTrackUnpublished, EventParticipantLeft} {
		waitFor(t, connectTimeout, typ.String(), func() bool {
			_, ok := rec.find(func(e Event) bool { return e.Type == typ && e.Participant == "alice" })
			return ok
		})
	}
	if len(r.Tracks()) != 0 {
		t.Errorf("tracks left: %v", r.Tracks())
	}
	if subs := func() []TrackID { p, _ := r.Participant("bob"); return p.Subscriptions() }(); len(subs) != 0 {
		t.Errorf("bob still subscribed to %v", subs)
	}
}

func TestMalformedSignallingReturnsErrors(t *testing.T) {
	s, _ := newTestSFU(t, nil)
	r, _ := s.Room("bad")
	p, err := r.Join("mallory", JoinOptions{OnSignal: func(Signal) {}})
	if err != nil {
		t.Fatal(err)
	}
	huge := make([]byte, 70<<10)
	for i := range huge {
		huge[i] = 'a'
	}
	cases := []struct {
		name string
		call func() error
		want error
	}{
		{"empty offer", func() error { return p.HandleOffer("") }, ErrBadSignal},
		{"garbage offer", func() error { return p.HandleOffer("hello\r\nworld") }, ErrBadSignal},
		{"huge offer", func() error { return p.HandleOffer(string(huge)) }, ErrBadSignal},
		{"offer without media", func() error {
			return p.HandleOffer("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n")
		}, ErrBadSignal},
		{"offer with broken media", func() error {
			return p.HandleOffer("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=sendonly\r\n")
		}, ErrBadSignal},
		{"answer without offer", func() error { return p.HandleAnswer(minimalSDP) }, ErrUnexpectedAnswer},
		{"garbage candidate", func() error {
			if err := p.AddICECandidate(webrtc.ICECandidateInit{Candidate: "candidate:garbage"}); err != nil {
				return err
			}
			return ErrBadSignal // queued: no remote description yet
		}, ErrBadSignal},
		{"oversized candidate", func() error {
			return p.AddICECandidate(webrtc.ICECandidateInit{Candidate: string(huge[:2000])})
		}, ErrBadSignal},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.call(); !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
	// The participant still works: a real client can connect afterwards.
	c := newClient(t, clientOpts{})
	c.addAudio()
	c.join(r, "alice", JoinOptions{})
	c.offer()
	c.waitConnected()
}

const minimalSDP = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=rtpmap:111 opus/48000/2\r\n"

func TestLimits(t *testing.T) {
	s, _ := newTestSFU(t, func(c *Config) {
		c.Limits.ParticipantsPerRoom = 2
		c.Limits.Rooms = 1
	})
	r, err := s.Room("a")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Room("b"); !errors.Is(err, ErrTooManyRooms) {
		t.Errorf("second room: %v", err)
	}
	noop := JoinOptions{OnSignal: func(Signal) {}}
	for _, id := range []ParticipantID{"1", "2"} {
		if _, err := r.Join(id, noop); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := r.Join("1", noop); !errors.Is(err, ErrParticipantExists) && !errors.Is(err, ErrRoomFull) {
		t.Errorf("duplicate: %v", err)
	}
	if _, err := r.Join("3", noop); !errors.Is(err, ErrRoomFull) {
		t.Errorf("third: %v", err)
	}
	if _, err := r.Join("4", JoinOptions{}); err == nil {
		t.Error("join without OnSignal accepted")
	}
	r.Close()
	if _, err := r.Join("5", noop); !errors.Is(err, ErrClosed) {
		t.Errorf("join closed room: %v", err)
	}
	if _, err := s.Room("b"); err != nil {
		t.Errorf("room after close: %v", err)
	}
}

func TestConfigValidation(t *testing.T) {
	cases := []struct {
		name string
		cfg  Config
	}{
		{"bad public ip", Config{UDPAddr: "127.0.0.1:0", TCPAddr: "127.0.0.1:0", PublicIPs: []string{"nope"}}},
		{"short turn secret", Config{UDPAddr: "127.0.0.1:0", TCPAddr: "127.0.0.1:0", TURN: &TURNConfig{UDPAddr: "127.0.0.1:0", Secret: NewTURNSecret([]byte("short"))}}},
		{"nack buffer not power of two", Config{UDPAddr: "127.0.0.1:0", TCPAddr: "127.0.0.1:0", NACKBufferPackets: 100}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := New(tc.cfg); !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("err = %v, want ErrInvalidConfig", err)
			}
		})
	}
}

func TestUnconnectedParticipantIsRemoved(t *testing.T) {
	s, rec := newTestSFU(t, func(c *Config) { c.ConnectTimeout = 300 * time.Millisecond })
	r, _ := s.Room("timeout")
	c := newClient(t, clientOpts{})
	c.addAudio()
	p, err := r.Join("ghost", JoinOptions{OnSignal: func(Signal) {}}) // never answers, never connects
	if err != nil {
		t.Fatal(err)
	}
	o, _ := c.pc.CreateOffer(nil)
	if err := p.HandleOffer(o.SDP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, connectTimeout, "removal", func() bool {
		_, ok := rec.find(func(e Event) bool { return e.Type == EventParticipantLeft && e.Participant == "ghost" })
		return ok
	})
	if _, ok := r.Participant("ghost"); ok {
		t.Error("participant still in the room")
	}
}
