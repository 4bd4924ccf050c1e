package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// loadRun is one scenario's run against a node: the API client, the tenant,
// and what it reports.
type loadRun struct {
	cfg  *config
	node *node
	log  *slog.Logger
	api  *api
	env  *env
	base time.Time // zero of the send times in message bodies
	r    *report
}

// densityResult is S1's outcome.
type densityResult struct {
	Conns, Ready          int
	RSSBefore, RSSAfter   float64
	HeapBefore, HeapAfter float64
	PerConnRSS            float64 // bytes
	PerConnHeap           float64
	PerConnStack          float64
	GoroutinesPerConn     float64
	ClientPerConn         float64
	OpenSeconds           float64
	StillOpen             int     // after the hold
	HeldRSS, HeldStack    float64 // per connection, after the hold
	HeldHeap              float64
	IdleCPU               float64 // server CPU share while the connections idled
}

// phaseResult is one paced phase of S2 or S3.
type phaseResult struct {
	Name                string
	Subscribers         int // connections open at the end
	Channels            int
	Rate                float64 // asked, messages/s in all
	Accepted, Failed    int64
	SendRate            float64 // achieved
	Expected, Delivered int64
	Lost, Dupes         int64 // Lost: skipped over, or still missing when the drain ended
	Incomplete          bool  // the drain timed out: Lost counts deliveries still in flight
	DeliveriesPerSec    float64
	P50, P99, Max       time.Duration // send to receive
	PostP99             time.Duration
	FirstP99            time.Duration // send to the first subscriber
	SpreadP50           time.Duration // first to last subscriber
	SpreadP99           time.Duration
	WritesPerDelivery   float64 // WebSocket writes per delivery (gateway metric)
	SyscwPerDelivery    float64 // write syscalls of the server process per delivery
	ServerCPU           float64
	ClientCPU           float64
	DeliveredToDropped  int64 // deliveries to connections that ended during the phase
	CPUBusy             string
	Slow                int64 // connections the gateway dropped as slow (metric)
	Ended               int64 // connections that ended, seen by the client
	RSSStart, RSSMax    float64
	RSSEnd              float64
	RSSFirstHalfMax     float64
	RSSSecondHalfMax    float64
}

// sendResult is the send scenario's outcome.
type sendResult struct {
	Database         string
	Senders          int
	Channels         int
	Accepted, Failed int64
	Rate             float64
	P50, P99         time.Duration
	ServerCPU        float64
}

func (ru *loadRun) scrape(ctx context.Context) (sample, error) {
	return scrape(ctx, ru.api.hc, ru.node.base, ru.node.metricsToken, ru.node.pid)
}

// accountsFor is how many accounts n connections need.
func (ru *loadRun) accountsFor(n int) int {
	return (n + ru.cfg.perAccount - 1) / ru.cfg.perAccount
}

// specs spreads n connections over a group's accounts, in turn.
func specs(g *group, n int) []connSpec {
	out := make([]connSpec, n)
	for i := range out {
		out[i] = connSpec{channel: g.channel, s: g.accounts[i%len(g.accounts)].s}
	}
	return out
}

// openPool opens the connections of who and logs how long it took.
func (ru *loadRun) openPool(ctx context.Context, who []connSpec) (*pool, time.Duration, error) {
	p := newPool(ru.node.base, ru.node.origin, ru.base)
	start := time.Now()
	ru.log.Info("opening connections", "n", len(who), "rate", ru.cfg.openRate)
	timeout := time.Duration(float64(len(who))/ru.cfg.openRate*float64(time.Second)) + 2*time.Minute
	ready, err := p.open(ctx, who, ru.cfg.openRate, ru.cfg.inflight, timeout)
	took := time.Since(start)
	ru.log.Info("connections ready", "ready", ready, "of", len(who), "took", took.Round(time.Millisecond).String())
	if err != nil {
		p.close()
		return nil, took, fmt.Errorf("%w; endings: %s", err, strings.Join(p.endings(), "; "))
	}
	if n := p.failed.Load(); n > 0 {
		ru.r.note("%d of %d connections could not be opened: %s", n, len(who), strings.Join(p.endings(), "; "))
	}
	return p, took, nil
}

