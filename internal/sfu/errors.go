package sfu

import "errors"

// Errors returned by this package. Test for them with errors.Is.
var (
	// ErrClosed means the SFU, room or participant is closed.
	ErrClosed = errors.New("sfu: closed")
	// ErrRoomFull means the room already holds Limits.ParticipantsPerRoom participants.
	ErrRoomFull = errors.New("sfu: room is full")
	// ErrTooManyRooms means the SFU already holds Limits.Rooms rooms.
	ErrTooManyRooms = errors.New("sfu: too many rooms")
	// ErrParticipantExists means a participant with that id is already in the room.
	ErrParticipantExists = errors.New("sfu: participant already joined")
	// ErrBadSignal means an offer, answer or candidate could not be parsed or applied.
	ErrBadSignal = errors.New("sfu: bad signalling message")
	// ErrGlare means the client's offer collided with the server's outstanding
	// offer and was ignored; the client, as the polite peer, rolls back and
	// answers the server's offer, then offers again.
	ErrGlare = errors.New("sfu: offer ignored: server offer outstanding")
	// ErrUnexpectedAnswer means an answer arrived while no server offer was outstanding.
	ErrUnexpectedAnswer = errors.New("sfu: answer without an outstanding offer")
	// ErrUnknownTrack means no track with that id is published or subscribed.
	ErrUnknownTrack = errors.New("sfu: unknown track")
	// ErrTURNDisabled means TURN credentials were asked for but no TURN server is configured.
	ErrTURNDisabled = errors.New("sfu: TURN is not enabled")
	// ErrTooManyRecordings means the room is already being recorded as often
	// as it may be at once.
	ErrTooManyRecordings = errors.New("sfu: too many recordings of the room")
	// ErrInvalidConfig means a Config field is out of range; the message names it.
	ErrInvalidConfig = errors.New("sfu: invalid config")
)
