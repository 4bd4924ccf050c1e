package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/kaigi/kaigi/internal/httpapi"
	"github.com/kaigi/kaigi/internal/store"
	"github.com/kaigi/kaigi/internal/transparency"
)

// TestTransparencyLogThroughTheAPI: a tenant admin fetches the tenant's
// access-transparency log through the API and checks it with nothing but
// the service's published verifier key — first in full, then the new
// entries against the state kept — and checks an inclusion proof; bad
// questions get clear refusals; a member of the tenant is refused.
func TestTransparencyLogThroughTheAPI(t *testing.T) {
	w := startChatWorld(t)
	add := func(from, n int) {
		t.Helper()
		for i := from; i < from+n; i++ {
			err := w.s.DB.InTx(t.Context(), func(tx *store.Tx) error {
				_, err := w.s.Transparency.Append(t.Context(), tx, w.tenant.ID, "access",
					map[string]any{"operator": "op-1", "resource": "channel:" + string(w.general.ID), "n": i})
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	var svc struct {
		VerifierKey string `json:"verifier_key"`
	}
	w.admin.do("GET", "/api/v1/service", nil).json(t, &svc)

	add(0, 5)
	var b transparency.Bundle
	if r := w.admin.do("GET", "/api/v1/transparency/bundle", nil); r.status != 200 {
		t.Fatalf("bundle: %d %s", r.status, r.body)
	} else {
		r.json(t, &b)
	}
	state, rep, err := transparency.VerifyBundle(nil, b, svc.VerifierKey)
	if err != nil || rep.Size != 5 || len(rep.New) != 5 {
		t.Fatalf("full check: %+v %v", rep, err)
	}

	add(5, 3)
	w.admin.do("GET", fmt.Sprintf("/api/v1/transparency/bundle?since=%d&first=%d", state.Size, state.Size), nil).json(t, &b)
	next, rep, err := transparency.VerifyBundle(&state, b, svc.VerifierKey)
	if err != nil || next.Size != 8 || len(rep.New) != 3 || rep.New[0].Index != 5 {
		t.Fatalf("incremental check: %+v %v", rep, err)
	}

	var leaves []transparency.Leaf
	w.admin.do("GET", "/api/v1/transparency/entries?from=2&limit=1", nil).json(t, &leaves)
	var proof struct {
		Hashes [][]byte `json:"hashes"`
	}
	if r := w.admin.do("GET", "/api/v1/transparency/proofs/inclusion?index=2&size=8", nil); r.status != 200 {
		t.Fatalf("inclusion proof: %d %s", r.status, r.body)
	} else {
		r.json(t, &proof)
	}
	cp, err := transparency.OpenCheckpoint(b.Checkpoint, svc.VerifierKey, b.Origin)
	if err != nil || len(leaves) != 1 {
		t.Fatalf("checkpoint: %v, leaves %d", err, len(leaves))
	}
	if err := transparency.VerifyInclusion(cp, leaves[0], proof.Hashes); err != nil {
		t.Fatalf("inclusion: %v", err)
	}
	var cons struct {
		Hashes [][]byte `json:"hashes"`
	}
	w.admin.do("GET", "/api/v1/transparency/proofs/consistency?from=5&to=8", nil).json(t, &cons)
	if len(cons.Hashes) == 0 {
		t.Fatal("an empty consistency proof between 5 and 8")
	}

	for _, bad := range []string{
		"/api/v1/transparency/bundle?since=abc",
		"/api/v1/transparency/bundle?since=99",
		"/api/v1/transparency/proofs/inclusion?index=8&size=8",
		"/api/v1/transparency/proofs/consistency?from=0&to=8",
		"/api/v1/transparency/checkpoints/0",
		"/api/v1/transparency/checkpoints/x",
		"/api/v1/transparency/entries?from=-1",
	} {
		if r := w.admin.do("GET", bad, nil); r.status != 400 {
			t.Errorf("%s: %d %s, want 400", bad, r.status, r.body)
		}
	}
	if r := w.member.do("GET", "/api/v1/transparency/head", nil); r.status != 403 {
		t.Fatalf("a member read the transparency log: %d", r.status)
	}
}

// TestTransparencyLiveFeed: a tenant admin's WebSocket gets the entries
// from where it asked, then each new one live, each batch followed by the
// signed head; a member may not open it; a bad start is refused.
func TestTransparencyLiveFeed(t *testing.T) {
	w := startChatWorld(t)
	add := func(n int) {
		t.Helper()
		for i := range n {
			if err := w.s.DB.InTx(t.Context(), func(tx *store.Tx) error {
				_, err := w.s.Transparency.Append(t.Context(), tx, w.tenant.ID, "access", map[string]any{"n": i})
				return err
			}); err != nil {
				t.Fatal(err)
			}
		}
	}
	add(3)
	dial := func(c *client, query string) (*websocket.Conn, int) {
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		h := http.Header{}
		h.Set("Origin", w.s.URL)
		ws, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(w.s.URL, "http")+"/api/v1/transparency/live"+query, &websocket.DialOptions{HTTPClient: c.http, HTTPHeader: h})
		if err != nil {
			if resp == nil {
				t.Fatal(err)
			}
			return nil, resp.StatusCode
		}
		t.Cleanup(func() { ws.CloseNow() })
		return ws, http.StatusSwitchingProtocols
	}
	if _, status := dial(w.member, ""); status != 403 {
		t.Fatalf("a member opened the live feed: %d", status)
	}
	if _, status := dial(w.admin, "?from=99"); status != 400 {
		t.Fatalf("a start past the end: %d", status)
	}
	ws, status := dial(w.admin, "?from=1")
	if status != http.StatusSwitchingProtocols {
		t.Fatalf("open the live feed: %d", status)
	}
	next := func() httpapi.LiveFrame {
		t.Helper()
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		_, b, err := ws.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var f httpapi.LiveFrame
		if err := json.Unmarshal(b, &f); err != nil {
			t.Fatal(err)
		}
		return f
	}
	for _, want := range []uint64{1, 2} {
		if f := next(); f.Type != "entry" || f.Leaf.Index != want {
			t.Fatalf("frame %+v, want entry %d", f, want)
		}
	}
	if f := next(); f.Type != "head" || f.Size != 3 || !strings.Contains(f.Checkpoint, "\n3\n") {
		t.Fatalf("head frame %+v", f)
	}
	add(1)
	if f := next(); f.Type != "entry" || f.Leaf.Index != 3 {
		t.Fatalf("the live entry: %+v", f)
	}
	if f := next(); f.Type != "head" || f.Size != 4 {
		t.Fatalf("the new head: %+v", f)
	}
}
