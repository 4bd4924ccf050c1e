package recording

import (
	"bytes"
	"context"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/kaigi/kaigi/internal/blob/blobtest"
	blobdir "github.com/kaigi/kaigi/internal/blob/dir"
	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/sfu"
)

// publisher is a pion peer sending synthetic Opus and VP8 to the SFU; the
// payloads carry marker.
type publisher struct {
	t      *testing.T
	pc     *webrtc.PeerConnection
	p      *sfu.Participant
	audio  *webrtc.TrackLocalStaticRTP
	video  *webrtc.TrackLocalStaticRTP
	marker []byte
	key    atomic.Bool // next video frame is a keyframe
	plis   atomic.Int64
	stop   chan struct{}
	wg     sync.WaitGroup
}

func newPublisher(t *testing.T, room *sfu.Room, id sfu.ParticipantID, marker []byte) *publisher {
	t.Helper()
	m := &webrtc.MediaEngine{}
	if err := m.RegisterDefaultCodecs(); err != nil {
		t.Fatal(err)
	}
	reg := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptors(m, reg); err != nil {
		t.Fatal(err)
	}
	se := webrtc.SettingEngine{}
	se.SetIncludeLoopbackCandidate(true)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetInterfaceFilter(func(name string) bool { return name == "lo" })
	api := webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(reg), webrtc.WithSettingEngine(se))
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	pub := &publisher{t: t, pc: pc, marker: marker, stop: make(chan struct{})}
	pub.key.Store(true)
	if pub.audio, err = webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "mic", "pub"); err != nil {
		t.Fatal(err)
	}
	if pub.video, err = webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8}, "cam", "pub"); err != nil {
		t.Fatal(err)
	}
	for _, tr := range []*webrtc.TrackLocalStaticRTP{pub.audio, pub.video} {
		tx, err := pc.AddTransceiverFromTrack(tr, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
		if err != nil {
			t.Fatal(err)
		}
		pub.wg.Add(1)
		go func() { // count PLIs; the next frame is a keyframe, as an encoder would send
			defer pub.wg.Done()
			for {
				pkts, _, err := tx.Sender().ReadRTCP()
				if err != nil {
					return
				}
				for _, p := range pkts {
					if _, ok := p.(*rtcp.PictureLossIndication); ok {
						pub.plis.Add(1)
						pub.key.Store(true)
					}
				}
			}
		}()
	}
	var mu sync.Mutex // orders signals
	pub.p, err = room.Join(id, sfu.JoinOptions{OnSignal: func(s sfu.Signal) {
		mu.Lock()
		defer mu.Unlock()
		switch s.Type {
		case sfu.SignalAnswer:
			if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: s.SDP}); err != nil {
				t.Errorf("set answer: %v", err)
			}
		case sfu.SignalCandidate:
			_ = pc.AddICECandidate(*s.Candidate)
		case sfu.SignalOffer:
			t.Errorf("unexpected server offer to a lone publisher")
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c != nil {
			_ = pub.p.AddICECandidate(c.ToJSON())
		}
	})
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := pc.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	if err := pub.p.HandleOffer(offer.SDP); err != nil {
		t.Fatal(err)
	}
	pub.wg.Add(1)
	go pub.send()
	t.Cleanup(pub.close)
	return pub
}

// send writes a 20ms Opus packet every 20ms and a two-packet VP8 frame
// every 40ms (keyframes on request and every second).
func (pub *publisher) send() {
	defer pub.wg.Done()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	var aseq, vseq uint16
	var ats, vts uint32
	for n := 0; ; n++ {
		select {
		case <-pub.stop:
			return
		case <-tick.C:
		}
		payload := append([]byte{0xfc}, pub.marker...)
		_ = pub.audio.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: aseq, Timestamp: ats, Marker: true}, Payload: payload})
		aseq++
		ats += 960
		if n%2 != 0 {
			continue
		}
		var frame []byte
		if pub.key.Swap(false) || n%50 == 0 {
			frame = []byte{0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01} // 640x480
		} else {
			frame = []byte{0x11, 0x02, 0x00}
		}
		frame = append(frame, pub.marker...)
		frame = append(frame, make([]byte, 400)...)
		half := len(frame) / 2
		for i, part := range [][]byte{frame[:half], frame[half:]} {
			desc := byte(0x00)
			if i == 0 {
				desc = 0x10 // start of partition
			}
			_ = pub.video.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: vseq, Timestamp: vts, Marker: i == 1}, Payload: append([]byte{desc}, part...)})
			vseq++
		}
		vts += 3600
	}
}

func (pub *publisher) close() {
	select {
	case <-pub.stop:
	default:
		close(pub.stop)
	}
	_ = pub.pc.Close()
	pub.wg.Wait()
}

