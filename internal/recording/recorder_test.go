package recording

import (
	"bytes"
	"errors"
	"io"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/at-wat/ebml-go"
	"github.com/at-wat/ebml-go/webm"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/kaigi/kaigi/internal/sfu"
)

// memFiles collects the files a Recorder creates, in memory.
type memFiles struct {
	mu    sync.Mutex
	files map[string]*memFile
	fail  func(File) error
}

type memFile struct {
	bytes.Buffer
	closed bool
}

func (f *memFile) Close() error { f.closed = true; return nil }

func (m *memFiles) create(f File) (io.WriteCloser, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		if err := m.fail(f); err != nil {
			return nil, err
		}
	}
	if m.files == nil {
		m.files = map[string]*memFile{}
	}
	mf := &memFile{}
	m.files[f.ID] = mf
	return mf, nil
}

func (m *memFiles) get(t *testing.T, id string) []byte {
	t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	f := m.files[id]
	if f == nil || !f.closed {
		t.Fatalf("file %s missing or not closed", id)
	}
	return f.Bytes()
}

// synthetic RTP for the Recorder: Opus every 20ms, VP8 at 25 fps in two
// packets per frame, a keyframe every second.
type synth struct {
	info    sfu.RecordedTrack
	seq     uint16
	ts      uint32
	frame   int
	keyReqs atomic.Int64
	marker  []byte
}

func newSynth(id sfu.TrackID, who sfu.ParticipantID, kind webrtc.RTPCodecType, src sfu.Source) *synth {
	s := &synth{ts: 0xffff0000, seq: 65500} // both wrap soon
	s.info = sfu.RecordedTrack{TrackInfo: sfu.TrackInfo{ID: id, Participant: who, Kind: kind, Source: src}}
	if kind == webrtc.RTPCodecTypeAudio {
		s.info.MimeType, s.info.ClockRate, s.info.Channels = webrtc.MimeTypeOpus, 48000, 2
	} else {
		s.info.MimeType, s.info.ClockRate = webrtc.MimeTypeVP8, 90000
	}
	s.info.RequestKeyframe = func() { s.keyReqs.Add(1) }
	return s
}

func (s *synth) video() bool { return s.info.Kind == webrtc.RTPCodecTypeVideo }

// period is the time between frames.
func (s *synth) period() time.Duration {
	if s.video() {
		return 40 * time.Millisecond
	}
	return 20 * time.Millisecond
}

// packets returns the next frame's packets; key forces a keyframe.
func (s *synth) packets(key bool) []*rtp.Packet {
	defer func() { s.frame++ }()
	hdr := func(marker bool) rtp.Header {
		h := rtp.Header{Version: 2, SequenceNumber: s.seq, Timestamp: s.ts, Marker: marker}
		s.seq++
		return h
	}
	if !s.video() {
		p := append([]byte{0xfc}, s.marker...)
		p = append(p, make([]byte, 40)...)
		pk := &rtp.Packet{Header: hdr(true), Payload: p}
		s.ts += 960
		return []*rtp.Packet{pk}
	}
	var frame []byte
	if key || s.frame%25 == 0 {
		frame = []byte{0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x40, 0x01, 0xf0, 0x00} // 320x240
	} else {
		frame = []byte{0x11, 0x02, 0x00}
	}
	frame = append(frame, s.marker...)
	frame = append(frame, make([]byte, 300)...)
	half := len(frame) / 2
	p1 := &rtp.Packet{Header: hdr(false), Payload: append([]byte{0x10}, frame[:half]...)}
	p2 := &rtp.Packet{Header: hdr(true), Payload: append([]byte{0x00}, frame[half:]...)}
	s.ts += 3600
	return []*rtp.Packet{p1, p2}
}

// play feeds tracks' packets to r in time order from t0 for d; a track is
// sent only while its window [from, to) holds.
type window struct {
	s        *synth
	from, to time.Duration
	startKey bool // first frame is a keyframe (else an interframe)
}

func play(r *Recorder, t0 time.Time, d time.Duration, ws ...window) {
	type ev struct {
		at time.Duration
		w  int
	}
	var evs []ev
	for i, w := range ws {
		for at := w.from; at < w.to && at < d; at += w.s.period() {
			evs = append(evs, ev{at, i})
		}
	}
	sort.SliceStable(evs, func(a, b int) bool { return evs[a].at < evs[b].at })
	started := map[int]bool{}
	for _, e := range evs {
		w := ws[e.w]
		if !started[e.w] {
			started[e.w] = true
			r.TrackStarted(w.s.info)
			if w.s.video() && !w.startKey {
				w.s.frame = 1
			}
		}
		for _, p := range w.s.packets(false) {
			r.WriteRTP(w.s.info.ID, p, t0.Add(e.at))
		}
	}
}

