// Package app wires Kaigi together: it is the only package that knows every
// other one. New opens the data directory, the keys, the database, the event
// bus and the signing key — each failing with one clear message that names
// what is wrong and how to fix it, and never overwriting what is there — and
// registers every HTTP route. Serve runs the server and the background jobs
// until its context ends, then shuts down gracefully.
package app

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/kaigi/kaigi/internal/audit"
	"github.com/kaigi/kaigi/internal/blob"
	blobdir "github.com/kaigi/kaigi/internal/blob/dir"
	"github.com/kaigi/kaigi/internal/bus"
	"github.com/kaigi/kaigi/internal/bus/inproc"
	"github.com/kaigi/kaigi/internal/bus/natsbus"
	"github.com/kaigi/kaigi/internal/chat"
	"github.com/kaigi/kaigi/internal/clock"
	"github.com/kaigi/kaigi/internal/compliance/discovery"
	"github.com/kaigi/kaigi/internal/compliance/retention"
	"github.com/kaigi/kaigi/internal/config"
	"github.com/kaigi/kaigi/internal/httpapi"
	"github.com/kaigi/kaigi/internal/identity"
	"github.com/kaigi/kaigi/internal/identity/mfa/passkey"
	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/jobs"
	"github.com/kaigi/kaigi/internal/keys"
	"github.com/kaigi/kaigi/internal/lockbox"
	"github.com/kaigi/kaigi/internal/mail"
	"github.com/kaigi/kaigi/internal/meeting"
	"github.com/kaigi/kaigi/internal/moderation"
	"github.com/kaigi/kaigi/internal/principal"
	"github.com/kaigi/kaigi/internal/provider"
	"github.com/kaigi/kaigi/internal/realtime"
	"github.com/kaigi/kaigi/internal/sfu"
	"github.com/kaigi/kaigi/internal/signing"
	"github.com/kaigi/kaigi/internal/store"
	"github.com/kaigi/kaigi/internal/transparency"
	"github.com/kaigi/kaigi/web"
)

// Version is the build's version, set with -ldflags "-X …/internal/app.Version=…".
var Version = "dev"

// Names of files in the data directory.
const (
	MasterKeyFile = "master.key"
	KeyringFile   = "keyring"
	BlobDir       = "blobs"
	TLSDir        = "tls"
)

// StartupActor is the principal of what the process does on its own at start.
var StartupActor = principal.Job("startup", "")

// SetupLinkLifetime is how long a first-operator setup link stays valid.
const SetupLinkLifetime = 24 * time.Hour

// App is a running Kaigi node's parts.
type App struct {
	Config   config.Config
	Log      *slog.Logger
	Clock    clock.Clock
	DB       *store.DB
	Bus      bus.Bus
	Keys     *keys.Service
	Blobs    blob.Blob
	Identity *identity.Service
	Chat     *chat.Service
	Meetings *meeting.Service
	Realtime *realtime.Gateway
	Signing  *signing.Key
	Audit    *audit.Log
	// AuditLog is the audit log for compliance: search, export, retention, SIEM sinks.
	AuditLog *audit.Service
	HTTP     *httpapi.Server
	Registry *prometheus.Registry

	// Moderation applies tenants' moderation policies to chat messages and
	// runs the review queue.
	Moderation *moderation.Service

	// Retention runs retention policies, legal holds, the deletion job and erasure of people.
	Retention *retention.Service

	// Discovery is eDiscovery and the data exports.
	Discovery *discovery.Service

	// Jobs runs background work (retention, exports, …) on this node:
	// services register their kinds in New; Serve runs it.
	Jobs *jobs.Runner

	// Transparency is the per-tenant access-transparency log, and
	// TransparencyHooks delivers it to the tenants' webhooks.
	Transparency      *transparency.Log
	TransparencyHooks *transparency.Hooks

	// Lockbox is operators' access to tenant content under grants the
	// tenant approved.
	Lockbox *lockbox.Service

	// Mailer sends Kaigi's emails (SMTP, or nothing when unconfigured).
	Mailer mail.Mailer

	// Ledger is the law-enforcement request ledger and its transparency report.
	Ledger *provider.Ledger

	// Contracts runs tenants' contract lifecycles.
	Contracts *provider.Contracts
	// Deletions deletes tenants by day 180 after their contract's end, or
	// earlier at their confirmed request, with a signed certificate.
	Deletions *provider.Deletions

	// Subprocessors is the subprocessor registry with its notice periods.
	Subprocessors *provider.Subprocessors

	closeOnce sync.Once
	closers   []func() error
	sfu       *sfu.SFU // the meeting media server; nil when media is off
}

