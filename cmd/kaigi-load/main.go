// Command kaigi-load puts a Kaigi node under realistic load — WebSocket
// subscribers of the realtime gateway and senders through the real HTTP send
// path — and reports what it costs, as a table and optionally as a section
// appended to docs/benchmarks.md.
//
// Usage:
//
//	go run ./cmd/kaigi-load <scenario> [flags]
//
// Scenarios:
//
//	s1, density   --conns (10,000) idle subscribed connections, opened at
//	              --open-rate; server RSS and heap per connection, then
//	              held idle for --hold (40s) to see what idling costs.
//	s2, channel   --conns (1,000) subscribers of one channel; --senders (4)
//	              accounts post 100-byte messages at each of --rates
//	              (20,60)/s for --duration (10s): deliveries/s, loss and
//	              duplicates (by sequence number), send-to-receive p50/p99,
//	              WebSocket writes and write syscalls per delivery.
//	s3, rooms     a small room: --conns (50) subscribers at --rates (500)/s;
//	              then saturation: --sat-conns (10,000) subscribers spread
//	              over --sat-channels (20) channels, each channel getting
//	              --sat-rate (5) messages/s: slow consumers dropped, and the
//	              server's RSS sampled every second.
//	send          --senders (8) concurrent senders post as fast as answered
//	              for --duration: accepted messages/s (201s), POST latency.
//	meet          meeting media through the SFU: rooms of synthetic pion
//	              publishers and subscribers (--scenario: a10x50, v1x30,
//	              v4x30, v4x100, any a<P>x<S> or v<P>x<S>, comma-separated,
//	              or all), each measured for --duration (30s) after
//	              --warmup (5s): packets sent and forwarded per second,
//	              Mbit/s, loss (by a sequence number in each payload),
//	              send-to-receive latency, server CPU and RSS, client CPU.
//	              Every participant joins anonymously through the
//	              meeting-only WebSocket of a meeting everyone may enter
//	              without the lobby, and negotiates over meeting.signal
//	              frames; publishers send Opus-sized audio every 20 ms or
//	              VP8-shaped video (--video-bitrate, --fps, a keyframe every
//	              --keyframe-every and on PLI). With --start and several
//	              rooms, each room gets a fresh node.
//
// The node: --start builds cmd/kaigi, creates a tenant with `kaigi tenant
// create` in a temporary data directory (with --database-url, in a new
// PostgreSQL schema dropped afterwards) and runs `kaigi serve` on a free
// loopback port as a child process, under `taskset -c <--server-cpu>`.
// Without --start the tool loads the node at --url, which must be on the
// loopback; give it --invitation, the link `kaigi tenant create` printed for
// a new tenant (each link works once), and --pid to read the server's RSS
// and write syscalls from /proc (else RSS comes from /metrics).
//
// With --start, meet runs the node with media on the loopback (one UDP
// port, no ICE-TCP, no TURN) and raises realtime_max_conns_per_account
// (which also bounds anonymous sockets from one address) and
// media_max_participants_per_room to the largest room; a node at --url
// needs the same settings.
//
// Setup is automatic: the tool accepts the admin's invitation, enrols an
// authenticator app for the admin (computing codes from the enrolment's key),
// turns MFA off, invites the member accounts it needs — one per 20
// connections, the gateway's per-account limit (--per-account) — signs each
// in once and reuses the session, and puts them in teams whose General
// channel carries the load.
//
// --client-cpu N re-executes the tool under `taskset -c N` (so GOMAXPROCS
// follows); every wait is bounded and the whole run stops after --timeout.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// config is the command line.
type config struct {
	scenario string

	// The node.
	start        bool
	url          string
	invitation   string
	origin       string
	pid          int
	metricsToken string
	kaigi        string
	databaseURL  string
	natsURL      string
	serverCPU    string
	clientCPU    string
	nice         int
	keep         bool

	// The load.
	conns        int
	perAccount   int
	openRate     float64
	inflight     int
	rates        []float64
	duration     time.Duration
	senders      int
	workers      int
	size         int
	settle       time.Duration
	hold         time.Duration
	drainTimeout time.Duration
	satConns     int
	satChannels  int
	satRate      float64
	channels     int
	setupWorkers int
	timeout      time.Duration
	markdown     string

	// meet
	rooms       []roomSpec
	warmup      time.Duration
	joinWorkers int
	media       mediaParams

	command string // for the report
}

