package main

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/kaigi/kaigi/internal/app/apptest"
	kconfig "github.com/kaigi/kaigi/internal/config"
	"github.com/kaigi/kaigi/internal/identity"
	"github.com/kaigi/kaigi/internal/principal"
)

// testNode starts a node in this process, on a port chosen first so that
// its public URL — the one Origin its WebSocket accepts — is known.
func testNode(t *testing.T) (*apptest.Server, *node) {
	t.Helper()
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	s := apptest.Start(t, apptest.Options{Config: func(c *kconfig.Config) {
		c.Addr = net.JoinHostPort("127.0.0.1", fmt.Sprint(port))
	}})
	return s, &node{base: s.URL, origin: s.Config.URL(), now: s.Clock.Now, desc: "in-process test node", stop: func() {}}
}

// invitation creates a tenant and returns its first admin's invitation.
func invitation(t *testing.T, s *apptest.Server, name string) string {
	t.Helper()
	_, link, err := s.Identity.CreateTenant(t.Context(), principal.Job("test", ""), identity.NewTenant{
		Name: "Load " + name, Domain: name + ".load.example", AdminEmail: "admin@" + name + ".load.example"})
	if err != nil {
		t.Fatal(err)
	}
	return link
}

// TestScenarios runs a tiny version of each scenario against a node in
// this process and checks that the report is sane: nothing lost at a load
// this small, latencies measured, the Markdown complete.
func TestScenarios(t *testing.T) {
	s, n := testNode(t)
	log := slog.New(slog.DiscardHandler)
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(t.Output(), nil))
	}
	checkPhase := func(t *testing.T, p *phaseResult) {
		t.Helper()
		if p.Accepted == 0 || p.Failed != 0 {
			t.Errorf("%s: %d accepted, %d failed", p.Name, p.Accepted, p.Failed)
		}
		if p.Expected == 0 || p.Delivered != p.Expected || p.Lost != 0 || p.Dupes != 0 {
			t.Errorf("%s: delivered %d of %d, %d lost, %d duplicates", p.Name, p.Delivered, p.Expected, p.Lost, p.Dupes)
		}
		if p.P50 <= 0 || p.P99 < p.P50 || p.Max < p.P99 || p.PostP99 <= 0 {
			t.Errorf("%s: latencies p50 %s, p99 %s, max %s, POST p99 %s", p.Name, p.P50, p.P99, p.Max, p.PostP99)
		}
		if p.WritesPerDelivery <= 0 || p.WritesPerDelivery > 1.5 || p.DeliveriesPerSec <= 0 {
			t.Errorf("%s: %.2f writes per delivery, %.0f deliveries/s", p.Name, p.WritesPerDelivery, p.DeliveriesPerSec)
		}
		if p.Slow != 0 || p.Ended != 0 {
			t.Errorf("%s: %d dropped as slow, %d ended", p.Name, p.Slow, p.Ended)
		}
	}
	for _, tc := range []struct {
		name  string
		args  []string
		check func(t *testing.T, r *report)
	}{
		{"s1", []string{"s1", "--conns", "20", "--settle", "100ms", "--hold", "200ms"}, func(t *testing.T, r *report) {
			d := r.Density
			if d == nil || d.Ready != 20 || d.StillOpen != 20 || d.RSSAfter <= 0 || d.GoroutinesPerConn <= 0 {
				t.Errorf("density: %+v", d)
			}
		}},
		{"s2", []string{"s2", "--conns", "20", "--rates", "10,30", "--duration", "1s", "--senders", "2"}, func(t *testing.T, r *report) {
			if len(r.Phases) != 2 {
				t.Fatalf("%d phases, want 2", len(r.Phases))
			}
			for _, p := range r.Phases {
				checkPhase(t, p)
				if p.Subscribers != 20 || p.Expected != p.Accepted*20 {
					t.Errorf("%s: %d subscribers, %d expected of %d sent", p.Name, p.Subscribers, p.Expected, p.Accepted)
				}
			}
		}},
		{"s3", []string{"s3", "--conns", "10", "--rates", "50", "--duration", "1s", "--senders", "2", "--sat-conns", "30", "--sat-channels", "3", "--sat-rate", "5"}, func(t *testing.T, r *report) {
			if len(r.Phases) != 2 {
				t.Fatalf("%d phases, want 2", len(r.Phases))
			}
			for _, p := range r.Phases {
				checkPhase(t, p)
			}
			if sat := r.Phases[1]; sat.Channels != 3 || sat.Subscribers != 30 || sat.RSSMax <= 0 {
				t.Errorf("saturation: %+v", sat)
			}
		}},
		{"send", []string{"send", "--senders", "2", "--channels", "2", "--duration", "1s"}, func(t *testing.T, r *report) {
			if len(r.Sends) != 1 {
				t.Fatalf("%d send results", len(r.Sends))
			}
			if s := r.Sends[0]; s.Accepted == 0 || s.Failed != 0 || s.Rate <= 0 || s.P50 <= 0 || s.P99 < s.P50 || s.Channels != 2 {
				t.Errorf("send: %+v", s)
			}
		}},
		{"meet", []string{"meet", "--scenario", "v2x2", "--duration", "2s", "--warmup", "500ms"}, func(t *testing.T, r *report) {
			if len(r.Rooms) != 1 {
				t.Fatalf("%d rooms, want 1", len(r.Rooms))
			}
			for _, x := range r.Rooms {
				// Media flowed, and loss was computed against what was sent.
				if x.Sent == 0 || x.Expected != x.Sent*int64(x.Spec.participants()-1) || x.Received == 0 || x.Received > x.Expected || x.Bytes == 0 {
					t.Errorf("%s: sent %d, expected %d, received %d (%d bytes)", x.Spec.Name, x.Sent, x.Expected, x.Received, x.Bytes)
				}
				if x.Loss < 0 || x.Loss > 0.05 || x.Lost != x.Expected-x.Received {
					t.Errorf("%s: loss %.4f (%d lost)", x.Spec.Name, x.Loss, x.Lost)
				}
				if x.P50 <= 0 || x.P99 < x.P50 || x.Max < x.P99 || x.BadPackets != 0 {
					t.Errorf("%s: latency p50 %s, p99 %s, max %s; %d bad packets", x.Spec.Name, x.P50, x.P99, x.Max, x.BadPackets)
				}
				if x.RSSAfter <= 0 || x.JoinTime <= 0 {
					t.Errorf("%s: RSS %.0f, join time %s", x.Spec.Name, x.RSSAfter, x.JoinTime)
				}
			}
			// Each stream reaches the two subscribers and the other publisher.
			if v := r.Rooms[0]; v.fwdPerSec() < 0.9*v.sentPerSec()*3 {
				t.Errorf("v2x2: %.0f forwarded/s for %.0f sent/s to 3 receivers each", v.fwdPerSec(), v.sentPerSec())
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := parseArgs(tc.args, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			n := *n
			n.invitation = invitation(t, s, tc.name)
			r, err := runScenario(t.Context(), cfg, &n, log)
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, r)
			if r.Machine == "" || r.LoadAfter == "" || !strings.Contains(r.Command, "kaigi-load "+tc.name) || len(r.Tables) == 0 {
				t.Errorf("report header: %+v", r)
			}
			var md, txt bytes.Buffer
			r.markdown(&md)
			r.text(&txt)
			if !strings.Contains(md.String(), "```sh\ngo run ./cmd/kaigi-load "+tc.name) || !strings.Contains(md.String(), "|---|") {
				t.Errorf("markdown:\n%s", md.String())
			}
			if testing.Verbose() {
				t.Log(txt.String())
			}
		})
	}
}

