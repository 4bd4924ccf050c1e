package sfu

import (
	"strings"

	"github.com/pion/webrtc/v4"
)

// keyframeDetector returns a function that tells whether an RTP payload starts
// a keyframe of that codec. For codecs it does not know every packet counts,
// so layer switches happen at once.
func keyframeDetector(mime string) func([]byte) bool {
	switch {
	case strings.EqualFold(mime, webrtc.MimeTypeVP8):
		return isVP8Keyframe
	case strings.EqualFold(mime, webrtc.MimeTypeH264):
		return isH264Keyframe
	default:
		return func([]byte) bool { return true }
	}
}

// isVP8Keyframe parses the VP8 payload descriptor (RFC 7741 section 4.2) and
// checks the P bit of the first partition's payload header.
func isVP8Keyframe(b []byte) bool {
	if len(b) < 1 {
		return false
	}
	x, s, pid := b[0]&0x80 != 0, b[0]&0x10 != 0, b[0]&0x07
	if !s || pid != 0 {
		return false
	}
	i := 1
	if x {
		if len(b) < 2 {
			return false
		}
		ext := b[1]
		i = 2
		if ext&0x80 != 0 { // I: picture id
			if len(b) <= i {
				return false
			}
			if b[i]&0x80 != 0 { // M: 15-bit picture id
				i += 2
			} else {
				i++
			}
		}
		if ext&0x40 != 0 { // L: TL0PICIDX
			i++
		}
		if ext&0x30 != 0 { // T or K
			i++
		}
	}
	if len(b) <= i {
		return false
	}
	return b[i]&0x01 == 0
}

// isH264Keyframe reports whether the payload carries an SPS or IDR slice
// (single NAL unit, STAP-A, or the first fragment of an FU-A).
func isH264Keyframe(b []byte) bool {
	if len(b) < 1 {
		return false
	}
	switch nal := b[0] & 0x1f; nal {
	case 5, 7:
		return true
	case 24: // STAP-A
		for i := 1; i+2 < len(b); {
			size := int(b[i])<<8 | int(b[i+1])
			i += 2
			if i >= len(b) {
				return false
			}
			if t := b[i] & 0x1f; t == 5 || t == 7 {
				return true
			}
			i += size
		}
	case 28: // FU-A
		return len(b) > 1 && b[1]&0x80 != 0 && b[1]&0x1f == 5
	}
	return false
}
