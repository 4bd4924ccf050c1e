package recording

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"
	"github.com/pion/webrtc/v4/pkg/media/samplebuilder"

	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/sfu"
)

// Kind says what a recorded file holds.
type Kind string

// Kinds of recorded files.
const (
	// CameraMicrophone is a participant's microphone and camera.
	CameraMicrophone Kind = "camera+microphone"
	// Screen is a participant's screen share, with its audio if shared.
	Screen Kind = "screen"
)

// Content types of recorded files.
const (
	ContentTypeVideo = "video/webm"
	ContentTypeAudio = "audio/webm" // a file without a video track
)

// File is one recorded WebM file.
type File struct {
	// ID names the file, unique among recordings; Options.Create decides
	// where it goes.
	ID          string
	Participant string
	Kind        Kind
	// ContentType is ContentTypeVideo, or ContentTypeAudio for a file with
	// no video track.
	ContentType string
	// Start is when the file's first frame arrived at the SFU: files of one
	// recording line up by Start.
	Start time.Time
	// Duration is from the first frame to the end of the last.
	Duration time.Duration
	// Bytes is the size of the WebM file (before sealing).
	Bytes int64
	// Audio and Video say which tracks the file has.
	Audio, Video bool
}

// Options configure a Recorder.
type Options struct {
	// Create opens the destination of a new file, whose ID, Participant, Kind,
	// ContentType, Start, Audio and Video are set. Required. Close must commit
	// the file and report whether it was stored; after a Write error the
	// Recorder still calls Close, and treats the file as lost.
	Create func(f File) (io.WriteCloser, error)
	// Settle is how long a new file waits for all of a participant's tracks
	// of its kind (the camera's first keyframe, say) before it starts with
	// those that have sent something. Default 2s.
	Settle time.Duration
	// Log receives warnings. Default slog.Default().
	Log *slog.Logger
}

// Frames of different tracks are interleaved in time order; a frame waits
// at most maxSkew for a slower track's frames.
const (
	maxSkew      = time.Second
	maxPending   = 4000 // frames a file waiting to start holds at most
	videoMaxLate = 512  // packets the sample builders wait for a late one
	audioMaxLate = 64
)

// Recorder turns the packets of a recording (it is an sfu.RecordingSink)
// into WebM files: one per participant for microphone and camera, one per
// screen share. Its methods are safe for concurrent use.
type Recorder struct {
	opts Options
	log  *slog.Logger

	mu      sync.Mutex
	start   time.Time // arrival of the first packet
	tracks  map[sfu.TrackID]*track
	groups  []*group
	files   []File
	errs    []error
	closed  bool
	skipped map[sfu.TrackID]bool
}

var _ sfu.RecordingSink = (*Recorder)(nil)

