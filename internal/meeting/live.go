package meeting

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kaigi/kaigi/internal/audit"
	"github.com/kaigi/kaigi/internal/chat"
	"github.com/kaigi/kaigi/internal/errs"
	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/principal"
)

// Conn is one person's signalling channel, provided by the transport (the
// realtime gateway). Send takes one Frame, JSON-encoded — a frame for many
// people is encoded once — and must not block: the transport queues or drops.
type Conn interface {
	Send(frame []byte)
}

// encode is a frame's JSON. Frames hold strings, numbers and raw JSON
// already checked, so encoding cannot fail.
func encode(f Frame) []byte {
	b, _ := json.Marshal(f)
	return b
}

// Media carries the audio and video of admitted participants (the SFU).
type Media interface {
	// Join gives an admitted participant a media session in the meeting's
	// room. Signals for the participant's browser go through send.
	Join(ctx context.Context, meeting, participant string, grants Grants, send func(json.RawMessage)) (MediaSession, error)
}

// ErrMediaStopped is what Media.Join returns once the media server has been
// stopped (the node is shutting down).
var ErrMediaStopped = errors.New("meeting: the media server has stopped")

// Grants say what a participant may publish.
type Grants struct {
	Screen bool // may share their screen
}

// MediaSession is one participant's media.
type MediaSession interface {
	// Config is what the browser needs to connect (ICE servers and their
	// credentials), sent with the admission.
	Config() json.RawMessage
	// Signal handles a signal from the browser (an SDP answer or offer, an
	// ICE candidate). A malformed one is refused with an error.
	Signal(ctx context.Context, s json.RawMessage) error
	// SetMuted stops or resumes forwarding what the participant publishes
	// of one kind (audio, video or screen).
	SetMuted(kind string, muted bool)
	Close()
	// Done is closed once the session has ended: by Close, or by the media
	// server itself, when the participant's connection never came up or
	// failed.
	Done() <-chan struct{}
}

// Frame is a message from the meeting to one person.
type Frame struct {
	// Type is meeting.lobby (you wait), meeting.admitted, meeting.denied,
	// meeting.removed (back to the lobby), meeting.ended,
	// meeting.participants, meeting.waiting (the lobby, for admitters),
	// meeting.state, meeting.speaker, meeting.signal, meeting.media (the
	// media session was replaced: without Media, drop the peer connection
	// and wait; with it, connect again) or meeting.left.
	Type         string          `json:"type"`
	Meeting      string          `json:"meeting"`
	Title        string          `json:"title,omitempty"`
	You          string          `json:"you,omitempty"`
	Role         string          `json:"role,omitempty"`
	Participants []Participant   `json:"participants,omitempty"`
	Lobby        []Waiting       `json:"lobby,omitempty"`
	State        *State          `json:"state,omitempty"`
	Chat         string          `json:"chat,omitempty"`
	Rejoin       string          `json:"rejoin,omitempty"`
	Media        json.RawMessage `json:"media,omitempty"`
	Signal       json.RawMessage `json:"signal,omitempty"`
	Speaker      string          `json:"speaker,omitempty"`
	Message      string          `json:"message,omitempty"`
}

// Participant is a person in the meeting, as the others see them.
type Participant struct {
	ID      string     `json:"id"`
	Account ids.UserID `json:"account,omitempty"`
	Name    string     `json:"name"`
	Kind    string     `json:"kind"` // member, guest, federated, external, anonymous
	Role    string     `json:"role"`
	Hand    bool       `json:"hand,omitempty"`
	Audio   bool       `json:"audio"` // publishing audio (not muted)
	Video   bool       `json:"video"`
	Screen  bool       `json:"screen"`
}

// Waiting is a person in the lobby, as admitters see them.
type Waiting struct {
	ID    string    `json:"id"`
	Name  string    `json:"name"`
	Kind  string    `json:"kind"`
	Since time.Time `json:"since"`
}

// State is the meeting's live state.
type State struct {
	Locked    bool `json:"locked"`
	Recording bool `json:"recording"`
}

// JoinRequest is what a person sends to join.
type JoinRequest struct {
	// Meeting is the meeting's id, for those who can see it; Code the join
	// code of its link, for everyone else.
	Meeting string `json:"meeting"`
	Code    string `json:"code"`
	// Name is the display name of a person who is not signed in.
	Name string `json:"name"`
	// Rejoin is the token given at admission, to come back within the
	// grace period without a new admission.
	Rejoin string `json:"rejoin"`
}

