// Command casectl is the operator's and developer's command-line tool.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.uber.org/zap"

	"github.com/bank/caseservice/api"
	"github.com/bank/caseservice/casefile"
	"github.com/bank/caseservice/cmd/casectl/bench"
	"github.com/bank/caseservice/config"
	"github.com/bank/caseservice/internal/platform/devissuer"
	"github.com/bank/caseservice/internal/platform/encryption"
	"github.com/bank/caseservice/internal/platform/temporalclient"
	"github.com/bank/caseservice/internal/reconcile"
	"github.com/bank/caseservice/migrations"
	"github.com/bank/caseservice/store"
	"github.com/bank/caseservice/workflows"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "casectl:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, out io.Writer) error {
	cfg, err := config.Load(devIssuerByDefault(os.Getenv))
	if err != nil {
		return err
	}
	root := &cobra.Command{
		Use:           "casectl",
		Short:         "Operate and develop the Customer Case service",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetArgs(args)
	root.SetOut(out)
	root.AddCommand(tokenCommand(cfg), migrateCommand(cfg), temporalCommand(cfg), casesCommand(cfg),
		callbacksCommand(cfg), searchAttributesCommand(), seedCommand(cfg), reconcileCommand(cfg), codecKeyCommand(), operateCommand(cfg), replayCommand(cfg), followCommand(cfg))
	root.AddCommand(bench.Commands(cfg, func(ctx context.Context, fn func(*store.Store, *reconcile.Reconciler) error) error {
		return withReconciler(ctx, cfg, fn)
	})...)
	return root.ExecuteContext(ctx)
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

func tokenCommand(cfg config.Config) *cobra.Command {
	var claims devissuer.Claims
	var scope string
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Print a bearer token signed by the dev issuer (on the last line)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if claims.TTL <= 0 {
				return errors.New("--ttl must be positive")
			}
			claims.Scopes = strings.Fields(scope)
			issuer, err := devissuer.Load(cfg.Auth.DevKeyFile, cfg.Auth.Issuer, cfg.Auth.Audience)
			if err != nil {
				return err
			}
			tok, err := issuer.Token(claims)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(cmd.OutOrStdout(), tok)
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&claims.Subject, "subject", "dev-agent", "token subject (sub), recorded as who made changes")
	f.StringVar(&claims.Name, "name", "", "display name claim (defaults to the subject where used)")
	f.StringVar(&scope, "scope", "case:read case:write", "space-separated scopes")
	f.DurationVar(&claims.TTL, "ttl", 12*time.Hour, "lifetime of the token, e.g. 1s, 15m, 12h")
	f.StringVar(&claims.CustomerID, "customer-id", "", "make a customer token, limited to this customer's cases")
	return cmd
}

func codecKeyCommand() *cobra.Command {
	var id string
	cmd := &cobra.Command{
		Use:   "codec-key",
		Short: "Print a new random key as a key ring entry (id:base64-secret) for CASE_CODEC_KEYS",
		Long: "Prints a fresh AES-256 key as one entry of the codec key ring. To rotate, put the new entry\n" +
			"first in CASE_CODEC_KEYS (or the CASE_CODEC_KEYS_FILE), keep the old ones after it, and restart\n" +
			"the worker, the API and the codec server; docs/SECURITY.md says when an old key may go.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			entry, err := encryption.NewKey(id)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(cmd.OutOrStdout(), entry)
			return err
		},
	}
	cmd.Flags().StringVar(&id, "id", time.Now().UTC().Format("2006-01-02"), "key id, shown in every payload it encrypts; never reuse one")
	return cmd
}

func migrateCommand(cfg config.Config) *cobra.Command {
	return &cobra.Command{
		Use:   "migrate",
		Short: "Apply pending database migrations to DATABASE_URL",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withStore(cmd.Context(), cfg, func(_ *store.Store) error { return nil }, true, cmd.OutOrStdout())
		},
	}
}

// withStore opens the database, optionally migrates it, and runs fn.
func withStore(ctx context.Context, cfg config.Config, fn func(*store.Store) error, migrate bool, out io.Writer) error {
	pool, err := store.Connect(ctx, cfg.DatabaseURL, 2, nil)
	if err != nil {
		return err
	}
	defer pool.Close()
	if migrate {
		if err := migrations.Up(ctx, pool); err != nil {
			return err
		}
		fmt.Fprintln(out, "migrations applied")
	}
	return fn(store.New(pool))
}

