// Package httpapi is Kaigi's HTTP layer: the JSON API under /api/v1, the
// health and metrics endpoints, and the frame around every request.
//
// Every route is registered with an explicit authorization decision
// (a principal.Policy) and a description for the OpenAPI document; Handle
// refuses a route without either. A request passes, in order: panic recovery,
// a request id, security headers, metrics, a body size limit,
// authentication (which yields the principal — the tenant comes from it,
// never from the request), the route's policy, and the handler. Handlers
// return errors; WriteError renders them in the one error shape, using the
// one code-to-status mapping in Status.
package httpapi

import (
	"bufio"
	"context"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kaigi/kaigi/internal/errs"
	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/principal"
)

// HandlerFunc handles a request for an authorised principal.
type HandlerFunc func(w http.ResponseWriter, r *http.Request, p principal.Principal) error

// Doc describes a route for the OpenAPI document.
type Doc struct {
	Summary     string // one line; required
	Description string
	Tag         string // the area, e.g. "service", "audit"
	Request     any    // a value of the request body's type, or nil
	Response    any    // a value of the success body's type, or nil
	Status      int    // success status; default 200
	ContentType string // success content type; default application/json
}

// Route is one registered method and path.
type Route struct {
	Method  string
	Pattern string // a net/http pattern path, e.g. /api/v1/things/{id}
	Policy  principal.Policy
	Doc     Doc
	Handler HandlerFunc
	// Raw marks a route whose handler writes non-JSON bodies (the web shell, metrics).
	Raw bool
	// MaxBody overrides the server's request body limit (uploads).
	MaxBody int64
}

// Authenticator turns a request's credentials into a principal. It returns an
// anonymous principal when there are none, and an error for bad credentials.
type Authenticator interface {
	Authenticate(r *http.Request) (principal.Principal, error)
}

// AnonymousOnly authenticates nobody: every request is anonymous.
type AnonymousOnly struct{}

// Authenticate returns an anonymous principal.
func (AnonymousOnly) Authenticate(r *http.Request) (principal.Principal, error) {
	return principal.Anon(""), nil
}

// Options configures a Server.
type Options struct {
	Logger         *slog.Logger
	Auth           Authenticator
	MaxBodyBytes   int64        // default 1 MiB
	TLS            bool         // adds HSTS
	TrustedProxies []*net.IPNet // whose X-Forwarded-For is believed
	CSP            string       // Content-Security-Policy for every response
	Registerer     prometheus.Registerer
	// Refused, when set, is told of every request a route's policy
	// refused, after the refusal is logged (the app audits operators'
	// refusals with it).
	Refused func(ctx context.Context, p principal.Principal, route string, err error)
}

// Server holds the routes and the middleware around them.
type Server struct {
	opts    Options
	log     *slog.Logger
	mux     *http.ServeMux
	routes  []Route
	byPath  map[string]map[string]*Route // pattern path → method → route
	metrics *metrics
}

// New returns a server without routes.
func New(opts Options) *Server {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Auth == nil {
		opts.Auth = AnonymousOnly{}
	}
	if opts.MaxBodyBytes == 0 {
		opts.MaxBodyBytes = 1 << 20
	}
	if opts.CSP == "" {
		opts.CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'"
	}
	if opts.Registerer == nil {
		opts.Registerer = prometheus.NewRegistry()
	}
	s := &Server{opts: opts, log: opts.Logger, mux: http.NewServeMux(), byPath: map[string]map[string]*Route{}, metrics: newMetrics(opts.Registerer)}
	// Anything under /api/ that no route claims is a JSON 404, not the shell.
	s.mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		WriteError(w, r, s.log, errs.E(errs.NotFound, "There is no such API endpoint: %s %s.", r.Method, r.URL.Path))
	})
	return s
}

var patternRE = regexp.MustCompile(`^/[a-zA-Z0-9_./{}\-]*$`)

