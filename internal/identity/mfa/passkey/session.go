package passkey

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/go-webauthn/webauthn/webauthn"
)

// The kinds of ceremony a session state belongs to.
const (
	ceremonyRegistration = "registration"
	ceremonyLogin        = "login"
)

// sessionVersion is the version of the session state's layout. State of
// another version (written by another Kaigi release) is refused with
// ErrSessionInvalid, which at worst makes a user start a ceremony again.
const sessionVersion = 1

// sessionState is what Begin returns as opaque bytes and Finish reads back:
// the library's session data, wrapped with what this package checks itself.
type sessionState struct {
	Version  int                  `json:"v"`
	Ceremony string               `json:"ceremony"`
	RPID     string               `json:"rpId"`
	Expires  time.Time            `json:"expires"`
	Data     webauthn.SessionData `json:"data"`
}

func (rp *RelyingParty) encodeSession(ceremony string, data *webauthn.SessionData) ([]byte, error) {
	b, err := json.Marshal(sessionState{
		Version:  sessionVersion,
		Ceremony: ceremony,
		RPID:     rp.rpID,
		Expires:  rp.clock.Now().Add(rp.ttl),
		Data:     *data,
	})
	if err != nil {
		return nil, fmt.Errorf("passkey: encode session state: %w", err)
	}
	return b, nil
}

// decodeSession reads session state written by encodeSession for the given
// ceremony, refusing state of another ceremony, relying party or version,
// and expired state.
func (rp *RelyingParty) decodeSession(b []byte, ceremony string) (webauthn.SessionData, error) {
	var s sessionState // fresh, as the library asks: Extensions is not reset by decoding
	if err := json.Unmarshal(b, &s); err != nil {
		return webauthn.SessionData{}, fmt.Errorf("passkey: decode session state: %w: %w", ErrSessionInvalid, err)
	}
	switch {
	case s.Version != sessionVersion:
		return webauthn.SessionData{}, fmt.Errorf("passkey: session state version %d, want %d: %w", s.Version, sessionVersion, ErrSessionInvalid)
	case s.Ceremony != ceremony:
		return webauthn.SessionData{}, fmt.Errorf("passkey: session state of a %q ceremony used for %q: %w", s.Ceremony, ceremony, ErrSessionInvalid)
	case s.RPID != rp.rpID:
		return webauthn.SessionData{}, fmt.Errorf("passkey: session state for RP ID %q used under %q: %w", s.RPID, rp.rpID, ErrSessionInvalid)
	case s.Data.Challenge == "":
		return webauthn.SessionData{}, fmt.Errorf("passkey: session state without a challenge: %w", ErrSessionInvalid)
	case !rp.clock.Now().Before(s.Expires):
		return webauthn.SessionData{}, fmt.Errorf("passkey: session state expired at %v: %w", s.Expires, ErrSessionExpired)
	}
	return s.Data, nil
}