// room is a meeting's live state on this node.
type room struct {
	m       Meeting
	locked  bool
	ended   bool
	in      map[string]*Attendance // admitted, by participant id
	lobby   map[string]*Attendance // waiting
	grace   map[string]graceTicket // by identity key
	removed map[string]bool        // identity keys removed to the lobby this session
	// recording is the recording in progress, if any.
	recording *recordingState
}

type graceTicket struct {
	role    string
	expires time.Time
}

// Attendance is one person's presence in a meeting: waiting or admitted.
type Attendance struct {
	s      *Service
	r      *room
	id     string
	j      Joiner
	conn   Conn
	key    string // identity key: the account, or the rejoin token
	since  time.Time
	state  string // waiting, in, gone
	part   Participant
	media  MediaSession
	rejoin string
	// mutedByOrganiser: an organiser muted a, and a has not unmuted since;
	// a replacement media session is muted too.
	mutedByOrganiser bool
}

// Attendance states.
const (
	stateWaiting = "waiting"
	stateIn      = "in"
	stateGone    = "gone"
)

// ID is the participant's id in the meeting.
func (a *Attendance) ID() string { return a.id }

// Meeting is the id of the meeting.
func (a *Attendance) Meeting() string { return a.r.m.ID }

var (
	errLocked    = errs.E(errs.Conflict, "The meeting is locked: nobody new can join.")
	errEnded     = errs.E(errs.Conflict, "This meeting has ended.")
	errAnon      = errs.E(errs.Forbidden, "This meeting does not let people join without signing in. Sign in first.")
	errNotIn     = errs.E(errs.Forbidden, "You are not in this meeting (admitted people only).")
	errNoAdmit   = errs.E(errs.Forbidden, "Only the organiser and co-organisers (or presenters, when the meeting allows) can do this.")
	errGoneNow   = errs.E(errs.NotFound, "That person is no longer waiting or in the meeting.")
	errBadName   = errs.E(errs.Invalid, "Give your name (1 to 64 characters on one line) so that the organiser knows who is waiting.")
	errBadOrder  = errs.E(errs.Invalid, "Unknown meeting action.")
	errLobbyFull = errs.E(errs.Conflict, "Too many people are waiting to join this meeting. Try again later.")
)

// pleaseWait is what a person in the lobby is told.
const pleaseWait = "Please wait: someone in the meeting will let you in soon."

// MaxLobby bounds how many people may wait in one meeting's lobby.
const MaxLobby = 200

// Join asks for p to join a meeting over conn. The person is admitted at
// once when they may bypass the lobby, and waits in it otherwise; conn
// receives a meeting.admitted or meeting.lobby frame before Join returns.
func (s *Service) Join(ctx context.Context, p principal.Principal, req JoinRequest, conn Conn) (*Attendance, error) {
	m, err := s.resolve(ctx, p, req)
	if err != nil {
		return nil, err
	}
	j, err := s.classify(ctx, p, m, req.Name)
	if err != nil {
		return nil, err
	}
	if j.Class == ClassAnonymous {
		name := strings.TrimSpace(req.Name)
		if name == "" || utf8.RuneCountInString(name) > 64 || strings.ContainsFunc(name, chat.UnsafeInLine) {
			return nil, errBadName
		}
		j.Name = name
		t, err := s.accounts.TenantByID(ctx, m.Tenant)
		if err != nil {
			return nil, err
		}
		if !m.Options.AllowAnonymous || !t.Policy.Meetings.AllowAnonymous {
			return nil, errAnon
		}
	}
	r := s.room(m)
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Now()
	if (r.ended || !m.Ended.IsZero()) && j.Class != ClassOrganizer {
		return nil, errEnded
	}
	if r.locked && j.Class != ClassOrganizer {
		return nil, errLocked
	}
	a := &Attendance{s: s, r: r, id: ids.New(), j: j, conn: conn, since: now}
	a.key = "account:" + string(p.User)
	if p.Kind == principal.Anonymous {
		a.key = ""
	}
	if r.ended {
		r.ended = false
		m.Ended = time.Time{}
		r.m.Ended = time.Time{}
	}
	// Coming back within the grace period after a dropped connection.
	how := ""
	if t, ok := r.grace[a.key]; ok && a.key != "" {
		delete(r.grace, a.key)
		if now.Before(t.expires) {
			how = "rejoin"
		}
	}
	if req.Rejoin != "" && how == "" {
		for k, t := range r.grace {
			if strings.HasPrefix(k, "rejoin:") && subtle.ConstantTimeCompare([]byte(k), []byte("rejoin:"+req.Rejoin)) == 1 {
				delete(r.grace, k)
				if now.Before(t.expires) {
					how, a.key = "rejoin", k
				}
			}
		}
	}
	if how == "" && MayBypass(m.Options.LobbyBypass, j.Class) && !r.removed[a.key] {
		how = "bypass"
	}
	if how == "" && len(r.lobby) >= MaxLobby {
		return nil, errLobbyFull
	}
	if how != "" {
		if err := s.record(ctx, p, m, "meeting.join", audit.Success, map[string]string{"participant": a.id, "class": string(j.Class), "kind": j.Kind, "how": how}); err != nil {
			return nil, err
		}
		s.admitLocked(ctx, r, a)
		return a, nil
	}
	if err := s.record(ctx, p, m, "meeting.lobby.enter", audit.Success, map[string]string{"participant": a.id, "class": string(j.Class), "kind": j.Kind}); err != nil {
		return nil, err
	}
	a.state = stateWaiting
	r.lobby[a.id] = a
	conn.Send(encode(Frame{Type: "meeting.lobby", Meeting: m.ID, Title: m.Title, You: a.id,
		Message: pleaseWait}))
	s.lobbyChangedLocked(r)
	return a, nil
}

