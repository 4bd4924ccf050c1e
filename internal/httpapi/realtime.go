package httpapi

import (
	"net/http"

	"github.com/kaigi/kaigi/internal/principal"
	"github.com/kaigi/kaigi/internal/realtime"
)

// RegisterRealtime registers the WebSocket route of the realtime gateway.
//
// It admits members and guests signed in with a browser session (the
// session cookie: browsers cannot put a bearer token on a WebSocket
// handshake, and the gateway re-checks the session while the socket is
// open); the gateway then checks the Origin and the per-account limit
// before upgrading.
func RegisterRealtime(s *Server, g *realtime.Gateway) {
	s.Handle(Route{Method: http.MethodGet, Pattern: "/api/v1/realtime", Policy: principal.TenantBrowser, Raw: true,
		Doc: Doc{Summary: "Open the WebSocket that carries live events of every channel you can see, with resume (protocol: package realtime).",
			Tag: "realtime", Status: http.StatusSwitchingProtocols, ContentType: "application/json"},
		Handler: func(w http.ResponseWriter, r *http.Request, p principal.Principal) error {
			return g.Serve(w, r, p)
		}})
}

// RegisterMeetingSocket registers the meeting-only WebSocket: the realtime
// protocol without channels, for people who join a meeting by its link
// without being signed in here. The route is public — the link's code and
// the meeting's lobby decide — and the gateway checks the Origin and counts
// connections per source address.
func RegisterMeetingSocket(s *Server, g *realtime.Gateway) {
	s.Handle(Route{Method: http.MethodGet, Pattern: "/api/v1/meetings/live", Policy: principal.Public, Raw: true,
		Doc: Doc{Summary: "Open a meeting-only WebSocket (meeting.* frames of the realtime protocol), for people joining by a link without signing in.",
			Tag: "meetings", Status: http.StatusSwitchingProtocols, ContentType: "application/json"},
		Handler: func(w http.ResponseWriter, r *http.Request, p principal.Principal) error {
			return g.ServeMeeting(w, r, p)
		}})
}
