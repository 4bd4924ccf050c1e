package moderation

import (
	"context"
	"errors"
	"sync"
)

// ErrNotReady is returned by [Lazy] when its classifier is still loading
// when the caller's context ends.
var ErrNotReady = errors.New("moderation: classifier still loading")

// Lazy is a Classifier loaded in the background on first use (or on
// [Lazy.Warm]) and shared from then on. Loading [Local] takes seconds and
// tens of megabytes, so a node that no policy needs never pays for it, and a
// send never waits longer than its own deadline for it.
type Lazy struct {
	load func() (Classifier, error)
	once sync.Once
	done chan struct{}
	c    Classifier
	err  error
}

var _ Classifier = (*Lazy)(nil)

// NewLazy returns a Lazy that calls load once.
func NewLazy(load func() (Classifier, error)) *Lazy {
	return &Lazy{load: load, done: make(chan struct{})}
}

var shared = NewLazy(func() (Classifier, error) { return NewLocal(Options{}) })

// SharedLocal returns the process's one lazily loaded [Local] classifier.
func SharedLocal() *Lazy { return shared }

// Warm starts loading in the background, if it has not started.
func (l *Lazy) Warm() {
	l.once.Do(func() {
		go func() {
			defer close(l.done)
			l.c, l.err = l.load()
		}()
	})
}

// Ready reports whether loading has finished.
func (l *Lazy) Ready() bool {
	select {
	case <-l.done:
		return true
	default:
		return false
	}
}

// Wait waits until the classifier is loaded or ctx ends.
func (l *Lazy) Wait(ctx context.Context) error {
	l.Warm()
	select {
	case <-l.done:
		return l.err
	case <-ctx.Done():
		return ErrNotReady
	}
}

// Classify waits for the classifier (as long as ctx allows) and classifies.
func (l *Lazy) Classify(ctx context.Context, in Input) (Verdict, error) {
	if err := l.Wait(ctx); err != nil {
		return Verdict{}, err
	}
	return l.c.Classify(ctx, in)
}