// parsed is a WebM file read back.
type parsed struct {
	tracks []webm.TrackEntry
	blocks map[uint64][]block // by track number
}

type block struct {
	ms  int64
	key bool
	n   int
}

func parseWebM(t *testing.T, b []byte) parsed {
	t.Helper()
	var doc struct {
		Header  webm.EBMLHeader `ebml:"EBML"`
		Segment webm.Segment    `ebml:"Segment"`
	}
	if err := ebml.Unmarshal(bytes.NewReader(b), &doc); err != nil {
		t.Fatalf("parse WebM: %v", err)
	}
	if doc.Header.DocType != "webm" {
		t.Fatalf("doc type %q", doc.Header.DocType)
	}
	if doc.Segment.Info.TimecodeScale != 1000000 {
		t.Errorf("timecode scale %d", doc.Segment.Info.TimecodeScale)
	}
	p := parsed{tracks: doc.Segment.Tracks.TrackEntry, blocks: map[uint64][]block{}}
	last := int64(-1)
	for _, c := range doc.Segment.Cluster {
		for _, sb := range c.SimpleBlock {
			ms := int64(c.Timecode) + int64(sb.Timecode)
			if ms < last {
				t.Errorf("block at %dms after one at %dms", ms, last)
			}
			last = ms
			p.blocks[sb.TrackNumber] = append(p.blocks[sb.TrackNumber], block{ms: ms, key: sb.Keyframe, n: len(sb.Data[0])})
		}
	}
	return p
}

func (p parsed) track(t *testing.T, codec string) (uint64, []block) {
	t.Helper()
	for _, e := range p.tracks {
		if e.CodecID == codec {
			return e.TrackNumber, p.blocks[e.TrackNumber]
		}
	}
	t.Fatalf("no %s track in %+v", codec, p.tracks)
	return 0, nil
}

func near(got, want, tol time.Duration) bool { return got >= want-tol && got <= want+tol }

func TestCameraAndMicrophoneInOneWebM(t *testing.T) {
	files := &memFiles{}
	r := New(Options{Create: files.create})
	mic := newSynth("TRa", "alice", webrtc.RTPCodecTypeAudio, sfu.SourceMicrophone)
	cam := newSynth("TRv", "alice", webrtc.RTPCodecTypeVideo, sfu.SourceCamera)
	t0 := time.Unix(1700000000, 0)
	play(r, t0, 4*time.Second, window{s: mic, to: time.Hour}, window{s: cam, from: 100 * time.Millisecond, to: time.Hour, startKey: false})
	got, err := r.Close()
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 {
		t.Fatalf("files = %+v", got)
	}
	f := got[0]
	if f.Kind != CameraMicrophone || f.Participant != "alice" || !f.Audio || !f.Video || f.ContentType != "video/webm" {
		t.Errorf("file = %+v", f)
	}
	if !near(f.Duration, 4*time.Second, 200*time.Millisecond) {
		t.Errorf("duration = %s, want about 4s", f.Duration)
	}
	b := files.get(t, f.ID)
	if f.Bytes != int64(len(b)) {
		t.Errorf("Bytes = %d, file has %d", f.Bytes, len(b))
	}
	p := parseWebM(t, b)
	if len(p.tracks) != 2 || p.tracks[0].CodecID != "A_OPUS" {
		t.Fatalf("tracks = %+v (audio first)", p.tracks)
	}
	if !bytes.HasPrefix(p.tracks[0].CodecPrivate, []byte("OpusHead")) || p.tracks[0].Audio.SamplingFrequency != 48000 {
		t.Errorf("opus track = %+v", p.tracks[0])
	}
	_, audio := p.track(t, "A_OPUS")
	_, video := p.track(t, "V_VP8")
	if v := p.tracks[1].Video; v == nil || v.PixelWidth != 320 || v.PixelHeight != 240 {
		t.Errorf("video = %+v", p.tracks[1].Video)
	}
	// Video started with interframes: the file's video starts at the first
	// keyframe (frame 25, 1.06s in), and the Recorder asked for one.
	if len(video) == 0 || !video[0].key {
		t.Fatalf("video does not start with a keyframe: %+v", video[:min(3, len(video))])
	}
	if cam.keyReqs.Load() == 0 {
		t.Error("no keyframe requested")
	}
	// 4s of 20ms audio; the last packets wait in the sample builder until
	// Close flushes them.
	if n := len(audio); n < 195 || n > 200 {
		t.Errorf("%d audio frames, want about 200", n)
	}
	if n := len(video); n < 70 || n > 76 {
		t.Errorf("%d video frames, want about 75 (3s at 25 fps)", n)
	}
	// Timestamps: audio frames 20ms apart from 0, video from the keyframe
	// at 1.06s on the same timeline.
	if audio[0].ms != 0 || audio[100].ms != 2000 {
		t.Errorf("audio at %d, %d ms; want 0, 2000", audio[0].ms, audio[100].ms)
	}
	if d := video[0].ms; d != 1060 {
		t.Errorf("first video frame at %dms, want 1060", d)
	}
	if d := video[25].ms - video[0].ms; d != 1000 {
		t.Errorf("25 video frames span %dms, want 1000", d)
	}
}

