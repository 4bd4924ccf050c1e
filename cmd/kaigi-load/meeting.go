package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pion/webrtc/v4"
)

// roomSpec is one meeting room of the meet scenario: its publishers, each
// sending one audio or one video stream, and its subscribers, who publish
// nothing and receive every stream.
type roomSpec struct {
	Name  string // a10x50: 10 audio publishers × 50 subscribers
	Video bool
	Pubs  int
	Subs  int
}

func (s roomSpec) participants() int { return s.Pubs + s.Subs }

// meetRooms are the rooms of --scenario all (issue 5).
const meetRooms = "a10x50,v1x30,v4x30,v4x100"

var roomRE = regexp.MustCompile(`^([av])(\d+)x(\d+)$`)

// parseRooms reads --scenario: "all", or rooms such as a10x50 or v4x100,
// comma-separated.
func parseRooms(s string) ([]roomSpec, error) {
	if s == "all" {
		s = meetRooms
	}
	var out []roomSpec
	for _, name := range strings.Split(s, ",") {
		name = strings.TrimSpace(name)
		m := roomRE.FindStringSubmatch(name)
		if m == nil {
			return nil, fmt.Errorf("--scenario: %q is not a room such as a10x50 (audio publishers × subscribers) or v4x100 (video), nor all", name)
		}
		pubs, _ := strconv.Atoi(m[2])
		subs, _ := strconv.Atoi(m[3])
		if pubs < 1 || pubs > 50 || subs < 0 || pubs+subs > 1000 {
			return nil, fmt.Errorf("--scenario %s: 1 to 50 publishers and at most 1,000 participants", name)
		}
		out = append(out, roomSpec{Name: name, Video: m[1] == "v", Pubs: pubs, Subs: subs})
	}
	return out, nil
}

// largestRoom is the most participants of any room in rooms.
func largestRoom(rooms []roomSpec) int {
	n := 0
	for _, r := range rooms {
		n = max(n, r.participants())
	}
	return n
}

// meetServeArgs are the server flags the meet scenario needs: media on the
// loopback (one UDP port, no ICE-TCP, no TURN), enough anonymous sockets
// from one address (the limit per account bounds them) and enough
// participants per media room.
func meetServeArgs(cfg *config) []string {
	n := largestRoom(cfg.rooms)
	return []string{"--media-udp-addr", "127.0.0.1:0", "--media-tcp-addr", "off", "--turn-addr", "off", "--media-loopback=true",
		"--realtime-max-conns-per-account", strconv.Itoa(min(1000, max(20, n+10))),
		"--media-max-participants-per-room", strconv.Itoa(min(1000, max(100, n)))}
}

// roomResult is what one room measured.
type roomResult struct {
	Spec             roomSpec
	Streams          int
	Window           time.Duration
	JoinTime         time.Duration // from the first join until every participant received every stream
	Sent, SentBytes  int64         // packets sent in the window, by all publishers
	Expected         int64         // sent × the participants who should receive them
	Received, Bytes  int64         // distinct packets received of those sent in the window
	Dupes            int64
	Lost             int64
	Loss             float64 // fraction
	P50, P99, Max    time.Duration
	FirstP50         time.Duration // send to the first receiver
	FirstP99         time.Duration
	SpreadP50        time.Duration // first to last receiver
	SpreadP99        time.Duration
	ServerCPU        float64 // share of one core
	ClientCPU        float64
	RSSBefore        float64 // before anyone joined
	RSSAfter         float64 // at the end of the window, everyone in
	HeapBefore       float64 // go_memstats_heap_inuse_bytes, garbage included
	HeapAfter        float64
	ServerForwarded  float64 // packets/s the SFU wrote (kaigi_sfu_forwarded_packets_total)
	ServerNACKs      float64 // NACK packets from subscribers in the window
	PLIs             int64   // keyframe requests publishers got in the window
	RcvbufErrs       int64   // UDP datagrams the kernel dropped for full receive buffers (all sockets)
	SndbufErrs       int64
	Glare            int64
	BadPackets       int64
	CPUBusy          string
	CPUSplit         string // user, system and softirq time of each CPU
	ProcRSS, ProcCPU bool
}

