package realtime

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/kaigi/kaigi/internal/ids"
)

// Subjects the gateway uses besides chat's "chat.<tenant>.<channel>".

// TypingSubject is where a typing notice for a channel goes.
func TypingSubject(tenant ids.TenantID, channel string) string {
	return "typing." + string(tenant) + "." + channel
}

// ControlSubject is where control messages about one account go.
func ControlSubject(tenant ids.TenantID, account ids.UserID) string {
	return "control." + string(tenant) + ".account." + string(account)
}

// Control is a control message: what changed, for the logs. Whatever the
// reason, every gateway re-checks the account's connections at once.
type Control struct {
	Reason string `json:"reason"`
}

// Publisher publishes on the bus; bus.Bus is one.
type Publisher interface {
	Publish(ctx context.Context, subject string, payload []byte) error
}

// NotifyAccount tells the gateways of every node that what account may see
// changed (removed from or added to a team, deactivated, signed out, roles
// changed): each re-checks that account's sockets at once, closing those
// whose session ended and dropping channels it can no longer see. Call it
// after the change has committed. Like every publish it is at most once;
// the periodic re-check (Options.RevalidateInterval) catches a lost one.
func NotifyAccount(ctx context.Context, b Publisher, tenant ids.TenantID, account ids.UserID, reason string) error {
	if !ids.Valid(string(tenant)) || !ids.Valid(string(account)) {
		return fmt.Errorf("realtime: notify: invalid tenant or account id")
	}
	p, err := json.Marshal(Control{Reason: reason})
	if err != nil {
		return err
	}
	return b.Publish(context.WithoutCancel(ctx), ControlSubject(tenant, account), p)
}

// typingNotice is the payload of a typing subject.
type typingNotice struct {
	Channel string     `json:"channel"`
	User    ids.UserID `json:"user"`
}

// clientFrame is any frame a client sends.
type clientFrame struct {
	Type    string           `json:"type"`
	Cursors map[string]int64 `json:"cursors"`
	Channel string           `json:"channel"`
	Status  string           `json:"status"`
	// Presence, in hello, asks for presence frames.
	Presence bool `json:"presence"`
}

// Server frames. Channel and account ids are checked with ids.Valid before
// they get here, so they need no escaping.

var (
	pongFrame = []byte(`{"type":"pong"}`)
)

func eventFrame(channel string, seq int64, payload []byte) []byte {
	b := make([]byte, 0, len(payload)+len(channel)+56)
	b = append(b, `{"type":"event","channel":"`...)
	b = append(b, channel...)
	b = append(b, `","seq":`...)
	b = strconv.AppendInt(b, seq, 10)
	b = append(b, `,"event":`...)
	b = append(b, payload...)
	return append(b, '}')
}

func typingFrame(channel string, user ids.UserID) []byte {
	return []byte(`{"type":"typing","channel":"` + channel + `","user":"` + string(user) + `"}`)
}

func joinFrame(channel string, seq int64) []byte {
	return []byte(`{"type":"join","channel":"` + channel + `","seq":` + strconv.FormatInt(seq, 10) + `}`)
}

func leaveFrame(channel string) []byte {
	return []byte(`{"type":"leave","channel":"` + channel + `"}`)
}

func readyFrame(channels map[string]int64) []byte {
	b, _ := json.Marshal(struct {
		Type     string           `json:"type"`
		Channels map[string]int64 `json:"channels"`
	}{"ready", channels})
	return b
}

func errorFrame(msg string) []byte {
	b, _ := json.Marshal(struct {
		Type    string `json:"type"`
		Message string `json:"message"`
	}{"error", msg})
	return b
}

// seqOf reads the sequence number of an opened chat payload.
func seqOf(payload []byte) (int64, error) {
	var s struct {
		Seq int64 `json:"seq"`
	}
	if err := json.Unmarshal(payload, &s); err != nil {
		return 0, err
	}
	if s.Seq <= 0 {
		return 0, fmt.Errorf("event without a sequence number")
	}
	return s.Seq, nil
}