// ---- S1

func (ru *loadRun) density(ctx context.Context) error {
	cfg, r := ru.cfg, ru.r
	r.Title = fmt.Sprintf("%s idle subscribed connections", num(float64(cfg.conns), 0))
	gs, err := ru.env.groups(ctx, []int{ru.accountsFor(cfg.conns)}, cfg.setupWorkers)
	if err != nil {
		return err
	}
	settle(ctx, 2*time.Second)
	before, err := ru.scrape(ctx)
	if err != nil {
		return err
	}
	clientBefore := selfRSS()
	p, took, err := ru.openPool(ctx, specs(gs[0], cfg.conns))
	if err != nil {
		return err
	}
	defer p.close()
	settle(ctx, cfg.settle)
	after, err := ru.scrape(ctx)
	if err != nil {
		return err
	}
	ready := int(p.ready.Load())
	d := &densityResult{Conns: cfg.conns, Ready: ready, OpenSeconds: took.Seconds(),
		RSSBefore: before.serverRSS(), RSSAfter: after.serverRSS(), HeapBefore: before.get(mHeapInuse), HeapAfter: after.get(mHeapInuse)}
	if ready > 0 {
		d.PerConnRSS = (d.RSSAfter - d.RSSBefore) / float64(ready)
		d.PerConnHeap = (d.HeapAfter - d.HeapBefore) / float64(ready)
		d.PerConnStack = (after.get(mStackInuse) - before.get(mStackInuse)) / float64(ready)
		d.GoroutinesPerConn = (after.get(mGoroutines) - before.get(mGoroutines)) / float64(ready)
		d.ClientPerConn = (selfRSS() - clientBefore) / float64(ready)
	}
	d.StillOpen = len(p.live())
	if cfg.hold > 0 {
		ru.log.Info("holding the connections idle", "for", cfg.hold.String())
		cpus0 := cpuTimes()
		settle(ctx, cfg.hold)
		r.note("while the connections idled: %s busy (all processes)", cpuBusy(cpus0, cpuTimes()))
		held, err := ru.scrape(ctx)
		if err != nil {
			return err
		}
		d.IdleCPU = delta{after, held}.cpu()
		d.StillOpen = len(p.live())
		if ready > 0 {
			d.HeldRSS = (held.serverRSS() - d.RSSBefore) / float64(ready)
			d.HeldStack = (held.get(mStackInuse) - before.get(mStackInuse)) / float64(ready)
			d.HeldHeap = (held.get(mHeapInuse) - d.HeapBefore) / float64(ready)
		}
	}
	r.Density = d
	src := "VmRSS of the server process"
	if !after.proc {
		src = "process_resident_memory_bytes from /metrics"
	}
	t := &table{Title: "Server memory for idle subscribed connections (RSS: " + src + "; heap and stacks: go_memstats_heap_inuse_bytes, go_memstats_stack_inuse_bytes, garbage included)",
		Head: []string{"connections", "opened in", "RSS before", "RSS after", "RSS / conn", "heap / conn", "stacks / conn", "goroutines / conn", "client RSS / conn", "open after hold", "server CPU idle", "after hold: RSS / conn", "heap / conn", "stacks / conn"}}
	idle, heldRSS, heldHeap, heldStack := "–", "–", "–", "–"
	if cfg.hold > 0 {
		idle = fmt.Sprintf("%s over %s", pct(d.IdleCPU), cfg.hold)
		heldRSS, heldHeap, heldStack = kib(d.HeldRSS), kib(d.HeldHeap), kib(d.HeldStack)
	}
	t.add(num(float64(ready), 0), fmt.Sprintf("%.1f s", d.OpenSeconds), mib(d.RSSBefore), mib(d.RSSAfter), kib(d.PerConnRSS), kib(d.PerConnHeap),
		kib(d.PerConnStack), fmt.Sprintf("%.2f", d.GoroutinesPerConn), kib(d.ClientPerConn), num(float64(d.StillOpen), 0), idle, heldRSS, heldHeap, heldStack)
	r.Tables = append(r.Tables, t)
	r.target("server memory per idle connection", "≤ 32 KiB", kib(d.PerConnRSS), d.PerConnRSS <= 32<<10 && ready == cfg.conns)
	if ends := p.endings(); len(ends) > 0 {
		r.note("connections that ended on their own: %s", strings.Join(ends, "; "))
	}
	if cfg.conns < 1000 {
		r.note("with fewer than 1,000 connections the garbage collector's swings outweigh them: the per-connection numbers are noise")
	}
	return nil
}

