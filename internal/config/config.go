// Package config is Kaigi's configuration: defaults, then an optional JSON
// file (unknown keys rejected), then KAIGI_* environment variables, then
// command-line flags, then validation. Every key is described by the struct
// tags of Config — its file key, environment variable, flag, default and a
// sentence of documentation — and docs/configuration.md lists them all (a test
// keeps the two in step).
package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// Config is the whole configuration of `kaigi serve`.
type Config struct {
	Addr              string   `json:"addr" env:"KAIGI_ADDR" flag:"addr" default:"127.0.0.1:8080" doc:"Address to listen on (host:port)."`
	DataDir           string   `json:"data_dir" env:"KAIGI_DATA" flag:"data" default:"./kaigi-data" doc:"Directory for the SQLite database, blobs, the keyring and the signing key."`
	PublicURL         string   `json:"public_url" env:"KAIGI_PUBLIC_URL" flag:"public-url" default:"" doc:"URL people open in their browser; derived from addr and TLS when empty."`
	DatabaseURL       string   `json:"database_url" env:"KAIGI_DATABASE_URL" flag:"database-url" default:"" doc:"postgres://… selects PostgreSQL; empty keeps SQLite in the data directory."`
	SQLiteSynchronous string   `json:"sqlite_synchronous" env:"KAIGI_SQLITE_SYNCHRONOUS" flag:"sqlite-synchronous" default:"full" doc:"SQLite only: full (a commit waits for the disk and survives a power loss) or normal (survives the process being killed; a power loss may undo the last commits; faster)."`
	NATSURL           string   `json:"nats_url" env:"KAIGI_NATS_URL" flag:"nats-url" default:"" doc:"nats://… connects the event bus to NATS for several nodes; empty keeps it in process."`
	NATSPrefix        string   `json:"nats_prefix" env:"KAIGI_NATS_PREFIX" flag:"nats-prefix" default:"kaigi" doc:"Subject prefix on NATS, so that several deployments can share one server."`
	MasterKeyFile     string   `json:"master_key_file" env:"KAIGI_MASTER_KEY_FILE" flag:"master-key-file" default:"" doc:"File with the master key that protects the keyring; empty: <data>/master.key, created on first start. A file given here must exist."`
	TLSCert           string   `json:"tls_cert" env:"KAIGI_TLS_CERT" flag:"tls-cert" default:"" doc:"PEM certificate chain for HTTPS (with tls_key)."`
	TLSKey            string   `json:"tls_key" env:"KAIGI_TLS_KEY" flag:"tls-key" default:"" doc:"PEM private key for HTTPS (with tls_cert)."`
	TLSSelfSigned     bool     `json:"tls_self_signed" env:"KAIGI_TLS_SELF_SIGNED" flag:"tls-self-signed" default:"false" doc:"Serve HTTPS with a self-signed certificate kept in the data directory (for local use)."`
	LogFormat         string   `json:"log_format" env:"KAIGI_LOG_FORMAT" flag:"log-format" default:"text" doc:"Log format: text or json."`
	LogLevel          string   `json:"log_level" env:"KAIGI_LOG_LEVEL" flag:"log-level" default:"info" doc:"Log level: debug, info, warn or error."`
	MaxFileBytes      int64    `json:"max_file_bytes" env:"KAIGI_MAX_FILE_BYTES" flag:"max-file-bytes" default:"104857600" doc:"Largest file a person can upload, in bytes."`
	MaxBodyBytes      int64    `json:"max_body_bytes" env:"KAIGI_MAX_BODY_BYTES" flag:"max-body-bytes" default:"1048576" doc:"Largest JSON request body accepted, in bytes."`
	ShutdownTimeout   Duration `json:"shutdown_timeout" env:"KAIGI_SHUTDOWN_TIMEOUT" flag:"shutdown-timeout" default:"20s" doc:"How long a shutdown waits for requests in flight."`
	MetricsToken      string   `json:"metrics_token" env:"KAIGI_METRICS_TOKEN" flag:"metrics-token" default:"" doc:"Bearer token required by /metrics; empty leaves /metrics open (it never carries content or tenant names)."`
	TrustedProxies    string   `json:"trusted_proxies" env:"KAIGI_TRUSTED_PROXIES" flag:"trusted-proxies" default:"" doc:"Comma-separated CIDRs of reverse proxies whose X-Forwarded-For is believed."`
	AuditCheckpoint   Duration `json:"audit_checkpoint_interval" env:"KAIGI_AUDIT_CHECKPOINT_INTERVAL" flag:"audit-checkpoint-interval" default:"1m" doc:"How often the audit chains' heads are signed."`
	RetentionInterval Duration `json:"retention_interval" env:"KAIGI_RETENTION_INTERVAL" flag:"retention-interval" default:"24h" doc:"How often each organisation's retention deletion job runs (admins can also start it at any time)."`
	DebugAddr         string   `json:"debug_addr" env:"KAIGI_DEBUG_ADDR" flag:"debug-addr" default:"" doc:"Loopback address (such as 127.0.0.1:6060) serving Go's profiler at /debug/pprof/ for the operator measuring the node; empty serves none. Only loopback addresses are accepted."`
	SecurityContact   string   `json:"security_contact" env:"KAIGI_SECURITY_CONTACT" flag:"security-contact" default:"" doc:"Contact of /.well-known/security.txt (RFC 9116): a mailto: or https: URI; empty: mailto:security@ and the host of public_url."`

	// Email (package mail): lockbox requests to approvers, and the like.
	SMTPAddr     string `json:"smtp_addr" env:"KAIGI_SMTP_ADDR" flag:"smtp-addr" default:"" doc:"host:port of the SMTP server that sends Kaigi's emails (lockbox requests to approvers); empty sends none."`
	SMTPFrom     string `json:"smtp_from" env:"KAIGI_SMTP_FROM" flag:"smtp-from" default:"" doc:"The sender address of Kaigi's emails (needed with smtp_addr)."`
	SMTPTLS      string `json:"smtp_tls" env:"KAIGI_SMTP_TLS" flag:"smtp-tls" default:"starttls" doc:"starttls (port 587), tls (implicit, port 465), or none (plain text, only to a loopback relay). The server's certificate is always verified."`
	SMTPUsername string `json:"smtp_username" env:"KAIGI_SMTP_USERNAME" flag:"smtp-username" default:"" doc:"User name for SMTP authentication (PLAIN, over TLS only); empty sends without authenticating."`
	SMTPPassword string `json:"smtp_password" env:"KAIGI_SMTP_PASSWORD" flag:"smtp-password" default:"" doc:"Password for SMTP authentication; prefer the environment variable to a flag."`

	// The realtime gateway's limits (package realtime, Options).
	RealtimeSendQueue          int64    `json:"realtime_send_queue" env:"KAIGI_REALTIME_SEND_QUEUE" flag:"realtime-send-queue" default:"512" doc:"Live frames that may wait for one WebSocket before it is closed as too slow (a hard bound on its memory, with 1 MiB of bytes)."`
	RealtimeMaxConnsPerAccount int64    `json:"realtime_max_conns_per_account" env:"KAIGI_REALTIME_MAX_CONNS_PER_ACCOUNT" flag:"realtime-max-conns-per-account" default:"20" doc:"WebSockets (browser tabs) one account may hold on one node; the next is refused with 429."`
	RealtimeReadLimit          int64    `json:"realtime_read_limit" env:"KAIGI_REALTIME_READ_LIMIT" flag:"realtime-read-limit" default:"32768" doc:"Largest message a client may send on its WebSocket, in bytes (a hello with the cursors of every channel it follows)."`
	RealtimeFlushWindow        Duration `json:"realtime_flush_window" env:"KAIGI_REALTIME_FLUSH_WINDOW" flag:"realtime-flush-window" default:"0s" doc:"How long a frame for an idle WebSocket waits for others to share its write while the node's fan-out is light; 0s (the default) writes at once."`
	RealtimeMaxFlushWindow     Duration `json:"realtime_max_flush_window" env:"KAIGI_REALTIME_MAX_FLUSH_WINDOW" flag:"realtime-max-flush-window" default:"20ms" doc:"How far the flush window grows under heavy fan-out (from realtime_flush_window at 30,000 to this at 55,000 frames a second to idle WebSockets), so that a busy socket gets several frames per write; 0s: no growth."`
	RealtimeSlowConsumerAge    Duration `json:"realtime_slow_consumer_age" env:"KAIGI_REALTIME_SLOW_CONSUMER_AGE" flag:"realtime-slow-consumer-age" default:"10s" doc:"A WebSocket whose oldest waiting frame is older than this while writes to it block is closed as too slow."`
	RealtimePingInterval       Duration `json:"realtime_ping_interval" env:"KAIGI_REALTIME_PING_INTERVAL" flag:"realtime-ping-interval" default:"25s" doc:"How often the server pings each WebSocket; two pings unanswered drop it."`
	RealtimeRevalidateInterval Duration `json:"realtime_revalidate_interval" env:"KAIGI_REALTIME_REVALIDATE_INTERVAL" flag:"realtime-revalidate-interval" default:"30s" doc:"How often each account's sessions and visible channels are re-checked for its open WebSockets (also at once on any change)."`
	RealtimePresenceInterval   Duration `json:"realtime_presence_interval" env:"KAIGI_REALTIME_PRESENCE_INTERVAL" flag:"realtime-presence-interval" default:"30s" doc:"How often a node re-announces who is connected to it; other nodes forget a silent node's people after three intervals."`

	// The built-in SFU (package sfu) and its TURN server.
	MediaUDPAddr                string `json:"media_udp_addr" env:"KAIGI_MEDIA_UDP_ADDR" flag:"media-udp-addr" default:":7882" doc:"The one UDP port (host:port) that carries every meeting's audio and video; open it in the firewall. off turns meetings' media off."`
	MediaTCPAddr                string `json:"media_tcp_addr" env:"KAIGI_MEDIA_TCP_ADDR" flag:"media-tcp-addr" default:":7881" doc:"The ICE-TCP port, the fallback for networks that block UDP; off turns it off."`
	MediaPublicIPs              string `json:"media_public_ips" env:"KAIGI_MEDIA_PUBLIC_IPS" flag:"media-public-ips" default:"" doc:"Comma-separated addresses clients reach the media ports at, behind a 1:1 NAT; empty uses the interfaces' own."`
	MediaLoopback               bool   `json:"media_loopback" env:"KAIGI_MEDIA_LOOPBACK" flag:"media-loopback" default:"false" doc:"Offer loopback addresses for media (browsers on the same machine, tests)."`
	MediaMaxParticipantsPerRoom int64  `json:"media_max_participants_per_room" env:"KAIGI_MEDIA_MAX_PARTICIPANTS_PER_ROOM" flag:"media-max-participants-per-room" default:"100" doc:"Most participants with media in one meeting on one node; the next is admitted without media."`
	TURNAddr                    string `json:"turn_addr" env:"KAIGI_TURN_ADDR" flag:"turn-addr" default:"off" doc:"Address (host:port, such as :3478) of the embedded TURN server, on UDP and TCP, for clients behind restrictive networks; it relays on the first of media_public_ips, which it then needs. Credentials are short-lived and given only to admitted participants. off: no TURN server."`
}

