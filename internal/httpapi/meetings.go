package httpapi

import (
	"io"
	"net/http"
	"time"

	"github.com/kaigi/kaigi/internal/errs"
	"github.com/kaigi/kaigi/internal/meeting"
	"github.com/kaigi/kaigi/internal/principal"
)

// Bodies of the meeting routes.
type (
	InstantMeetingBody struct {
		Channel string `json:"channel,omitempty" doc:"The channel or chat the meeting starts from; its members join like people of the organisation."`
		Title   string `json:"title,omitempty"`
	}
	// MeetingLookup is what a join link tells before joining: nothing but
	// the title and how one may join.
	MeetingLookup struct {
		Title          string `json:"title"`
		Start          string `json:"start"`
		AllowAnonymous bool   `json:"allow_anonymous" doc:"Whether people who are not signed in may ask to join."`
		SignedIn       bool   `json:"signed_in"`
	}
)

// RegisterMeetings registers the meeting routes. Scheduling needs a member
// or guest of a tenant (the meeting service applies the guest switch);
// looking a join link up is public and tells only the title.
func RegisterMeetings(s *Server, m *meeting.Service) {
	route := func(method, pattern, summary string, policy principal.Policy, req, resp any, status int, h HandlerFunc) {
		s.Handle(Route{Method: method, Pattern: pattern, Policy: policy, Doc: Doc{Summary: summary, Tag: "meetings", Request: req, Response: resp, Status: status}, Handler: h})
	}
	id := func(r *http.Request) string { return r.PathValue("id") }

	route("POST", "/api/v1/meetings", "Schedule a meeting; you organise it. The answer carries the join link.", principal.TenantUser, meeting.NewMeeting{}, meeting.Created{}, http.StatusCreated,
		JSON(http.StatusCreated, func(r *http.Request, p principal.Principal, b meeting.NewMeeting) (meeting.Created, error) {
			return m.Create(r.Context(), p, b)
		}))
	route("POST", "/api/v1/meetings/instant", "Start a meeting now, from a channel or chat or on its own.", principal.TenantUser, InstantMeetingBody{}, meeting.Created{}, http.StatusCreated,
		JSON(http.StatusCreated, func(r *http.Request, p principal.Principal, b InstantMeetingBody) (meeting.Created, error) {
			return m.Instant(r.Context(), p, b.Channel, b.Title)
		}))
	route("GET", "/api/v1/meetings", "Meetings you organise or are invited to that have not ended (?since= an RFC 3339 time to look further back).", principal.TenantUser, nil, []meeting.Meeting{}, 0,
		JSON(http.StatusOK, func(r *http.Request, p principal.Principal, _ None) ([]meeting.Meeting, error) {
			since := time.Now()
			if v := r.URL.Query().Get("since"); v != "" {
				t, err := time.Parse(time.RFC3339, v)
				if err != nil {
					return nil, errs.E(errs.Invalid, "since must be a time such as 2026-11-27T09:00:00Z.")
				}
				since = t
			}
			return m.List(r.Context(), p, since, 200)
		}))
	route("GET", "/api/v1/meetings/{id}", "A meeting with its join link (organiser, invitees, and members of the channel it started from).", principal.TenantUser, nil, meeting.Created{}, 0,
		JSON(http.StatusOK, func(r *http.Request, p principal.Principal, _ None) (meeting.Created, error) {
			return m.Get(r.Context(), p, id(r))
		}))
	route("PUT", "/api/v1/meetings/{id}/options", "Change who bypasses the lobby, who admits, and whether anonymous people may join (organiser and co-organisers); applies to the live meeting at once.", principal.TenantUser, meeting.Options{}, meeting.Meeting{}, 0,
		JSON(http.StatusOK, func(r *http.Request, p principal.Principal, b meeting.Options) (meeting.Meeting, error) {
			return m.SetOptions(r.Context(), p, id(r), b)
		}))
	s.Handle(Route{Method: "GET", Pattern: "/api/v1/meetings/{id}/invite.ics", Policy: principal.TenantUser, Raw: true,
		Doc: Doc{Summary: "The meeting as an iCalendar invitation (.ics), with its join link.", Tag: "meetings", ContentType: "text/calendar"},
		Handler: func(w http.ResponseWriter, r *http.Request, p principal.Principal) error {
			body, err := m.ICS(r.Context(), p, id(r))
			if err != nil {
				return err
			}
			w.Header().Set("Content-Type", "text/calendar; charset=utf-8; method=REQUEST")
			w.Header().Set("Content-Disposition", `attachment; filename="meeting.ics"`)
			_, err = w.Write(body)
			return err
		}})
	route("GET", "/api/v1/meeting-links/{code}", "What a join link opens: the meeting's title and whether one may join without signing in. Nothing else is told before joining.", principal.Public, nil, MeetingLookup{}, 0,
		JSON(http.StatusOK, func(r *http.Request, p principal.Principal, _ None) (MeetingLookup, error) {
			mt, err := m.Lookup(r.Context(), r.PathValue("code"))
			if err != nil {
				return MeetingLookup{}, errs.E(errs.NotFound, "This meeting link is not valid. Check that it was copied whole.")
			}
			return MeetingLookup{Title: mt.Title, Start: mt.Start.Format(time.RFC3339), AllowAnonymous: m.AnonymousAllowed(r.Context(), mt), SignedIn: p.IsTenantUser()}, nil
		}))
	route("GET", "/api/v1/meetings/{id}/recordings", "A meeting's recordings (for the people who can see the meeting).", principal.TenantUser, nil, []meeting.Recording{}, 0,
		JSON(http.StatusOK, func(r *http.Request, p principal.Principal, _ None) ([]meeting.Recording, error) {
			return m.Recordings(r.Context(), p, id(r))
		}))
	s.Handle(Route{Method: "GET", Pattern: "/api/v1/recordings/{id}", Policy: principal.TenantUser, Raw: true,
		Doc: Doc{Summary: "Play a recording back (WebM), for the people who can see its meeting; every playback is audited.", Tag: "meetings", ContentType: "video/webm"},
		Handler: func(w http.ResponseWriter, r *http.Request, p principal.Principal) error {
			rec, body, err := m.OpenRecording(r.Context(), p, id(r))
			if err != nil {
				return err
			}
			defer body.Close()
			h := w.Header()
			h.Set("Content-Type", "video/webm")
			h.Set("Content-Disposition", `attachment; filename="recording-`+rec.ID+`.webm"`)
			h.Set("Content-Security-Policy", "sandbox; default-src 'none'")
			h.Set("Cache-Control", "private, no-store")
			_, err = io.Copy(w, body)
			return err
		}})
}