// StartError is a failure to start, with a message for the person starting it.
type StartError struct {
	What string // which part failed, e.g. "master key"
	Err  error
}

func (e *StartError) Error() string { return e.What + ": " + e.Err.Error() }
func (e *StartError) Unwrap() error { return e.Err }

// Options adjust New for tests and embedding.
type Options struct {
	Clock clock.Clock           // default clock.Real
	Auth  httpapi.Authenticator // default: sessions and access tokens of the identity service
	// Realtime tunes the WebSocket gateway's limits; its dependencies
	// (chat, sessions, bus, origins, logger, metrics) are set here.
	Realtime realtime.Options
}

// realtimeOptions are the gateway's limits from the configuration; a field
// set in tune (tests) wins.
func realtimeOptions(cfg config.Config, tune realtime.Options) realtime.Options {
	o := tune
	set := func(v *int, c int64) {
		if *v == 0 {
			*v = int(c)
		}
	}
	dur := func(v *time.Duration, c config.Duration) {
		if *v == 0 {
			*v = time.Duration(c)
		}
	}
	set(&o.SendQueue, cfg.RealtimeSendQueue)
	set(&o.MaxConnsPerAccount, cfg.RealtimeMaxConnsPerAccount)
	if o.ReadLimit == 0 {
		o.ReadLimit = cfg.RealtimeReadLimit
	}
	if o.FlushWindow == 0 {
		o.FlushWindow = time.Duration(cfg.RealtimeFlushWindow)
	}
	if o.MaxFlushWindow == 0 {
		o.MaxFlushWindow = time.Duration(cfg.RealtimeMaxFlushWindow)
		if o.MaxFlushWindow == 0 {
			o.MaxFlushWindow = -1 // configured as 0s: no growth
		}
	}
	dur(&o.SlowConsumerAge, cfg.RealtimeSlowConsumerAge)
	dur(&o.HeartbeatInterval, cfg.RealtimePingInterval)
	dur(&o.RevalidateInterval, cfg.RealtimeRevalidateInterval)
	dur(&o.PresenceInterval, cfg.RealtimePresenceInterval)
	return o
}