// Handle registers a route. It panics — at start-up, so that no server ever
// runs with it — when the route has no authorization decision, no summary, a
// malformed pattern, or repeats a method and pattern.
func (s *Server) Handle(rt Route) {
	switch {
	case rt.Policy.Allow == nil || rt.Policy.Name == "":
		panic(fmt.Sprintf("httpapi: %s %s has no authorization policy", rt.Method, rt.Pattern))
	case rt.Doc.Summary == "":
		panic(fmt.Sprintf("httpapi: %s %s has no summary for the API description", rt.Method, rt.Pattern))
	case rt.Handler == nil:
		panic(fmt.Sprintf("httpapi: %s %s has no handler", rt.Method, rt.Pattern))
	case !patternRE.MatchString(rt.Pattern):
		panic(fmt.Sprintf("httpapi: pattern %q is not a plain path", rt.Pattern))
	}
	switch rt.Method {
	case http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
	default:
		panic(fmt.Sprintf("httpapi: %s %s: unsupported method", rt.Method, rt.Pattern))
	}
	methods, ok := s.byPath[rt.Pattern]
	if !ok {
		methods = map[string]*Route{}
		s.byPath[rt.Pattern] = methods
		s.mux.Handle(rt.Pattern, s.dispatch(rt.Pattern, methods))
	}
	if _, dup := methods[rt.Method]; dup {
		panic(fmt.Sprintf("httpapi: %s %s registered twice", rt.Method, rt.Pattern))
	}
	r := rt
	methods[rt.Method] = &r
	s.routes = append(s.routes, rt)
}

// Routes returns the registered routes in registration order.
func (s *Server) Routes() []Route { return slices.Clone(s.routes) }

// dispatch picks the route by method and runs it, answering 405 in the error
// shape (with Allow) for other methods.
func (s *Server) dispatch(pattern string, methods map[string]*Route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		method := r.Method
		if method == http.MethodHead {
			method = http.MethodGet
		}
		rt, ok := methods[method]
		if !ok {
			allow := make([]string, 0, len(methods))
			for m := range methods {
				allow = append(allow, m)
			}
			slices.Sort(allow)
			w.Header().Set("Allow", strings.Join(allow, ", "))
			setRoute(r, pattern)
			WriteError(w, r, s.log, &errs.Error{Code: errs.NotAllowed, Message: fmt.Sprintf("%s is not allowed here; use %s.", r.Method, strings.Join(allow, " or "))})
			return
		}
		setRoute(r, pattern)
		s.serveRoute(w, r, rt)
	})
}

func (s *Server) serveRoute(w http.ResponseWriter, r *http.Request, rt *Route) {
	ctx := r.Context()
	limit := s.opts.MaxBodyBytes
	if rt.MaxBody > 0 {
		limit = rt.MaxBody
	}
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	p, err := s.opts.Auth.Authenticate(r)
	if err != nil {
		WriteError(w, r, s.log, err)
		return
	}
	p.Source = ClientAddr(r, s.opts.TrustedProxies)
	if err := rt.Policy.Allow(p); err != nil {
		s.log.InfoContext(ctx, "request refused", "request_id", RequestID(ctx), "route", rt.Method+" "+rt.Pattern,
			"policy", rt.Policy.Name, "actor_kind", p.ActorKind(), "tenant", string(p.Tenant), "code", string(errs.CodeOf(err)))
		if s.opts.Refused != nil {
			s.opts.Refused(ctx, p, rt.Method+" "+rt.Pattern, err)
		}
		WriteError(w, r, s.log, err)
		return
	}
	r = r.WithContext(principal.With(ctx, p))
	if err := rt.Handler(w, r, p); err != nil {
		WriteError(w, r, s.log, err)
	}
}

// Handler returns the server with its middleware.
func (s *Server) Handler() http.Handler {
	return s.recoverer(s.withRequestID(s.securityHeaders(s.instrument(s.mux))))
}

type ridKey struct{}

// RequestID returns the request's id, or "".
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(ridKey{}).(string)
	return id
}

func (s *Server) withRequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := hex.EncodeToString(ids.Token(8))
		w.Header().Set("X-Request-Id", id)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ridKey{}, id)))
	})
}