// scenario defaults that differ between scenarios.
var scenarios = map[string]struct {
	name     string
	conns    int
	rates    string
	senders  int
	duration time.Duration
	hold     time.Duration
}{
	"s1":   {name: "s1 density", conns: 10000, senders: 1, hold: 40 * time.Second},
	"s2":   {name: "s2 channel", conns: 1000, rates: "20,60", senders: 4, duration: 10 * time.Second},
	"s3":   {name: "s3 rooms", conns: 50, rates: "500", senders: 8, duration: 10 * time.Second},
	"send": {name: "send", senders: 8, duration: 10 * time.Second},
	"meet": {name: "meet", senders: 1, duration: 30 * time.Second},
}

var aliases = map[string]string{"density": "s1", "channel": "s2", "rooms": "s3", "meeting": "meet"}

const usageHead = `kaigi-load — load a Kaigi node and report what it costs

Usage:
  go run ./cmd/kaigi-load <scenario> [flags]

Scenarios:
  s1, density   idle subscribed WebSocket connections: server memory per connection
  s2, channel   one large channel, paced sends: deliveries/s, loss, latency, writes per delivery
  s3, rooms     a small room at a high rate (latency), then saturation (slow consumers, memory)
  send          accepted messages/s through the real send path with concurrent senders
  meet          meeting media: synthetic pion publishers and subscribers through the SFU

Examples:
  go run ./cmd/kaigi-load s1 --start --server-cpu 0 --client-cpu 1
  go run ./cmd/kaigi-load s2 --start --server-cpu 0 --client-cpu 1 --markdown docs/benchmarks.md
  go run ./cmd/kaigi-load send --start --database-url 'postgres://postgres@127.0.0.1:5432/test?sslmode=disable'
  go run ./cmd/kaigi-load s1 --url http://localhost:8080 --invitation '<link from kaigi tenant create>' --pid 1234
  go run ./cmd/kaigi-load meet --start --server-cpu 0 --client-cpu 1 --scenario all --markdown docs/benchmarks.md

Flags:
`