func (r *roomResult) sentPerSec() float64 { return float64(r.Sent) / r.Window.Seconds() }

// nominalPPS is the packets/s the room's publishers should send together:
// Opus every 20 ms, or each video frame's packets (a keyframe interval's
// worth, averaged).
func nominalPPS(spec roomSpec, mp mediaParams) float64 {
	if !spec.Video {
		return 50 * float64(spec.Pubs)
	}
	pkts := func(key bool) int { return max(1, (frameBytes(mp, key)+maxVideoPayload-1)/maxVideoPayload) }
	frames := max(1, int(mp.keyframeEvery.Seconds()*float64(mp.fps)))
	perInterval := float64((frames-1)*pkts(false) + pkts(true))
	return perInterval / mp.keyframeEvery.Seconds() * float64(spec.Pubs)
}
func (r *roomResult) fwdPerSec() float64 { return float64(r.Received) / r.Window.Seconds() }
func (r *roomResult) mbits() float64     { return float64(r.Bytes) * 8 / r.Window.Seconds() / 1e6 }

// meet runs cfg's rooms one after another on the node.
func (ru *loadRun) meet(ctx context.Context) error {
	if err := ru.allowAnonymous(ctx); err != nil {
		return err
	}
	api, err := newMediaAPI()
	if err != nil {
		return err
	}
	for i, spec := range ru.cfg.rooms {
		if i > 0 {
			settle(ctx, 3*time.Second) // the last room's leavers
		}
		res, err := ru.room(ctx, api, spec)
		if err != nil {
			return fmt.Errorf("room %s: %w", spec.Name, err)
		}
		ru.r.Rooms = append(ru.r.Rooms, res)
	}
	meetReport(ru.r, ru.cfg)
	return nil
}

// allowAnonymous lets people join the tenant's meetings without signing in.
func (ru *loadRun) allowAnonymous(ctx context.Context) error {
	a, admin := ru.api, ru.env.admin
	var pol map[string]any
	if err := a.call(ctx, admin, http.MethodGet, "/api/v1/admin/policy", nil, http.StatusOK, &pol); err != nil {
		return err
	}
	m, _ := pol["meetings"].(map[string]any)
	if m == nil {
		m = map[string]any{}
	}
	m["allow_anonymous"] = true
	pol["meetings"] = m
	if err := a.call(ctx, admin, http.MethodPut, "/api/v1/admin/policy", map[string]any{"policy": pol}, http.StatusNoContent, nil); err != nil {
		return fmt.Errorf("allow anonymous meeting joins: %w", err)
	}
	return nil
}

// newMeeting creates a meeting everyone joins without waiting, and returns
// its join code.
func (ru *loadRun) newMeeting(ctx context.Context, title string) (string, error) {
	now := ru.node.now()
	var created struct {
		Link string `json:"link"`
	}
	body := map[string]any{"title": title, "start": now, "end": now.Add(4 * time.Hour),
		"options": map[string]any{"lobby_bypass": "everyone", "allow_anonymous": true}}
	if err := ru.api.call(ctx, ru.env.admin, http.MethodPost, "/api/v1/meetings", body, http.StatusCreated, &created); err != nil {
		return "", fmt.Errorf("create the meeting: %w", err)
	}
	_, code, ok := strings.Cut(created.Link, "/meet#")
	if !ok || code == "" {
		return "", fmt.Errorf("the meeting's link %q has no /meet#code", created.Link)
	}
	return code, nil
}