func TestHandleCountsBatchedFramesOnce(t *testing.T) {
	p := newPool("http://127.0.0.1:1", "http://localhost:1", time.Now())
	p.readyc = make(chan struct{}, 1)
	c := &wsConn{channel: "ch1", done: make(chan struct{})}
	ev := func(ch string, seq int64, phase int, sent time.Duration) string {
		return fmt.Sprintf(`{"type":"event","channel":"%s","seq":%d,"event":{"kind":"message","channel":"%s","seq":%d,"message":{"seq":%d,"body":"%s"}}}`,
			ch, seq, ch, seq, seq, makeBody(phase, sent, 100))
	}
	now := 10 * time.Millisecond
	p.handle(c, []byte(`[{"type":"ready","channels":{"ch1":4}},`+ev("ch1", 5, 1, 4*time.Millisecond)+`]`), now)
	p.handle(c, []byte(`[`+ev("ch1", 6, 1, 7*time.Millisecond)+`,{"type":"typing","channel":"ch1","user":"u"},`+ev("ch2", 1, 1, 0)+`,`+ev("ch1", 6, 1, 0)+`]`), now)
	p.handle(c, []byte(ev("ch1", 9, 2, 9*time.Millisecond)), now)
	switch {
	case !c.ready.Load() || c.last.Load() != 9:
		t.Errorf("ready %v, cursor %d; want ready at 9", c.ready.Load(), c.last.Load())
	case p.phases[1].delivered.Load() != 2 || p.phases[2].delivered.Load() != 1:
		t.Errorf("delivered %d in phase 1, %d in phase 2; want 2 and 1", p.phases[1].delivered.Load(), p.phases[2].delivered.Load())
	case p.dupes.Load() != 1 || p.missing.Load() != 2:
		t.Errorf("%d duplicates, %d missing; want 1 and 2", p.dupes.Load(), p.missing.Load())
	case p.events.Load() != 5:
		t.Errorf("%d event frames; want 5", p.events.Load())
	}
	if got := p.phases[1].lat.quantile(1); got != 6*time.Millisecond {
		t.Errorf("phase 1 max latency %s, want 6ms", got)
	}
	if got := p.phases[2].lat.quantile(0.5); got < 950*time.Microsecond || got > 1050*time.Microsecond {
		t.Errorf("phase 2 latency %s, want about 1ms", got)
	}
}

