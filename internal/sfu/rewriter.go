package sfu

import "github.com/pion/rtp"

// rewriter turns the packets of one published track, from whichever
// simulcast layer is chosen, into one continuous stream: it switches layers
// and resumes only at keyframes (asking the publisher for one), and rewrites
// sequence numbers and timestamps so that switches, pauses and mutes show
// as a pause in time, never as a jump. Subscriptions and recordings use it;
// its owner guards it.
type rewriter struct {
	cur, want *layer
	epoch     uint32
	started   bool
	resync    bool
	seqOff    uint16
	tsOff     uint32
	lastSeq   uint16
	lastTS    uint32
	lastAt    int64
}

// rewrite returns the sequence number and timestamp pkt, of layer l, goes
// out with, or false when it does not go out (another layer, or a wait for
// a keyframe). gap is the step of sequence numbers across a resync of a
// stream already started: 1 for none skipped.
func (r *rewriter) rewrite(t *publishedTrack, l *layer, pkt *rtp.Packet, now int64, gap uint16) (uint16, uint32, bool) {
	if e := t.epoch.Load(); e != r.epoch {
		r.epoch = e
		r.resync = true
	}
	if l != r.cur {
		if l != r.want {
			return 0, 0, false
		}
		if t.video && !t.keyframe(pkt.Payload) {
			t.requestKeyframe(l)
			return 0, 0, false
		}
		r.cur = l
		r.resync = true
	} else if t.video && r.want != nil && r.want != l {
		t.requestKeyframe(r.want)
	}
	if r.resync {
		if t.video && !t.keyframe(pkt.Payload) {
			t.requestKeyframe(l)
			return 0, 0, false
		}
		if r.started {
			ticks := uint32(uint64(now-r.lastAt) * uint64(t.codec.ClockRate) / 1e9)
			if ticks == 0 {
				ticks = 1
			}
			r.seqOff = pkt.SequenceNumber - (r.lastSeq + gap)
			r.tsOff = pkt.Timestamp - (r.lastTS + ticks)
		} else {
			r.started = true
			r.seqOff, r.tsOff = 0, 0
			r.lastSeq = pkt.SequenceNumber - 1
		}
		r.resync = false
	}
	seq := pkt.SequenceNumber - r.seqOff
	ts := pkt.Timestamp - r.tsOff
	if int16(seq-r.lastSeq) > 0 {
		r.lastSeq, r.lastTS, r.lastAt = seq, ts, now
	}
	return seq, ts, true
}