func temporalCommand(cfg config.Config) *cobra.Command {
	cmd := &cobra.Command{Use: "temporal", Short: "Prepare a Temporal namespace for the service"}
	cmd.AddCommand(&cobra.Command{
		Use:   "setup",
		Short: "Register the search attributes the case workflows use (those missing) on TEMPORAL_NAMESPACE",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			tc, err := temporalclient.Dial(cmd.Context(), cfg.Temporal, temporalclient.Options{Logger: zap.NewNop()})
			if err != nil {
				return err
			}
			defer tc.Close()
			ops := tc.OperatorService()
			have, err := ops.ListSearchAttributes(cmd.Context(), &operatorservice.ListSearchAttributesRequest{Namespace: cfg.Temporal.Namespace})
			if err != nil {
				return fmt.Errorf("list search attributes: %w", err)
			}
			missing := map[string]enumspb.IndexedValueType{}
			for _, key := range workflows.SearchAttributeKeys {
				if _, ok := have.GetCustomAttributes()[key.GetName()]; !ok {
					missing[key.GetName()] = key.GetValueType()
				}
			}
			if len(missing) > 0 {
				if _, err := ops.AddSearchAttributes(cmd.Context(), &operatorservice.AddSearchAttributesRequest{
					Namespace: cfg.Temporal.Namespace, SearchAttributes: missing,
				}); err != nil {
					return fmt.Errorf("add search attributes: %w", err)
				}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "search attributes ready on %s (%d added)\n", cfg.Temporal.Namespace, len(missing))
			return nil
		},
	})
	return cmd
}

func casesCommand(cfg config.Config) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{Use: "cases", Short: "Read cases from Postgres as the API serves them"}
	cmd.PersistentFlags().BoolVar(&asJSON, "json", false, "print JSON")

	var filter store.CaseFilter
	var state, listing string
	var page store.Page
	list := &cobra.Command{
		Use:   "list",
		Short: "List cases, newest first (active ones unless --state), or as GET /cases lists them (--query)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			q, err := casesQuery(listing, state, filter, page)
			if err != nil {
				return err
			}
			return withStore(cmd.Context(), cfg, func(st *store.Store) error {
				found, err := st.Cases(cmd.Context(), q)
				if err != nil {
					return err
				}
				return printCases(cmd.OutOrStdout(), found.Cases, asJSON)
			}, false, cmd.OutOrStdout())
		},
	}
	list.Flags().StringVar(&state, "state", "", "Accepted, Resolved or Closed")
	list.Flags().StringVar(&filter.CustomerID, "customer-id", "", "only this customer's cases")
	list.Flags().StringVar(&filter.CaseType, "case-type", "", "only cases of this type")
	list.Flags().IntVar(&page.Number, "page", 1, "page number")
	list.Flags().IntVar(&page.Size, "size", 20, "cases per page")
	list.Flags().StringVar(&listing, "query", "", "a GET /cases query, e.g. 'queue=cards&assignee-id=none&sort=resolve-by' (in place of the other flags)")
	list.MarkFlagsMutuallyExclusive("query", "state")
	list.MarkFlagsMutuallyExclusive("query", "customer-id")
	list.MarkFlagsMutuallyExclusive("query", "case-type")

	get := &cobra.Command{
		Use:   "get CASE-ID",
		Short: "Show one case",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withStore(cmd.Context(), cfg, func(st *store.Store) error {
				c, err := st.Case(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				return printCases(cmd.OutOrStdout(), []casefile.Case{c}, asJSON)
			}, false, cmd.OutOrStdout())
		},
	}

	history := &cobra.Command{
		Use:   "history CASE-ID",
		Short: "Show a case's recorded changes, oldest first",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withStore(cmd.Context(), cfg, func(st *store.Store) error {
				entries := []casefile.HistoryEntry{}
				q := store.HistoryQuery{CaseID: args[0], Page: store.Page{Number: 1, Size: 1000}}
				for {
					found, err := st.History(cmd.Context(), q)
					if err != nil {
						return err
					}
					entries = append(entries, found.Entries...)
					if !found.More {
						break
					}
					q.AfterVersion = entries[len(entries)-1].Case.Version
				}
				if asJSON {
					return json.NewEncoder(cmd.OutOrStdout()).Encode(entries)
				}
				w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 2, ' ', 0)
				fmt.Fprintln(w, "VERSION\tAT\tCHANGE\tSTATE\tBY\tNOTE")
				for _, e := range entries {
					fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%s\n", e.Case.Version, e.Case.UpdatedAt.Format(time.RFC3339),
						e.Change, e.Case.State, e.Case.UpdatedByID, e.Note)
				}
				return w.Flush()
			}, false, cmd.OutOrStdout())
		},
	}
	cmd.AddCommand(list, get, history)
	return cmd
}

