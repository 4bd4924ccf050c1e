package main

import (
	"math/bits"
	"sync/atomic"
	"time"
)

// hist is a latency histogram with buckets of about 3% width, from 1 µs to
// hours, safe for concurrent use without locks. Values are recorded in
// microseconds: 32 exact buckets below 32 µs, then 32 buckets per power of
// two.
type hist struct {
	counts [histBuckets]atomic.Int64
	n      atomic.Int64
	max    atomic.Int64 // nanoseconds
}

const (
	histSub     = 32 // buckets per power of two
	histBuckets = histSub + 59*histSub
)

func bucketOf(d time.Duration) int {
	us := uint64(max(d, 0) / time.Microsecond)
	if us < histSub {
		return int(us)
	}
	shift := bits.Len64(us) - 6 // us>>shift is in [32, 64)
	return histSub + shift*histSub + int(us>>shift) - histSub
}

// valueOf returns the middle of a bucket.
func valueOf(b int) time.Duration {
	if b < histSub {
		return time.Duration(b)*time.Microsecond + time.Microsecond/2
	}
	shift := (b - histSub) / histSub
	lo := uint64(histSub+(b-histSub)%histSub) << shift
	return time.Duration(lo)*time.Microsecond + time.Duration(uint64(1)<<shift)*time.Microsecond/2
}

func (h *hist) add(d time.Duration) {
	h.counts[bucketOf(d)].Add(1)
	h.n.Add(1)
	for {
		m := h.max.Load()
		if int64(d) <= m || h.max.CompareAndSwap(m, int64(d)) {
			return
		}
	}
}

// quantile returns the value below which a fraction q of the values lie
// (to the bucket's precision); 0 when empty.
func (h *hist) quantile(q float64) time.Duration {
	n := h.n.Load()
	if n == 0 {
		return 0
	}
	if q >= 1 {
		return time.Duration(h.max.Load())
	}
	rank := int64(q*float64(n)) + 1
	var seen int64
	for b := range h.counts {
		seen += h.counts[b].Load()
		if seen >= rank {
			return min(valueOf(b), time.Duration(h.max.Load()))
		}
	}
	return time.Duration(h.max.Load())
}