// New returns a Recorder writing files through opts.Create.
func New(opts Options) *Recorder {
	if opts.Settle <= 0 {
		opts.Settle = 2 * time.Second
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	return &Recorder{opts: opts, log: opts.Log, tracks: map[sfu.TrackID]*track{}, skipped: map[sfu.TrackID]bool{}}
}

// track is one recorded track: its sample builder and timeline.
type track struct {
	info  sfu.RecordedTrack
	video bool
	g     *group
	sb    *samplebuilder.SampleBuilder

	haveBase bool
	base     time.Duration // arrival of the first packet, on the recording's timeline
	ts0      uint32        // RTP timestamp of the first packet
	lastTS   uint32        // RTP timestamp of the last sample
	ext      int64         // lastTS unwrapped, relative to ts0

	keyed         bool // video: a keyframe was seen since it joined its segment
	width, height uint16
	lastFrame     time.Duration // time of the last frame it produced
	ended         bool
}

// group is a participant's tracks of one kind: at most one audio and one
// video track at a time, recorded into one file after another (a new one
// each time a track joins while a file is being written).
type group struct {
	participant sfu.ParticipantID
	kind        Kind
	live        []*track
	seg         *segment
}

// segment is one file: pending until its header can be written, then active.
type segment struct {
	g       *group
	tracks  []*track // in the file, audio first once active
	opened  time.Duration
	pending []frame // before the header is written
	queue   []frame // written, sorted by time, waiting for slower tracks
	active  bool
	failed  bool
	err     error // why it failed

	file     File
	out      *countingWriter
	ww       *webmWriter
	first    time.Duration
	last     time.Duration
	lastDur  time.Duration
	anyFrame bool
}

type frame struct {
	t    *track
	at   time.Duration
	dur  time.Duration
	key  bool
	data []byte
}

// TrackStarted implements sfu.RecordingSink.
func (r *Recorder) TrackStarted(info sfu.RecordedTrack) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return
	}
	var (
		depack rtp.Depacketizer
		late   uint16
		video  bool
	)
	switch {
	case strings.EqualFold(info.MimeType, webrtc.MimeTypeOpus):
		depack, late = &codecs.OpusPacket{}, audioMaxLate
	case strings.EqualFold(info.MimeType, webrtc.MimeTypeVP8):
		depack, late, video = &codecs.VP8Packet{}, videoMaxLate, true
	default:
		// WebM carries Opus and VP8; the SFU's clients prefer them.
		r.log.Warn("recording: track codec not recorded", "participant", string(info.Participant), "track", string(info.ID), "codec", info.MimeType)
		r.skipped[info.ID] = true
		return
	}
	kind := CameraMicrophone
	if info.Source == sfu.SourceScreen || info.Source == sfu.SourceScreenAudio {
		kind = Screen
	}
	t := &track{info: info, video: video, sb: samplebuilder.New(late, depack, info.ClockRate)}
	r.tracks[info.ID] = t
	var g *group
	for _, c := range r.groups {
		if c.participant == info.Participant && c.kind == kind && !slices.ContainsFunc(c.live, func(o *track) bool { return o.video == video }) {
			g = c
			break
		}
	}
	if g == nil {
		g = &group{participant: info.Participant, kind: kind}
		r.groups = append(r.groups, g)
	}
	t.g = g
	g.live = append(g.live, t)
	if g.seg == nil {
		g.seg = &segment{g: g, opened: -1}
	}
	if !g.seg.active {
		g.seg.tracks = append(g.seg.tracks, t)
	}
	if video {
		t.requestKeyframe()
	}
}

func (t *track) requestKeyframe() {
	if t.info.RequestKeyframe != nil {
		t.info.RequestKeyframe()
	}
}

// WriteRTP implements sfu.RecordingSink.
func (r *Recorder) WriteRTP(id sfu.TrackID, pkt *rtp.Packet, at time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	t := r.tracks[id]
	if r.closed || t == nil || t.ended {
		return
	}
	if r.start.IsZero() {
		r.start = at
	}
	now := at.Sub(r.start)
	if !t.haveBase {
		t.haveBase, t.base, t.ts0, t.lastTS = true, now, pkt.Timestamp, pkt.Timestamp
	}
	t.sb.Push(pkt)
	r.popSamples(t)
	if s := t.g.seg; s != nil && !s.active && s.opened >= 0 && now-s.opened >= r.opts.Settle {
		r.startSegment(s)
	}
}

// popSamples takes the frames the sample builder completed.
func (r *Recorder) popSamples(t *track) {
	for {
		s := t.sb.Pop()
		if s == nil {
			return
		}
		r.sample(t, s)
	}
}

func (r *Recorder) sample(t *track, s *media.Sample) {
	if len(s.Data) == 0 {
		return
	}
	t.ext += int64(int32(s.PacketTimestamp - t.lastTS))
	t.lastTS = s.PacketTimestamp
	rate := int64(t.info.ClockRate)
	at := t.base + time.Duration(t.ext/rate)*time.Second + time.Duration(t.ext%rate*int64(time.Second)/rate)
	f := frame{t: t, at: at, dur: s.Duration, key: !t.video, data: s.Data}
	if t.video {
		key, w, h := vp8Keyframe(s.Data)
		f.key = key
		if !t.keyed {
			if !key {
				return // a file's video starts at a keyframe
			}
			t.keyed, t.width, t.height = true, w, h
		}
		if s.PrevDroppedPackets > 0 && !key {
			// Packets were lost: frames until the next keyframe would
			// not decode. Wait for one.
			t.keyed = false
			t.requestKeyframe()
			return
		}
	}
	t.lastFrame = at
	r.frame(f)
}