func TestHistQuantiles(t *testing.T) {
	var h hist
	for i := 1; i <= 1000; i++ {
		h.add(time.Duration(i) * time.Millisecond)
	}
	for _, tc := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 500 * time.Millisecond}, {0.99, 990 * time.Millisecond}, {1, time.Second}} {
		got := h.quantile(tc.q)
		if d := got - tc.want; d < -tc.want/30 || d > tc.want/30 {
			t.Errorf("q%.2f = %s, want %s within 3%%", tc.q, got, tc.want)
		}
	}
	for _, d := range []time.Duration{0, time.Microsecond, 31 * time.Microsecond, 32 * time.Microsecond, time.Hour} {
		if b := bucketOf(d); b < 0 || b >= histBuckets {
			t.Errorf("bucketOf(%s) = %d, out of range", d, b)
		}
	}
}

func TestOnlyLoopbackIsLoaded(t *testing.T) {
	for _, tc := range []struct {
		url string
		ok  bool
	}{
		{"http://localhost:8080", true},
		{"http://127.0.0.1:8080", true},
		{"http://[::1]:8080", true},
		{"http://example.com", false},
		{"http://10.0.0.1:8080", false},
		{"https://localhost:8443", false},
	} {
		if _, err := checkLoopback(tc.url); (err == nil) != tc.ok {
			t.Errorf("checkLoopback(%q): %v", tc.url, err)
		}
	}
}

func TestRecordedCommand(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"plain", []string{"s1", "--start"}, "go run ./cmd/kaigi-load s1 --start"},
		{"alias and markdown dropped", []string{"density", "--markdown", "docs/benchmarks.md", "--conns", "5"}, "go run ./cmd/kaigi-load density --conns 5"},
		{"markdown with =", []string{"s2", "-markdown=x.md", "--start"}, "go run ./cmd/kaigi-load s2 --start"},
		{"quoted", []string{"send", "--start", "--database-url", "postgres://u@127.0.0.1:5432/t?sslmode=disable"},
			"go run ./cmd/kaigi-load send --start --database-url 'postgres://u@127.0.0.1:5432/t?sslmode=disable'"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := parseArgs(tc.args, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			if cfg.command != tc.want {
				t.Errorf("command %q, want %q", cfg.command, tc.want)
			}
		})
	}
}