// room runs one room: publishers join one by one and offer their tracks
// before anyone sends (so no offer of theirs can cross one of the SFU's),
// then send; subscribers join, joinWorkers at a time, each once every stream
// reaches it; after the warm-up the window is measured.
func (ru *loadRun) room(ctx context.Context, api *webrtc.API, spec roomSpec) (*roomResult, error) {
	cfg, log := ru.cfg, ru.log
	code, err := ru.newMeeting(ctx, "Load "+spec.Name)
	if err != nil {
		return nil, err
	}
	before, err := ru.scrape(ctx)
	if err != nil {
		return nil, err
	}
	res := &roomResult{Spec: spec, Streams: spec.Pubs, Window: cfg.duration, RSSBefore: before.serverRSS(), HeapBefore: before.get(mHeapInuse), ProcRSS: before.proc}
	w := &window{}
	w.t0.Store(1<<63 - 1) // nothing counts until the window is set
	w.t1.Store(1<<63 - 1)
	lat := &hist{}
	fan := &fanout{streams: make([]fanStream, spec.Pubs)}
	base := ru.base
	hc := &http.Client{Timeout: 30 * time.Second}
	newRx := func() *receiver {
		return &receiver{streams: make([]rxStream, spec.Pubs), lat: lat, fan: fan, base: base, w: w}
	}

	var mu sync.Mutex
	var peers []*mpeer
	stop := make(chan struct{})
	var senders sync.WaitGroup
	defer func() {
		close(stop)
		senders.Wait()
		mu.Lock()
		ps := peers
		mu.Unlock()
		// Subscribers first: their leaving changes nobody's tracks.
		closeAll := func(ps []*mpeer) {
			var wg sync.WaitGroup
			sem := make(chan struct{}, 16)
			for _, p := range ps {
				sem <- struct{}{}
				wg.Go(func() { defer func() { <-sem }(); p.close() })
			}
			wg.Wait()
		}
		closeAll(ps[min(len(ps), spec.Pubs):])
		closeAll(ps[:min(len(ps), spec.Pubs)])
	}()
	add := func(p *mpeer) {
		mu.Lock()
		peers = append(peers, p)
		mu.Unlock()
	}
	joinTimeout := 60 * time.Second

	start := time.Now()
	log.Info("room: publishers joining", "room", spec.Name, "publishers", spec.Pubs)
	var pubs []*mpeer
	for i := range spec.Pubs {
		p, err := dialPeer(ctx, hc, ru.node.base, ru.node.origin, fmt.Sprintf("Publisher %d", i+1), api, newRx())
		if err != nil {
			return nil, fmt.Errorf("publisher %d: %w", i+1, err)
		}
		add(p)
		if err := p.join(ctx, code, joinTimeout); err != nil {
			return nil, fmt.Errorf("publisher %d: %w", i+1, err)
		}
		s, err := newPubStream(uint32(i), spec.Video)
		if err != nil {
			return nil, err
		}
		// Publishers' periodic keyframes fall at different times, as
		// independent encoders' do.
		s.frame = i * max(1, int(cfg.media.keyframeEvery.Seconds()*float64(cfg.media.fps))) / spec.Pubs
		if err := p.publish([]*pubStream{s}); err != nil {
			return nil, fmt.Errorf("publisher %d: %w", i+1, err)
		}
		if err := p.waitFor(ctx, joinTimeout, "connected", p.connected); err != nil {
			return nil, err
		}
		pubs = append(pubs, p)
	}
	for _, p := range pubs {
		for _, s := range p.streams {
			senders.Go(func() { s.run(stop, cfg.media, base, w) })
		}
	}
	for i, p := range pubs {
		if err := p.waitFor(ctx, joinTimeout, "receiving the other publishers", func() bool { return p.rx.receiving(i) }); err != nil {
			return nil, err
		}
	}

	log.Info("room: subscribers joining", "room", spec.Name, "subscribers", spec.Subs, "at once", cfg.joinWorkers)
	roomCtx := ctx // the peers outlive parallel's context
	err = parallel(ctx, spec.Subs, cfg.joinWorkers, func(ctx context.Context, i int) error {
		p, err := dialPeer(roomCtx, hc, ru.node.base, ru.node.origin, fmt.Sprintf("Subscriber %d", i+1), api, newRx())
		if err != nil {
			return fmt.Errorf("subscriber %d: %w", i+1, err)
		}
		add(p)
		if err := p.join(ctx, code, joinTimeout); err != nil {
			return fmt.Errorf("subscriber %d: %w", i+1, err)
		}
		return p.waitFor(ctx, joinTimeout, "receiving every stream", func() bool { return p.connected() && p.rx.receiving(-1) })
	})
	if err != nil {
		return nil, err
	}
	res.JoinTime = time.Since(start)
	log.Info("room: everyone receives every stream", "room", spec.Name, "took", res.JoinTime.Round(time.Millisecond).String())

	// The window, by send time; measured from its start to its end.
	t0 := time.Now().Add(cfg.warmup)
	w.t0.Store(int64(t0.Sub(base)))
	w.t1.Store(int64(t0.Add(cfg.duration).Sub(base)))
	if err := sleepUntil(ctx, t0); err != nil {
		return nil, err
	}
	s0, err := ru.scrape(ctx)
	if err != nil {
		return nil, err
	}
	cpu0, cpus0, udp0, st0 := selfCPU(), cpuTimes(), udpCounters(), procStat()
	plis0 := pubPLIs(pubs)
	if err := sleepUntil(ctx, t0.Add(cfg.duration)); err != nil {
		return nil, err
	}
	s1, err := ru.scrape(ctx)
	if err != nil {
		return nil, err
	}
	cpu1, cpus1, udp1, st1 := selfCPU(), cpuTimes(), udpCounters(), procStat()
	plis1 := pubPLIs(pubs)
	// Packets sent at the window's end are still on their way, and a NACK's
	// retransmission takes a round trip or two more.
	settle(ctx, time.Second)

	d := delta{s0, s1}
	secs := d.seconds()
	res.ServerCPU = d.cpu()
	res.ClientCPU = (cpu1 - cpu0).Seconds() / secs
	res.CPUBusy = cpuBusy(cpus0, cpus1)
	res.CPUSplit = cpuSplit(st0, st1)
	res.RSSAfter, res.HeapAfter, res.ProcCPU = s1.serverRSS(), s1.get(mHeapInuse), s1.proc
	res.ServerForwarded = d.of(mSFUForwarded) / secs
	res.ServerNACKs = d.of(mSFUNACKs)
	res.PLIs = plis1 - plis0
	res.RcvbufErrs, res.SndbufErrs = udp1.rcvbuf-udp0.rcvbuf, udp1.sndbuf-udp0.sndbuf
	mu.Lock()
	all := peers
	mu.Unlock()
	for _, p := range pubs {
		for _, s := range p.streams {
			res.Sent += s.sentWin.Load()
			res.SentBytes += s.bytesWin.Load()
		}
	}
	res.Expected = res.Sent * int64(spec.participants()-1)
	for _, p := range all {
		got, b, dupes := p.rx.totals()
		res.Received += got
		res.Bytes += b
		res.Dupes += dupes
		res.Glare += p.glare.Load()
		res.BadPackets += p.rx.bad.Load()
	}
	res.Lost = max(0, res.Expected-res.Received)
	if res.Expected > 0 {
		res.Loss = float64(res.Lost) / float64(res.Expected)
	}
	res.P50, res.P99, res.Max = lat.quantile(0.5), lat.quantile(0.99), lat.quantile(1)
	first, spread := fan.hists()
	res.FirstP50, res.FirstP99 = first.quantile(0.5), first.quantile(0.99)
	res.SpreadP50, res.SpreadP99 = spread.quantile(0.5), spread.quantile(0.99)
	for _, p := range all {
		if p.ended.Load() {
			return nil, fmt.Errorf("%s's meeting socket ended during the run: %v", p.name, p.err)
		}
	}
	log.Info("room: measured", "room", spec.Name, "sent/s", int(res.sentPerSec()), "forwarded/s", int(res.fwdPerSec()),
		"loss", fmt.Sprintf("%.4f%%", 100*res.Loss), "p99", res.P99.String(), "server CPU", pct(res.ServerCPU), "client CPU", pct(res.ClientCPU))
	return res, nil
}