func (s *Server) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.ErrorContext(r.Context(), "panic in handler", "request_id", RequestID(r.Context()), "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
				WriteError(w, r, s.log, errs.E(errs.Internal, "Something went wrong on our side. The problem has been logged; please try again."))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

func (s *Server) securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", s.opts.CSP)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Cross-Origin-Resource-Policy", "same-origin")
		h.Set("Permissions-Policy", "camera=(self), microphone=(self), display-capture=(self), geolocation=(), payment=(), usb=()")
		if s.opts.TLS {
			h.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
		}
		next.ServeHTTP(w, r)
	})
}

// ClientAddr returns the client's IP address: the peer's, or — when the peer
// is a trusted proxy — the nearest untrusted address in X-Forwarded-For.
func ClientAddr(r *http.Request, trusted []*net.IPNet) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	if len(trusted) == 0 || !inNets(host, trusted) {
		return host
	}
	hops := strings.Split(r.Header.Get("X-Forwarded-For"), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		h := strings.TrimSpace(hops[i])
		if net.ParseIP(h) == nil {
			break
		}
		if !inNets(h, trusted) {
			return h
		}
		host = h
	}
	return host
}

func inNets(addr string, nets []*net.IPNet) bool {
	ip := net.ParseIP(addr)
	for _, n := range nets {
		if ip != nil && n.Contains(ip) {
			return true
		}
	}
	return false
}

type routeHolder struct{ route string }
type routeKey struct{}

// setRoute tells the metrics middleware which route served the request.
func setRoute(r *http.Request, pattern string) {
	if h, ok := r.Context().Value(routeKey{}).(*routeHolder); ok {
		h.route = pattern
	}
}

type metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	inflight prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kaigi_http_requests_total", Help: "HTTP requests by route pattern, method and status."}, []string{"route", "method", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "kaigi_http_request_duration_seconds", Help: "HTTP request latency by route pattern.", Buckets: prometheus.DefBuckets}, []string{"route"}),
		inflight: prometheus.NewGauge(prometheus.GaugeOpts{Name: "kaigi_http_requests_in_flight", Help: "HTTP requests being served."}),
	}
	reg.MustRegister(m.requests, m.duration, m.inflight)
	return m
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer (flush, hijack).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Hijack hands the connection over (WebSockets), recording 101.
func (w *statusWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	h, ok := w.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, fmt.Errorf("httpapi: the connection cannot be taken over")
	}
	if w.status == 0 {
		w.status = http.StatusSwitchingProtocols
	}
	return h.Hijack()
}

// Flush sends buffered data.
func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (s *Server) instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		holder := &routeHolder{route: "other"}
		sw := &statusWriter{ResponseWriter: w}
		s.metrics.inflight.Inc()
		defer s.metrics.inflight.Dec()
		next.ServeHTTP(sw, r.WithContext(context.WithValue(r.Context(), routeKey{}, holder)))
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		d := time.Since(start)
		s.metrics.requests.WithLabelValues(holder.route, r.Method, strconv.Itoa(sw.status)).Inc()
		s.metrics.duration.WithLabelValues(holder.route).Observe(d.Seconds())
		s.log.LogAttrs(r.Context(), slog.LevelDebug, "request", slog.String("request_id", RequestID(r.Context())),
			slog.String("method", r.Method), slog.String("route", holder.route), slog.Int("status", sw.status), slog.Duration("duration", d))
	})
}

// Mount serves h for every path under prefix that no API route claims (the
// web shell at "/"). It is registered as a GET route with its own policy.
func (s *Server) Mount(prefix string, policy principal.Policy, doc Doc, h http.Handler) {
	s.Handle(Route{Method: http.MethodGet, Pattern: prefix, Policy: policy, Doc: doc, Raw: true,
		Handler: func(w http.ResponseWriter, r *http.Request, _ principal.Principal) error {
			h.ServeHTTP(w, r)
			return nil
		}})
}
