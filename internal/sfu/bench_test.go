package sfu

import (
	"fmt"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// discardWriter stands in for a subscriber's SRTP stream.
type discardWriter struct{}

func (discardWriter) WriteRTP(*rtp.Header, []byte) (int, error) { return 0, nil }
func (discardWriter) Write(b []byte) (int, error)               { return len(b), nil }

// BenchmarkForwardRewrite measures the SFU's own work per packet: fan-out,
// layer and keyframe logic, SSRC/sequence/timestamp rewriting and counters,
// without encryption or sockets.
func BenchmarkForwardRewrite(b *testing.B) {
	for _, n := range []int{1, 10, 50} {
		b.Run(fmt.Sprintf("subscribers=%d", n), func(b *testing.B) {
			m, _ := NewMetrics(nil)
			s := &SFU{cfg: Config{KeyframeRequestInterval: time.Hour}, metrics: m}
			p := &Participant{room: &Room{sfu: s}, id: "pub"}
			t := &publishedTrack{owner: p, kind: webrtc.RTPCodecTypeVideo, video: true,
				codec:    webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}},
				keyframe: isVP8Keyframe}
			l := &layer{}
			t.layers = []*layer{l}
			t.downs.Store(&[]*downTrack{})
			for i := 0; i < n; i++ {
				d := newDownTrack(t, &Participant{})
				d.writer, d.ssrc, d.payloadType = discardWriter{}, uint32(1000+i), 96
				t.attach(d)
			}
			payload := make([]byte, 1100)
			payload[0] = 0x10 // keyframe start
			pkt := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, SSRC: 42}, Payload: payload}
			b.ReportAllocs()
			b.SetBytes(int64(len(payload) * n))
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				pkt.SequenceNumber++
				pkt.Timestamp += 3000
				t.forward(l, pkt, len(payload)+12, int64(i))
			}
			b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "pkts/s")
		})
	}
}

// BenchmarkForwardSRTP measures the whole send path through real peer
// connections over loopback: rewriting, the interceptors (NACK buffer, sender
// reports), SRTP encryption and the UDP write, for one publisher's video track
// to N subscribers. Receivers read in the same process, so the numbers include
// their decryption on the same CPUs: a lower bound.
func BenchmarkForwardSRTP(b *testing.B) {
	for _, n := range []int{1, 10} {
		b.Run(fmt.Sprintf("subscribers=%d", n), func(b *testing.B) {
			s, rec := newTestSFU(b, nil)
			r, _ := s.Room("bench")
			pub := newClient(b, clientOpts{})
			v := pub.addVideo()[0]
			pub.join(r, "alice", JoinOptions{})
			pub.offer()
			pub.send(v, true, 'v')
			var info TrackInfo
			waitFor(b, connectTimeout, "track", func() bool {
				e, ok := rec.find(func(e Event) bool { return e.Type == EventTrackPublished })
				if ok {
					info = *e.Track
				}
				return ok
			})
			var subs []*client
			for i := 0; i < n; i++ {
				c := newClient(b, clientOpts{})
				c.join(r, ParticipantID(fmt.Sprint("sub", i)), JoinOptions{})
				subs = append(subs, c)
			}
			for _, c := range subs {
				waitFor(b, connectTimeout, "subscriber receiving", func() bool {
					rt := c.track(info.ID)
					return rt != nil && rt.packets.Load() > 5
				})
			}
			pub.stopOnce.Do(func() { close(pub.stop) }) // stop sending: the benchmark drives forward directly
			p, _ := r.Participant("alice")
			p.mu.Lock()
			var t *publishedTrack
			for _, pt := range p.published {
				t = pt
			}
			p.mu.Unlock()
			l := t.snapshotLayers()[0]
			payload := make([]byte, 1100)
			payload[0], payload[1] = 0x10, 0x01 // interframe: subscribers are past the keyframe
			pkt := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, SSRC: l.ssrc, SequenceNumber: 30000}, Payload: payload}
			b.ReportAllocs()
			b.SetBytes(int64(len(payload) * n))
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				pkt.SequenceNumber++
				pkt.Timestamp += 3000
				t.forward(l, pkt, len(payload)+12, time.Now().UnixNano())
			}
			b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "pkts/s")
		})
	}
}
