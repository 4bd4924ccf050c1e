package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// node is the Kaigi node under load.
type node struct {
	base         string // http://127.0.0.1:<port>
	origin       string // the Origin its WebSocket handshakes must carry
	pid          int    // its process, when known: RSS and write syscalls from /proc
	metricsToken string
	invitation   string           // the first admin's invitation link of a fresh tenant
	now          func() time.Time // the node's clock, for TOTP codes
	desc         string           // what it runs on, for the report
	stop         func()
}

// checkLoopback refuses a URL that is not on this machine's loopback: the
// tool loads nothing else.
func checkLoopback(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("--url %q is not a URL such as http://localhost:8080", raw)
	}
	if u.Scheme != "http" {
		return nil, fmt.Errorf("--url %q: only http:// on the loopback is supported", raw)
	}
	h := u.Hostname()
	if ip := net.ParseIP(h); h != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, fmt.Errorf("--url %q: kaigi-load only loads a node on this machine's loopback (127.0.0.1, ::1, localhost)", raw)
	}
	return u, nil
}

// remoteNode is a node already running at cfg.url.
func remoteNode(cfg *config) (*node, error) {
	u, err := checkLoopback(cfg.url)
	if err != nil {
		return nil, err
	}
	if cfg.invitation == "" {
		return nil, errors.New("with --url, give --invitation: the link `kaigi tenant create` prints for a new tenant's first admin")
	}
	origin := cfg.origin
	if origin == "" {
		// What the node derives from its address when public_url is unset.
		host := u.Hostname()
		if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
			host = "localhost"
		}
		origin = u.Scheme + "://" + host
		if u.Port() != "" {
			origin = u.Scheme + "://" + net.JoinHostPort(host, u.Port())
		}
	}
	return &node{base: strings.TrimRight(cfg.url, "/"), origin: origin, pid: cfg.pid, metricsToken: cfg.metricsToken,
		invitation: cfg.invitation, now: time.Now, desc: "a running node at " + cfg.url, stop: func() {}}, nil
}