// Duration is a time.Duration written as "20s", "5m" in files and variables.
type Duration time.Duration

// UnmarshalJSON reads "20s".
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("a duration is a string such as \"20s\"")
	}
	v, err := time.ParseDuration(s)
	*d = Duration(v)
	return err
}

func (d Duration) String() string { return time.Duration(d).String() }

// Set parses a flag value.
func (d *Duration) Set(s string) error {
	v, err := time.ParseDuration(s)
	*d = Duration(v)
	return err
}

// Field describes one configuration key.
type Field struct {
	Key, Env, Flag, Default, Doc string
}

// Fields lists every key, in declaration order.
func Fields() []Field {
	t := reflect.TypeFor[Config]()
	out := make([]Field, 0, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		out = append(out, Field{Key: f.Tag.Get("json"), Env: f.Tag.Get("env"), Flag: f.Tag.Get("flag"), Default: f.Tag.Get("default"), Doc: f.Tag.Get("doc")})
	}
	return out
}

// Default returns the configuration with every default applied.
func Default() Config {
	var c Config
	v := reflect.ValueOf(&c).Elem()
	for i, f := range Fields() {
		if err := setString(v.Field(i), f.Default); err != nil {
			panic(fmt.Sprintf("config: default of %s: %v", f.Key, err))
		}
	}
	return c
}