// ---- S2

func (ru *loadRun) channel(ctx context.Context) error {
	cfg, r := ru.cfg, ru.r
	r.Title = fmt.Sprintf("one channel, %s subscribers, paced sends at %s messages/s", num(float64(cfg.conns), 0), rateList(cfg.rates))
	gs, err := ru.env.groups(ctx, []int{max(ru.accountsFor(cfg.conns), cfg.senders)}, cfg.setupWorkers)
	if err != nil {
		return err
	}
	p, _, err := ru.openPool(ctx, specs(gs[0], cfg.conns))
	if err != nil {
		return err
	}
	defer p.close()
	senders := sendersOf(gs[0], cfg.senders)
	for i, rate := range cfg.rates {
		ph, err := ru.phase(ctx, p, fmt.Sprintf("%s/s", num(rate, 0)), i+1, senders, rate, 1)
		if err != nil {
			return err
		}
		r.Phases = append(r.Phases, ph)
	}
	r.Tables = append(r.Tables, phaseTables(fmt.Sprintf("%d-byte messages sent through POST /api/v1/channels/{id}/messages", cfg.size), r.Phases)...)
	last := r.Phases[len(r.Phases)-1]
	at := " at " + last.Name
	r.target("loss"+at, "none (each subscriber gets each message once)", fmt.Sprintf("%d missing, %d duplicates", last.Lost, last.Dupes), last.Lost == 0 && last.Dupes == 0 && last.Delivered > 0)
	r.target("p99 send to receive"+at, "≤ 100 ms", ms(last.P99), last.P99 > 0 && last.P99 <= 100*time.Millisecond)
	r.target("WebSocket writes per delivery"+at, "≤ 0.7", fmt.Sprintf("%.2f", last.WritesPerDelivery), last.WritesPerDelivery > 0 && last.WritesPerDelivery <= 0.7)
	ru.noteEnds(p)
	return nil
}

// ---- S3