func newSFU(t *testing.T) *sfu.SFU {
	t.Helper()
	s, err := sfu.New(sfu.Config{UDPAddr: "127.0.0.1:0", TCPAddr: "127.0.0.1:0", IncludeLoopback: true, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// TestRecordingOverWebRTCIsSealedWebM: a publisher sends Opus and VP8 over
// loopback WebRTC; the recording is one WebM with both tracks, stored
// sealed: it reads back through the blob store, and no byte of the blob
// directory holds the plaintext marker the media carried.
func TestRecordingOverWebRTCIsSealedWebM(t *testing.T) {
	if testing.Short() {
		t.Skip("WebRTC over loopback")
	}
	ctx := t.Context()
	keys := blobtest.NewKeys(t)
	blobDir := t.TempDir()
	store, err := blobdir.New(blobDir, keys)
	if err != nil {
		t.Fatal(err)
	}
	tenant, meeting := ids.NewTenant(), ids.New()
	marker := []byte("RECORDING-CANARY-" + ids.New())

	s := newSFU(t)
	room, err := s.Room(sfu.RoomID(meeting))
	if err != nil {
		t.Fatal(err)
	}
	pub := newPublisher(t, room, "alice", marker)
	deadline := time.Now().Add(30 * time.Second)
	for len(room.Tracks()) < 2 {
		if time.Now().After(deadline) {
			t.Fatal("tracks not published")
		}
		time.Sleep(20 * time.Millisecond)
	}
	plis := pub.plis.Load()

	rec := New(Options{Create: func(f File) (io.WriteCloser, error) {
		return NewSealedOutput(context.WithoutCancel(ctx), store, tenant, BlobKey(meeting, f.ID)), nil
	}})
	tap, err := room.StartRecording(rec, sfu.RecordingOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// About three seconds of media (50 audio and 30 video packets a
	// second), however long a busy machine takes to deliver them.
	time.Sleep(3 * time.Second)
	for deadline := time.Now().Add(30 * time.Second); tap.Stats().Packets < 3*80 && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
	}
	tap.Stop()
	files, err := rec.Close()
	if err != nil {
		t.Fatal(err)
	}
	if pub.plis.Load() == plis {
		t.Error("no keyframe request when the recording started")
	}
	if len(files) != 1 {
		t.Fatalf("files = %+v", files)
	}
	f := files[0]
	if f.Participant != "alice" || f.Kind != CameraMicrophone || !f.Audio || !f.Video || f.ContentType != "video/webm" {
		t.Errorf("file = %+v", f)
	}
	if f.Duration < 2*time.Second || f.Duration > 3500*time.Millisecond {
		t.Errorf("duration = %s, want about 3s", f.Duration)
	}
	if st := tap.Stats(); st.Dropped != 0 {
		t.Errorf("stats = %+v", st)
	}

	rc, err := store.Get(ctx, tenant, BlobKey(meeting, f.ID))
	if err != nil {
		t.Fatal(err)
	}
	plain, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(plain)) != f.Bytes || !bytes.Contains(plain, marker) {
		t.Fatalf("blob reads back %d bytes (file says %d), marker present %v", len(plain), f.Bytes, bytes.Contains(plain, marker))
	}
	p := parseWebM(t, plain)
	_, audio := p.track(t, "A_OPUS")
	_, video := p.track(t, "V_VP8")
	if len(video) == 0 || !video[0].key {
		t.Fatal("video does not start with a keyframe")
	}
	if v := p.tracks[1].Video; v.PixelWidth != 640 || v.PixelHeight != 480 {
		t.Errorf("video size %dx%d", v.PixelWidth, v.PixelHeight)
	}
	span := func(bs []block) time.Duration { return time.Duration(bs[len(bs)-1].ms-bs[0].ms) * time.Millisecond }
	if d := span(audio); d < 2*time.Second || len(audio) < 100 {
		t.Errorf("%d audio frames over %s", len(audio), d)
	}
	if d := span(video); d < 1500*time.Millisecond || len(video) < 35 {
		t.Errorf("%d video frames over %s", len(video), d)
	}

	// Confidentiality: the marker is in every audio and video frame, yet
	// nowhere in the blob directory.
	n := 0
	err = filepath.WalkDir(blobDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		n += len(b)
		if bytes.Contains(b, marker) || bytes.Contains(b, []byte("OpusHead")) {
			t.Errorf("%s holds plaintext", path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < len(plain) {
		t.Errorf("blob directory holds %d bytes, less than the %d-byte recording", n, len(plain))
	}
}

// TestRecordingEndsWithTheRoom: closing the room ends the recording; the
// file written so far is kept.
func TestRecordingEndsWithTheRoom(t *testing.T) {
	if testing.Short() {
		t.Skip("WebRTC over loopback")
	}
	s := newSFU(t)
	room, _ := s.Room("closing")
	newPublisher(t, room, "alice", []byte("m"))
	files := &memFiles{}
	rec := New(Options{Create: files.create})
	tap, err := room.StartRecording(rec, sfu.RecordingOptions{})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second)
	room.Close()
	select {
	case <-tap.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("recording still running after the room closed")
	}
	got, err := rec.Close()
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Duration < time.Second {
		t.Fatalf("files = %+v", got)
	}
	parseWebM(t, files.get(t, got[0].ID))
}
