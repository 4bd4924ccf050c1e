package app

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/kaigi/kaigi/internal/config"
	"github.com/kaigi/kaigi/internal/errs"
	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/meeting"
	"github.com/kaigi/kaigi/internal/recording"
	"github.com/kaigi/kaigi/internal/sfu"
)

// sfuMedia gives admitted meeting participants their media through the
// built-in SFU: meeting.Media over sfu.SFU. It also records meetings into
// the blob store (StartRecording).
type sfuMedia struct {
	sfu   *sfu.SFU
	log   *slog.Logger
	blobs recording.BlobStore // nil: recording is unavailable
	recs  *sync.WaitGroup     // recordings not yet stored, waited for at shutdown
}

var (
	_ meeting.Media    = sfuMedia{}
	_ meeting.Recorder = sfuMedia{}
)

// mediaConfig is what a browser needs to connect, sent with the admission.
type mediaConfig struct {
	ICEServers []sfu.ICEServer `json:"ice_servers"`
}

func (m sfuMedia) Join(ctx context.Context, room, participant string, grants meeting.Grants, send func(json.RawMessage)) (meeting.MediaSession, error) {
	r, err := m.sfu.Room(sfu.RoomID(room))
	if errors.Is(err, sfu.ErrClosed) {
		return nil, meeting.ErrMediaStopped
	}
	if err != nil {
		return nil, err
	}
	p, err := r.Join(sfu.ParticipantID(participant), sfu.JoinOptions{OnSignal: func(s sfu.Signal) {
		b, err := json.Marshal(s)
		if err == nil {
			send(b)
		}
	}})
	if err != nil {
		return nil, err
	}
	cfg := mediaConfig{ICEServers: []sfu.ICEServer{}}
	if ice, err := m.sfu.TURNCredentials(sfu.ParticipantID(participant)); err == nil {
		cfg.ICEServers = append(cfg.ICEServers, ice)
	} else if !errors.Is(err, sfu.ErrTURNDisabled) {
		m.log.Warn("turn credentials", "err", err)
	}
	raw, _ := json.Marshal(cfg)
	return &sfuSession{p: p, grants: grants, cfg: raw}, nil
}

// sfuSession is one participant's media session.
type sfuSession struct {
	p      *sfu.Participant
	grants meeting.Grants
	cfg    json.RawMessage
}

// signal is what a browser sends: an SDP offer or answer, an ICE
// candidate, or which of its tracks is its screen.
type signal struct {
	Type      string                   `json:"type"`
	SDP       string                   `json:"sdp"`
	Candidate *webrtc.ICECandidateInit `json:"candidate"`
	Track     string                   `json:"track"`
	Source    string                   `json:"source"`
}

func (s *sfuSession) Config() json.RawMessage { return s.cfg }

func (s *sfuSession) Signal(_ context.Context, raw json.RawMessage) error {
	var sig signal
	if err := json.Unmarshal(raw, &sig); err != nil {
		return errs.E(errs.Invalid, "The media signal is not valid JSON.")
	}
	var err error
	switch sig.Type {
	case "offer":
		err = s.p.HandleOffer(sig.SDP)
	case "answer":
		err = s.p.HandleAnswer(sig.SDP)
	case "candidate":
		if sig.Candidate == nil {
			return errs.E(errs.Invalid, "A candidate signal needs its candidate.")
		}
		err = s.p.AddICECandidate(*sig.Candidate)
	case "source":
		src := sfu.Source(sig.Source)
		switch src {
		case sfu.SourceMicrophone, sfu.SourceCamera:
		case sfu.SourceScreen, sfu.SourceScreenAudio:
			if !s.grants.Screen {
				return errs.E(errs.Forbidden, "Your organisation does not let guests share their screen.")
			}
		default:
			return errs.E(errs.Invalid, "A track's source is microphone, camera, screen or screen_audio.")
		}
		s.p.SetTrackSource(sig.Track, src)
		return nil
	default:
		return errs.E(errs.Invalid, "A media signal is an offer, an answer, a candidate or a source.")
	}
	switch {
	case errors.Is(err, sfu.ErrGlare):
		// The server's own offer won; the browser, the polite peer, answers
		// it and offers again.
		return nil
	case err != nil:
		return errs.Wrap(errs.Invalid, err, "The media signal was refused: its SDP or ICE candidate is malformed, too large or out of turn.")
	}
	return nil
}

