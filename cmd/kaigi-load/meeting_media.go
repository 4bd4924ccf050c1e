package main

import (
	"encoding/binary"
	"errors"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// Synthetic media. Every RTP payload a publisher sends ends with a trailer
// that subscribers read back:
//
//	"KLDM" | stream (uint32) | sequence number (uint32) | send time (int64 ns)
//
// big-endian; the stream is the publisher's index in the room, the sequence
// number counts that stream's packets from 0, and the send time is
// nanoseconds since the run's base on this process's monotonic clock — the
// subscribers run in the same process, so receive − send is the time
// through the SFU (and both pion stacks) with no clock to reconcile.
const (
	trailerLen   = 20
	trailerMagic = "KLDM"
	// maxVideoPayload bounds a video packet's payload, as a browser's
	// packetizer keeps RTP packets under the path MTU.
	maxVideoPayload = 1100
)

// mediaParams describe what publishers send.
type mediaParams struct {
	audioBytes    int           // Opus payload bytes per 20 ms packet
	videoBitrate  int           // bits/s, keyframes included
	fps           int           // video frames per second
	keyframeEvery time.Duration // a keyframe this often (and on PLI)
}

// window is the measurement window, by send time: packets sent in [t0, t1)
// count, in nanoseconds since the run's base.
type window struct{ t0, t1 atomic.Int64 }

func (w *window) in(sent int64) bool { return sent >= w.t0.Load() && sent < w.t1.Load() }

// pubStream is one track a publisher sends.
type pubStream struct {
	id     uint32
	video  bool
	track  *webrtc.TrackLocalStaticRTP
	sender *webrtc.RTPSender

	seq     uint32 // payload sequence number (the sender goroutine's)
	rtpSeq  uint16
	ts      uint32
	frame   int
	keyNext atomic.Bool

	sentWin, bytesWin, sentAll atomic.Int64
	plis                       atomic.Int64
}

func newPubStream(id uint32, video bool) (*pubStream, error) {
	codec := webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}
	kind := "mic"
	if video {
		codec = webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}
		kind = "cam"
	}
	tr, err := webrtc.NewTrackLocalStaticRTP(codec, kind, "kaigi-load")
	if err != nil {
		return nil, err
	}
	s := &pubStream{id: id, video: video, track: tr}
	s.keyNext.Store(true)
	return s, nil
}

// readRTCP reads what the SFU sends back about the stream (pion's
// interceptors need it read to answer NACKs); a PLI or FIR makes the next
// frame a keyframe, as an encoder would.
func (s *pubStream) readRTCP() {
	for {
		pkts, _, err := s.sender.ReadRTCP()
		if err != nil {
			return
		}
		for _, p := range pkts {
			switch p.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				s.plis.Add(1)
				s.keyNext.Store(true)
			}
		}
	}
}

// run sends the stream until stop closes: Opus every 20 ms, or a VP8 frame
// every 1/fps split into packets of at most maxVideoPayload bytes.
func (s *pubStream) run(stop <-chan struct{}, mp mediaParams, base time.Time, w *window) {
	period := 20 * time.Millisecond
	if s.video {
		period = time.Second / time.Duration(mp.fps)
	}
	tick := time.NewTicker(period)
	defer tick.Stop()
	buf := make([]byte, 16<<10)
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		var err error
		if s.video {
			err = s.sendFrame(buf, mp, base, w)
		} else {
			err = s.sendAudio(buf, mp, base, w)
		}
		if err != nil {
			return
		}
	}
}

func (s *pubStream) sendAudio(buf []byte, mp mediaParams, base time.Time, w *window) error {
	n := max(mp.audioBytes, trailerLen+1)
	p := buf[:n]
	clear(p)
	p[0] = 0x78 // an Opus TOC byte (SILK/CELT hybrid, 20 ms)
	h := rtp.Header{Version: 2, SequenceNumber: s.rtpSeq, Timestamp: s.ts, Marker: s.seq == 0}
	s.ts += 960
	return s.write(&h, p, base, w)
}

// frameBytes is the size of the next frame: keyframes are four times a
// delta frame, and the average over a keyframe interval is the bitrate.
func frameBytes(mp mediaParams, key bool) int {
	frames := max(1, int(mp.keyframeEvery.Seconds()*float64(mp.fps)))
	perInterval := float64(mp.videoBitrate) / 8 * mp.keyframeEvery.Seconds()
	delta := int(perInterval / float64(frames+3))
	if key {
		return 4 * delta
	}
	return delta
}

func (s *pubStream) sendFrame(buf []byte, mp mediaParams, base time.Time, w *window) error {
	every := max(1, int(mp.keyframeEvery.Seconds()*float64(mp.fps)))
	key := s.keyNext.Swap(false) || s.frame%every == 0
	s.frame++
	size := frameBytes(mp, key)
	pkts := max(1, (size+maxVideoPayload-1)/maxVideoPayload)
	per := max(size/pkts, trailerLen+12)
	for i := range pkts {
		p := buf[:per]
		clear(p)
		if i == 0 {
			// VP8 payload descriptor (RFC 7741): S=1, partition 0; then the
			// frame tag (shown; its P bit is 0 for a keyframe — what the SFU's
			// keyframe detection reads), and a keyframe's start code and size.
			p[0] = 0x10
			if key {
				copy(p[1:], []byte{0x10, 0x00, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0x68, 0x01}) // 640×360
			} else {
				p[1] = 0x11
			}
		}
		h := rtp.Header{Version: 2, SequenceNumber: s.rtpSeq, Timestamp: s.ts, Marker: i == pkts-1}
		if err := s.write(&h, p, base, w); err != nil {
			return err
		}
	}
	s.ts += uint32(90000 / mp.fps)
	return nil
}