func TestLateCameraStartsANewFile(t *testing.T) {
	files := &memFiles{}
	r := New(Options{Create: files.create})
	mic := newSynth("TRa", "alice", webrtc.RTPCodecTypeAudio, sfu.SourceMicrophone)
	cam := newSynth("TRv", "alice", webrtc.RTPCodecTypeVideo, sfu.SourceCamera)
	screen := newSynth("TRs", "alice", webrtc.RTPCodecTypeVideo, sfu.SourceScreen)
	bob := newSynth("TRb", "bob", webrtc.RTPCodecTypeAudio, sfu.SourceMicrophone)
	t0 := time.Unix(1700000000, 0)
	play(r, t0, 6*time.Second,
		window{s: mic, to: time.Hour},
		window{s: cam, from: 3 * time.Second, to: time.Hour, startKey: true},
		window{s: screen, from: time.Second, to: 2 * time.Second, startKey: true},
		window{s: bob, from: 500 * time.Millisecond, to: 1500 * time.Millisecond},
	)
	r.TrackEnded(bob.info.ID)
	got, err := r.Close()
	if err != nil {
		t.Fatal(err)
	}
	type key struct {
		who   string
		kind  Kind
		video bool
	}
	byKey := map[key]File{}
	for _, f := range got {
		byKey[key{f.Participant, f.Kind, f.Video}] = f
	}
	if len(got) != 4 {
		t.Fatalf("files = %+v", got)
	}
	first := byKey[key{"alice", CameraMicrophone, false}]
	second := byKey[key{"alice", CameraMicrophone, true}]
	scr := byKey[key{"alice", Screen, true}]
	b := byKey[key{"bob", CameraMicrophone, false}]
	if first.ContentType != "audio/webm" || !near(first.Duration, 3*time.Second, 100*time.Millisecond) {
		t.Errorf("microphone only file = %+v", first)
	}
	if !near(second.Start.Sub(first.Start), 3*time.Second, 50*time.Millisecond) || !near(second.Duration, 3*time.Second, 100*time.Millisecond) {
		t.Errorf("second file = %+v (first %+v)", second, first)
	}
	if !near(scr.Start.Sub(t0), time.Second, 50*time.Millisecond) || scr.Audio || !near(scr.Duration, time.Second, 100*time.Millisecond) {
		t.Errorf("screen file = %+v", scr)
	}
	if !near(b.Start.Sub(t0), 500*time.Millisecond, 50*time.Millisecond) || !near(b.Duration, time.Second, 100*time.Millisecond) {
		t.Errorf("bob's file = %+v", b)
	}
	p := parseWebM(t, files.get(t, second.ID))
	if len(p.tracks) != 2 {
		t.Errorf("second file tracks = %+v", p.tracks)
	}
	_, audio := p.track(t, "A_OPUS")
	if audio[0].ms > 100 {
		t.Errorf("second file's audio starts at %dms", audio[0].ms)
	}
}

func TestFailedFileIsReportedOthersKept(t *testing.T) {
	files := &memFiles{fail: func(f File) error {
		if f.Participant == "bob" {
			return errors.New("disk full")
		}
		return nil
	}}
	r := New(Options{Create: files.create})
	a := newSynth("TRa", "alice", webrtc.RTPCodecTypeAudio, sfu.SourceMicrophone)
	b := newSynth("TRb", "bob", webrtc.RTPCodecTypeAudio, sfu.SourceMicrophone)
	play(r, time.Unix(1700000000, 0), 3*time.Second, window{s: a, to: time.Hour}, window{s: b, to: time.Hour})
	got, err := r.Close()
	if err == nil || len(got) != 1 || got[0].Participant != "alice" {
		t.Errorf("files %+v, err %v: want alice's file and bob's error", got, err)
	}
	if again, err := r.Close(); again != nil || err != nil {
		t.Error("second Close returned something")
	}
}

func TestUnsupportedCodecSkipped(t *testing.T) {
	files := &memFiles{}
	r := New(Options{Create: files.create})
	h := newSynth("TRh", "alice", webrtc.RTPCodecTypeVideo, sfu.SourceCamera)
	h.info.MimeType = webrtc.MimeTypeH264
	play(r, time.Unix(1700000000, 0), time.Second, window{s: h, to: time.Hour, startKey: true})
	if got, err := r.Close(); len(got) != 0 || err != nil {
		t.Errorf("files %+v, err %v", got, err)
	}
}
