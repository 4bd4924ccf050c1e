// Command kaigi is the Kaigi server and its administration tool.
//
//	kaigi [serve] [flags]      run the service (the default)
//	kaigi migrate [flags]      apply database migrations and exit
//	kaigi audit verify [--tenant ID] [flags]
//	                           verify audit chains and their signed checkpoints
//	kaigi audit checkpoint     sign every audit chain's head now
//	kaigi setup-link [flags]   print a new one-time link for the first operator
//	kaigi tenant create --name N --domain D --admin-email E [--slug S] [flags]
//	                           create a tenant and print its first admin's invitation link
//	kaigi moderation classify [--lang en|ja] [--policy file.json]
//	                           read messages, one per line, and print one JSON verdict per line
//	kaigi version              print the version
//
// Every command takes the configuration flags of serve (--data,
// --database-url, …) and reads KAIGI_* variables; `kaigi serve --help` lists
// them, and docs/configuration.md documents them.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/kaigi/kaigi/internal/app"
	"github.com/kaigi/kaigi/internal/audit"
	"github.com/kaigi/kaigi/internal/config"
	"github.com/kaigi/kaigi/internal/errs"
	"github.com/kaigi/kaigi/internal/identity"
	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/principal"
	"github.com/kaigi/kaigi/internal/store"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	switch {
	case err == nil:
	case errors.Is(err, config.ErrHelp):
		fmt.Fprintln(os.Stderr, err.Error()[len(config.ErrHelp.Error())+1:])
	case errors.Is(err, errBroken):
		os.Exit(1)
	default:
		fmt.Fprintf(os.Stderr, "kaigi: %v\n", err)
		os.Exit(1)
	}
}

var errBroken = errors.New("an audit chain is broken")

const usage = `kaigi — teams, channels, chats and meetings

Usage:
  kaigi [serve] [flags]                     run the service (the default)
  kaigi migrate [flags]                     apply database migrations and exit
  kaigi audit verify [--tenant ID] [flags]  verify audit chains and signed checkpoints
  kaigi audit checkpoint [flags]            sign every audit chain's head now
  kaigi setup-link [flags]                  print a new one-time link for the first operator
  kaigi tenant create --name N --domain D --admin-email E [--slug S] [flags]
                                            create a tenant; prints its first admin's invitation link
  kaigi tenant list [flags]                 list tenants with their contract state and health (counts, never content)
  kaigi moderation classify [--lang en|ja] [--policy file.json]
                                            read messages, one per line, on standard input;
                                            print one JSON verdict per line (and the policy's action)
  kaigi transparency verify --bundle F --key K [--state S]
                                            check a tenant's access-transparency log offline: the
                                            bundle fetched from the API, the service's verifier key,
                                            and the state kept from the last check
  kaigi version                             print the version

'kaigi serve --help' lists the configuration flags; every command takes them.
`

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return serve(ctx, args, getenv, stdout, stderr)
	case "migrate":
		return migrate(ctx, args, getenv, stdout)
	case "audit":
		if len(args) == 0 {
			return fmt.Errorf("audit needs a subcommand: verify or checkpoint")
		}
		switch args[0] {
		case "verify":
			return auditVerify(ctx, args[1:], getenv, stdout, stderr)
		case "checkpoint":
			return auditCheckpoint(ctx, args[1:], getenv, stdout, stderr)
		}
		return fmt.Errorf("unknown audit subcommand %q: use verify or checkpoint", args[0])
	case "setup-link":
		return setupLink(ctx, args, getenv, stdout, stderr)
	case "tenant":
		if len(args) > 0 && args[0] == "list" {
			return tenantList(ctx, args[1:], getenv, stdout, stderr)
		}
		if len(args) == 0 || args[0] != "create" {
			return fmt.Errorf("tenant needs a subcommand: create or list")
		}
		return tenantCreate(ctx, args[1:], getenv, stdout, stderr)
	case "moderation":
		if len(args) == 0 || args[0] != "classify" {
			return fmt.Errorf("moderation needs a subcommand: classify")
		}
		return moderationClassify(ctx, args[1:], os.Stdin, stdout, stderr)
	case "transparency":
		if len(args) == 0 || args[0] != "verify" {
			return fmt.Errorf("transparency needs a subcommand: verify")
		}
		return transparencyVerify(args[1:], stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "kaigi", app.Version)
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	return fmt.Errorf("unknown command %q\n\n%s", cmd, usage)
}