// startNode builds cmd/kaigi (unless cfg.kaigi names a binary), creates a
// tenant in a fresh data directory (and, for PostgreSQL, a fresh schema),
// and starts the server as a child process on a free loopback port, pinned
// with taskset when cfg.serverCPU is set.
func startNode(ctx context.Context, cfg *config, log *slog.Logger) (_ *node, err error) {
	dir, err := os.MkdirTemp("", "kaigi-load-")
	if err != nil {
		return nil, err
	}
	var cleanups []func()
	cleanup := func() {
		for i := len(cleanups) - 1; i >= 0; i-- {
			cleanups[i]()
		}
	}
	cleanups = append(cleanups, func() {
		if cfg.keep {
			log.Info("kept the node's data directory", "dir", dir)
			return
		}
		os.RemoveAll(dir)
	})
	defer func() {
		if err != nil {
			cleanup()
		}
	}()

	bin := cfg.kaigi
	if bin == "" {
		bin = filepath.Join(dir, "kaigi")
		log.Info("building cmd/kaigi", "out", bin)
		b := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/kaigi/kaigi/cmd/kaigi")
		b.Stdout, b.Stderr = os.Stderr, os.Stderr
		if err := b.Run(); err != nil {
			return nil, fmt.Errorf("go build ./cmd/kaigi (run kaigi-load inside the module, or give --kaigi): %w", err)
		}
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	dbURL, desc := cfg.databaseURL, "SQLite"
	if dbURL != "" {
		if _, err := checkLoopback(strings.Replace(strings.Replace(dbURL, "postgresql://", "http://", 1), "postgres://", "http://", 1)); err != nil {
			return nil, errors.New("--database-url must be a PostgreSQL on this machine's loopback")
		}
		schema := "kaigi_load_" + strings.ToLower(randomWord(10))
		if dbURL, err = createSchema(ctx, cfg.databaseURL, schema); err != nil {
			return nil, err
		}
		cleanups = append(cleanups, func() {
			dctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := dropSchema(dctx, cfg.databaseURL, schema); err != nil {
				log.Warn("drop the PostgreSQL schema", "schema", schema, "err", err)
			}
		})
		desc = "PostgreSQL (schema " + schema + ")"
	}
	args := []string{"--addr", fmt.Sprintf("127.0.0.1:%d", port), "--data", filepath.Join(dir, "data"), "--log-level", "warn"}
	if dbURL != "" {
		args = append(args, "--database-url", dbURL)
	}
	if cfg.natsURL != "" {
		if _, err := checkLoopback(strings.Replace(strings.Replace(cfg.natsURL, "nats://", "http://", 1), "tls://", "http://", 1)); err != nil {
			return nil, errors.New("--nats-url must be a NATS server on this machine's loopback")
		}
		args = append(args, "--nats-url", cfg.natsURL)
		desc += ", NATS"
	} else {
		desc += ", in-process bus"
	}

	if cfg.scenario == "meet" {
		// tenant create opens the media ports too: both get the loopback ones.
		args = append(args, meetServeArgs(cfg)...)
	}

	// The tenant, before the server starts, with the same data and database.
	var out bytes.Buffer
	tc := exec.CommandContext(ctx, bin, append([]string{"tenant", "create", "--name", "Load Test", "--domain", "load.example", "--admin-email", "admin@load.example"}, args...)...)
	tc.Stdout, tc.Stderr = &out, &out
	if err := tc.Run(); err != nil {
		return nil, fmt.Errorf("kaigi tenant create: %v\n%s", err, out.String())
	}
	link := regexp.MustCompile(`https?://\S+#\S*token=\S+`).FindString(out.String())
	if link == "" {
		return nil, fmt.Errorf("kaigi tenant create printed no invitation link:\n%s", out.String())
	}

	logf, err := os.Create(filepath.Join(dir, "server.log"))
	if err != nil {
		return nil, err
	}
	cleanups = append(cleanups, func() { logf.Close() })
	// The server runs where --server-cpu says, else on every CPU (and not
	// only on the client's, which it would inherit from a pinned client).
	cpus := cfg.serverCPU
	if cpus == "" && cfg.clientCPU != "" {
		cpus = "0-" + fmt.Sprint(numCPU()-1)
	}
	argv, err := wrap(cpus, cfg.nice, append([]string{bin, "serve"}, args...))
	if err != nil {
		return nil, fmt.Errorf("--server-cpu, --nice: %w", err)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM} // never outlive the tool
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start kaigi: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stopped := false
	stopServer := func() {
		if stopped {
			return
		}
		stopped = true
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	}
	cleanups = append(cleanups, stopServer)

	n := &node{base: fmt.Sprintf("http://127.0.0.1:%d", port), origin: fmt.Sprintf("http://localhost:%d", port), pid: cmd.Process.Pid,
		metricsToken: cfg.metricsToken, invitation: link, now: time.Now, stop: cleanup,
		desc: fmt.Sprintf("started by the tool: %s, server on CPU %s", desc, cpus)}
	if err := waitReady(ctx, n.base, exited, 60*time.Second); err != nil {
		logf.Sync()
		tail, _ := os.ReadFile(logf.Name())
		if len(tail) > 4000 {
			tail = tail[len(tail)-4000:]
		}
		return nil, fmt.Errorf("%w\nserver log:\n%s", err, tail)
	}
	log.Info("node started", "url", n.base, "pid", n.pid, "cpus", cpus, "database", desc)
	return n, nil
}

// waitReady polls /readyz until it answers 200, the process exits, or
// timeout passes.
func waitReady(ctx context.Context, base string, exited <-chan error, timeout time.Duration) error {
	hc := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			return fmt.Errorf("kaigi exited while starting: %v", err)
		default:
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/readyz", nil)
		if resp, err := hc.Do(req); err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if err := sleepUntil(ctx, time.Now().Add(50*time.Millisecond)); err != nil {
			return err
		}
	}
	return fmt.Errorf("kaigi at %s was not ready within %s", base, timeout)
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// createSchema creates an empty schema and returns base with connections
// using it (search_path), as internal/store/storetest does for tests.
func createSchema(ctx context.Context, base, schema string) (string, error) {
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		return "", fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		return "", fmt.Errorf("create schema: %w", err)
	}
	u, err := url.Parse(base)
	if err != nil {
		return "", err
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), nil
}

func dropSchema(ctx context.Context, base, schema string) error {
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE")
	return err
}