// frame routes a complete frame to its group's current file.
func (r *Recorder) frame(f frame) {
	g := f.t.g
	s := g.seg
	if s == nil {
		return
	}
	if s.active && !slices.Contains(s.tracks, f.t) {
		// A track joined while the file was being written: end it and
		// start a new one with every live track of the group.
		r.finishSegment(s)
		s = &segment{g: g, opened: f.at, tracks: slices.Clone(g.live)}
		g.seg = s
		for _, o := range g.live {
			if o != f.t && o.video {
				o.keyed = false
				o.requestKeyframe()
			}
		}
	}
	if !s.active {
		if s.opened < 0 {
			s.opened = f.at
		}
		s.pending = append(s.pending, f)
		if len(s.pending) >= maxPending || r.allReady(s) {
			r.startSegment(s)
		}
		return
	}
	r.enqueue(s, f)
}

// allReady reports whether a pending file is complete: an audio and a
// video track, each with a frame. Anything less waits for Options.Settle.
func (r *Recorder) allReady(s *segment) bool {
	if len(s.tracks) < 2 {
		return false
	}
	for _, t := range s.tracks {
		if !slices.ContainsFunc(s.pending, func(f frame) bool { return f.t == t }) {
			return false
		}
	}
	return true
}

// startSegment writes a pending file's header, with the tracks that have
// frames, and its pending frames.
func (r *Recorder) startSegment(s *segment) {
	var tracks []*track
	for _, t := range s.tracks {
		if slices.ContainsFunc(s.pending, func(f frame) bool { return f.t == t }) {
			tracks = append(tracks, t)
		}
	}
	if len(tracks) == 0 {
		return
	}
	slices.SortStableFunc(tracks, func(a, b *track) int { // audio first
		switch {
		case a.video == b.video:
			return 0
		case b.video:
			return -1
		}
		return 1
	})
	s.tracks = tracks
	s.active = true
	pending := s.pending
	s.pending = nil
	slices.SortStableFunc(pending, func(a, b frame) int { return cmp.Compare(a.at, b.at) })
	first := pending[0].at
	s.file = File{ID: ids.New(), Participant: string(s.g.participant), Kind: s.g.kind, Start: r.start.Add(first), ContentType: ContentTypeAudio}
	wt := make([]webmTrack, len(tracks))
	for i, t := range tracks {
		if t.video {
			s.file.Video, s.file.ContentType = true, ContentTypeVideo
			wt[i] = webmTrack{video: true, width: t.width, height: t.height}
		} else {
			s.file.Audio = true
			wt[i] = webmTrack{channels: t.info.Channels}
		}
	}
	out, err := r.opts.Create(s.file)
	if err != nil {
		s.fail(fmt.Errorf("create: %w", err))
		return
	}
	s.out = &countingWriter{w: out}
	if s.ww, err = newWebM(s.out, wt, s.file.Start); err != nil {
		s.fail(err)
	}
	for _, f := range pending {
		if slices.Contains(s.tracks, f.t) {
			r.enqueue(s, f)
		}
	}
}

// enqueue adds a frame to an active file and writes the frames every other
// track has caught up with (or that are maxSkew older than the newest).
func (r *Recorder) enqueue(s *segment, f frame) {
	if s.failed {
		return
	}
	i := len(s.queue)
	for i > 0 && s.queue[i-1].at > f.at {
		i--
	}
	s.queue = slices.Insert(s.queue, i, f)
	newest := s.queue[len(s.queue)-1].at
	r.flushQueue(s, max(newest-maxSkew, min(s.caughtUp(), newest)))
}