// New opens every part. On error, whatever was opened is closed again.
func New(ctx context.Context, cfg config.Config, log *slog.Logger, opts Options) (_ *App, err error) {
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	a := &App{Config: cfg, Log: log, Clock: opts.Clock, Registry: prometheus.NewRegistry()}
	defer func() {
		if err != nil {
			a.Close()
		}
	}()
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, &StartError{"data directory", fmt.Errorf("cannot create %s: %v; choose another with --data", cfg.DataDir, err)}
	}

	// Keys first: without them nothing may be written.
	var master keys.MasterKey
	if cfg.MasterKeyFile == "" && exists(cfg.Path(KeyringFile)) && !exists(cfg.Path(MasterKeyFile)) {
		return nil, &StartError{"master key", fmt.Errorf("%s is missing but the keyring %s exists: restore the master key from its backup, or name it with KAIGI_MASTER_KEY_FILE (nothing was changed)",
			cfg.Path(MasterKeyFile), cfg.Path(KeyringFile))}
	}
	if cfg.MasterKeyFile != "" {
		master, err = keys.LoadMasterKey(cfg.MasterKeyFile)
	} else {
		master, err = keys.LoadOrCreateMasterKey(cfg.Path(MasterKeyFile))
	}
	if err != nil {
		return nil, &StartError{"master key", err}
	}
	keyring, err := keys.OpenLocalKeyring(cfg.Path(KeyringFile), master)
	if err != nil {
		return nil, &StartError{"keyring", err}
	}
	if a.Signing, err = signing.LoadOrCreate(cfg.Path(signing.FileName), "kaigi"); err != nil {
		return nil, &StartError{"signing key", err}
	}

	if a.DB, err = store.Open(ctx, store.Config{URL: cfg.DatabaseURL, DataDir: cfg.DataDir, SQLiteSynchronous: cfg.SQLiteSynchronous}); err != nil {
		return nil, &StartError{"database", fmt.Errorf("%v; check database_url (KAIGI_DATABASE_URL) and that the database is running", err)}
	}
	a.closers = append(a.closers, a.DB.Close)
	n, err := a.DB.Migrate(ctx)
	if err != nil {
		return nil, &StartError{"database", err}
	}
	if n > 0 {
		log.Info("database migrated", "database", a.DB.String(), "applied", n)
	}
	a.Keys = keys.New(keyring, a.DB, keys.Options{Clock: a.Clock, Logger: log})
	if a.Blobs, err = blobdir.New(cfg.Path(BlobDir), a.Keys); err != nil {
		return nil, &StartError{"blob store", err}
	}

	if cfg.NATSURL != "" {
		nb, err := natsbus.Connect(ctx, cfg.NATSURL, natsbus.Options{SubjectPrefix: cfg.NATSPrefix, Logger: log})
		if err != nil {
			return nil, &StartError{"event bus", fmt.Errorf("%v; check nats_url (KAIGI_NATS_URL) and that NATS is running, or leave it empty for one node", err)}
		}
		a.Bus = nb
	} else {
		a.Bus = inproc.New(inproc.Options{})
	}
	a.closers = append(a.closers, a.Bus.Close)

	a.Audit = audit.New(a.Clock)
	a.AuditLog = audit.NewService(audit.ServiceOptions{Store: store.Audit(a.DB), Log: a.Audit, Keys: a.Keys, Signing: a.Signing, Clock: a.Clock, Logger: log})
	a.Jobs = jobs.NewRunner(store.Jobs(a.DB), jobs.Options{Clock: a.Clock, Log: log})
	if a.Mailer, err = newMailer(cfg, log); err != nil {
		return nil, &StartError{"email", fmt.Errorf("%v; check smtp_addr, smtp_from and smtp_tls", err)}
	}
	a.Transparency = transparency.New(store.Transparency(a.DB), a.Signing, a.Clock, originPrefix(cfg.URL()))
	rp, err := relyingParty(cfg.URL(), a.Clock)
	if err != nil {
		log.Warn("passkeys are unavailable, and so are operator setup and passkey sign-in: set public_url (KAIGI_PUBLIC_URL) to the https:// URL people open, or http://localhost:<port> for local use",
			"url", cfg.URL(), "reason", err.Error())
	}
	notify := func(ctx context.Context, tenant ids.TenantID, account ids.UserID, reason string) {
		if err := realtime.NotifyAccount(ctx, a.Bus, tenant, account, reason); err != nil {
			log.Warn("notify the realtime gateways", "tenant", string(tenant), "err", err)
		}
	}
	a.Identity = identity.New(identity.Options{Store: store.Identity(a.DB), Keys: a.Keys, Audit: a.Audit, Clock: a.Clock, Log: log, BaseURL: cfg.URL(),
		Passkeys: rp, Ceremonies: a.DB.PasskeyCeremonies(a.Clock), AccessChanged: notify})
	a.Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	a.Chat = chat.New(chat.Options{Store: store.Chat(a.DB), Keys: a.Keys, Bus: a.Bus, Accounts: a.DB, Audit: a.Audit, Clock: a.Clock, Log: log, Blobs: a.Blobs, MaxFileBytes: cfg.MaxFileBytes,
		AccessChanged: notify})
	a.Moderation = moderation.New(moderation.ServiceOptions{Store: store.Moderation(a.DB), Keys: a.Keys, Chat: a.Chat, Accounts: a.DB, Audit: a.Audit, Clock: a.Clock, Log: log})
	a.Chat.SetModerator(a.Moderation)
	a.Discovery = discovery.New(discovery.Options{Store: store.Discovery(a.DB), Chat: store.Chat(a.DB), Opener: a.Chat, Keys: a.Keys, Blobs: a.Blobs, Accounts: a.DB,
		AuditLog: a.DB, Policies: store.Moderation(a.DB), Audit: a.Audit, Jobs: a.Jobs, JobStore: store.Jobs(a.DB), Signer: a.Signing, Clock: a.Clock, Log: log,
		Disclosures: store.Disclosures(a.DB)})
	// The review queue's ediscovery action opens cases.
	a.Moderation.SetCases(a.Discovery)
	a.Moderation.Warm(ctx) // loads the classifier in the background when some tenant has a policy
	var media meeting.Media
	if cfg.MediaUDPAddr != "off" {
		m, err := a.startMedia(cfg, log)
		if err != nil {
			return nil, &StartError{"meeting media", fmt.Errorf("%v; check media_udp_addr, media_tcp_addr and turn_addr (ports in use?), or set media_udp_addr to off", err)}
		}
		media = m
	}
	a.Meetings = meeting.New(meeting.Config{Store: store.Meetings(a.DB), Keys: a.Keys, Accounts: a.DB, Chats: a.Chat, Audit: a.Audit, Clock: a.Clock, Log: log,
		PublicURL: cfg.URL(), Media: media, Blobs: a.Blobs})
	sweepCtx, stopSweep := context.WithCancel(context.WithoutCancel(ctx))
	go a.Meetings.Run(sweepCtx, 10*time.Second)
	a.Lockbox = lockbox.New(lockbox.Options{Store: store.Lockbox(a.DB), Resources: lockboxResources{a.DB}, Confirm: a.Identity, Audit: a.Audit,
		Transparency: a.Transparency, Clock: a.Clock, Log: log, Notify: a.notifyApprovers,
		TenantPendingFor: a.tenantPendingFor})
	go a.Lockbox.Run(sweepCtx, 10*time.Second) // unanswered requests expire, grants complete
	a.TransparencyHooks = transparency.NewHooks(a.Transparency, store.TransparencyHooks(a.DB), a.Keys, a.Audit, a.Clock, log)
	go a.TransparencyHooks.Run(sweepCtx, 2*time.Second)
	// A disclosure naming accounts is built by the eDiscovery machinery.
	a.Ledger = provider.NewLedger(provider.LedgerOptions{Store: store.Ledger(a.DB), Keys: a.Keys, Audit: a.Audit, Clock: a.Clock, Notify: a.tellCustomer, Log: log,
		Disclose: a.discloseLegal, Accounts: a.legalAccounts})
	go a.sweepEvery(sweepCtx, time.Minute, "legal requests: notices", a.Ledger.Sweep) // customers are told when a non-disclosure order ends
	a.Subprocessors = provider.NewSubprocessors(provider.SubprocessorOptions{Store: store.Subprocessors(a.DB), Keys: a.Keys, Audit: a.Audit, Clock: a.Clock, Customers: store.SubprocessorCustomers(a.DB), Mailer: a.Mailer, Jobs: a.Jobs, BaseURL: cfg.URL(), Log: log})
	a.Retention = retention.New(retention.Options{Store: store.Retention(a.DB), Accounts: store.Retention(a.DB), Keys: a.Keys, Blobs: a.Blobs, Audit: a.Audit, Clock: a.Clock, Log: log, Jobs: a.Jobs, JobStore: store.Jobs(a.DB), AccessChanged: notify, Every: time.Duration(cfg.RetentionInterval)})
	go a.Retention.Run(sweepCtx, time.Hour) // enqueues each tenant's deletion job daily
	a.closers = append(a.closers, func() error { stopSweep(); return nil })
	rt := realtimeOptions(cfg, opts.Realtime)
	a.Contracts = provider.NewContracts(store.Contracts(a.DB), store.Deletions(a.DB), a.Audit, a.Clock)
	a.Deletions = provider.NewDeletions(provider.DeletionOptions{Store: store.Deletions(a.DB), Contracts: a.Contracts, Keys: a.Keys, Blobs: a.Blobs,
		Signer: a.Signing, Audit: a.Audit, Clock: a.Clock, Jobs: a.Jobs, JobStore: store.Jobs(a.DB), BaseURL: cfg.URL(), Log: log,
		SendCode: a.sendDeletionCode, Notify: a.notifyTenantAdmins})
	go a.sweepEvery(sweepCtx, time.Minute, "tenant deletions", a.Deletions.Sweep) // by day 180 after the contract's end, or as the customer asked
	// Open sockets follow the contract too: the gateway's periodic re-check
	// of sessions finds none for a tenant user the contract no longer admits.
	rt.Chat, rt.Sessions, rt.Bus, rt.Logger, rt.Registerer, rt.Meetings = a.Chat, lifecycleSessions{a.Identity, a.Contracts}, a.Bus, log, a.Registry, a.Meetings
	rt.Origins = []string{realtime.OriginOf(cfg.URL())}
	if a.Realtime, err = realtime.New(rt); err != nil {
		return nil, &StartError{"realtime gateway", err}
	}
	a.closers = append(a.closers, a.Realtime.Close) // runs before the bus closes
	proxies, _ := cfg.Proxies()                     // validated with the config
	if opts.Auth == nil {
		opts.Auth = httpapi.IdentityAuth{Identity: a.Identity, TLS: cfg.TLS(), TrustedProxies: proxies}
	}
	opts.Auth = lifecycleAuth{inner: opts.Auth, contracts: a.Contracts}
	a.HTTP = httpapi.New(httpapi.Options{
		Logger: log, Auth: opts.Auth, MaxBodyBytes: cfg.MaxBodyBytes, TLS: cfg.TLS(),
		TrustedProxies: proxies, CSP: web.ContentSecurityPolicy, Registerer: a.Registry, Refused: a.operatorRefused,
	})
	// The service's own key (operator secrets) exists before any request.
	if err := a.Identity.EnsureKeys(ctx, ids.ServiceTenant); err != nil {
		return nil, &StartError{"keys", err}
	}
	a.routes()
	return a, nil
}