func parseArgs(args []string, stderr io.Writer) (*config, error) {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		fmt.Fprint(stderr, usageHead)
		return nil, errors.New("name a scenario: s1, s2, s3, send or meet")
	}
	name := args[0]
	if a, ok := aliases[name]; ok {
		name = a
	}
	def, ok := scenarios[name]
	if !ok {
		return nil, fmt.Errorf("unknown scenario %q: use s1 (density), s2 (channel), s3 (rooms), send or meet", args[0])
	}
	cfg := &config{scenario: name}
	fs := flag.NewFlagSet("kaigi-load "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, usageHead)
		fs.PrintDefaults()
	}
	fs.BoolVar(&cfg.start, "start", false, "start a node (go build ./cmd/kaigi, kaigi tenant create, kaigi serve) in a temporary data directory")
	fs.StringVar(&cfg.url, "url", "http://localhost:8080", "the node to load when not --start (loopback only)")
	fs.StringVar(&cfg.invitation, "invitation", "", "with --url: the first admin's invitation LINK printed by kaigi tenant create")
	fs.StringVar(&cfg.origin, "origin", "", "Origin header of WebSocket handshakes (default: the node's URL with 127.0.0.1 named localhost, as the node derives it)")
	fs.IntVar(&cfg.pid, "pid", 0, "with --url: the server's process id, to read VmRSS and write syscalls from /proc")
	fs.StringVar(&cfg.metricsToken, "metrics-token", "", "bearer token of /metrics, if the node requires one")
	fs.StringVar(&cfg.kaigi, "kaigi", "", "with --start: a kaigi binary to run instead of building cmd/kaigi")
	fs.StringVar(&cfg.databaseURL, "database-url", "", "with --start: PostgreSQL on the loopback; a fresh schema is created and dropped")
	fs.StringVar(&cfg.natsURL, "nats-url", "", "with --start: NATS for the node's bus")
	fs.StringVar(&cfg.serverCPU, "server-cpu", "", "with --start: run the server under taskset -c on these CPUs (e.g. 0)")
	fs.StringVar(&cfg.clientCPU, "client-cpu", "", "run this tool under taskset -c on these CPUs (e.g. 1)")
	fs.IntVar(&cfg.nice, "nice", 0, "run the tool (and with --start the server) at this niceness, e.g. -10 (needs root), so that other work on a shared machine preempts them less")
	fs.BoolVar(&cfg.keep, "keep", false, "with --start: keep the node's data directory (its path is logged)")

	fs.IntVar(&cfg.conns, "conns", def.conns, "WebSocket connections (s1, s2; s3: the small room's)")
	fs.IntVar(&cfg.perAccount, "per-account", 20, "connections per account: the gateway's MaxConnsPerAccount")
	fs.Float64Var(&cfg.openRate, "open-rate", 500, "connections opened per second")
	fs.IntVar(&cfg.inflight, "open-inflight", 64, "WebSocket handshakes in flight at most")
	rates := fs.String("rates", def.rates, "messages/s of each phase, comma-separated (s2; s3: the small room's)")
	fs.DurationVar(&cfg.duration, "duration", def.duration, "how long each phase sends")
	fs.IntVar(&cfg.senders, "senders", def.senders, "accounts that send (send: concurrent senders)")
	fs.IntVar(&cfg.workers, "workers", 16, "paced sends in flight at most")
	fs.IntVar(&cfg.size, "size", 100, "message body bytes")
	fs.DurationVar(&cfg.settle, "settle", 5*time.Second, "s1: wait after the last connection is ready before measuring")
	fs.DurationVar(&cfg.hold, "hold", def.hold, "s1: then keep the connections idle this long, measuring the server's CPU and watching for drops")
	fs.DurationVar(&cfg.drainTimeout, "drain", time.Minute, "after a phase, wait at most this long for every delivery")
	fs.IntVar(&cfg.satConns, "sat-conns", 10000, "s3: subscribers of the saturation run (0 skips it)")
	fs.IntVar(&cfg.satChannels, "sat-channels", 20, "s3: channels the saturation run spreads them over")
	fs.Float64Var(&cfg.satRate, "sat-rate", 5, "s3: messages/s per channel in the saturation run (each subscriber receives this many)")
	fs.IntVar(&cfg.channels, "channels", 1, "send: channels the senders spread over")
	fs.IntVar(&cfg.setupWorkers, "setup-workers", 4, "accounts set up in parallel")
	fs.DurationVar(&cfg.timeout, "timeout", 30*time.Minute, "stop everything after this long")
	fs.StringVar(&cfg.markdown, "markdown", "", "append the report as Markdown to this file (e.g. docs/benchmarks.md)")
	rooms := fs.String("scenario", "all", "meet: the rooms, e.g. a10x50 (10 audio publishers × 50 subscribers), v4x100 (video), comma-separated, or all ("+meetRooms+")")
	fs.DurationVar(&cfg.warmup, "warmup", 5*time.Second, "meet: once everyone receives every stream, wait this long before measuring")
	fs.IntVar(&cfg.joinWorkers, "join-workers", 8, "meet: subscribers joining at once")
	fs.IntVar(&cfg.media.audioBytes, "audio-bytes", 100, "meet: Opus payload bytes per 20 ms packet")
	fs.IntVar(&cfg.media.videoBitrate, "video-bitrate", 1_000_000, "meet: video bits/s per publisher, keyframes included")
	fs.IntVar(&cfg.media.fps, "fps", 30, "meet: video frames per second")
	fs.DurationVar(&cfg.media.keyframeEvery, "keyframe-every", 3*time.Second, "meet: a video keyframe (4 × a delta frame) this often, and on PLI")
	if err := fs.Parse(args[1:]); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	for _, s := range strings.Split(*rates, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		v, err := strconv.ParseFloat(s, 64)
		if err != nil || v <= 0 {
			return nil, fmt.Errorf("--rates: %q is not a positive number", s)
		}
		cfg.rates = append(cfg.rates, v)
	}
	switch {
	case cfg.conns < 0 || cfg.perAccount < 1 || cfg.openRate <= 0 || cfg.inflight < 1 || cfg.senders < 1 || cfg.workers < 1:
		return nil, errors.New("--conns, --per-account, --open-rate, --open-inflight, --senders and --workers must be positive")
	case len(cfg.rates) > maxPhases-1:
		return nil, fmt.Errorf("--rates: at most %d phases", maxPhases-1)
	case name == "s3" && cfg.conns == 0 && cfg.satConns == 0:
		return nil, errors.New("s3: --conns and --sat-conns are both 0: nothing to run")
	case (name == "s2" || name == "s3" && cfg.conns > 0) && len(cfg.rates) == 0:
		return nil, errors.New("--rates is empty")
	case name != "s1" && cfg.duration <= 0:
		return nil, errors.New("--duration must be positive")
	case cfg.size < 40 || cfg.size > 16<<10:
		return nil, errors.New("--size must be between 40 and 16384 bytes")
	case cfg.satConns > 0 && cfg.satChannels < 1:
		return nil, errors.New("--sat-channels must be positive")
	}
	if name == "meet" {
		var err error
		if cfg.rooms, err = parseRooms(*rooms); err != nil {
			return nil, err
		}
		switch mp := cfg.media; {
		case cfg.warmup < 0 || cfg.joinWorkers < 1:
			return nil, errors.New("--warmup must not be negative and --join-workers must be positive")
		case mp.audioBytes < trailerLen+1 || mp.audioBytes > 1000:
			return nil, fmt.Errorf("--audio-bytes must be between %d and 1000", trailerLen+1)
		case mp.fps < 1 || mp.fps > 120 || mp.keyframeEvery < time.Second/time.Duration(mp.fps):
			return nil, errors.New("--fps must be between 1 and 120 and --keyframe-every at least one frame")
		case mp.videoBitrate < 50_000 || mp.videoBitrate > 20_000_000:
			return nil, errors.New("--video-bitrate must be between 50000 and 20000000")
		}
	}
	if !cfg.start {
		if _, err := checkLoopback(cfg.url); err != nil {
			return nil, err
		}
	}
	cfg.command = "go run ./cmd/kaigi-load " + shellJoin(withoutFlag(args, "markdown"))
	return cfg, nil
}

