package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

// Metric names read from the node's /metrics (the gateway's are defined in
// internal/realtime/gateway.go).
const (
	mDeliveries = "kaigi_realtime_deliveries_total"
	mSlow       = "kaigi_realtime_slow_consumers_total"
	mWrites     = "kaigi_realtime_frames_per_write_count" // one observation per WebSocket write
	mGapFills   = "kaigi_realtime_gap_fills_total"
	mRSS        = "process_resident_memory_bytes"
	mCPU        = "process_cpu_seconds_total"
	mHeapInuse  = "go_memstats_heap_inuse_bytes"
	mStackInuse = "go_memstats_stack_inuse_bytes"
	mGoroutines = "go_goroutines"
)

// sample is one scrape of /metrics: every series by its full name (with
// labels), and the sums of every name over its labels.
type sample struct {
	at     time.Time
	series map[string]float64
	sums   map[string]float64
	// From /proc/<pid> when the server's process id is known.
	rss   float64 // bytes, VmRSS
	syscw float64 // write syscalls so far
	proc  bool
}

// get returns the sum of a metric over its labels (0 when absent).
func (s sample) get(name string) float64 { return s.sums[name] }

// serverRSS is the server's resident memory: /proc when the process is
// known, else the process collector's metric.
func (s sample) serverRSS() float64 {
	if s.proc {
		return s.rss
	}
	return s.get(mRSS)
}

// scrape reads /metrics (and /proc/<pid> when pid > 0).
func scrape(ctx context.Context, hc *http.Client, base, token string, pid int) (sample, error) {
	s := sample{at: time.Now(), series: map[string]float64{}, sums: map[string]float64{}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/metrics", nil)
	if err != nil {
		return s, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return s, fmt.Errorf("scrape /metrics: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return s, fmt.Errorf("scrape /metrics: %s (set --metrics-token if the node requires one)", resp.Status)
	}
	if err := parseMetrics(resp.Body, &s); err != nil {
		return s, err
	}
	if pid > 0 {
		if err := readProc(pid, &s); err != nil {
			return s, err
		}
	}
	return s, nil
}

// parseMetrics reads the Prometheus text format: "name{labels} value".
func parseMetrics(r io.Reader, s *sample) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		sp := bytes.LastIndexByte(line, ' ')
		if sp < 0 {
			continue
		}
		v, err := strconv.ParseFloat(string(line[sp+1:]), 64)
		if err != nil {
			continue
		}
		full := string(line[:sp])
		name := full
		if i := strings.IndexByte(full, '{'); i >= 0 {
			name = full[:i]
		}
		s.series[full] = v
		s.sums[name] += v
	}
	return sc.Err()
}

// readProc reads a process's resident memory and write syscalls.
func readProc(pid int, s *sample) error {
	if err := readProcStatus(pid, s); err != nil {
		return err
	}
	pio, err := os.ReadFile(fmt.Sprintf("/proc/%d/io", pid))
	if err != nil {
		return fmt.Errorf("server process: %w", err)
	}
	for line := range strings.SplitSeq(string(pio), "\n") {
		if v, ok := strings.CutPrefix(line, "syscw:"); ok {
			s.syscw, _ = strconv.ParseFloat(strings.TrimSpace(v), 64)
		}
	}
	s.proc = true
	return nil
}

// readProcStatus reads a process's resident memory (VmRSS).
func readProcStatus(pid int, s *sample) error {
	st, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return fmt.Errorf("server process: %w", err)
	}
	for line := range strings.SplitSeq(string(st), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			s.rss = kb * 1024
		}
	}
	return nil
}

// delta is what changed between two samples.
type delta struct{ a, b sample }

func (d delta) of(name string) float64 { return d.b.get(name) - d.a.get(name) }
func (d delta) seconds() float64       { return d.b.at.Sub(d.a.at).Seconds() }

// cpu is the server's share of one core over the interval.
func (d delta) cpu() float64 {
	if s := d.seconds(); s > 0 {
		return d.of(mCPU) / s
	}
	return 0
}

// writesPerDelivery is the gateway's WebSocket writes per event delivered.
func (d delta) writesPerDelivery() float64 {
	if n := d.of(mDeliveries); n > 0 {
		return d.of(mWrites) / n
	}
	return 0
}

// syscwPerDelivery is the server process's write syscalls (of any kind:
// sockets, database, logs) per event delivered; 0 when /proc is unknown.
func (d delta) syscwPerDelivery() float64 {
	if n := d.of(mDeliveries); n > 0 && d.a.proc && d.b.proc {
		return (d.b.syscw - d.a.syscw) / n
	}
	return 0
}

// cpuStat is one CPU's time from /proc/stat, in clock ticks.
type cpuStat struct {
	busy, total, steal float64
}

// cpuTimes reads every CPU's times from /proc/stat.
func cpuTimes() []cpuStat {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return nil
	}
	var out []cpuStat
	for line := range strings.SplitSeq(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 9 || !strings.HasPrefix(f[0], "cpu") || f[0] == "cpu" {
			continue
		}
		var v [8]float64
		for i := range v {
			v[i], _ = strconv.ParseFloat(f[i+1], 64)
		}
		// user nice system idle iowait irq softirq steal
		total := v[0] + v[1] + v[2] + v[3] + v[4] + v[5] + v[6] + v[7]
		out = append(out, cpuStat{busy: total - v[3] - v[4], total: total, steal: v[7]})
	}
	return out
}

// cpuBusy describes how busy each CPU was between two readings, e.g.
// "cpu0 97%, cpu1 55%" (with the hypervisor's steal when there was any).
func cpuBusy(a, b []cpuStat) string {
	if len(a) == 0 || len(a) != len(b) {
		return "?"
	}
	var parts []string
	for i := range a {
		t := b[i].total - a[i].total
		if t <= 0 {
			continue
		}
		s := fmt.Sprintf("cpu%d %.0f%%", i, 100*(b[i].busy-a[i].busy)/t)
		if st := (b[i].steal - a[i].steal) / t; st >= 0.01 {
			s += fmt.Sprintf(" (steal %.0f%%)", 100*st)
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, ", ")
}