func (a *App) routes() {
	httpapi.RegisterService(a.HTTP, httpapi.ServiceDeps{
		Info:         httpapi.Info{Title: "Kaigi", Version: Version, Description: "Teams, channels, chats and meetings, with guarantees a customer can check."},
		Ready:        []httpapi.Dependency{{Name: "database", Ping: a.DB}, {Name: "bus", Ping: a.Bus}},
		Gatherer:     a.Registry,
		MetricsToken: a.Config.MetricsToken,
		PublicKeyPEM: a.Signing.PublicPEM(),
		VerifierKey:  a.Signing.VerifierKey(),
		VerifyAudit: func(ctx context.Context, tenant ids.TenantID) (audit.Report, error) {
			return audit.Verify(ctx, a.DB, tenant, a.Signing.VerifierKey())
		},
		CheckSetup: func(ctx context.Context, token string) (time.Time, error) {
			return a.Identity.CheckSetup(ctx, token)
		},
	})
	httpapi.RegisterIdentity(a.HTTP, a.Identity, a.Config.TLS())
	httpapi.RegisterPasskeys(a.HTTP, a.Identity, a.Config.TLS())
	httpapi.RegisterChat(a.HTTP, a.Chat)
	httpapi.RegisterModeration(a.HTTP, a.Moderation)
	httpapi.RegisterDiscovery(a.HTTP, a.Discovery)
	httpapi.RegisterAudit(a.HTTP, a.AuditLog)
	httpapi.RegisterFiles(a.HTTP, a.Chat, a.Config.MaxFileBytes)
	httpapi.RegisterRealtime(a.HTTP, a.Realtime)
	httpapi.RegisterMeetings(a.HTTP, a.Meetings)
	httpapi.RegisterMeetingSocket(a.HTTP, a.Realtime)
	httpapi.RegisterRetention(a.HTTP, a.Retention)
	httpapi.RegisterTransparency(a.HTTP, a.Transparency)
	httpapi.RegisterTransparencyHooks(a.HTTP, a.TransparencyHooks)
	httpapi.RegisterLockbox(a.HTTP, a.Lockbox, lockboxResources{a.DB}, operatorReads{a.DB, a.Chat, a.Blobs})
	httpapi.RegisterLegal(a.HTTP, a.Ledger, a.Discovery)
	httpapi.RegisterContracts(a.HTTP, a.Contracts, a.Deletions, a.DB)
	httpapi.RegisterTrust(a.HTTP, httpapi.TrustDeps{Subprocessors: a.Subprocessors, Signing: a.Signing, Clock: a.Clock, Publisher: "Kaigi", BaseURL: a.Config.URL(),
		SecurityContact: a.Config.SecurityContact, Ready: []httpapi.Dependency{{Name: "database", Ping: a.DB}, {Name: "bus", Ping: a.Bus}}})
	a.HTTP.Mount("/", principal.Public, httpapi.Doc{Summary: "The web app (HTML, scripts, styles, catalogues).", Tag: "web", ContentType: "text/html"},
		web.Handler(web.Options{}))
}