func main() {
	args := os.Args[1:]
	cfg, err := parseArgs(args, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "kaigi-load: %v\n", err)
		os.Exit(2)
	}
	if err := pinSelf(cfg.clientCPU, cfg.nice, args); err != nil {
		fmt.Fprintf(os.Stderr, "kaigi-load: --client-cpu, --nice: %v\n", err)
		os.Exit(1)
	}
	if os.Getenv("GOGC") == "" {
		// The tool's own collections stall its readers and senders, and
		// that would show as the node's latency; it keeps little alive
		// (histograms, one buffer per socket), so it collects rarely.
		debug.SetGCPercent(clientGCPercent)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	err = run(ctx, cfg, log, os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "kaigi-load: %v\n", err)
		os.Exit(1)
	}
}

// clientGCPercent is the tool's GOGC unless the environment sets one.
const clientGCPercent = 400

// pinnedEnv marks a process already re-executed under taskset and nice.
const pinnedEnv = "KAIGI_LOAD_PINNED"

// pinSelf re-executes the tool under `nice -n <nice> taskset -c <cpus>`,
// once: the simplest way to pin and renice every thread of a Go process
// (the runtime then sizes GOMAXPROCS to the CPUs allowed).
func pinSelf(cpus string, nice int, args []string) error {
	mark := fmt.Sprintf("%s/%d", cpus, nice)
	if cpus == "" && nice == 0 || os.Getenv(pinnedEnv) == mark {
		return nil
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	argv, err := wrap(cpus, nice, append([]string{exe}, args...))
	if err != nil {
		return err
	}
	return syscall.Exec(argv[0], argv, append(os.Environ(), pinnedEnv+"="+mark))
}

// wrap prefixes argv with `taskset -c <cpus>` when cpus is set, and with
// nice when the niceness asked for (0: unchanged) differs from this
// process's, and resolves the first program's path.
func wrap(cpus string, nice int, argv []string) ([]string, error) {
	if cpus != "" {
		argv = append([]string{"taskset", "-c", cpus}, argv...)
	}
	if adj := nice - niceOf(os.Getpid()); nice != 0 && adj != 0 {
		argv = append([]string{"nice", "-n", strconv.Itoa(adj)}, argv...)
	}
	path, err := exec.LookPath(argv[0])
	if err != nil {
		return nil, fmt.Errorf("%s is not installed", argv[0])
	}
	return append([]string{path}, argv[1:]...), nil
}

// run starts or finds the node, runs the scenario, and prints the report.
func run(ctx context.Context, cfg *config, log *slog.Logger, stdout io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, cfg.timeout)
	defer cancel()
	if cfg.scenario == "meet" && cfg.start && len(cfg.rooms) > 1 {
		return runMeetRooms(ctx, cfg, log, stdout)
	}
	var n *node
	var err error
	if cfg.start {
		n, err = startNode(ctx, cfg, log)
	} else {
		n, err = remoteNode(cfg)
	}
	if err != nil {
		return err
	}
	defer n.stop()
	r, err := runScenario(ctx, cfg, n, log)
	if err != nil {
		return err
	}
	return finish(cfg, r, log, stdout)
}