// caughtUp is the time every live track of the file has produced frames up
// to.
func (s *segment) caughtUp() time.Duration {
	caught := time.Duration(math.MaxInt64)
	for _, t := range s.tracks {
		if !t.ended {
			caught = min(caught, t.lastFrame)
		}
	}
	return caught
}

// flushQueue writes queued frames up to time limit.
func (r *Recorder) flushQueue(s *segment, limit time.Duration) {
	n := 0
	for _, f := range s.queue {
		if f.at > limit {
			break
		}
		n++
		if s.failed {
			continue
		}
		at := f.at
		if s.anyFrame && at < s.last {
			at = s.last // never backwards: a frame later than maxSkew
		}
		no := uint64(slices.Index(s.tracks, f.t) + 1)
		if err := s.ww.writeFrame(no, at.Milliseconds(), f.key, f.data); err != nil {
			s.fail(err)
			continue
		}
		if !s.anyFrame {
			s.anyFrame, s.first = true, at
		}
		s.last, s.lastDur = at, f.dur
	}
	s.queue = slices.Delete(s.queue, 0, n)
}

func (s *segment) fail(err error) {
	if !s.failed {
		s.failed, s.err = true, err
	}
}

// errNoFrames is why a file that never got a frame is not kept.
var errNoFrames = errors.New("no frames written")

// finishSegment writes what a file still holds and closes it.
func (r *Recorder) finishSegment(s *segment) {
	if !s.active {
		r.startSegment(s)
		if !s.active {
			return // nothing was ever sent
		}
	}
	r.flushQueue(s, time.Duration(math.MaxInt64))
	err := s.err
	if err == nil && !s.anyFrame {
		err = errNoFrames
	}
	if s.out != nil {
		if a, ok := s.out.w.(interface{ CloseWithError(error) error }); ok && err != nil {
			_ = a.CloseWithError(err) // abort: nothing is stored
		} else if cerr := s.out.w.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		r.errs = append(r.errs, fmt.Errorf("recording: file %s of %s: %w", s.file.ID, s.file.Participant, err))
		return
	}
	s.file.Bytes = s.out.n
	s.file.Duration = s.last - s.first + s.lastDur
	r.files = append(r.files, s.file)
}

// TrackEnded implements sfu.RecordingSink.
func (r *Recorder) TrackEnded(id sfu.TrackID) {
	r.mu.Lock()
	defer r.mu.Unlock()
	t := r.tracks[id]
	if r.closed || t == nil || t.ended {
		return
	}
	r.endTrack(t)
}

func (r *Recorder) endTrack(t *track) {
	t.sb.Flush()
	r.popSamples(t)
	t.ended = true
	g := t.g
	g.live = slices.DeleteFunc(g.live, func(o *track) bool { return o == t })
	if s := g.seg; s != nil {
		if !s.active && !slices.ContainsFunc(s.pending, func(f frame) bool { return f.t == t }) {
			s.tracks = slices.DeleteFunc(s.tracks, func(o *track) bool { return o == t })
		}
		if len(g.live) == 0 {
			r.finishSegment(s)
			g.seg = nil
		} else if s.active {
			r.flushQueue(s, s.caughtUp()) // the ended track no longer holds the others back
		}
	}
}

// Close ends every track and file. Call it after the sfu.Recording
// stopped. It returns the files stored and, joined, the errors of those that
// could not be; it is idempotent (later calls return nothing).
func (r *Recorder) Close() ([]File, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil, nil
	}
	for _, g := range r.groups {
		for _, t := range slices.Clone(g.live) {
			r.endTrack(t)
		}
	}
	r.closed = true
	files, errs := r.files, r.errs
	r.files, r.errs = nil, nil
	slices.SortStableFunc(files, func(a, b File) int { return a.Start.Compare(b.Start) })
	return files, errors.Join(errs...)
}

// countingWriter counts what reaches w and keeps its first error; after one
// it swallows writes, so the WebM writer fails once.
type countingWriter struct {
	w   io.WriteCloser
	n   int64
	err error
}

func (c *countingWriter) Write(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	n, err := c.w.Write(p)
	c.n += int64(n)
	if err != nil {
		c.err = err
	}
	return n, err
}
