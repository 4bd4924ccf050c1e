package app

import (
	"errors"
	"log/slog"
	"sync"
	"testing"

	"github.com/kaigi/kaigi/internal/blob/blobtest"
	blobdir "github.com/kaigi/kaigi/internal/blob/dir"
	"github.com/kaigi/kaigi/internal/errs"
	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/sfu"
)

// TestStartRecordingAdapter checks the adapter's contract; the media path
// (WebRTC to sealed WebM) is tested in package recording.
func TestStartRecordingAdapter(t *testing.T) {
	ctx := t.Context()
	s, err := sfu.New(sfu.Config{UDPAddr: "127.0.0.1:0", DisableTCP: true, IncludeLoopback: true, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	store, err := blobdir.New(t.TempDir(), blobtest.NewKeys(t))
	if err != nil {
		t.Fatal(err)
	}
	m := sfuMedia{sfu: s, log: slog.New(slog.DiscardHandler), blobs: store, recs: &sync.WaitGroup{}}
	tenant, meeting := ids.NewTenant(), ids.New()

	stop1, err := m.StartRecording(ctx, tenant, meeting)
	if err != nil {
		t.Fatal(err)
	}
	stop2, err := m.StartRecording(ctx, tenant, meeting)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.StartRecording(ctx, tenant, meeting); errs.CodeOf(err) != errs.Conflict {
		t.Errorf("third recording: %v, want a conflict", err)
	}
	// Nobody published: no files, no error; stop is idempotent.
	for range 2 {
		files, err := stop1(ctx)
		if err != nil || len(files) != 0 {
			t.Errorf("stop = %+v, %v", files, err)
		}
	}
	// Shutdown (the SFU closing) ends a recording nobody stopped.
	_ = s.Close()
	if !waitTimeout(m.recs, recordingShutdownWait) {
		t.Fatal("recording not finished at shutdown")
	}
	if _, err := stop2(ctx); err != nil {
		t.Error(err)
	}

	none := sfuMedia{sfu: s, log: m.log, recs: &sync.WaitGroup{}}
	if _, err := none.StartRecording(ctx, tenant, meeting); !errors.Is(err, ErrRecordingUnavailable) {
		t.Errorf("without a blob store: %v", err)
	}
}

// TestGridQualityFallsAsTheGridGrows: up to four cameras are received at
// their best layer, up to nine at the middle one, more at the lowest.
func TestGridQualityFallsAsTheGridGrows(t *testing.T) {
	for cameras, want := range map[int]sfu.Quality{0: sfu.QualityHigh, 1: sfu.QualityHigh, 4: sfu.QualityHigh, 5: sfu.QualityMedium, 9: sfu.QualityMedium, 10: sfu.QualityLow, 49: sfu.QualityLow} {
		if got := gridQuality(cameras); got != want {
			t.Errorf("%d cameras: quality %v, want %v", cameras, got, want)
		}
	}
}
