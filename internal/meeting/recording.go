package meeting

import (
	"context"
	"io"
	"strconv"
	"time"

	"github.com/kaigi/kaigi/internal/audit"
	"github.com/kaigi/kaigi/internal/errs"
	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/principal"
)

// Recorder records a meeting's media, sealed, into the blob store. The
// media (the SFU) implements it.
type Recorder interface {
	StartRecording(ctx context.Context, tenant ids.TenantID, meeting string) (StopRecording, error)
}

// StopRecording ends a recording and says what was written.
type StopRecording func(ctx context.Context) ([]RecordedFile, error)

// RecordedFile is one file of a recording: a participant's camera and
// microphone, or a screen they shared, as WebM, sealed in the blob store.
type RecordedFile struct {
	BlobKey     string        `json:"-"`
	Participant string        `json:"participant"`
	Kind        string        `json:"kind"` // camera+microphone or screen
	Bytes       int64         `json:"bytes"`
	Duration    time.Duration `json:"duration"`
	ContentType string        `json:"content_type"`
}

// Recording is a stored recording file, listed with its meeting.
type Recording struct {
	ID        string       `json:"id"`
	Tenant    ids.TenantID `json:"-"`
	Meeting   string       `json:"meeting"`
	Name      string       `json:"name"` // whose media it is, as they were shown
	Kind      string       `json:"kind"`
	Bytes     int64        `json:"bytes"`
	Seconds   float64      `json:"seconds"`
	Started   time.Time    `json:"started"`
	Created   time.Time    `json:"created"`
	BlobKey   string       `json:"-"`
	StartedBy ids.UserID   `json:"started_by"`
}

// RecordingStore keeps recordings.
type RecordingStore interface {
	InsertRecording(ctx context.Context, r Recording) error
}

// RecordingReader reads recordings.
type RecordingReader interface {
	Recordings(ctx context.Context, meeting string) ([]Recording, error)
	Recording(ctx context.Context, id string) (Recording, error)
}

// Blobs opens sealed recordings for playback.
type Blobs interface {
	Get(ctx context.Context, tenant ids.TenantID, key string) (io.ReadCloser, error)
}

// recordingState is a live meeting's recording in progress.
type recordingState struct {
	stop    StopRecording
	by      principal.Principal
	started time.Time
	names   map[string]string // participant id → name, of everyone recorded
}

var (
	errNoRecording = errs.E(errs.Forbidden, "Your organisation does not allow recording meetings.")
	errRecorder    = errs.E(errs.Unavailable, "Recording is not available on this server.")
)

// startRecordingLocked starts recording the live meeting; everyone in it
// is told at once.
func (s *Service) startRecordingLocked(ctx context.Context, p principal.Principal, r *room) error {
	if r.recording != nil {
		return nil
	}
	t, err := s.accounts.TenantByID(ctx, r.m.Tenant)
	if err != nil {
		return err
	}
	if !t.Policy.Meetings.AllowRecording {
		return errNoRecording
	}
	rec, ok := s.media.(Recorder)
	if s.media == nil || !ok {
		return errRecorder
	}
	if err := s.record(ctx, p, r.m, "meeting.recording.start", audit.Success, map[string]string{"participants": strconv.Itoa(len(r.in))}); err != nil {
		return err
	}
	stop, err := rec.StartRecording(ctx, r.m.Tenant, r.m.ID)
	if err != nil {
		return err
	}
	r.recording = &recordingState{stop: stop, by: p, started: s.clock.Now(), names: map[string]string{}}
	for id, a := range r.in {
		r.recording.names[id] = a.part.Name
	}
	s.broadcastLocked(r, Frame{Type: "meeting.state", Meeting: r.m.ID, State: &State{Locked: r.locked, Recording: true},
		Message: "This meeting is being recorded."}, "")
	return nil
}

// stopRecordingLocked stops the recording, stores what it wrote and tells
// everyone.
func (s *Service) stopRecordingLocked(ctx context.Context, p principal.Principal, r *room) error {
	rs := r.recording
	if rs == nil {
		return nil
	}
	r.recording = nil
	files, err := rs.stop(ctx)
	if err != nil {
		s.log.Error("meeting: stop recording", "meeting", r.m.ID, "err", err)
	}
	now := s.clock.Now()
	var stored []Recording
	for _, f := range files {
		name := rs.names[f.Participant]
		if name == "" {
			name = f.Participant
		}
		stored = append(stored, Recording{ID: ids.New(), Tenant: r.m.Tenant, Meeting: r.m.ID, Name: name, Kind: f.Kind, Bytes: f.Bytes,
			Seconds: f.Duration.Seconds(), Started: rs.started, Created: now, BlobKey: f.BlobKey, StartedBy: rs.by.User})
	}
	err2 := s.store.UpdateMeetings(ctx, func(tx Tx) error {
		rtx, ok := tx.(RecordingStore)
		if !ok {
			return errRecorder
		}
		for _, rec := range stored {
			if err := rtx.InsertRecording(ctx, rec); err != nil {
				return err
			}
		}
		_, err := s.audit.Append(ctx, tx, audit.Entry{Actor: p, Tenant: r.m.Tenant, Action: "meeting.recording.stop", Target: "meeting:" + r.m.ID,
			Details: map[string]string{"files": strconv.Itoa(len(stored)), "seconds": strconv.Itoa(int(now.Sub(rs.started).Seconds()))}})
		return err
	})
	if err2 != nil {
		return err2
	}
	s.broadcastLocked(r, Frame{Type: "meeting.state", Meeting: r.m.ID, State: &State{Locked: r.locked, Recording: false},
		Message: "The recording has stopped."}, "")
	return err
}

// Recordings lists a meeting's recordings to the people who can see the
// meeting.
func (s *Service) Recordings(ctx context.Context, p principal.Principal, meeting string) ([]Recording, error) {
	m, err := s.visible(ctx, p, meeting)
	if err != nil {
		return nil, err
	}
	rr, ok := s.store.(RecordingReader)
	if !ok {
		return nil, errRecorder
	}
	return rr.Recordings(ctx, m.ID)
}

// OpenRecording opens a recording for playback, for the people who can see
// its meeting. Every playback is audited.
func (s *Service) OpenRecording(ctx context.Context, p principal.Principal, id string) (Recording, io.ReadCloser, error) {
	rr, ok := s.store.(RecordingReader)
	if !ok || s.blobs == nil {
		return Recording{}, nil, errRecorder
	}
	notFound := errs.E(errs.Forbidden, "You do not have access to this recording (or it does not exist).")
	if !ids.Valid(id) {
		return Recording{}, nil, notFound
	}
	rec, err := rr.Recording(ctx, id)
	if err != nil || rec.Tenant != p.Tenant {
		return Recording{}, nil, notFound
	}
	if _, err := s.visible(ctx, p, rec.Meeting); err != nil {
		return Recording{}, nil, notFound
	}
	if err := s.store.UpdateMeetings(ctx, func(tx Tx) error {
		_, err := s.audit.Append(ctx, tx, audit.Entry{Actor: p, Action: "meeting.recording.read", Target: "recording:" + rec.ID,
			Details: map[string]string{"meeting": rec.Meeting}})
		return err
	}); err != nil {
		return Recording{}, nil, err
	}
	body, err := s.blobs.Get(ctx, rec.Tenant, rec.BlobKey)
	if err != nil {
		return Recording{}, nil, err
	}
	return rec, body, nil
}