// finish prints the report and appends it to --markdown.
func finish(cfg *config, r *report, log *slog.Logger, stdout io.Writer) error {
	r.text(stdout)
	if cfg.markdown != "" {
		if err := r.appendMarkdown(cfg.markdown); err != nil {
			return fmt.Errorf("--markdown: %w", err)
		}
		log.Info("appended the report", "file", cfg.markdown)
	}
	return nil
}

// runScenario sets a tenant up on n and runs cfg's scenario against it.
func runScenario(ctx context.Context, cfg *config, n *node, log *slog.Logger) (*report, error) {
	a := newAPI(n.base, max(cfg.workers, cfg.senders))
	r := &report{Scenario: scenarios[cfg.scenario].name, Command: cfg.command, Start: time.Now(), Machine: machine(), LoadBefore: loadAvg(),
		Node:   n.desc,
		Client: fmt.Sprintf("CPUs %s, GOMAXPROCS %d, GOGC %d", cpusOf(0), runtime.GOMAXPROCS(0), gcPercent())}
	if n.pid > 0 {
		r.Node += fmt.Sprintf(" (pid %d, allowed CPUs %s, nice %d)", n.pid, cpusOf(n.pid), niceOf(n.pid))
	}
	r.Client += fmt.Sprintf(", nice %d", niceOf(os.Getpid()))
	log.Info("setting up the tenant")
	e, err := bootstrap(ctx, a, log, n.invitation, n.now)
	if err != nil {
		return nil, fmt.Errorf("setup: %w", err)
	}
	ru := &loadRun{cfg: cfg, node: n, log: log, api: a, env: e, base: time.Now(), r: r}
	switch cfg.scenario {
	case "s1":
		err = ru.density(ctx)
	case "s2":
		err = ru.channel(ctx)
	case "s3":
		err = ru.rooms(ctx)
	case "send":
		err = ru.send(ctx)
	case "meet":
		err = ru.meet(ctx)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", r.Scenario, err)
	}
	r.LoadAfter = loadAvg()
	return r, nil
}

// withoutFlag returns args without the flag name and its value: the
// command a report records is what measured, not where it was written.
func withoutFlag(args []string, name string) []string {
	var out []string
	for i := 0; i < len(args); i++ {
		a := strings.TrimLeft(args[i], "-")
		switch {
		case a == name && len(args[i]) > len(a):
			i++ // its value follows
		case strings.HasPrefix(a, name+"=") && len(args[i]) > len(a):
		default:
			out = append(out, args[i])
		}
	}
	return out
}

// shellJoin quotes args for a shell where needed.
func shellJoin(args []string) string {
	out := make([]string, len(args))
	for i, a := range args {
		if a == "" || strings.ContainsAny(a, " \t\n'\"\\$&;|<>*?#()[]{}!`~") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		out[i] = a
	}
	return strings.Join(out, " ")
}

// gcPercent returns the current GOGC setting.
func gcPercent() int {
	p := debug.SetGCPercent(100)
	debug.SetGCPercent(p)
	return p
}