// originPrefix names the deployment in the origin of its signed logs: the
// host (and port) of its public URL.
func originPrefix(publicURL string) string {
	if u, err := url.Parse(publicURL); err == nil && u.Host != "" {
		return u.Host
	}
	return "kaigi"
}

// Record appends an audit entry in a transaction of its own.
func (a *App) Record(ctx context.Context, e audit.Entry) error {
	return a.DB.InTx(ctx, func(tx *store.Tx) error {
		_, err := a.Audit.Append(ctx, tx, e)
		return err
	})
}

// NewSetupLink makes a one-time link for enrolling the first operator and
// returns it. Only the token's hash is stored; the creation is audited. Once
// an operator exists it refuses with identity.ErrAlreadySetUp.
func (a *App) NewSetupLink(ctx context.Context) (string, time.Time, error) {
	if done, err := a.Identity.SetUp(ctx); err != nil {
		return "", time.Time{}, err
	} else if done {
		return "", time.Time{}, identity.ErrAlreadySetUp
	}
	token := base64.RawURLEncoding.EncodeToString(ids.Token(32))
	now := a.Clock.Now()
	exp := now.Add(SetupLinkLifetime)
	if err := a.DB.AddSetupToken(ctx, token, now, exp); err != nil {
		return "", time.Time{}, err
	}
	if err := a.Record(ctx, audit.Entry{Actor: StartupActor, Action: "setup.link_created",
		Details: map[string]string{"expires": exp.Format(time.RFC3339)}}); err != nil {
		return "", time.Time{}, err
	}
	return a.Config.URL() + "/setup#token=" + token, exp, nil
}