func pubPLIs(pubs []*mpeer) int64 {
	var n int64
	for _, p := range pubs {
		for _, s := range p.streams {
			n += s.plis.Load()
		}
	}
	return n
}

// SFU metrics read from /metrics (internal/sfu/metrics.go).
const (
	mSFUForwarded = "kaigi_sfu_forwarded_packets_total"
	mSFUNACKs     = "kaigi_sfu_nacks_received_total"
)

// udpStats are the kernel's UDP counters (all sockets of the network
// namespace) from /proc/net/snmp.
type udpStats struct{ rcvbuf, sndbuf int64 }

func udpCounters() udpStats {
	b, err := os.ReadFile("/proc/net/snmp")
	if err != nil {
		return udpStats{}
	}
	var head []string
	for line := range strings.SplitSeq(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || f[0] != "Udp:" {
			continue
		}
		if head == nil {
			head = f
			continue
		}
		var s udpStats
		for i := 1; i < len(f) && i < len(head); i++ {
			v, _ := strconv.ParseInt(f[i], 10, 64)
			switch head[i] {
			case "RcvbufErrors":
				s.rcvbuf = v
			case "SndbufErrors":
				s.sndbuf = v
			}
		}
		return s
	}
	return udpStats{}
}

// procStat reads each CPU's user, nice, system and softirq ticks and its
// total from /proc/stat.
func procStat() [][5]float64 {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return nil
	}
	var out [][5]float64
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
		out = append(out, [5]float64{v[0], v[1], v[2], v[5] + v[6], v[0] + v[1] + v[2] + v[3] + v[4] + v[5] + v[6] + v[7]})
	}
	return out
}