// resolve finds the meeting a join request names, refusing forged ids and
// codes alike.
func (s *Service) resolve(ctx context.Context, p principal.Principal, req JoinRequest) (Meeting, error) {
	if req.Code != "" {
		return s.Lookup(ctx, req.Code)
	}
	return s.visible(ctx, p, req.Meeting)
}

// room returns the live room of a meeting, refreshing its stored options.
func (s *Service) room(m Meeting) *room {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.rooms[m.ID]
	if !ok {
		r = &room{m: m, in: map[string]*Attendance{}, lobby: map[string]*Attendance{}, grace: map[string]graceTicket{}, removed: map[string]bool{}}
		s.rooms[m.ID] = r
	}
	r.m.Options, r.m.Invitees, r.m.Title = m.Options, m.Invitees, m.Title
	return r
}

// admitLocked lets a into the meeting: it receives the participants, the
// chat and its media configuration, and the others see it arrive.
func (s *Service) admitLocked(ctx context.Context, r *room, a *Attendance) {
	delete(r.lobby, a.id)
	delete(r.removed, a.key)
	a.state = stateIn
	a.part = Participant{ID: a.id, Account: a.j.Principal.User, Name: a.j.Name, Kind: a.j.Kind, Role: a.j.Role}
	if a.j.Principal.Kind == principal.Anonymous {
		a.part.Account = ""
	}
	if a.key == "" || strings.HasPrefix(a.key, "rejoin:") {
		a.rejoin = randomToken()
		a.key = "rejoin:" + a.rejoin
	}
	r.in[a.id] = a
	if s.chats != nil && r.m.Chat != "" && a.j.Principal.IsTenantUser() && a.j.Principal.Tenant == r.m.Tenant {
		if err := s.chats.JoinMeetingChat(ctx, r.m.Tenant, r.m.Chat, a.j.Principal.User); err != nil {
			s.log.Warn("meeting chat: could not add a participant", "meeting", r.m.ID, "err", err)
		}
	}
	var cfg json.RawMessage
	if ms, err := s.joinMediaLocked(ctx, r, a); err != nil {
		s.log.Error("meeting media: could not join", "meeting", r.m.ID, "err", err)
	} else if ms != nil {
		cfg = ms.Config()
	}
	chat := ""
	if a.j.Principal.IsTenantUser() && a.j.Principal.Tenant == r.m.Tenant {
		chat = r.m.Chat
	}
	if r.recording != nil {
		r.recording.names[a.id] = a.part.Name
	}
	a.conn.Send(encode(Frame{Type: "meeting.admitted", Meeting: r.m.ID, Title: r.m.Title, You: a.id, Role: a.part.Role,
		Participants: participants(r), State: &State{Locked: r.locked, Recording: r.recording != nil}, Chat: chat, Rejoin: a.rejoin, Media: cfg}))
	s.broadcastLocked(r, Frame{Type: "meeting.participants", Meeting: r.m.ID, Participants: participants(r)}, a.id)
	if mayAdmit(r.m.Options.Admitters, a.part.Role) {
		a.conn.Send(encode(Frame{Type: "meeting.waiting", Meeting: r.m.ID, Lobby: waiting(r)}))
	}
}

