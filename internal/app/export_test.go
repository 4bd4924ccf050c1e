package app

import (
	"github.com/pion/webrtc/v4"

	"github.com/kaigi/kaigi/internal/sfu"
)

// mediaParticipant is a meeting participant's session on the media server.
func (a *App) mediaParticipant(meeting, participant string) (*sfu.Participant, bool) {
	if a.sfu == nil {
		return nil, false
	}
	r, ok := a.sfu.LookupRoom(sfu.RoomID(meeting))
	if !ok {
		return nil, false
	}
	return r.Participant(sfu.ParticipantID(participant))
}

// DropMedia has the media server end a meeting participant's session on its
// own, as it does when their connection fails; false if there is none.
func (a *App) DropMedia(meeting, participant string) bool {
	p, ok := a.mediaParticipant(meeting, participant)
	if ok {
		p.Remove()
	}
	return ok
}

// MediaMuted reports whether the media server forwards a participant's
// audio; ok is false while they have no media session.
func (a *App) MediaMuted(meeting, participant string) (muted, ok bool) {
	p, ok := a.mediaParticipant(meeting, participant)
	return ok && p.Muted(webrtc.RTPCodecTypeAudio), ok
}