// cpuSplit describes where each CPU's time went between two readings, e.g.
// "cpu0 user 40%, sys 20%, irq+softirq 30%": on the loopback a UDP packet is
// delivered to its receiver's socket in softirq on the sender's CPU, which
// the kernel charges to no process.
func cpuSplit(a, b [][5]float64) string {
	if len(a) == 0 || len(a) != len(b) {
		return "?"
	}
	var parts []string
	for i := range a {
		t := b[i][4] - a[i][4]
		if t <= 0 {
			continue
		}
		p := func(k int) float64 { return 100 * (b[i][k] - a[i][k]) / t }
		parts = append(parts, fmt.Sprintf("cpu%d user %.0f%%, sys %.0f%%, irq+softirq %.0f%%", i, p(0)+p(1), p(2), p(3)))
	}
	return strings.Join(parts, ", ")
}

// meetReport writes the rooms' tables and targets into r.
func meetReport(r *report, cfg *config) {
	var names []string
	for _, x := range r.Rooms {
		names = append(names, x.Spec.Name)
	}
	kind := "Opus (%d-byte payloads every 20 ms)"
	r.Title = fmt.Sprintf("meeting media, rooms %s, %s each", strings.Join(names, ", "), cfg.duration)
	a := &table{Title: fmt.Sprintf("Media forwarded by the SFU over %s after a %s warm-up (publishers send "+kind+" or VP8 (%s kbit/s at %d fps, a keyframe every %s); "+
		"forwarded: distinct packets sent in the window and received by every other participant, publishers included; Mbit/s: RTP bytes; latency: send to receive, both in the client process; first and last: the first and the last receiver of each packet)",
		cfg.duration, cfg.warmup, cfg.media.audioBytes, num(float64(cfg.media.videoBitrate)/1000, 0), cfg.media.fps, cfg.media.keyframeEvery),
		Head: []string{"room", "publishers", "subscribers", "packets sent/s (asked)", "packets forwarded/s", "Mbit/s forwarded", "lost", "loss", "latency p50", "p99", "max", "send→first p50", "p99", "first→last p50", "p99"}}
	b := &table{Title: "Cost (server CPU: share of its one core; per server core: forwarded ÷ that share; RSS and heap: before anyone joined → at the end of the window; UDP drops: the kernel's RcvbufErrors/SndbufErrors over the window, every socket)",
		Head: []string{"room", "server CPU", "packets/s per server core", "Mbit/s per server core", "server RSS before → after", "heap before → after", "client CPU", "SFU wrote packets/s", "NACKs", "UDP drops rcv/snd", "CPUs busy (all processes)", "join took"}}
	for _, x := range r.Rooms {
		perCore, mbitCore := "–", "–"
		if x.ServerCPU > 0.01 {
			perCore, mbitCore = num(x.fwdPerSec()/x.ServerCPU, 0), num(x.mbits()/x.ServerCPU, 0)
		}
		a.add(x.Spec.Name, strconv.Itoa(x.Spec.Pubs), strconv.Itoa(x.Spec.Subs), fmt.Sprintf("%s (%s)", num(x.sentPerSec(), 0), num(nominalPPS(x.Spec, cfg.media), 0)),
			num(x.fwdPerSec(), 0), num(x.mbits(), 1),
			fmt.Sprintf("%s of %s", num(float64(x.Lost), 0), num(float64(x.Expected), 0)), fmt.Sprintf("%.4f%%", 100*x.Loss), ms(x.P50), ms(x.P99), ms(x.Max),
			ms(x.FirstP50), ms(x.FirstP99), ms(x.SpreadP50), ms(x.SpreadP99))
		b.add(x.Spec.Name, pct(x.ServerCPU), perCore, mbitCore, mib(x.RSSBefore)+" → "+mib(x.RSSAfter), mib(x.HeapBefore)+" → "+mib(x.HeapAfter), pct(x.ClientCPU), num(x.ServerForwarded, 0),
			num(x.ServerNACKs, 0), fmt.Sprintf("%d/%d", x.RcvbufErrs, x.SndbufErrs), x.CPUBusy, fmt.Sprintf("%.1f s", x.JoinTime.Seconds()))
	}
	r.Tables = append(r.Tables, a, b)
	for _, x := range r.Rooms {
		r.target("packet loss, "+x.Spec.Name, "≤ 0.01%", fmt.Sprintf("%.4f%%", 100*x.Loss), x.Expected > 0 && x.Loss <= 0.0001)
		var extra []string
		if x.Dupes > 0 {
			extra = append(extra, fmt.Sprintf("%s duplicates (retransmissions of packets already received)", num(float64(x.Dupes), 0)))
		}
		if x.Glare > 0 {
			extra = append(extra, fmt.Sprintf("%d offers crossed the SFU's (glare; the client rolled back)", x.Glare))
		}
		if x.BadPackets > 0 {
			extra = append(extra, fmt.Sprintf("%d packets without the tool's trailer", x.BadPackets))
		}
		if x.PLIs > 0 {
			extra = append(extra, fmt.Sprintf("publishers got %d keyframe requests in the window", x.PLIs))
		}
		if len(extra) > 0 {
			r.note("%s: %s", x.Spec.Name, strings.Join(extra, "; "))
		}
		r.note("%s: CPU time over the window (all processes): %s", x.Spec.Name, x.CPUSplit)
		if asked := nominalPPS(x.Spec, cfg.media); x.sentPerSec() < 0.95*asked {
			r.note("%s: the publishers sent %s packets/s of the %s asked: the client did not get the CPU to keep their pace (keyframes on PLI add some)", x.Spec.Name, num(x.sentPerSec(), 0), num(asked, 0))
		}
		if x.ClientCPU > 0.9 {
			r.note("%s: the client used %s of its core: it may be what limits the room (received packets wait for it)", x.Spec.Name, pct(x.ClientCPU))
		}
		if x.ServerCPU > 0.9 {
			r.note("%s: the server used %s of its core: it is saturated", x.Spec.Name, pct(x.ServerCPU))
		}
		if !x.ProcRSS {
			r.note("%s: server RSS from process_resident_memory_bytes (the node's pid is unknown)", x.Spec.Name)
		}
	}
	r.note("every participant joins as an anonymous person through GET /api/v1/meetings/live (hello, meeting.join with the code, meeting.admitted), then negotiates a pion PeerConnection over meeting.signal frames; media is DTLS-SRTP over loopback UDP")
}

// runMeetRooms runs each room on a fresh node (so that each room's server
// memory starts from an idle node) and reports them together.
func runMeetRooms(ctx context.Context, cfg *config, log *slog.Logger, stdout io.Writer) error {
	var all *report
	for _, spec := range cfg.rooms {
		c := *cfg
		c.rooms = []roomSpec{spec}
		n, err := startNode(ctx, &c, log)
		if err != nil {
			return err
		}
		r, err := runScenario(ctx, &c, n, log)
		n.stop()
		if err != nil {
			return err
		}
		if all == nil {
			all = r
			all.Node = strings.Replace(all.Node, "started by the tool", "a fresh node per room, started by the tool", 1)
		} else {
			all.Rooms = append(all.Rooms, r.Rooms...)
		}
		all.LoadAfter = r.LoadAfter
	}
	if all == nil {
		return errors.New("meet: no room to run")
	}
	all.Tables, all.Targets, all.Notes = nil, nil, nil
	meetReport(all, cfg)
	return finish(cfg, all, log, stdout)
}
