// Package apptest starts a whole Kaigi node inside a test: real store, real
// keys, real bus, real HTTP server on a loopback port, with a clock the test
// moves. End-to-end and browser tests build on it.
package apptest

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/kaigi/kaigi/internal/app"
	"github.com/kaigi/kaigi/internal/clock"
	"github.com/kaigi/kaigi/internal/config"
	"github.com/kaigi/kaigi/internal/httpapi"
	"github.com/kaigi/kaigi/internal/realtime"
	"github.com/kaigi/kaigi/internal/store/storetest"
)

// Options choose what the node runs on.
type Options struct {
	Postgres bool                  // PostgreSQL in a schema of its own instead of SQLite
	NATSURL  string                // NATS instead of the in-process bus
	DataDir  string                // default t.TempDir()
	Auth     httpapi.Authenticator // default anonymous only
	Log      *slog.Logger          // default discard
	Config   func(*config.Config)  // last adjustments
	Realtime realtime.Options      // the WebSocket gateway's limits; zero: defaults
}

// Server is a running node.
type Server struct {
	*app.App
	URL   string
	Clock *clock.Fake
}

// Start starts a node and stops it when the test ends.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	cfg := config.Default()
	cfg.Addr = "127.0.0.1:0"
	cfg.DataDir = opts.DataDir
	if cfg.DataDir == "" {
		cfg.DataDir = t.TempDir()
	}
	if opts.Postgres {
		cfg.DatabaseURL = storetest.PostgresSchemaURL(t)
	}
	cfg.NATSURL = opts.NATSURL
	cfg.ShutdownTimeout = config.Duration(5 * time.Second)
	// Media on ports of its own, on loopback only: tests run side by side
	// and keep all their traffic on this machine.
	cfg.MediaUDPAddr, cfg.MediaTCPAddr, cfg.TURNAddr, cfg.MediaLoopback = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0", true
	if opts.Config != nil {
		opts.Config(&cfg)
	}
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	fake := clock.NewFake(time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC))
	a, err := app.New(t.Context(), cfg, log, app.Options{Clock: fake, Auth: opts.Auth, Realtime: opts.Realtime})
	if err != nil {
		t.Fatalf("start kaigi: %v", err)
	}
	ln, err := a.Listen()
	if err != nil {
		a.Close()
		t.Fatalf("listen: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Serve(ctx, ln) }()
	scheme := "http"
	if cfg.TLS() {
		scheme = "https"
	}
	s := &Server{App: a, URL: scheme + "://" + ln.Addr().(*net.TCPAddr).String(), Clock: fake}
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve: %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Errorf("kaigi did not shut down within 15s")
		}
		a.Close()
	})
	if !cfg.TLS() {
		waitReady(t, s.URL)
	}
	return s
}

func waitReady(t testing.TB, url string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(url + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("kaigi at %s did not become healthy", url)
}
