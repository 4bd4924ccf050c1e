package recording

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/at-wat/ebml-go"
	"github.com/at-wat/ebml-go/webm"
)

// WebM limits: a SimpleBlock's timecode is a signed 16-bit offset in
// milliseconds from its cluster's, so clusters are cut well before that.
const (
	maxClusterMillis      = 5000
	minKeyframeClusterGap = 500 // a video keyframe starts a cluster if the current one is this old
)

// webmTrack describes one track of a WebM file.
type webmTrack struct {
	video    bool
	channels uint16 // audio
	width    uint16 // video, from its first keyframe
	height   uint16
}

// webmWriter writes a WebM file for live streaming: Segment and Clusters of
// unknown size, no Cues and no Duration (the writer cannot seek back; see the
// package documentation). It writes synchronously to w and never panics; the
// first write error sticks.
type webmWriter struct {
	w            io.Writer
	hasVideo     bool
	started      bool
	tc0          int64 // ms of the first frame; cluster timecodes are relative to it
	cluster      int64 // ms of the current cluster, relative to tc0
	inCluster    bool
	last         int64 // ms of the last frame written, relative to tc0
	err          error
	videoTrackNo uint64
}

// newWebM writes the header of a WebM file with tracks numbered from 1 in
// order. The audio track should come first (WebM muxer guidelines).
func newWebM(w io.Writer, tracks []webmTrack, date time.Time) (*webmWriter, error) {
	entries := make([]webm.TrackEntry, 0, len(tracks))
	ww := &webmWriter{w: w}
	for i, t := range tracks {
		n := uint64(i + 1)
		e := webm.TrackEntry{TrackNumber: n, TrackUID: n}
		if t.video {
			e.Name, e.CodecID, e.TrackType = "video", "V_VP8", 1
			e.Video = &webm.Video{PixelWidth: uint64(t.width), PixelHeight: uint64(t.height)}
			ww.hasVideo, ww.videoTrackNo = true, n
		} else {
			ch := max(t.channels, 1)
			e.Name, e.CodecID, e.TrackType = "audio", "A_OPUS", 2
			e.CodecPrivate = opusHead(ch)
			e.SeekPreRoll = uint64(80 * time.Millisecond)
			e.Audio = &webm.Audio{SamplingFrequency: 48000, Channels: uint64(ch)}
		}
		entries = append(entries, e)
	}
	header := struct {
		Header  webm.EBMLHeader `ebml:"EBML"`
		Segment struct {
			Info   webm.Info   `ebml:"Info"`
			Tracks webm.Tracks `ebml:"Tracks"`
		} `ebml:"Segment,size=unknown"`
	}{Header: *webm.DefaultEBMLHeader}
	header.Segment.Info = webm.Info{TimecodeScale: uint64(time.Millisecond), MuxingApp: "kaigi", WritingApp: "kaigi", DateUTC: date.UTC()}
	header.Segment.Tracks.TrackEntry = entries
	if err := ebml.Marshal(&header, w); err != nil {
		return nil, fmt.Errorf("recording: webm header: %w", err)
	}
	return ww, nil
}

// opusHead is the Opus identification header (RFC 7845 section 5.1) that
// Matroska carries as the Opus track's CodecPrivate. RTP does not carry the
// encoder's pre-skip, so it is 0.
func opusHead(channels uint16) []byte {
	b := make([]byte, 0, 19)
	b = append(b, "OpusHead"...)
	b = append(b, 1, byte(channels))
	b = binary.LittleEndian.AppendUint16(b, 0)     // pre-skip
	b = binary.LittleEndian.AppendUint32(b, 48000) // input sample rate, informational
	b = binary.LittleEndian.AppendUint16(b, 0)     // output gain
	return append(b, 0)                            // channel mapping family 0: mono or stereo
}

// errNonMonotonic is what writeFrame returns for a frame older than the last;
// callers order frames so it does not happen.
var errNonMonotonic = errors.New("recording: frame out of order")

// writeFrame writes one frame of track number track (from 1) at ms
// milliseconds on the recording's timeline.
func (ww *webmWriter) writeFrame(track uint64, ms int64, keyframe bool, data []byte) error {
	if ww.err != nil {
		return ww.err
	}
	if !ww.started {
		ww.started, ww.tc0 = true, ms
	}
	rel := ms - ww.tc0
	if rel < ww.last {
		return errNonMonotonic
	}
	ww.last = rel
	videoKey := keyframe && track == ww.videoTrackNo
	if !ww.inCluster || rel-ww.cluster >= maxClusterMillis || (videoKey && rel-ww.cluster >= minKeyframeClusterGap) {
		c := struct {
			Cluster struct {
				Timecode uint64 `ebml:"Timecode"`
			} `ebml:"Cluster,size=unknown"`
		}{}
		c.Cluster.Timecode = uint64(rel)
		if err := ebml.Marshal(&c, ww.w); err != nil {
			ww.err = err
			return err
		}
		ww.cluster, ww.inCluster = rel, true
	}
	b := struct {
		Block ebml.Block `ebml:"SimpleBlock"`
	}{ebml.Block{TrackNumber: track, Timecode: int16(rel - ww.cluster), Keyframe: keyframe || !ww.isVideo(track), Data: [][]byte{data}}}
	if err := ebml.Marshal(&b, ww.w); err != nil {
		ww.err = err
		return err
	}
	return nil
}

func (ww *webmWriter) isVideo(track uint64) bool { return track == ww.videoTrackNo }

// vp8Keyframe reports whether a VP8 frame is a keyframe and, if so, its
// dimensions (RFC 6386 section 9.1).
func vp8Keyframe(frame []byte) (key bool, width, height uint16) {
	if len(frame) < 10 || frame[0]&0x01 != 0 {
		return false, 0, 0
	}
	if frame[3] != 0x9d || frame[4] != 0x01 || frame[5] != 0x2a {
		return false, 0, 0
	}
	return true, binary.LittleEndian.Uint16(frame[6:8]) & 0x3fff, binary.LittleEndian.Uint16(frame[8:10]) & 0x3fff
}
