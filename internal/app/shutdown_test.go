package app_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/kaigi/kaigi/internal/app"
	"github.com/kaigi/kaigi/internal/config"
	"github.com/kaigi/kaigi/internal/httpapi"
	"github.com/kaigi/kaigi/internal/principal"
)

// TestShutdownFinishesRequestsInFlight starts a request that takes a while,
// asks the node to stop while it runs, and checks that the request still
// completes, new connections are refused, and Serve returns cleanly.
func TestShutdownFinishesRequestsInFlight(t *testing.T) {
	cfg := config.Default()
	cfg.Addr, cfg.DataDir = "127.0.0.1:0", t.TempDir()
	a, err := app.New(t.Context(), cfg, slog.New(slog.DiscardHandler), app.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	started, release := make(chan struct{}), make(chan struct{})
	a.HTTP.Handle(httpapi.Route{Method: http.MethodGet, Pattern: "/api/v1/test/slow", Policy: principal.Public, Doc: httpapi.Doc{Summary: "slow"},
		Handler: func(w http.ResponseWriter, r *http.Request, _ principal.Principal) error {
			close(started)
			<-release
			httpapi.WriteJSON(w, http.StatusOK, map[string]string{"done": "yes"})
			return nil
		}})
	ln, err := a.Listen()
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String()
	ctx, stop := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- a.Serve(ctx, ln) }()

	type result struct {
		status int
		body   string
		err    error
	}
	res := make(chan result, 1)
	go func() {
		resp, err := http.Get(url + "/api/v1/test/slow")
		if err != nil {
			res <- result{err: err}
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		res <- result{status: resp.StatusCode, body: string(b)}
	}()
	<-started
	stop()
	// Shutdown closes the listener first; then the request may finish.
	deadline := time.Now().Add(5 * time.Second)
	for {
		c := &http.Client{Timeout: 200 * time.Millisecond, Transport: &http.Transport{DisableKeepAlives: true}}
		if _, err := c.Get(url + "/healthz"); err != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the listener still accepts connections after shutdown began")
		}
		time.Sleep(10 * time.Millisecond)
	}
	close(release)
	r := <-res
	if r.err != nil || r.status != http.StatusOK || r.body == "" {
		t.Fatalf("request in flight: %+v", r)
	}
	select {
	case err := <-served:
		if err != nil {
			t.Fatalf("Serve: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return")
	}
}

// TestProfilerIsOnlyOnTheDebugAddress: with debug_addr set, Go's profiler
// answers there (on loopback) and the public listener still answers 404
// for it; without it, nothing serves the profiler.
func TestProfilerIsOnlyOnTheDebugAddress(t *testing.T) {
	free, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	debugAddr := free.Addr().String()
	free.Close()
	cfg := config.Default()
	cfg.Addr, cfg.DataDir, cfg.DebugAddr = "127.0.0.1:0", t.TempDir(), debugAddr
	a, err := app.New(t.Context(), cfg, slog.New(slog.DiscardHandler), app.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	ln, err := a.Listen()
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- a.Serve(ctx, ln) }()
	get := func(url string) (int, string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			resp, err := http.Get(url)
			if err == nil {
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				return resp.StatusCode, string(b)
			}
			if time.Now().After(deadline) {
				t.Fatalf("GET %s: %v", url, err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	if code, _ := get("http://" + debugAddr + "/debug/pprof/cmdline"); code == http.StatusOK {
		t.Fatal("the profiler serves the command line, where a secret given as a flag would be")
	}
	if code, body := get("http://" + debugAddr + "/debug/pprof/"); code != http.StatusOK || !strings.Contains(body, "goroutine") {
		t.Fatalf("profiler on the debug address: %d %.200s", code, body)
	}
	if code, _ := get("http://" + ln.Addr().String() + "/debug/pprof/"); code != http.StatusNotFound {
		t.Fatalf("profiler on the public listener: %d, want 404", code)
	}
	stop()
	if err := <-served; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	if c, err := net.DialTimeout("tcp", debugAddr, time.Second); err == nil {
		c.Close()
		t.Fatal("the profiler still listens after the node stopped")
	}
}
