package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// sender is who sends to which channel.
type sender struct {
	channel string
	s       *session
}

// sendStats are the results of a run of sends.
type sendStats struct {
	accepted, failed atomic.Int64
	post             hist // POST to 201

	mu      sync.Mutex
	final   map[string]int64 // the highest sequence number accepted, by channel
	counts  map[string]int64 // messages accepted, by channel
	errs    map[string]int
	elapsed time.Duration // from the first send to the last answer
}

func newSendStats() *sendStats {
	return &sendStats{final: map[string]int64{}, counts: map[string]int64{}, errs: map[string]int{}}
}

func (st *sendStats) note(channel string, seq int64, err error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if err != nil {
		st.failed.Add(1)
		msg := err.Error()
		var ae *apiError
		if errors.As(err, &ae) {
			msg = fmt.Sprintf("HTTP %d", ae.status)
		}
		st.errs[msg]++
		return
	}
	st.accepted.Add(1)
	st.counts[channel]++
	st.final[channel] = max(st.final[channel], seq)
}

func (st *sendStats) rate() float64 {
	if st.elapsed <= 0 {
		return 0
	}
	return float64(st.accepted.Load()) / st.elapsed.Seconds()
}

func (st *sendStats) errors() []string {
	st.mu.Lock()
	defer st.mu.Unlock()
	var out []string
	for e, n := range st.errs {
		out = append(out, fmt.Sprintf("%d × %s", n, e))
	}
	slices.Sort(out)
	return out
}

// finalSeqs returns a copy of the highest accepted sequence numbers.
func (st *sendStats) finalSeqs() map[string]int64 {
	st.mu.Lock()
	defer st.mu.Unlock()
	out := make(map[string]int64, len(st.final))
	for k, v := range st.final {
		out[k] = v
	}
	return out
}

// countByChannel returns a copy of the messages accepted by channel.
func (st *sendStats) countByChannel() map[string]int64 {
	st.mu.Lock()
	defer st.mu.Unlock()
	out := make(map[string]int64, len(st.counts))
	for k, v := range st.counts {
		out[k] = v
	}
	return out
}

// paced sends rate messages a second for dur (rate × dur messages in all,
// an open loop: message i is due at start + i/rate), taking the senders in
// turn, with workers requests in flight at most. A message whose worker is
// late goes out as soon as one is free. Bodies carry phase and the send
// time relative to base.
func paced(ctx context.Context, a *api, senders []sender, rate float64, dur time.Duration, workers, phase, size int, base time.Time) *sendStats {
	st := newSendStats()
	total := int(rate * dur.Seconds())
	slots := make(chan int, workers)
	start := time.Now()
	go func() {
		defer close(slots)
		for i := range total {
			if sleepUntil(ctx, start.Add(time.Duration(float64(i)/rate*float64(time.Second)))) != nil {
				return
			}
			select {
			case slots <- i:
			case <-ctx.Done():
				return
			}
		}
	}()
	var wg sync.WaitGroup
	for range max(1, workers) {
		wg.Go(func() {
			for i := range slots {
				w := senders[i%len(senders)]
				t0 := time.Since(base)
				seq, err := a.send(ctx, w.s, w.channel, makeBody(phase, t0, size))
				st.post.add(time.Since(base) - t0)
				st.note(w.channel, seq, err)
			}
		})
	}
	wg.Wait()
	st.elapsed = time.Since(start)
	return st
}

// closedLoop has each sender send one message after another, as fast as
// the node answers, for dur (and at most limit messages in all).
func closedLoop(ctx context.Context, a *api, senders []sender, dur time.Duration, limit int64, size int, base time.Time) *sendStats {
	st := newSendStats()
	start := time.Now()
	end := start.Add(dur)
	var n atomic.Int64
	var wg sync.WaitGroup
	for _, w := range senders {
		wg.Go(func() {
			for ctx.Err() == nil && time.Now().Before(end) && n.Add(1) <= limit {
				t0 := time.Since(base)
				seq, err := a.send(ctx, w.s, w.channel, makeBody(0, t0, size))
				st.post.add(time.Since(base) - t0)
				st.note(w.channel, seq, err)
			}
		})
	}
	wg.Wait()
	st.elapsed = time.Since(start)
	return st
}