// casesQuery is the listing casectl cases list asks for: a GET /cases query
// as the API reads it, or the flags.
func casesQuery(listing, state string, filter store.CaseFilter, page store.Page) (store.CaseQuery, error) {
	if listing != "" {
		values, err := url.ParseQuery(listing)
		if err != nil {
			return store.CaseQuery{}, fmt.Errorf("--query: %w", err)
		}
		q, err := api.ParseCaseListing(values)
		if err != nil {
			return store.CaseQuery{}, fmt.Errorf("--query: %w", err)
		}
		return q, nil
	}
	if state != "" {
		if !slices.Contains(casefile.States, casefile.State(state)) {
			return store.CaseQuery{}, fmt.Errorf("--state %q: want Accepted, Resolved or Closed", state)
		}
		filter.States = []casefile.State{casefile.State(state)}
	}
	if page.Number < 1 || page.Size < 1 || page.Size > 1000 {
		return store.CaseQuery{}, errors.New("--page must be at least 1 and --size 1 to 1000")
	}
	return store.CaseQuery{Filter: filter, Page: page}, nil
}

// orDash shows an absent value as "-".
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func printCases(out io.Writer, cases []casefile.Case, asJSON bool) error {
	if asJSON {
		return json.NewEncoder(out).Encode(cases)
	}
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "CASE\tCLASS\tTYPE\tCUSTOMER\tSTATE\tIMPORTANCE\tQUEUE\tASSIGNEE\tREGISTERED\tVERSION")
	for _, c := range cases {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\n", c.ID, c.Class, c.Type, c.CustomerID, c.State, c.Importance,
			orDash(c.Queue), orDash(c.AssigneeID), c.RegisteredAt.Format(time.RFC3339), c.Version)
	}
	return w.Flush()
}

func callbacksCommand(cfg config.Config) *cobra.Command {
	var status string
	var limit int
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "callbacks",
		Short: "List callback requests and their delivery status",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch casefile.CallbackStatus(status) {
			case "", casefile.CallbackScheduled, casefile.CallbackDelivered, casefile.CallbackFailed, casefile.CallbackCancelled:
			default:
				return fmt.Errorf("--status %q: want Scheduled, Delivered, Failed or Cancelled", status)
			}
			return withStore(cmd.Context(), cfg, func(st *store.Store) error {
				found, err := st.Callbacks(cmd.Context(), casefile.CallbackStatus(status), limit)
				if err != nil {
					return err
				}
				if asJSON {
					return json.NewEncoder(cmd.OutOrStdout()).Encode(found)
				}
				w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 2, ' ', 0)
				fmt.Fprintln(w, "CASE\tPARTY\tCATEGORRY\tCALLBACK AT\tSTATUS\tSTATE")
				for _, c := range found {
					at := ""
					if c.CallbackAt != nil {
						at = c.CallbackAt.Format(time.RFC3339)
					}
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", c.ID, c.CustomerID, c.Categorry, at, c.CallbackStatus, c.State)
				}
				return w.Flush()
			}, false, cmd.OutOrStdout())
		},
	}
	cmd.Flags().StringVar(&status, "status", "", "only callbacks in this status: Scheduled, Delivered, Failed or Cancelled")
	cmd.Flags().IntVar(&limit, "limit", 50, "most rows to list")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func seedCommand(cfg config.Config) *cobra.Command {
	spec := store.SeedSpec{}
	cmd := &cobra.Command{
		Use:   "seed",
		Short: "Fill Postgres fast (COPY) with generated cases, to measure reads at scale",
		Long: "Generated cases spread over customers, classes, states, importances and two years of\n" +
			"registration dates. They have no workflow (changes to them answer 409) and no history rows.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withStore(cmd.Context(), cfg, func(st *store.Store) error {
				start := time.Now()
				first, last, err := st.Seed(cmd.Context(), spec, time.Now())
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "seeded %d cases %s..%s over %d customers in %s\n",
					spec.Cases, first, last, spec.Customers, time.Since(start).Round(time.Millisecond))
				return nil
			}, false, cmd.OutOrStdout())
		},
	}
	cmd.Flags().IntVar(&spec.Cases, "cases", 100_000, "cases to generate")
	cmd.Flags().IntVar(&spec.Customers, "customers", 20_000, "distinct customers")
	cmd.Flags().DurationVar(&spec.Span, "span", 2*365*24*time.Hour, "how far back registration dates reach")
	cmd.Flags().Uint64Var(&spec.Seed, "seed", 1, "random seed, for repeatable data")
	return cmd
}

func searchAttributesCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "search-attributes",
		Short: "Print the Temporal search attributes the workflows use, as NAME=TYPE",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			for _, def := range workflows.SearchAttributeDefinitions() {
				fmt.Fprintln(cmd.OutOrStdout(), def)
			}
			return nil
		},
	}
}