func setString(v reflect.Value, s string) error {
	switch p := v.Addr().Interface().(type) {
	case *string:
		*p = s
	case *bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return fmt.Errorf("%q is not true or false", s)
		}
		*p = b
	case *int64:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return fmt.Errorf("%q is not a whole number", s)
		}
		*p = n
	case *Duration:
		if err := p.Set(s); err != nil {
			return fmt.Errorf("%q is not a duration such as 20s or 5m", s)
		}
	default:
		return fmt.Errorf("unsupported type %s", v.Type())
	}
	return nil
}

// ErrInvalid marks configuration errors; the message says which key and why.
var ErrInvalid = errors.New("invalid configuration")

// Load builds the configuration from defaults, the file named by --config or
// KAIGI_CONFIG, the environment (getenv) and args (the flags after the
// subcommand). It returns ErrInvalid wrapped with a message a person can act on.
func Load(args []string, getenv func(string) string) (Config, error) {
	return LoadWith("kaigi serve", args, getenv, nil)
}

// ErrHelp is returned by LoadWith when the arguments ask for help; the usage
// is in its message.
var ErrHelp = errors.New("help requested")

// LoadWith is Load for a subcommand called name that has flags of its own,
// which extra adds to the flag set.
func LoadWith(name string, args []string, getenv func(string) string, extra func(fs *flag.FlagSet)) (Config, error) {
	c := Default()
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	var usage bytes.Buffer
	fs.SetOutput(&usage)
	if extra != nil {
		extra(fs)
	}
	configFile := fs.String("config", getenv("KAIGI_CONFIG"), "JSON configuration file (env KAIGI_CONFIG)")
	v := reflect.ValueOf(&c).Elem()
	fields := Fields()
	flagged := map[string]string{}
	for i, f := range fields {
		fs.Func(f.Flag, f.Doc+" (default "+quoteDefault(f.Default)+", env "+f.Env+")", func(s string) error {
			flagged[fields[i].Flag] = s
			return nil
		})
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return c, fmt.Errorf("%w\n%s", ErrHelp, usage.String())
		}
		return c, fmt.Errorf("%w: %v (%s --help lists the flags)", ErrInvalid, err, name)
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("%w: unexpected argument %q", ErrInvalid, fs.Arg(0))
	}
	if *configFile != "" {
		b, err := os.ReadFile(*configFile)
		if err != nil {
			return c, fmt.Errorf("%w: cannot read the config file: %v", ErrInvalid, err)
		}
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&c); err != nil {
			return c, fmt.Errorf("%w: config file %s: %v", ErrInvalid, *configFile, err)
		}
	}
	for i, f := range fields {
		if s := getenv(f.Env); s != "" {
			if err := setString(v.Field(i), s); err != nil {
				return c, fmt.Errorf("%w: %s: %v", ErrInvalid, f.Env, err)
			}
		}
	}
	for i, f := range fields {
		if s, ok := flagged[f.Flag]; ok {
			if err := setString(v.Field(i), s); err != nil {
				return c, fmt.Errorf("%w: --%s: %v", ErrInvalid, f.Flag, err)
			}
		}
	}
	return c, c.Validate()
}

