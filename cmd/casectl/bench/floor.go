package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/spf13/cobra"
	"github.com/valyala/fasthttp"

	"github.com/bank/caseservice/casefile"
	"github.com/bank/caseservice/config"
	"github.com/bank/caseservice/store"
)

// The HTTP baseline puts the SQL baseline's two queries behind a bare
// fasthttp server in a process of its own (casectl floor-server): no token
// check, middleware, validation or JSON views, the row bytes as the body. The
// load tool reads it with the same client and routes as the API, so the
// ratio API/http is what the API adds over any Go HTTP server in front of
// pgx on this machine, and http/sql is what the hop itself costs.

// floorTimeout bounds one floor request, as the API's request timeout does.
const floorTimeout = 10 * time.Second

func floorServerCommand(cfg config.Config) *cobra.Command {
	var addr, listFilter string
	cmd := &cobra.Command{
		Use:    "floor-server",
		Short:  "Serve the SQL baseline's reads over bare HTTP until stdin closes (for load --baseline http)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return serveFloor(cmd.Context(), cfg, addr, listFilter, os.Stdin, cmd.OutOrStdout())
		},
	}
	cmd.Flags().StringVar(&addr, "addr", "127.0.0.1:0", "address to listen on")
	cmd.Flags().StringVar(&listFilter, "list-filter", "", "answer GET /cases with the store's statement for this query")
	return cmd
}

// serveFloor prints the root URL it serves on out, then serves until stop
// reaches its end (the load tool closes the pipe, or exits) or ctx ends.
func serveFloor(ctx context.Context, cfg config.Config, addr, listFilter string, stop io.Reader, out io.Writer) error {
	filtered, err := listingStatement(listFilter)
	if err != nil {
		return err
	}
	pool, err := store.Connect(ctx, cfg.DatabaseURL, cfg.DatabaseMaxConns, nil)
	if err != nil {
		return err
	}
	defer pool.Close()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	server := &fasthttp.Server{Handler: floorHandler(pool, filtered), NoDefaultServerHeader: true}
	served := make(chan error, 1)
	go func() { served <- server.Serve(ln) }()
	fmt.Fprintf(out, "http://%s\n", ln.Addr())
	stopped := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, stop)
		close(stopped)
	}()
	select {
	case <-ctx.Done():
	case <-stopped:
	case err := <-served:
		return err
	}
	return server.Shutdown()
}

// floorHandler answers GET /cases/{id} and GET /cases?customer-id=&state=
// with the baseline's queries; with filtered, every list with its statement.
func floorHandler(pool *pgxpool.Pool, filtered *statement) fasthttp.RequestHandler {
	return func(c *fasthttp.RequestCtx) {
		path := string(c.Path())
		id, isGet := strings.CutPrefix(path, "/cases/")
		var op string
		var t readTarget
		switch {
		case isGet && id != "":
			op, t.id = "get", id
		case path == "/cases":
			q := c.QueryArgs()
			op, t.customer, t.state = "list", string(q.Peek("customer-id")), casefile.State(q.Peek("state"))
		default:
			c.SetStatusCode(fasthttp.StatusNotFound)
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), floorTimeout)
		defer cancel()
		sql, args := baselineQuery(op, t, filtered)
		rows, err := pool.Query(ctx, sql, args...)
		if err != nil {
			c.SetStatusCode(fasthttp.StatusInternalServerError)
			return
		}
		found := 0
		for rows.Next() {
			for _, v := range rows.RawValues() {
				_, _ = c.Write(v)
				_, _ = c.WriteString(",")
			}
			_, _ = c.WriteString("\n")
			found++
		}
		rows.Close()
		switch {
		case rows.Err() != nil:
			c.ResetBody()
			c.SetStatusCode(fasthttp.StatusInternalServerError)
		case isGet && found == 0:
			c.SetStatusCode(fasthttp.StatusNotFound)
		}
	}
}

// startHTTPBaseline starts casectl floor-server and reads it as the API is
// read: the same client settings, routes and targets.
func startHTTPBaseline(o loadOptions, m mix, tokens []string, targets *readTargets, rec *Recorder) (Do, func(), error) {
	reads, err := readsOf(m, targets)
	if err != nil {
		return nil, nil, err
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, nil, err
	}
	server := exec.Command(exe, "floor-server", "--list-filter", o.listFilter)
	server.Stderr = os.Stderr
	stop, err := server.StdinPipe()
	if err != nil {
		return nil, nil, err
	}
	announced, err := server.StdoutPipe()
	if err != nil {
		return nil, nil, err
	}
	if err := server.Start(); err != nil {
		return nil, nil, err
	}
	cleanup := func() {
		_ = stop.Close() // the server's stdin ends, and so does the server
		_ = server.Wait()
	}
	root, err := bufio.NewReader(announced).ReadString('\n')
	if err != nil {
		cleanup()
		return nil, nil, errors.New("casectl floor-server did not start; see its error above")
	}
	o.apiURL = strings.TrimSpace(root)
	floor := newAPILoad(o, reads, tokens)
	floor.targets, floor.rec = targets, rec
	return floor.do, cleanup, nil
}