// Listen opens the configured listener, with TLS when configured.
func (a *App) Listen() (net.Listener, error) {
	ln, err := net.Listen("tcp", a.Config.Addr)
	if err != nil {
		return nil, &StartError{"listen", fmt.Errorf("cannot listen on %s: %v; is another kaigi running? choose another address with --addr", a.Config.Addr, err)}
	}
	if !a.Config.TLS() {
		return ln, nil
	}
	var cert tls.Certificate
	if a.Config.TLSSelfSigned {
		host, _, _ := net.SplitHostPort(a.Config.Addr)
		cert, err = LoadOrCreateSelfSigned(a.Config.Path(TLSDir), host)
	} else {
		cert, err = tls.LoadX509KeyPair(a.Config.TLSCert, a.Config.TLSKey)
	}
	if err != nil {
		ln.Close()
		return nil, &StartError{"TLS", fmt.Errorf("%v; check tls_cert and tls_key", err)}
	}
	return tls.NewListener(ln, TLSConfig(cert)), nil
}

// Serve serves HTTP on ln and runs the background jobs until ctx ends, then
// stops accepting, lets requests in flight finish (up to shutdown_timeout)
// and returns.
func (a *App) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           a.HTTP.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(a.Log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	jobs, stopJobs := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		a.checkpointLoop(jobs)
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		a.AuditLog.Run(jobs) // audit retention and SIEM delivery
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		a.Jobs.Run(jobs) // an interrupted job goes back to the queue and resumes from its last checkpoint
	}()
	if a.Config.DebugAddr != "" {
		dbg, err := a.serveDebug(jobs)
		if err != nil {
			stopJobs()
			wg.Wait()
			return err
		}
		defer dbg.Close()
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	var err error
	select {
	case err = <-errc:
	case <-ctx.Done():
		a.Log.Info("shutting down", "grace", a.Config.ShutdownTimeout.String())
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Duration(a.Config.ShutdownTimeout))
		err = srv.Shutdown(sctx)
		cancel()
		if err != nil {
			srv.Close()
		}
		if serr := <-errc; !errors.Is(serr, http.ErrServerClosed) && err == nil {
			err = serr
		}
	}
	stopJobs()
	wg.Wait()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// serveDebug serves Go's profiler on the loopback debug_addr (validated by
