package app

import (
	"github.com/pion/webrtc/v4"

	"github.com/kaigi/kaigi/internal/sfu"
)

// DropMedia has the media server end a meeting participant's session on its
// own, as it does when their connection fails; false if there is none.
func (a *App) DropMedia(meeting, participant string) bool {
	if a.sfu == nil {
		return false
	}
	r, ok := a.sfu.LookupRoom(sfu.RoomID(meeting))
	if !ok {
		return false
	}
	p, ok := r.Participant(sfu.ParticipantID(participant))
	if !ok {
		return false
	}
	p.Remove()
	return true
}

// MediaMuted reports whether the media server forwards a participant's
// audio; ok is false while they have no media session.
func (a *App) MediaMuted(meeting, participant string) (muted, ok bool) {
	if a.sfu == nil {
		return false, false
	}
	r, ok := a.sfu.LookupRoom(sfu.RoomID(meeting))
	if !ok {
		return false, false
	}
	p, ok := r.Participant(sfu.ParticipantID(participant))
	if !ok {
		return false, false
	}
	return p.Muted(webrtc.RTPCodecTypeAudio), true
}