func (s *Service) mayShareScreen(ctx context.Context, a *Attendance) bool {
	if a.j.Principal.Kind != principal.Guest {
		return true
	}
	t, err := s.accounts.TenantByID(ctx, a.j.Principal.Tenant)
	return err == nil && t.Policy.Guests.ShareScreen
}

func participants(r *room) []Participant {
	out := make([]Participant, 0, len(r.in))
	for _, a := range r.in {
		out = append(out, a.part)
	}
	slices.SortFunc(out, func(a, b Participant) int { return strings.Compare(a.ID, b.ID) })
	return out
}

func waiting(r *room) []Waiting {
	out := make([]Waiting, 0, len(r.lobby))
	for _, a := range r.lobby {
		out = append(out, Waiting{ID: a.id, Name: a.j.Name, Kind: a.j.Kind, Since: a.since})
	}
	slices.SortFunc(out, func(a, b Waiting) int { return a.Since.Compare(b.Since) })
	return out
}

// broadcastLocked sends f to every admitted participant but except.
func (s *Service) broadcastLocked(r *room, f Frame, except string) {
	b := encode(f)
	for id, a := range r.in {
		if id != except {
			a.conn.Send(b)
		}
	}
}

// lobbyChangedLocked shows the lobby to every admitter present.
func (s *Service) lobbyChangedLocked(r *room) {
	b := encode(Frame{Type: "meeting.waiting", Meeting: r.m.ID, Lobby: waiting(r)})
	for _, a := range r.in {
		if mayAdmit(r.m.Options.Admitters, a.part.Role) {
			a.conn.Send(b)
		}
	}
}

func (s *Service) record(ctx context.Context, p principal.Principal, m Meeting, action string, result audit.Result, details map[string]string) error {
	return s.store.UpdateMeetings(ctx, func(tx Tx) error {
		_, err := s.audit.Append(ctx, tx, audit.Entry{Actor: p, Tenant: m.Tenant, Action: action, Target: "meeting:" + m.ID, Result: result, Details: details})
		return err
	})
}

func randomToken() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// ---- what participants do

// Command is an action in a meeting.
type Command struct {
	// Action is admit, deny, admit_all, lock, unlock, remove, end, hand,
	// lower_hand, media (the sender's own audio/video/screen state), mute
	// (an organiser stops someone's audio), or record (on: start, off: stop).
	Action string `json:"action"`
	// Who are the participants or lobby entries acted on.
	Who []string `json:"who"`
	// On is the new value for hand and media.
	On     bool   `json:"on"`
	Kind   string `json:"kind"` // media: audio, video or screen
	Reason string `json:"reason"`
}