func (s *sfuSession) SetMuted(kind string, muted bool) {
	switch kind {
	case "audio":
		s.p.SetMuted(webrtc.RTPCodecTypeAudio, muted)
	case "video":
		s.p.SetMuted(webrtc.RTPCodecTypeVideo, muted)
	}
}

func (s *sfuSession) Close() { s.p.Remove() }

func (s *sfuSession) Done() <-chan struct{} { return s.p.Done() }

// turnSecret reads the TURN secret from the data directory, making it on
// first start. Nodes that share a data directory share it.
func turnSecret(dataDir string) (sfu.TURNSecret, error) {
	path := filepath.Join(dataDir, "turn.key")
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		b = make([]byte, 32)
		_, _ = rand.Read(b)
		tmp := path + ".tmp"
		if err := os.WriteFile(tmp, b, 0o600); err != nil {
			return sfu.TURNSecret{}, err
		}
		if err := os.Rename(tmp, path); err != nil {
			return sfu.TURNSecret{}, err
		}
	} else if err != nil {
		return sfu.TURNSecret{}, err
	}
	if len(b) < 32 {
		return sfu.TURNSecret{}, fmt.Errorf("%s holds %d bytes; a TURN secret has at least 32", path, len(b))
	}
	return sfu.NewTURNSecret(b), nil
}

// startMedia starts the SFU (and its TURN server) as configured.
func (a *App) startMedia(cfg config.Config, log *slog.Logger) (meeting.Media, error) {
	metrics, err := sfu.NewMetrics(a.Registry)
	if err != nil {
		return nil, err
	}
	sc := sfu.Config{UDPAddr: cfg.MediaUDPAddr, TCPAddr: cfg.MediaTCPAddr, DisableTCP: cfg.MediaTCPAddr == "off",
		IncludeLoopback: cfg.MediaLoopback, Logger: log, Metrics: metrics, Clock: a.Clock,
		Limits: sfu.Limits{ParticipantsPerRoom: int(cfg.MediaMaxParticipantsPerRoom)},
		OnEvent: func(e sfu.Event) {
			switch e.Type {
			case sfu.EventActiveSpeaker:
				if a.Meetings != nil {
					a.Meetings.Speaking(string(e.Room), string(e.Participant))
				}
			case sfu.EventTrackPublished, sfu.EventTrackUnpublished, sfu.EventConnectionState:
				if a.sfu != nil { // set once the SFU exists
					fitGrid(a.sfu, e.Room)
				}
			}
		}}
	if sc.DisableTCP {
		sc.TCPAddr = ""
	}
	for _, ip := range strings.Split(cfg.MediaPublicIPs, ",") {
		if ip = strings.TrimSpace(ip); ip != "" {
			sc.PublicIPs = append(sc.PublicIPs, ip)
		}
	}
	if cfg.TURNAddr != "off" {
		secret, err := turnSecret(cfg.DataDir)
		if err != nil {
			return nil, err
		}
		sc.TURN = &sfu.TURNConfig{UDPAddr: cfg.TURNAddr, TCPAddr: cfg.TURNAddr, Secret: secret}
		if host, _, _ := net.SplitHostPort(cfg.TURNAddr); host != "" && len(sc.PublicIPs) == 0 {
			sc.TURN.RelayIP = host // a TURN server on one address relays on it
		}
	}
	s, err := sfu.New(sc)
	if err != nil {
		return nil, err
	}
	a.sfu = s
	m := sfuMedia{sfu: s, log: log, blobs: a.Blobs, recs: &sync.WaitGroup{}}
	a.closers = append(a.closers, func() error {
		err := s.Close() // ends every recording; their files are then stored
		if !waitTimeout(m.recs, recordingShutdownWait) {
			log.Error("recordings were still being stored at shutdown and may be lost")
		}
		return err
	})
	return m, nil
}

// recordingShutdownWait bounds how long shutdown waits for recordings to be
// stored.
const recordingShutdownWait = 30 * time.Second

func waitTimeout(wg *sync.WaitGroup, d time.Duration) bool {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
		return true
	case <-time.After(d):
		return false
	}
}

// ErrRecordingUnavailable means the node cannot record: no blob store.
var ErrRecordingUnavailable = errs.E(errs.Unavailable, "Recording is not available on this server.")