func (ru *loadRun) rooms(ctx context.Context) error {
	cfg, r := ru.cfg, ru.r
	var parts []string
	if cfg.conns > 0 {
		parts = append(parts, fmt.Sprintf("small room (%d subscribers at %s messages/s)", cfg.conns, num(cfg.rates[0], 0)))
	}
	if cfg.satConns > 0 {
		parts = append(parts, fmt.Sprintf("saturation (%s subscribers in %d channels, %s messages/s each)", num(float64(cfg.satConns), 0), cfg.satChannels, num(cfg.satRate, 0)))
	}
	r.Title = strings.Join(parts, " and ")
	if cfg.conns > 0 {
		rate := cfg.rates[0]
		gs, err := ru.env.groups(ctx, []int{max(ru.accountsFor(cfg.conns), cfg.senders)}, cfg.setupWorkers)
		if err != nil {
			return err
		}
		p, _, err := ru.openPool(ctx, specs(gs[0], cfg.conns))
		if err != nil {
			return err
		}
		ph, err := ru.phase(ctx, p, "small room", 1, sendersOf(gs[0], cfg.senders), rate, 1)
		ru.noteEnds(p)
		p.close()
		if err != nil {
			return err
		}
		r.Phases = append(r.Phases, ph)
		r.target(fmt.Sprintf("p99 send to receive, %d subscribers at %s/s", cfg.conns, num(rate, 0)), "≤ 5 ms", ms(ph.P99), ph.P99 > 0 && ph.P99 <= 5*time.Millisecond)
		r.target("loss in the small room", "none", fmt.Sprintf("%d missing, %d duplicates", ph.Lost, ph.Dupes), ph.Lost == 0 && ph.Dupes == 0 && ph.Delivered > 0)
	}
	if cfg.satConns > 0 {
		k := max(1, cfg.satChannels)
		sizes := make([]int, k)
		per := make([]int, k)
		for i := range k {
			per[i] = cfg.satConns / k
			if i < cfg.satConns%k {
				per[i]++
			}
			sizes[i] = max(1, ru.accountsFor(per[i]))
		}
		gs, err := ru.env.groups(ctx, sizes, cfg.setupWorkers)
		if err != nil {
			return err
		}
		var who []connSpec
		var senders []sender
		for i, g := range gs {
			who = append(who, specs(g, per[i])...)
			senders = append(senders, sender{channel: g.channel, s: g.accounts[0].s})
		}
		p, _, err := ru.openPool(ctx, who)
		if err != nil {
			return err
		}
		ph, err := ru.phase(ctx, p, "saturation", 2, senders, cfg.satRate*float64(k), k)
		ru.noteEnds(p)
		p.close()
		if err != nil {
			return err
		}
		r.Phases = append(r.Phases, ph)
		bounded := ph.RSSSecondHalfMax <= ph.RSSFirstHalfMax*1.1+32<<20
		r.target("server memory under saturation", "stops growing (max of the second half ≤ 1.1 × max of the first + 32 MiB)",
			fmt.Sprintf("%s at start, max %s in the first half, %s in the second", mib(ph.RSSStart), mib(ph.RSSFirstHalfMax), mib(ph.RSSSecondHalfMax)), bounded)
		r.note("saturation: the gateway dropped %d connections as too slow (kaigi_realtime_slow_consumers_total); the client saw %d connections end; %s deliveries went to connections dropped meanwhile", ph.Slow, ph.Ended, num(float64(ph.DeliveredToDropped), 0))
	}
	r.Tables = append(r.Tables, phaseTables(fmt.Sprintf("%d-byte messages sent through POST /api/v1/channels/{id}/messages", cfg.size), r.Phases)...)
	return nil
}

// ---- send

func (ru *loadRun) send(ctx context.Context) error {
	cfg, r := ru.cfg, ru.r
	db := "SQLite"
	if cfg.databaseURL != "" {
		db = "PostgreSQL"
	}
	if !cfg.start && cfg.databaseURL == "" {
		db = "the node's database"
	}
	r.Title = fmt.Sprintf("accepted messages/s, %d concurrent senders, %d channel(s), %s", cfg.senders, cfg.channels, db)
	k := max(1, cfg.channels)
	sizes := make([]int, k)
	for i := range cfg.senders {
		sizes[i%k]++
	}
	for i := range sizes {
		sizes[i] = max(1, sizes[i])
	}
	gs, err := ru.env.groups(ctx, sizes, cfg.setupWorkers)
	if err != nil {
		return err
	}
	var senders []sender
	for i := range cfg.senders {
		g := gs[i%k]
		senders = append(senders, sender{channel: g.channel, s: g.accounts[(i/k)%len(g.accounts)].s})
	}
	// A short warm-up: connections, caches, the data key.
	closedLoop(ctx, ru.api, senders, 500*time.Millisecond, 1<<20, cfg.size, ru.base)
	before, err := ru.scrape(ctx)
	if err != nil {
		return err
	}
	cpus0 := cpuTimes()
	st := closedLoop(ctx, ru.api, senders, cfg.duration, 10_000_000, cfg.size, ru.base)
	busy := cpuBusy(cpus0, cpuTimes())
	after, err := ru.scrape(ctx)
	if err != nil {
		return err
	}
	res := &sendResult{Database: db, Senders: cfg.senders, Channels: k, Accepted: st.accepted.Load(), Failed: st.failed.Load(),
		Rate: st.rate(), P50: st.post.quantile(0.5), P99: st.post.quantile(0.99), ServerCPU: delta{before, after}.cpu()}
	r.Sends = append(r.Sends, res)
	t := &table{Title: "POST /api/v1/channels/{id}/messages answered 201, closed loop (each sender waits for its answer)",
		Head: []string{"database", "senders", "channels", "accepted", "failed", "messages/s", "p50", "p99", "server CPU", "CPUs busy (all processes)"}}
	t.add(db, strconv.Itoa(res.Senders), strconv.Itoa(k), num(float64(res.Accepted), 0), num(float64(res.Failed), 0), num(res.Rate, 0), ms(res.P50), ms(res.P99), pct(res.ServerCPU), busy)
	r.Tables = append(r.Tables, t)
	if errs := st.errors(); len(errs) > 0 {
		r.note("send errors: %s", strings.Join(errs, "; "))
	}
	return nil
}