// Do carries out a participant's command.
func (a *Attendance) Do(ctx context.Context, c Command) error {
	s, r := a.s, a.r
	s.mu.Lock()
	defer s.mu.Unlock()
	if a.state != stateIn {
		return errNotIn
	}
	admitter := mayAdmit(r.m.Options.Admitters, a.part.Role)
	organizer := a.part.Role == Organizer || a.part.Role == CoOrganizer
	p := a.j.Principal
	switch c.Action {
	case "admit", "deny", "admit_all":
		if !admitter {
			return errNoAdmit
		}
		who := c.Who
		if c.Action == "admit_all" {
			who = slices.Collect(maps.Keys(r.lobby))
		}
		if len(who) == 0 && c.Action != "admit_all" {
			return errs.E(errs.Invalid, "Say whom to %s.", c.Action)
		}
		for _, id := range who {
			w, ok := r.lobby[id]
			if !ok {
				if c.Action == "admit_all" {
					continue
				}
				return errGoneNow
			}
			action := "meeting.admit"
			if c.Action == "deny" {
				action = "meeting.deny"
			}
			if err := s.record(ctx, p, r.m, action, audit.Success, map[string]string{"participant": w.id, "class": string(w.j.Class), "kind": w.j.Kind, "by_role": a.part.Role}); err != nil {
				return err
			}
			if c.Action == "deny" {
				delete(r.lobby, id)
				w.state = stateGone
				w.conn.Send(encode(Frame{Type: "meeting.denied", Meeting: r.m.ID, Message: "You were not let into this meeting."}))
				continue
			}
			s.admitLocked(ctx, r, w)
		}
		s.lobbyChangedLocked(r)
	case "lock", "unlock":
		if !organizer {
			return errOrganizer
		}
		if err := s.record(ctx, p, r.m, "meeting."+c.Action, audit.Success, nil); err != nil {
			return err
		}
		r.locked = c.Action == "lock"
		s.broadcastLocked(r, Frame{Type: "meeting.state", Meeting: r.m.ID, State: &State{Locked: r.locked}}, "")
	case "remove":
		if !organizer {
			return errOrganizer
		}
		for _, id := range c.Who {
			t, ok := r.in[id]
			if !ok || id == a.id {
				return errGoneNow
			}
			if t.part.Role == Organizer {
				return errs.E(errs.Forbidden, "The organiser cannot be removed from their meeting.")
			}
			if err := s.record(ctx, p, r.m, "meeting.remove", audit.Success, map[string]string{"participant": t.id, "kind": t.j.Kind}); err != nil {
				return err
			}
			s.leaveLocked(r, t, false)
			r.removed[t.key] = true
			t.state, t.since = stateWaiting, s.clock.Now()
			r.lobby[t.id] = t
			t.conn.Send(encode(Frame{Type: "meeting.removed", Meeting: r.m.ID, Message: "You were moved out of the meeting, back to the lobby."}))
			t.conn.Send(encode(Frame{Type: "meeting.lobby", Meeting: r.m.ID, Title: r.m.Title, You: t.id, Message: pleaseWait}))
		}
		s.lobbyChangedLocked(r)
	case "end":
		if !organizer {
			return errOrganizer
		}
		return s.endLocked(ctx, p, r)
	case "record":
		if !organizer {
			return errOrganizer
		}
		if c.On {
			return s.startRecordingLocked(ctx, p, r)
		}
		return s.stopRecordingLocked(ctx, p, r)
	case "hand", "lower_hand":
		target := a
		on := c.On
		if c.Action == "lower_hand" {
			on = false
			if len(c.Who) == 1 && c.Who[0] != a.id {
				if !organizer {
					return errOrganizer
				}
				if target = r.in[c.Who[0]]; target == nil {
					return errGoneNow
				}
			}
		}
		target.part.Hand = on
		s.broadcastLocked(r, Frame{Type: "meeting.participants", Meeting: r.m.ID, Participants: participants(r)}, "")
	case "media":
		switch c.Kind {
		case "audio":
			a.part.Audio = c.On
			if c.On && a.mutedByOrganiser {
				// Unmuting themselves lifts an organiser's mute, as in
				// Teams: what the list shows and what the server forwards
				// stay the same.
				a.mutedByOrganiser = false
				if a.media != nil {
					a.media.SetMuted("audio", false)
				}
			}
		case "video":
			a.part.Video = c.On
		case "screen":
			if c.On && !s.mayShareScreen(ctx, a) {
				return errs.E(errs.Forbidden, "Your organisation does not let guests share their screen.")
			}
			a.part.Screen = c.On
		default:
			return errs.E(errs.Invalid, "kind is audio, video or screen.")
		}
		s.broadcastLocked(r, Frame{Type: "meeting.participants", Meeting: r.m.ID, Participants: participants(r)}, "")
	case "mute":
		if !organizer {
			return errOrganizer
		}
		for _, id := range c.Who {
			t := r.in[id]
			if t == nil {
				return errGoneNow
			}
			if err := s.record(ctx, p, r.m, "meeting.mute", audit.Success, map[string]string{"participant": t.id, "kind": t.j.Kind}); err != nil {
				return err
			}
			t.part.Audio = false
			t.mutedByOrganiser = true
			if t.media != nil {
				t.media.SetMuted("audio", true)
			}
		}
		s.broadcastLocked(r, Frame{Type: "meeting.participants", Meeting: r.m.ID, Participants: participants(r)}, "")
	default:
		return errBadOrder
	}
	return nil
}

