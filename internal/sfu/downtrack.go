package sfu

import (
	"strings"
	"sync"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// downTrack is one subscription: a webrtc.TrackLocal bound to one subscriber's
// RTPSender. It rewrites SSRC, payload type, sequence numbers and timestamps so
// that layer switches, pauses and mutes are invisible to the receiver except as
// a pause in time.
type downTrack struct {
	pt     *publishedTrack
	sub    *Participant
	sender *webrtc.RTPSender

	mu          sync.Mutex
	writer      webrtc.TrackLocalWriter
	ssrc        uint32
	payloadType uint8
	quality     Quality
	paused      bool
	rewriter
	hdr rtp.Header // reused per packet: WriteRTP does not keep it
}

var _ webrtc.TrackLocal = (*downTrack)(nil)

func newDownTrack(t *publishedTrack, sub *Participant) *downTrack {
	return &downTrack{pt: t, sub: sub, quality: QualityHigh, rewriter: rewriter{resync: true}}
}

// ID is the msid track id subscribers see: the published track's id.
func (d *downTrack) ID() string { return string(d.pt.id) }

// RID is empty: a subscriber receives one layer.
func (d *downTrack) RID() string { return "" }

// StreamID is the msid stream id: the publisher's participant id.
func (d *downTrack) StreamID() string { return string(d.pt.owner.id) }

// Kind is the published track's kind.
func (d *downTrack) Kind() webrtc.RTPCodecType { return d.pt.kind }

// Bind picks the subscriber's payload type for the publisher's codec.
func (d *downTrack) Bind(ctx webrtc.TrackLocalContext) (webrtc.RTPCodecParameters, error) {
	codec, ok := matchCodec(d.pt.codec, ctx.CodecParameters())
	if !ok {
		return webrtc.RTPCodecParameters{}, webrtc.ErrUnsupportedCodec
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.writer = ctx.WriteStream()
	d.ssrc = uint32(ctx.SSRC())
	d.payloadType = uint8(codec.PayloadType)
	d.resync = true
	return codec, nil
}

// Unbind stops writing.
func (d *downTrack) Unbind(webrtc.TrackLocalContext) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.writer = nil
	return nil
}

// matchCodec finds the negotiated codec for the publisher's: same MIME type,
// the same fmtp line if offered, else the first of that type.
func matchCodec(want webrtc.RTPCodecParameters, have []webrtc.RTPCodecParameters) (webrtc.RTPCodecParameters, bool) {
	var first *webrtc.RTPCodecParameters
	for i := range have {
		c := &have[i]
		if !strings.EqualFold(c.MimeType, want.MimeType) {
			continue
		}
		if c.SDPFmtpLine == want.SDPFmtpLine {
			return *c, true
		}
		if first == nil {
			first = c
		}
	}
	if first == nil {
		return webrtc.RTPCodecParameters{}, false
	}
	return *first, true
}

func (d *downTrack) wantQuality() Quality {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.quality
}

func (d *downTrack) setWant(l *layer) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.want = l
}

func (d *downTrack) setQuality(q Quality) {
	d.mu.Lock()
	d.quality = q
	d.mu.Unlock()
	l := d.pt.pick(q)
	d.setWant(l)
	if l != nil {
		d.pt.requestKeyframe(l)
	}
}

func (d *downTrack) setPaused(paused bool) {
	d.mu.Lock()
	d.paused = paused
	if paused {
		d.resync = true
	}
	want := d.want
	d.mu.Unlock()
	if !paused {
		d.pt.requestKeyframe(want)
	}
}

// write forwards one packet of layer l if it is the layer this subscriber
// receives, switching layers and resuming only at keyframes. It reports whether
// the packet was sent.
func (d *downTrack) write(l *layer, pkt *rtp.Packet, now int64) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.writer == nil || d.paused {
		d.resync = true
		return false
	}
	seq, ts, ok := d.rewrite(d.pt, l, pkt, now, 1)
	if !ok {
		return false
	}
	h := &d.hdr
	*h = pkt.Header
	h.SSRC = d.ssrc
	h.PayloadType = d.payloadType
	h.SequenceNumber = seq
	h.Timestamp = ts
	// Header extension ids differ between peer connections: do not forward them.
	h.Extension = false
	h.Extensions = nil
	h.ExtensionProfile = 0
	// Unmarshal stripped the padding from the payload.
	h.Padding = false
	h.PaddingSize = 0
	_, err := d.writer.WriteRTP(h, pkt.Payload)
	return err == nil
}

// rtcpLoop reads the subscriber's RTCP for this track: it drives the NACK
// responder and report interceptors, and forwards keyframe requests.
func (d *downTrack) rtcpLoop() {
	defer d.sub.wg.Done()
	m := d.sub.room.sfu.metrics
	buf := make([]byte, 1500)
	for {
		n, _, err := d.sender.Read(buf)
		if err != nil {
			return
		}
		pkts, err := rtcp.Unmarshal(buf[:n])
		if err != nil {
			continue
		}
		for _, p := range pkts {
			switch p.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				m.KeyframeRequestsReceived.Inc()
				d.mu.Lock()
				l := d.cur
				if l == nil {
					l = d.want
				}
				d.mu.Unlock()
				d.pt.requestKeyframe(l)
			case *rtcp.TransportLayerNack:
				m.NACKsReceived.Inc()
			}
		}
	}
}
