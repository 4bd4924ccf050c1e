package realtime

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/kaigi/kaigi/internal/errs"
	"github.com/kaigi/kaigi/internal/meeting"
	"github.com/kaigi/kaigi/internal/principal"
)

// Meetings is the meeting service as the gateway uses it: the signalling of
// meetings travels on the same socket as the chat's events.
type Meetings interface {
	Join(ctx context.Context, p principal.Principal, req meeting.JoinRequest, conn meeting.Conn) (*meeting.Attendance, error)
}

// maxMeetingsPerConn bounds the meetings one socket takes part in at once.
const maxMeetingsPerConn = 2

// meetingFrame is a client's meeting frame: meeting.join (with code or
// meeting, name, rejoin), meeting.do (a meeting.Command), meeting.signal
// (signal) or meeting.leave.
type meetingFrame struct {
	Type    string `json:"type"`
	Meeting string `json:"meeting"`
	Code    string `json:"code"`
	Name    string `json:"name"`
	Rejoin  string `json:"rejoin"`
	meeting.Command
	Signal json.RawMessage `json:"signal"`
}

// meetingError is the answer to a refused meeting frame.
type meetingError struct {
	Type    string `json:"type"`
	Meeting string `json:"meeting,omitempty"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// meetingConn hands the meeting service's frames to the connection's queue.
type meetingConn struct{ c *conn }

func (m meetingConn) Send(b []byte) {
	m.c.mu.Lock()
	defer m.c.mu.Unlock()
	m.c.enqueueLocked(b, frameControl)
}

// meeting handles a meeting frame. It runs on the reader, as does
// leaveMeetings, so c.attend needs no lock.
func (c *conn) meeting(data []byte) {
	ms := c.g.opts.Meetings
	if ms == nil {
		c.badFrame("Meetings are not available on this server.")
		return
	}
	var f meetingFrame
	if err := json.Unmarshal(data, &f); err != nil {
		c.badFrame("The meeting frame is not valid: " + err.Error())
		return
	}
	if !c.helloDone {
		c.badFrame("Say hello before joining a meeting.")
		return
	}
	ctx := c.ctx
	if f.Type == "meeting.join" {
		if c.attend == nil {
			c.attend = map[string]*meeting.Attendance{}
		}
		if len(c.attend) >= maxMeetingsPerConn && c.attend[f.Meeting] == nil {
			c.meetingError(f.Meeting, errs.E(errs.Conflict, "This connection is in %d meetings already; leave one first.", maxMeetingsPerConn))
			return
		}
		a, err := ms.Join(ctx, c.p, meeting.JoinRequest{Meeting: f.Meeting, Code: f.Code, Name: f.Name, Rejoin: f.Rejoin}, meetingConn{c})
		if err != nil {
			c.meetingError(f.Meeting, err)
			return
		}
		if old := c.attend[a.Meeting()]; old != nil {
			old.Leave(ctx)
		}
		c.attend[a.Meeting()] = a
		return
	}
	a := c.attend[f.Meeting]
	if a == nil {
		c.meetingError(f.Meeting, errs.E(errs.Forbidden, "You have not joined this meeting on this connection."))
		return
	}
	var err error
	switch f.Type {
	case "meeting.do":
		err = a.Do(ctx, f.Command)
	case "meeting.signal":
		err = a.Signal(ctx, f.Signal)
	case "meeting.leave":
		a.Leave(ctx)
		delete(c.attend, f.Meeting)
	}
	if err != nil {
		c.meetingError(f.Meeting, err)
	}
}

func (c *conn) meetingError(id string, err error) {
	code := errs.CodeOf(err)
	if code == errs.Internal {
		c.g.log.Warn("realtime: meeting frame failed", "err", err)
	}
	b, _ := json.Marshal(meetingError{Type: "meeting.error", Meeting: id, Code: string(code), Message: errs.MessageOf(err)})
	c.mu.Lock()
	defer c.mu.Unlock()
	c.enqueueLocked(b, frameControl)
}

// leaveMeetings ends the connection's attendances (its socket closed): an
// admitted person may come back within the meeting's grace period.
func (c *conn) leaveMeetings() {
	for id, a := range c.attend {
		a.Leave(context.WithoutCancel(c.ctx))
		delete(c.attend, id)
	}
}

// ServeMeeting upgrades r to a meeting-only WebSocket for p, who may be
// anyone, signed in or not: the same protocol, without channels (hello is
// answered with an empty ready), for people joining a meeting by its link
// without an account here. Connections are counted per source address.
func (g *Gateway) ServeMeeting(w http.ResponseWriter, r *http.Request, p principal.Principal) error {
	if g.opts.Meetings == nil {
		return errs.E(errs.Unavailable, "Meetings are not available on this server.")
	}
	if p.IsTenantUser() && p.Session != "" {
		return g.Serve(w, r, p)
	}
	// Whoever is not a signed-in member or guest joins as nobody in
	// particular: the meeting treats them as anonymous.
	anon := principal.Anon(p.Source)
	return g.serve(w, r, anon, "address:"+p.Source, true)
}