// joinMediaLocked gives a its media session; nil without a media server. A
// session the media server ends on its own is replaced (see mediaEnded).
func (s *Service) joinMediaLocked(ctx context.Context, r *room, a *Attendance) (MediaSession, error) {
	if s.media == nil {
		return nil, nil
	}
	grants := Grants{Screen: s.mayShareScreen(ctx, a)}
	ms, err := s.media.Join(ctx, r.m.ID, a.id, grants, func(sig json.RawMessage) {
		a.conn.Send(encode(Frame{Type: "meeting.signal", Meeting: r.m.ID, Signal: sig}))
	})
	if err != nil {
		return nil, err
	}
	a.media = ms
	go func() {
		<-ms.Done()
		s.mediaEnded(r, a, ms)
	}()
	return ms, nil
}

// mediaEnded runs when one of a's media sessions has ended. A session the
// service closed (a left, was moved to the lobby, the meeting ended) is no
// longer a's. One the media server dropped while a is still in the meeting
// (the connection never came up, or failed: a network change, say) is
// replaced, or a would stay without audio and video until they left and
// came back: the browser is told to drop its peer connection
// (meeting.media without a configuration; the new session's signals wait
// behind it), then given the new session's.
func (s *Service) mediaEnded(r *room, a *Attendance, ms MediaSession) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a.media != ms || a.state != stateIn || r.ended {
		return
	}
	a.media = nil
	s.log.Info("meeting media: the session ended without the participant leaving; starting a new one", "meeting", r.m.ID, "participant", a.id)
	a.conn.Send(encode(Frame{Type: "meeting.media", Meeting: r.m.ID}))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	next, err := s.joinMediaLocked(ctx, r, a)
	if errors.Is(err, ErrMediaStopped) {
		return // the node is shutting down
	}
	if err != nil || next == nil {
		s.log.Error("meeting media: could not start a new session", "meeting", r.m.ID, "err", err)
		a.conn.Send(encode(Frame{Type: "meeting.media", Meeting: r.m.ID,
			Message: "Audio and video stopped and could not be started again. Leave the meeting and join again."}))
		return
	}
	if a.mutedByOrganiser {
		next.SetMuted("audio", true)
	}
	a.conn.Send(encode(Frame{Type: "meeting.media", Meeting: r.m.ID, Media: next.Config()}))
}

// Signal passes a media signal from the participant's browser to the SFU.
// Only admitted participants have media.
func (a *Attendance) Signal(ctx context.Context, sig json.RawMessage) error {
	a.s.mu.Lock()
	ms, in := a.media, a.state == stateIn
	a.s.mu.Unlock()
	if !in {
		return errNotIn
	}
	if ms == nil {
		return errs.E(errs.Unavailable, "Audio and video are not available on this server.")
	}
	return ms.Signal(ctx, sig)
}

// Leave ends the attendance: the person closed the meeting or their
// connection dropped. An admitted person may come back without a new
// admission within the grace period.
func (a *Attendance) Leave(ctx context.Context) {
	s, r := a.s, a.r
	s.mu.Lock()
	defer s.mu.Unlock()
	switch a.state {
	case stateWaiting:
		delete(r.lobby, a.id)
		s.lobbyChangedLocked(r)
	case stateIn:
		s.leaveLocked(r, a, true)
		if len(r.in) == 0 && r.recording != nil {
			// Nobody is left to record.
			if err := s.stopRecordingLocked(ctx, principal.Job("meeting.recording", r.m.Tenant), r); err != nil {
				s.log.Error("meeting: stop recording", "meeting", r.m.ID, "err", err)
			}
		}
	}
	a.state = stateGone
	s.dropIfEmptyLocked(r)
}

// leaveLocked takes an admitted participant out of the meeting.
func (s *Service) leaveLocked(r *room, a *Attendance, grace bool) {
	delete(r.in, a.id)
	if a.media != nil {
		a.media.Close()
		a.media = nil
	}
	if grace && a.key != "" {
		r.grace[a.key] = graceTicket{role: a.part.Role, expires: s.clock.Now().Add(s.grace)}
	}
	s.broadcastLocked(r, Frame{Type: "meeting.participants", Meeting: r.m.ID, Participants: participants(r)}, "")
}

