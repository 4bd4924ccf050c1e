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