// write stamps the trailer and sends one packet.
func (s *pubStream) write(h *rtp.Header, p []byte, base time.Time, w *window) error {
	t := p[len(p)-trailerLen:]
	copy(t, trailerMagic)
	binary.BigEndian.PutUint32(t[4:], s.id)
	binary.BigEndian.PutUint32(t[8:], s.seq)
	sent := int64(time.Since(base))
	binary.BigEndian.PutUint64(t[12:], uint64(sent))
	s.seq++
	s.rtpSeq++
	err := s.track.WriteRTP(&rtp.Packet{Header: *h, Payload: p})
	if err != nil && !errors.Is(err, io.ErrClosedPipe) {
		return err
	}
	s.sentAll.Add(1)
	if w.in(sent) {
		s.sentWin.Add(1)
		s.bytesWin.Add(int64(h.MarshalSize() + len(p)))
	}
	return nil
}

// rxStream is what one participant received of one publisher's stream.
type rxStream struct {
	mu       sync.Mutex
	seen     []uint64 // bit per sequence number
	all      int64    // packets, duplicates included
	dupes    int64
	got      int64 // distinct packets sent in the window
	bytes    int64 // their RTP bytes
	outOfWin int64
}

// fanout notes, for each packet sent in the window, when it reached its
// first and its last receiver: the SFU writes a packet to its subscribers
// one after another, so the spread is the fan-out's own time.
type fanout struct {
	streams []fanStream
}

type fanStream struct {
	mu          sync.Mutex
	sent        []int64 // by sequence number; 0: not seen
	first, last []int64
}

func (f *fanout) note(id, seq uint32, sent, now int64) {
	fs := &f.streams[id]
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if int(seq) >= len(fs.sent) {
		n := int(seq) + 1024
		fs.sent = append(fs.sent, make([]int64, n-len(fs.sent))...)
		fs.first = append(fs.first, make([]int64, n-len(fs.first))...)
		fs.last = append(fs.last, make([]int64, n-len(fs.last))...)
	}
	if fs.sent[seq] == 0 {
		fs.sent[seq], fs.first[seq], fs.last[seq] = sent, now, now
		return
	}
	fs.first[seq], fs.last[seq] = min(fs.first[seq], now), max(fs.last[seq], now)
}

// hists returns the histograms of send to first receipt and of first to
// last receipt.
func (f *fanout) hists() (first, spread *hist) {
	first, spread = &hist{}, &hist{}
	for i := range f.streams {
		fs := &f.streams[i]
		fs.mu.Lock()
		for j, s := range fs.sent {
			if s != 0 {
				first.add(time.Duration(fs.first[j] - s))
				spread.add(time.Duration(fs.last[j] - fs.first[j]))
			}
		}
		fs.mu.Unlock()
	}
	return first, spread
}

// receiver counts what one participant receives, by stream.
type receiver struct {
	streams []rxStream // by stream id
	lat     *hist      // shared by the room: send to receive, window only
	fan     *fanout    // shared by the room
	base    time.Time
	w       *window
	bad     atomic.Int64 // packets without a trailer
}

// readTrack reads a remote track until it ends, counting each packet.
func (r *receiver) readTrack(tr *webrtc.TrackRemote) {
	buf := make([]byte, 1600)
	for {
		n, _, err := tr.Read(buf)
		if err != nil {
			return
		}
		r.count(buf[:n], int64(time.Since(r.base)))
	}
}

// count reads one RTP packet's trailer.
func (r *receiver) count(pkt []byte, now int64) {
	n := len(pkt)
	if n > 12 && pkt[0]&0x20 != 0 { // padding
		n -= int(pkt[n-1])
	}
	if n < 12+trailerLen || string(pkt[n-trailerLen:n-trailerLen+4]) != trailerMagic {
		r.bad.Add(1)
		return
	}
	t := pkt[n-trailerLen:]
	id := binary.BigEndian.Uint32(t[4:])
	seq := binary.BigEndian.Uint32(t[8:])
	sent := int64(binary.BigEndian.Uint64(t[12:]))
	if int(id) >= len(r.streams) {
		r.bad.Add(1)
		return
	}
	st := &r.streams[id]
	st.mu.Lock()
	defer st.mu.Unlock()
	st.all++
	word := int(seq / 64)
	if word >= len(st.seen) {
		st.seen = append(st.seen, make([]uint64, word+1-len(st.seen)+64)...)
	}
	bit := uint64(1) << (seq % 64)
	if st.seen[word]&bit != 0 {
		st.dupes++
		return
	}
	st.seen[word] |= bit
	if !r.w.in(sent) {
		st.outOfWin++
		return
	}
	st.got++
	st.bytes += int64(len(pkt))
	r.lat.add(time.Duration(now - sent))
	r.fan.note(id, seq, sent, now)
}

// receiving reports whether packets of every stream but skip arrived.
func (r *receiver) receiving(skip int) bool {
	for i := range r.streams {
		if i == skip {
			continue
		}
		r.streams[i].mu.Lock()
		n := r.streams[i].all
		r.streams[i].mu.Unlock()
		if n == 0 {
			return false
		}
	}
	return true
}

// totals sums the window's counts over streams.
func (r *receiver) totals() (got, bytes, dupes int64) {
	for i := range r.streams {
		st := &r.streams[i]
		st.mu.Lock()
		got += st.got
		bytes += st.bytes
		dupes += st.dupes
		st.mu.Unlock()
	}
	return got, bytes, dupes
}