// config), outside the API's router: it answers no API route and carries no
// content, only stacks, timings and counters of this process. The command
// line is not served (a secret given as a flag would be in it).
func (a *App) serveDebug(ctx context.Context) (*http.Server, error) {
	ln, err := net.Listen("tcp", a.Config.DebugAddr)
	if err != nil {
		return nil, &StartError{"listen", fmt.Errorf("cannot listen on debug_addr %s: %v", a.Config.DebugAddr, err)}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, BaseContext: func(net.Listener) context.Context { return ctx }}
	go srv.Serve(ln)
	a.Log.Info("profiler listening", "addr", "http://"+ln.Addr().String()+"/debug/pprof/")
	return srv, nil
}

// checkpointLoop signs every audit chain's head periodically, and once more
// on the way out.
func (a *App) checkpointLoop(ctx context.Context) {
	t := time.NewTicker(time.Duration(a.Config.AuditCheckpoint))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			a.CheckpointAll(context.WithoutCancel(ctx))
			return
		case <-t.C:
			a.CheckpointAll(ctx)
		}
	}
}

// CheckpointAll signs the head of every tenant's audit chain.
func (a *App) CheckpointAll(ctx context.Context) (int, error) {
	tenants, err := a.DB.AuditTenants(ctx)
	if err != nil {
		a.Log.Warn("audit checkpoint: list chains", "err", err)
		return 0, err
	}
	n := 0
	for _, t := range tenants {
		if _, ok, err := a.Audit.Checkpoint(ctx, a.DB, a.Signing, t); err != nil {
			a.Log.Warn("audit checkpoint", "tenant", string(t), "err", err)
		} else if ok {
			n++
		}
	}
	return n, nil
}

// Close releases everything New opened, in reverse order. It is idempotent.
func (a *App) Close() error {
	var errs []error
	a.closeOnce.Do(func() {
		for i := len(a.closers) - 1; i >= 0; i-- {
			errs = append(errs, a.closers[i]())
		}
	})
	return errors.Join(errs...)
}

// relyingParty returns the WebAuthn relying party of the public URL: its
// host is the RP ID and the URL itself the one origin. It fails for a URL
// WebAuthn cannot use: plain http other than on localhost, or an IP address.
func relyingParty(publicURL string, c clock.Clock) (*passkey.RelyingParty, error) {
	u, err := url.Parse(publicURL)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("public URL %q does not parse", publicURL)
	}
	return passkey.New(passkey.Config{RPID: strings.ToLower(u.Hostname()), Origins: []string{u.Scheme + "://" + u.Host}, Clock: c})
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}