// ---- phases

// phase sends rate messages/s for the configured duration from senders,
// waits for the deliveries, and measures them.
func (ru *loadRun) phase(ctx context.Context, p *pool, name string, idx int, senders []sender, rate float64, channels int) (*phaseResult, error) {
	cfg := ru.cfg
	ru.log.Info("phase", "name", name, "rate", rate, "for", cfg.duration.String(), "subscribers", len(p.live()))
	before, err := ru.scrape(ctx)
	if err != nil {
		return nil, err
	}
	missing0, dupes0, ended0 := p.missing.Load(), p.dupes.Load(), p.ended.Load()
	cpu0, cpus0 := selfCPU(), cpuTimes()

	// Sample the server's memory every second while the phase runs.
	sctx, stopSampling := context.WithCancel(ctx)
	var samples []float64
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-sctx.Done():
				return
			case <-t.C:
				if s, err := ru.scrape(sctx); err == nil {
					samples = append(samples, s.serverRSS())
				}
			}
		}
	})

	st := paced(ctx, ru.api, senders, rate, cfg.duration, cfg.workers, idx, cfg.size, ru.base)
	drainStart := time.Now()
	behind := p.drain(ctx, st.finalSeqs(), cfg.drainTimeout)
	drained := time.Since(drainStart)
	stopSampling()
	wg.Wait()
	after, err := ru.scrape(ctx)
	if err != nil {
		return nil, err
	}
	live := p.live()
	perChan := map[string]int{}
	for _, c := range live {
		perChan[c.channel]++
	}
	ph := &p.phases[idx]
	res := &phaseResult{Name: name, Subscribers: len(live), Channels: channels, Rate: rate,
		Accepted: st.accepted.Load(), Failed: st.failed.Load(), SendRate: st.rate(),
		Lost: behind + p.missing.Load() - missing0, Dupes: p.dupes.Load() - dupes0,
		P50: ph.lat.quantile(0.5), P99: ph.lat.quantile(0.99), Max: ph.lat.quantile(1), PostP99: st.post.quantile(0.99),
		Slow: int64(delta{before, after}.of(mSlow)), Ended: p.ended.Load() - ended0,
		RSSStart: before.serverRSS(), RSSEnd: after.serverRSS()}
	res.CPUBusy = cpuBusy(cpus0, cpuTimes())
	if behind > 0 {
		res.Incomplete = true
		ru.r.note("%s: %s deliveries were still missing %s after the last send (--drain): a backlog not yet written, or loss; rerun with a longer --drain to tell", name, num(float64(behind), 0), drained.Round(time.Second))
	}
	for _, c := range live {
		res.Delivered += int64(c.got[idx].Load())
	}
	res.DeliveredToDropped = ph.delivered.Load() - res.Delivered
	first, spread := p.fanout(idx)
	res.FirstP99, res.SpreadP50, res.SpreadP99 = first.quantile(0.99), spread.quantile(0.5), spread.quantile(0.99)
	for ch, n := range st.countByChannel() {
		res.Expected += n * int64(perChan[ch])
	}
	if st.elapsed > 0 {
		res.DeliveriesPerSec = float64(ph.delivered.Load()) / st.elapsed.Seconds()
	}
	d := delta{before, after}
	res.WritesPerDelivery, res.SyscwPerDelivery, res.ServerCPU = d.writesPerDelivery(), d.syscwPerDelivery(), d.cpu()
	if s := d.seconds(); s > 0 {
		res.ClientCPU = (selfCPU() - cpu0).Seconds() / s
	}
	series := append(append([]float64{res.RSSStart}, samples...), res.RSSEnd)
	for i, v := range series {
		res.RSSMax = max(res.RSSMax, v)
		if i < len(series)/2 {
			res.RSSFirstHalfMax = max(res.RSSFirstHalfMax, v)
		} else {
			res.RSSSecondHalfMax = max(res.RSSSecondHalfMax, v)
		}
	}
	if errs := st.errors(); len(errs) > 0 {
		ru.r.note("%s: send errors: %s", name, strings.Join(errs, "; "))
	}
	if n := d.of(mGapFills); n > 0 {
		ru.r.note("%s: the gateway filled %.0f gaps from the store (kaigi_realtime_gap_fills_total): publishes it missed", name, n)
	}
	return res, nil
}

