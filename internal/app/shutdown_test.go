package app_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
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