func quoteDefault(s string) string {
	if s == "" {
		return `""`
	}
	return s
}

// Validate checks the configuration and says what is wrong.
func (c Config) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
	}
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		return bad("addr %q is not host:port (for example 127.0.0.1:8080)", c.Addr)
	}
	if c.DataDir == "" {
		return bad("data_dir must not be empty")
	}
	if c.DatabaseURL != "" && !strings.HasPrefix(c.DatabaseURL, "postgres://") && !strings.HasPrefix(c.DatabaseURL, "postgresql://") {
		return bad("database_url must start with postgres:// (or be empty for SQLite)")
	}
	if c.NATSURL != "" && !strings.HasPrefix(c.NATSURL, "nats://") && !strings.HasPrefix(c.NATSURL, "tls://") {
		return bad("nats_url must start with nats:// or tls:// (or be empty for the in-process bus)")
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return bad("tls_cert and tls_key go together: give both or neither")
	}
	if c.TLSCert != "" && c.TLSSelfSigned {
		return bad("tls_self_signed and tls_cert exclude each other")
	}
	switch c.SQLiteSynchronous {
	case "full", "normal":
	default:
		return bad("sqlite_synchronous must be full or normal, not %q", c.SQLiteSynchronous)
	}
	if c.DebugAddr != "" && !loopbackAddr(c.DebugAddr) {
		return bad("debug_addr must be a loopback host:port such as 127.0.0.1:6060 (the profiler is never served to the network)")
	}
	switch c.LogFormat {
	case "text", "json":
	default:
		return bad("log_format must be text or json, not %q", c.LogFormat)
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return bad("log_level must be debug, info, warn or error, not %q", c.LogLevel)
	}
	if c.MaxBodyBytes < 1024 || c.MaxBodyBytes > 64<<20 {
		return bad("max_body_bytes must be between 1024 and 67108864")
	}
	if c.MaxFileBytes < 1024 || c.MaxFileBytes > 16<<30 {
		return bad("max_file_bytes must be between 1024 and 17179869184 (16 GiB)")
	}
	if c.ShutdownTimeout <= 0 {
		return bad("shutdown_timeout must be positive")
	}
	if c.AuditCheckpoint < Duration(time.Second) {
		return bad("audit_checkpoint_interval must be at least 1s")
	}
	if c.RetentionInterval < Duration(time.Minute) {
		return bad("retention_interval must be at least 1m")
	}
	if c.SecurityContact != "" && (!strings.HasPrefix(c.SecurityContact, "mailto:") && !strings.HasPrefix(c.SecurityContact, "https://") || strings.ContainsAny(c.SecurityContact, " \r\n")) {
		return bad("security_contact must be a mailto: or https:// URI without spaces")
	}
	if c.SMTPAddr != "" {
		if _, _, err := net.SplitHostPort(c.SMTPAddr); err != nil {
			return bad("smtp_addr %q is not host:port (for example smtp.example.com:587)", c.SMTPAddr)
		}
		if !strings.Contains(c.SMTPFrom, "@") {
			return bad("smtp_from must be the sender's email address when smtp_addr is set")
		}
	}
	switch c.SMTPTLS {
	case "starttls", "tls", "none":
	default:
		return bad("smtp_tls must be starttls, tls or none, not %q", c.SMTPTLS)
	}
	if _, err := c.Proxies(); err != nil {
		return bad("trusted_proxies: %v", err)
	}
	if c.RealtimeSendQueue < 16 || c.RealtimeSendQueue > 1<<16 {
		return bad("realtime_send_queue must be between 16 and 65536")
	}
	if c.RealtimeMaxConnsPerAccount < 1 || c.RealtimeMaxConnsPerAccount > 1000 {
		return bad("realtime_max_conns_per_account must be between 1 and 1000")
	}
	if c.RealtimeReadLimit < 1024 || c.RealtimeReadLimit > 16<<20 {
		return bad("realtime_read_limit must be between 1024 and 16777216")
	}
	if c.RealtimeFlushWindow < 0 || c.RealtimeFlushWindow > Duration(100*time.Millisecond) {
		return bad("realtime_flush_window must be between 0s and 100ms")
	}
	if c.RealtimeMaxFlushWindow < 0 || c.RealtimeMaxFlushWindow > Duration(100*time.Millisecond) {
		return bad("realtime_max_flush_window must be between 0s and 100ms")
	}
	if c.RealtimeSlowConsumerAge < Duration(100*time.Millisecond) || c.RealtimeSlowConsumerAge > Duration(10*time.Minute) {
		return bad("realtime_slow_consumer_age must be between 100ms and 10m")
	}
	if c.MediaMaxParticipantsPerRoom < 2 || c.MediaMaxParticipantsPerRoom > 1000 {
		return bad("media_max_participants_per_room must be between 2 and 1000")
	}
	for _, a := range []struct{ key, v string }{{"media_udp_addr", c.MediaUDPAddr}, {"media_tcp_addr", c.MediaTCPAddr}, {"turn_addr", c.TURNAddr}} {
		if a.v == "off" {
			continue
		}
		if _, _, err := net.SplitHostPort(a.v); err != nil {
			return bad("%s must be host:port (such as :7882) or off, not %q", a.key, a.v)
		}
	}
	for _, ip := range strings.Split(c.MediaPublicIPs, ",") {
		if ip = strings.TrimSpace(ip); ip != "" && net.ParseIP(ip) == nil {
			return bad("media_public_ips: %q is not an IP address", ip)
		}
	}
	for _, d := range []struct {
		key string
		v   Duration
	}{{"realtime_ping_interval", c.RealtimePingInterval}, {"realtime_revalidate_interval", c.RealtimeRevalidateInterval}, {"realtime_presence_interval", c.RealtimePresenceInterval}} {
		if d.v < Duration(time.Second) || d.v > Duration(time.Hour) {
			return bad("%s must be between 1s and 1h", d.key)
		}
	}
	return nil
}

