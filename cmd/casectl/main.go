// Command casectl is the operator's and developer's tool: it mints dev tokens
// and applies database migrations.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/bank/caseservice/casefile"
	"github.com/bank/caseservice/config"
	"github.com/bank/caseservice/devissuer"
	"github.com/bank/caseservice/migrations"
	"github.com/bank/caseservice/store"
	"github.com/bank/caseservice/workflows"
)

const usage = `usage: casectl <command> [flags]

commands:
  token              print a bearer token signed by the dev issuer (last line of output)
  migrate            apply pending database migrations to DATABASE_URL
  callbacks          list callback requests and their delivery status
  search-attributes  print the Temporal search attributes the workflows use, as NAME=TYPE
  bench-callbacks    schedule many callbacks through a running stack and report delivery lateness

Run "casectl <command> -h" for a command's flags.`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Stdout)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "casectl:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, out io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(out, usage)
		return errors.New("no command given")
	}
	cfg, err := config.Load(devIssuerByDefault(os.Getenv))
	if err != nil {
		return err
	}
	switch args[0] {
	case "token":
		return token(cfg, args[1:], out)
	case "migrate":
		return migrate(ctx, cfg, args[1:], out)
	case "callbacks":
		return callbacks(ctx, cfg, args[1:], out)
	case "bench-callbacks":
		return benchCallbacks(ctx, cfg, args[1:], out)
	case "search-attributes":
		for _, def := range workflows.SearchAttributeDefinitions() {
			fmt.Fprintln(out, def)
		}
		return nil
	case "-h", "--help", "help":
		fmt.Fprintln(out, usage)
		return nil
	default:
		fmt.Fprintln(out, usage)
		return fmt.Errorf("unknown command %q", args[0])
	}
}

// devIssuerByDefault makes casectl, a developer's and operator's tool, use
// the dev issuer unless the environment names an identity provider.
func devIssuerByDefault(getenv func(string) string) func(string) string {
	return func(key string) string {
		if key == "AUTH_DEV_ISSUER" && getenv(key) == "" && getenv("AUTH_ISSUER") == "" {
			return "true"
		}
		return getenv(key)
	}
}

func token(cfg config.Config, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("token", flag.ContinueOnError)
	subject := fs.String("subject", "dev-agent", "token subject (sub), recorded as who made changes")
	name := fs.String("name", "", "display name claim (defaults to the subject where used)")
	scope := fs.String("scope", "case:read case:write", "space-separated scopes")
	ttl := fs.Duration("ttl", 12*time.Hour, "lifetime of the token, e.g. 1s, 15m, 12h")
	customer := fs.String("customer-id", "", "make a customer token, limited to this customer's cases")
	if err := fs.Parse(args); err != nil {
		return err
	}

	if *ttl <= 0 {
		return errors.New("--ttl must be positive")
	}
	issuer, err := devissuer.Load(cfg.Auth.DevKeyFile, cfg.Auth.Issuer, cfg.Auth.Audience)
	if err != nil {
		return err
	}
	tok, err := issuer.Token(devissuer.Claims{Subject: *subject, Name: *name, Scopes: strings.Fields(*scope), TTL: *ttl, CustomerID: *customer})
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(out, tok)
	return err
}

func migrate(ctx context.Context, cfg config.Config, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	if err := fs.Parse(args); err != nil {
		return err
	}
	pool, err := store.Connect(ctx, cfg.DatabaseURL, 2)
	if err != nil {
		return err
	}
	defer pool.Close()
	if err := migrations.Up(ctx, pool); err != nil {
		return err
	}
	_, err = fmt.Fprintln(out, "migrations applied")
	return err
}

func callbacks(ctx context.Context, cfg config.Config, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("callbacks", flag.ContinueOnError)
	status := fs.String("status", "", "only callbacks in this status: Scheduled, Delivered, Failed or Cancelled")
	limit := fs.Int("limit", 50, "most rows to list")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch casefile.CallbackStatus(*status) {
	case "", casefile.CallbackScheduled, casefile.CallbackDelivered, casefile.CallbackFailed, casefile.CallbackCancelled:
	default:
		return fmt.Errorf("--status %q: want Scheduled, Delivered, Failed or Cancelled", *status)
	}
	pool, err := store.Connect(ctx, cfg.DatabaseURL, 2)
	if err != nil {
		return err
	}
	defer pool.Close()
	found, err := store.New(pool).Callbacks(ctx, casefile.CallbackStatus(*status), *limit)
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "CASE\tPARTY\tCATEGORRY\tCALLBACK AT\tSTATUS\tSTATE")
	for _, c := range found {
		at := ""
		if c.CallbackAt != nil {
			at = c.CallbackAt.Format(time.RFC3339)
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", c.ID, c.CustomerID, c.Categorry, at, c.CallbackStatus, c.State)
	}
	return w.Flush()
}