// phaseTables returns a table of what was delivered and one of how fast and
// at what cost.
func phaseTables(what string, phs []*phaseResult) []*table {
	a := &table{Title: "Deliveries of " + what + " (delivered: to the connections open at the end, out of accepted × those; server RSS: the largest of samples taken every second)",
		Head: []string{"phase", "subscribers", "channels", "sent/s (asked)", "accepted", "delivered", "missing", "duplicates", "deliveries/s", "dropped as slow", "server RSS max"}}
	b := &table{Title: "Latency (send: when the POST started; first: the first subscriber's receipt; spread: from the first to the last subscriber) and cost per delivery",
		Head: []string{"phase", "send→receive p50", "p99", "max", "POST p99", "send→first p99", "spread p50", "spread p99", "WS writes / delivery", "write syscalls / delivery", "server CPU", "client CPU", "CPUs busy (all processes)"}}
	for _, p := range phs {
		sys := "–"
		if p.SyscwPerDelivery > 0 {
			sys = fmt.Sprintf("%.2f", p.SyscwPerDelivery)
		}
		a.add(p.Name, num(float64(p.Subscribers), 0), strconv.Itoa(p.Channels), fmt.Sprintf("%s (%s)", num(p.SendRate, 1), num(p.Rate, 0)),
			num(float64(p.Accepted), 0), fmt.Sprintf("%s of %s", num(float64(p.Delivered), 0), num(float64(p.Expected), 0)),
			missing(p), num(float64(p.Dupes), 0), num(p.DeliveriesPerSec, 0), num(float64(p.Slow), 0), mib(p.RSSMax))
		b.add(p.Name, ms(p.P50), ms(p.P99), ms(p.Max), ms(p.PostP99), ms(p.FirstP99), ms(p.SpreadP50), ms(p.SpreadP99),
			fmt.Sprintf("%.2f", p.WritesPerDelivery), sys, pct(p.ServerCPU), pct(p.ClientCPU), p.CPUBusy)
	}
	return []*table{a, b}
}

func missing(p *phaseResult) string {
	s := num(float64(p.Lost), 0)
	if p.Incomplete {
		s += " (drain timed out)"
	}
	return s
}

func (ru *loadRun) noteEnds(p *pool) {
	if ends := p.endings(); len(ends) > 0 {
		ru.r.note("connections that ended before the tool closed them: %s", strings.Join(ends, "; "))
	}
}

// sendersOf returns n senders: the group's first accounts, posting to its
// channel.
func sendersOf(g *group, n int) []sender {
	out := make([]sender, max(1, n))
	for i := range out {
		out[i] = sender{channel: g.channel, s: g.accounts[i%len(g.accounts)].s}
	}
	return out
}

func rateList(rates []float64) string {
	var s []string
	for _, r := range rates {
		s = append(s, num(r, 0))
	}
	return strings.Join(s, " and ")
}

// settle sleeps d, or less if ctx ends.
func settle(ctx context.Context, d time.Duration) { sleepUntil(ctx, time.Now().Add(d)) }

// selfRSS is this process's resident memory in bytes.
func selfRSS() float64 {
	var s sample
	if readProcStatus(os.Getpid(), &s) != nil {
		return 0
	}
	return s.rss
}

// selfCPU is the CPU time this process used so far.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