// Proxies parses TrustedProxies.
func (c Config) Proxies() ([]*net.IPNet, error) {
	var out []*net.IPNet
	for _, s := range strings.Split(c.TrustedProxies, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		_, n, err := net.ParseCIDR(s)
		if err != nil {
			return nil, fmt.Errorf("%q is not a CIDR such as 10.0.0.0/8", s)
		}
		out = append(out, n)
	}
	return out, nil
}

// TLS reports whether the server speaks HTTPS.
func (c Config) TLS() bool { return c.TLSCert != "" || c.TLSSelfSigned }

// URL is the address people open.
func (c Config) URL() string {
	if c.PublicURL != "" {
		return strings.TrimRight(c.PublicURL, "/")
	}
	scheme := "http"
	if c.TLS() {
		scheme = "https"
	}
	host, port, _ := net.SplitHostPort(c.Addr)
	// Browsers refuse an IP address as a passkey's relying party, so local
	// addresses are named localhost, which they accept.
	if ip := net.ParseIP(host); host == "" || ip != nil && (ip.IsUnspecified() || ip.IsLoopback()) {
		host = "localhost"
	}
	return scheme + "://" + net.JoinHostPort(host, port)
}

// Path returns a path inside the data directory.
func (c Config) Path(name string) string { return filepath.Join(c.DataDir, name) }

// Markdown renders the table of keys for docs/configuration.md.
func Markdown() string {
	var b strings.Builder
	b.WriteString("| file key | environment | flag | default | meaning |\n|---|---|---|---|---|\n")
	for _, f := range Fields() {
		fmt.Fprintf(&b, "| `%s` | `%s` | `--%s` | `%s` | %s |\n", f.Key, f.Env, f.Flag, quoteDefault(f.Default), f.Doc)
	}
	return b.String()
}

// loopbackAddr reports whether addr is host:port with a loopback IP host.
func loopbackAddr(addr string) bool {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || port == "" {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
