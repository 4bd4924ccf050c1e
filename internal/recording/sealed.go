package recording

import (
	"context"
	"io"

	"github.com/kaigi/kaigi/internal/ids"
)

// BlobStore is where recorded files are kept: blob.Blob, which seals what it
// is given with the tenant's keys before any byte reaches storage.
type BlobStore interface {
	Put(ctx context.Context, tenant ids.TenantID, key string, r io.Reader) (int64, error)
}

// BlobKey is the blob key of a recorded file of a meeting.
func BlobKey(meeting, file string) string { return "recordings/" + meeting + "/" + file + ".webm" }

// SealedOutput is a file being streamed into a BlobStore, for Options.Create.
// What is written goes through a pipe straight into the store's Put, which
// seals it chunk by chunk: no plaintext is buffered beyond one chunk in
// memory, and none is written to disk.
type SealedOutput struct {
	pw   *io.PipeWriter
	done chan struct{}
	n    int64
	err  error
}

// NewSealedOutput starts storing a blob under key; ctx bounds the store's
// Put (it should outlive the request that started the recording). Close
// commits it.
func NewSealedOutput(ctx context.Context, store BlobStore, tenant ids.TenantID, key string) *SealedOutput {
	pr, pw := io.Pipe()
	o := &SealedOutput{pw: pw, done: make(chan struct{})}
	go func() {
		defer close(o.done)
		o.n, o.err = store.Put(ctx, tenant, key, pr)
		// A Put that failed early must not leave the writer blocked.
		_ = pr.CloseWithError(o.err)
	}()
	return o
}

// Write implements io.Writer; it blocks while the store catches up.
func (o *SealedOutput) Write(p []byte) (int, error) { return o.pw.Write(p) }

// Close ends the file and waits until it is stored; it returns the store's
// error.
func (o *SealedOutput) Close() error {
	_ = o.pw.Close()
	<-o.done
	return o.err
}

// CloseWithError aborts the file: the store's Put fails and keeps nothing.
func (o *SealedOutput) CloseWithError(err error) error {
	_ = o.pw.CloseWithError(err)
	<-o.done
	return nil
}
