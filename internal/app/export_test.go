package app

import "github.com/kaigi/kaigi/internal/sfu"

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