func (s *Service) endLocked(ctx context.Context, p principal.Principal, r *room) error {
	if err := s.stopRecordingLocked(ctx, p, r); err != nil {
		return err
	}
	now := s.clock.Now()
	r.m.Ended = now
	err := s.store.UpdateMeetings(ctx, func(tx Tx) error {
		stored := r.m
		if err := tx.UpdateMeeting(ctx, stored); err != nil {
			return err
		}
		_, err := s.audit.Append(ctx, tx, audit.Entry{Actor: p, Tenant: r.m.Tenant, Action: "meeting.end", Target: "meeting:" + r.m.ID,
			Details: map[string]string{"participants": strconv.Itoa(len(r.in)), "waiting": strconv.Itoa(len(r.lobby))}})
		return err
	})
	if err != nil {
		return err
	}
	r.ended, r.locked = true, false
	f := encode(Frame{Type: "meeting.ended", Meeting: r.m.ID, Message: "The meeting has ended."})
	for _, a := range r.in {
		if a.media != nil {
			a.media.Close()
			a.media = nil
		}
		a.state = stateGone
		a.conn.Send(f)
	}
	for _, a := range r.lobby {
		a.state = stateGone
		a.conn.Send(f)
	}
	clear(r.in)
	clear(r.lobby)
	clear(r.grace)
	clear(r.removed)
	return nil
}

func (s *Service) dropIfEmptyLocked(r *room) {
	if len(r.in) == 0 && len(r.lobby) == 0 && len(r.grace) == 0 && !r.locked && r.recording == nil {
		delete(s.rooms, r.m.ID)
	}
}

// optionsChanged applies new options to the live meeting: whoever waits and
// may now bypass is let in.
func (s *Service) optionsChanged(ctx context.Context, p principal.Principal, m Meeting) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.rooms[m.ID]
	if !ok {
		return
	}
	r.m.Options = m.Options
	for _, w := range r.lobby {
		if MayBypass(m.Options.LobbyBypass, w.j.Class) && !r.removed[w.key] {
			if err := s.record(ctx, p, r.m, "meeting.admit", audit.Success, map[string]string{"participant": w.id, "class": string(w.j.Class), "kind": w.j.Kind, "how": "options"}); err != nil {
				s.log.Error("meeting: audit", "err", err)
				continue
			}
			s.admitLocked(ctx, r, w)
		}
	}
	s.lobbyChangedLocked(r)
}

// Sweep sends away people who waited in a lobby longer than their tenant's
// lobby timeout, and forgets grace tickets that ran out. Run calls it
// periodically; tests call it after moving the clock.
func (s *Service) Sweep(ctx context.Context) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Now()
	for _, r := range s.rooms {
		timeout := 15 * time.Minute
		if t, err := s.accounts.TenantByID(ctx, r.m.Tenant); err == nil {
			timeout = time.Duration(t.Policy.Meetings.Normalized().LobbyTimeoutMinutes) * time.Minute
		}
		changed := false
		for id, w := range r.lobby {
			if now.Sub(w.since) < timeout {
				continue
			}
			if err := s.record(ctx, principal.Job("meeting.lobby", r.m.Tenant), r.m, "meeting.lobby.timeout", audit.Success,
				map[string]string{"participant": w.id, "kind": w.j.Kind, "waited_s": strconv.Itoa(int(now.Sub(w.since).Seconds()))}); err != nil {
				s.log.Error("meeting: audit", "err", err)
				continue
			}
			delete(r.lobby, id)
			w.state = stateGone
			w.conn.Send(encode(Frame{Type: "meeting.denied", Meeting: r.m.ID, Message: "Nobody let you in in time. Try again later or contact the organiser."}))
			changed = true
		}
		for k, t := range r.grace {
			if !now.Before(t.expires) {
				delete(r.grace, k)
			}
		}
		if changed {
			s.lobbyChangedLocked(r)
		}
		s.dropIfEmptyLocked(r)
	}
}

// Run sweeps lobbies until ctx ends.
func (s *Service) Run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.Sweep(ctx)
		}
	}
}

// Speaking tells the participants who is speaking (the SFU's active
// speaker detection calls it).
func (s *Service) Speaking(meeting, participant string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r, ok := s.rooms[meeting]; ok {
		s.broadcastLocked(r, Frame{Type: "meeting.speaker", Meeting: meeting, Speaker: participant}, "")
	}
}

// Live reports a meeting's live participants and lobby, for tests and the
// organiser's options page.
func (s *Service) Live(meeting string) (in []Participant, lobby []Waiting) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r, ok := s.rooms[meeting]; ok {
		return participants(r), waiting(r)
	}
	return nil, nil
}