func newLogger(cfg config.Config, w io.Writer) *slog.Logger {
	level := map[string]slog.Level{"debug": slog.LevelDebug, "info": slog.LevelInfo, "warn": slog.LevelWarn, "error": slog.LevelError}[cfg.LogLevel]
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func serve(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := config.Load(args, getenv)
	if err != nil {
		return err
	}
	log := newLogger(cfg, stderr)
	a, err := app.New(ctx, cfg, log, app.Options{})
	if err != nil {
		return err
	}
	defer a.Close()
	ln, err := a.Listen()
	if err != nil {
		return err
	}
	setup := ""
	switch link, exp, err := a.NewSetupLink(ctx); {
	case errors.Is(err, identity.ErrAlreadySetUp):
		setup = "  Operators are set up: they sign in with their passkey.\n"
	case err != nil:
		ln.Close()
		return fmt.Errorf("setup link: %w", err)
	default:
		setup = fmt.Sprintf(`  First operator: open this one-time link to set up the operator account
  (no default password exists; the link is valid until %s):

    %s

  A new link: kaigi setup-link --data %s
`, exp.Local().Format("2006-01-02 15:04 MST"), link, cfg.DataDir)
	}
	if err := a.Record(ctx, audit.Entry{Actor: app.StartupActor, Action: "service.start", Details: map[string]string{"version": app.Version}}); err != nil {
		ln.Close()
		return fmt.Errorf("audit: %w", err)
	}
	fmt.Fprintf(stdout, `
Kaigi %s is running.

  Open:      %s
  Data:      %s (%s)
  Stop:      Ctrl+C

%s
`, app.Version, cfg.URL(), cfg.DataDir, a.DB, setup)
	log.Info("listening", "addr", ln.Addr().String(), "url", cfg.URL(), "database", a.DB.String(), "tls", cfg.TLS())
	return a.Serve(ctx, ln)
}

// openStore opens and migrates the database alone, for commands that need
// nothing else.
func openStore(ctx context.Context, cfg config.Config) (*store.DB, int, error) {
	db, err := store.Open(ctx, store.Config{URL: cfg.DatabaseURL, DataDir: cfg.DataDir, SQLiteSynchronous: cfg.SQLiteSynchronous})
	if err != nil {
		return nil, 0, err
	}
	n, err := db.Migrate(ctx)
	if err != nil {
		db.Close()
		return nil, 0, err
	}
	return db, n, nil
}

func migrate(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	cfg, err := config.LoadWith("kaigi migrate", args, getenv, nil)
	if err != nil {
		return err
	}
	db, n, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	v, err := db.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: applied %d migrations; schema version %d\n", db, n, v)
	return nil
}

// withApp loads the configuration of command name (with its extra flags),
// opens a node's parts without serving, and runs fn with them.
func withApp(ctx context.Context, name string, args []string, getenv func(string) string, stderr io.Writer,
	extra func(*flag.FlagSet), fn func(a *app.App) error) error {
	cfg, err := config.LoadWith(name, args, getenv, extra)
	if err != nil {
		return err
	}
	// A command that does not serve carries no meeting media: it must not
	// take the ports of a node running beside it.
	cfg.MediaUDPAddr, cfg.TURNAddr = "off", "off"
	a, err := app.New(ctx, cfg, newLogger(cfg, stderr), app.Options{})
	if err != nil {
		return err
	}
	defer a.Close()
	return fn(a)
}

func auditVerify(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var tenant string
	flags := func(fs *flag.FlagSet) {
		fs.StringVar(&tenant, "tenant", "", "the tenant whose chain to verify; every chain when empty")
	}
	return withApp(ctx, "kaigi audit verify", args, getenv, stderr, flags, func(a *app.App) error {
		if tenant != "" && !ids.Valid(tenant) {
			return fmt.Errorf("--tenant %q is not a tenant id", tenant)
		}
		tenants := []ids.TenantID{ids.TenantID(tenant)}
		if tenant == "" {
			var err error
			if tenants, err = a.DB.AuditTenants(ctx); err != nil {
				return err
			}
		}
		broken := false
		for _, t := range tenants {
			rep, err := audit.Verify(ctx, a.DB, t, a.Signing.VerifierKey())
			if err != nil {
				return fmt.Errorf("verify %s: %w", t, err)
			}
			fmt.Fprintln(stdout, rep)
			broken = broken || !rep.OK()
		}
		if broken {
			return errBroken
		}
		return nil
	})
}

func auditCheckpoint(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	return withApp(ctx, "kaigi audit checkpoint", args, getenv, stderr, nil, func(a *app.App) error {
		n, err := a.CheckpointAll(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "signed %d new checkpoints\n", n)
		return nil
	})
}

func setupLink(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	return withApp(ctx, "kaigi setup-link", args, getenv, stderr, nil, func(a *app.App) error {
		link, exp, err := a.NewSetupLink(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s\n(valid until %s)\n", link, exp.Local().Format("2006-01-02 15:04 MST"))
		return nil
	})
}

// cliActor is the principal of administration commands run on the server.
var cliActor = principal.Job("cli", "")

func tenantCreate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var n identity.NewTenant
	flags := func(fs *flag.FlagSet) {
		fs.StringVar(&n.Name, "name", "", "the organisation's name (required)")
		fs.StringVar(&n.Domain, "domain", "", "the organisation's email domain, such as example.com (required)")
		fs.StringVar(&n.AdminEmail, "admin-email", "", "who receives the first admin's invitation (required)")
		fs.StringVar(&n.Slug, "slug", "", "short name for sign-in links; derived from --name when empty")
	}
	return withApp(ctx, "kaigi tenant create", args, getenv, stderr, flags, func(a *app.App) error {
		for _, f := range []struct{ name, value string }{{"--name", n.Name}, {"--domain", n.Domain}, {"--admin-email", n.AdminEmail}} {
			if f.value == "" {
				return fmt.Errorf("tenant create needs %s", f.name)
			}
		}
		t, link, err := a.Identity.CreateTenant(ctx, cliActor, n)
		if errs.CodeOf(err) == errs.Internal {
			return fmt.Errorf("create tenant: %w", err)
		} else if err != nil {
			return fmt.Errorf("create tenant: %s", errs.MessageOf(err)) // a message for people, without internals
		}
		fmt.Fprintf(stdout, "Created tenant %q (short name %s, id %s, domain %s).\n\nSend this one-time invitation to %s, the first admin (valid for 7 days):\n\n  %s\n",
			t.Name, t.Slug, t.ID, strings.Join(t.Domains, ", "), n.AdminEmail, link)
		return nil
	})
}

// tenantList prints every tenant with its contract state, countdowns and
// health: counts and the last activity, never content.
func tenantList(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	return withApp(ctx, "kaigi tenant list", args, getenv, stderr, nil, func(a *app.App) error {
		tenants, err := a.DB.Tenants(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tCONTRACT\tENDS\tDELETE BY\tACCOUNTS\tCHANNELS\tMESSAGES\tFILES\tLAST ACTIVITY")
		op := principal.Principal{Kind: principal.Operator, User: cliActor.User}
		for _, t := range tenants {
			h, err := a.Contracts.Health(ctx, op, a.DB, t.ID)
			if err != nil {
				return fmt.Errorf("health of %s: %w", t.ID, err)
			}
			date := func(v time.Time) string {
				if v.IsZero() {
					return "-"
				}
				return v.Format(time.DateOnly)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%d\t%d\t%d\t%s\n", t.ID, t.Name, h.Contract.State, date(h.Contract.End), date(h.Contract.DeleteBy),
				h.Accounts, h.Channels, h.Messages, h.Files, date(h.LastActivity))
		}
		return tw.Flush()
	})
}