// StartRecording implements meeting.Recorder. It records a meeting's room:
// every participant's microphone and camera, and every screen share, as they
// are published, into sealed WebM blobs of the tenant (see package
// recording); RecordedFile.BlobKey is the key to Blobs.Get them with. It
// fails if the room is already recorded (twice at once at most). The recording runs until stop
// is called or the node shuts down; stop returns the files stored, and,
// joined, errors of files that could not be (the files listed are good even
// then). stop waits for the files to be stored; if its ctx ends first the
// unfinished files are abandoned. stop is idempotent: later calls return
// the first call's result. Callers audit start and stop; this logs only ids.
func (m sfuMedia) StartRecording(ctx context.Context, tenant ids.TenantID, meetingID string) (meeting.StopRecording, error) {
	if m.blobs == nil {
		return nil, ErrRecordingUnavailable
	}
	r, err := m.sfu.Room(sfu.RoomID(meetingID))
	if err != nil {
		return nil, err
	}
	// The files outlive the request that starts the recording; stop may
	// cancel them.
	putCtx, cancelPuts := context.WithCancel(context.WithoutCancel(ctx))
	log := m.log.With("tenant", string(tenant), "meeting", meetingID)
	rec := recording.New(recording.Options{Log: log, Create: func(f recording.File) (io.WriteCloser, error) {
		return recording.NewSealedOutput(putCtx, m.blobs, tenant, recording.BlobKey(meetingID, f.ID)), nil
	}})
	tap, err := r.StartRecording(rec, sfu.RecordingOptions{})
	if err != nil {
		cancelPuts()
		if errors.Is(err, sfu.ErrTooManyRecordings) {
			return nil, errs.E(errs.Conflict, "This meeting is already being recorded.")
		}
		return nil, err
	}
	log.Info("recording started")
	var (
		once   sync.Once
		files  []meeting.RecordedFile
		ferr   error
		stored = make(chan struct{})
	)
	finish := func() {
		once.Do(func() {
			defer close(stored)
			defer m.recs.Done()
			tap.Stop()
			got, err := rec.Close()
			cancelPuts()
			for _, f := range got {
				files = append(files, meeting.RecordedFile{BlobKey: recording.BlobKey(meetingID, f.ID), Participant: f.Participant,
					Kind: string(f.Kind), ContentType: f.ContentType, Bytes: f.Bytes, Duration: f.Duration})
			}
			ferr = err
			st := tap.Stats()
			log.Info("recording stopped", "files", len(files), "packets", st.Packets, "dropped", st.Dropped, "failed", err != nil)
			if err != nil {
				log.Warn("recording files lost", "err", err)
			}
		})
	}
	m.recs.Add(1)
	go func() { // the room closing (shutdown) ends the recording too
		select {
		case <-tap.Done():
			finish()
		case <-stored:
		}
	}()
	return func(ctx context.Context) ([]meeting.RecordedFile, error) {
		go finish()
		select {
		case <-stored:
			return files, ferr
		case <-ctx.Done():
			cancelPuts()
			<-stored
			return files, errors.Join(ctx.Err(), ferr)
		}
	}, nil
}

// gridQuality is the simulcast layer people receive of others' cameras: the
// more cameras in the meeting, the smaller each tile of the grid, and the
// lower the layer — which keeps bandwidth sane in large grids. Screens are
// always sent at their best.
func gridQuality(cameras int) sfu.Quality {
	switch {
	case cameras <= 4:
		return sfu.QualityHigh
	case cameras <= 9:
		return sfu.QualityMedium
	}
	return sfu.QualityLow
}

// fitGrid sets every subscription to a camera in the room to the layer its
// grid calls for. Tracks sent without simulcast have one layer and are
// left as they are.
func fitGrid(s *sfu.SFU, id sfu.RoomID) {
	r, ok := s.LookupRoom(id)
	if !ok {
		return
	}
	cameras, layered := 0, map[sfu.TrackID]bool{}
	for _, t := range r.Tracks() {
		if t.Kind != webrtc.RTPCodecTypeVideo || t.Source == sfu.SourceScreen {
			continue
		}
		cameras++
		if len(t.Layers) > 1 {
			layered[t.ID] = true
		}
	}
	q := gridQuality(cameras)
	for _, pid := range r.Participants() {
		p, ok := r.Participant(pid)
		if !ok {
			continue
		}
		for _, tid := range p.Subscriptions() {
			if layered[tid] {
				_ = p.SetSubscriptionQuality(tid, q)
			}
		}
	}
}
