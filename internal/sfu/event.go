package sfu

import "github.com/pion/webrtc/v4"

// EventType tells what an Event reports.
type EventType int

// Event types.
const (
	// EventTrackPublished: Track started arriving from Participant and is being
	// offered to everyone else in the room.
	EventTrackPublished EventType = iota + 1
	// EventTrackUnpublished: Track is gone (the publisher stopped it or left).
	EventTrackUnpublished
	// EventTrackMuted: Track's Muted changed (Participant.SetMuted).
	EventTrackMuted
	// EventActiveSpeaker: Participant is now the loudest speaker; empty when
	// nobody speaks.
	EventActiveSpeaker
	// EventConnectionState: Participant's peer connection moved to State. A
	// participant whose connection fails is removed (EventParticipantLeft follows).
	EventConnectionState
	// EventParticipantLeft: Participant was removed from the room.
	EventParticipantLeft
)

func (t EventType) String() string {
	switch t {
	case EventTrackPublished:
		return "track_published"
	case EventTrackUnpublished:
		return "track_unpublished"
	case EventTrackMuted:
		return "track_muted"
	case EventActiveSpeaker:
		return "active_speaker"
	case EventConnectionState:
		return "connection_state"
	case EventParticipantLeft:
		return "participant_left"
	}
	return "unknown"
}

// Event is something that happened in a room, for the meeting layer to relay to
// clients or record.
type Event struct {
	Type        EventType
	Room        RoomID
	Participant ParticipantID
	// Track is set for track events.
	Track *TrackInfo
	// State is set for EventConnectionState.
	State webrtc.PeerConnectionState
	// Level is the active speaker's average loudness, 0 (silent) to 127 (0 dBov),
	// for EventActiveSpeaker.
	Level int
}

// Source is what a track carries.
type Source string

// Track sources.
const (
	SourceMicrophone  Source = "microphone"
	SourceCamera      Source = "camera"
	SourceScreen      Source = "screen"
	SourceScreenAudio Source = "screen_audio"
)

// TrackInfo describes a published track.
type TrackInfo struct {
	ID          TrackID
	Participant ParticipantID
	Kind        webrtc.RTPCodecType
	Source      Source
	MimeType    string
	// Layers are the simulcast RIDs seen so far, lowest quality first; empty
	// without simulcast.
	Layers []string
	Muted  bool
}

// Quality is a simulcast layer choice.
type Quality int

// Qualities, from lowest to highest.
const (
	QualityLow Quality = iota
	QualityMedium
	QualityHigh
)
