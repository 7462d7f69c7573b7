package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/bank/caseservice/api"
	"github.com/bank/caseservice/config"
	"github.com/bank/caseservice/internal/platform/devissuer"
)

type followOptions struct {
	api, token, positionFile string
	pageSize                 int
	poll                     time.Duration
	once                     bool
}

func followCommand(cfg config.Config) *cobra.Command {
	var o followOptions
	cmd := &cobra.Command{
		Use:   "follow",
		Short: "Print the changes feed (GET /changes) as JSON lines, resuming from a saved position",
		Long: "Prints every history row of every case once, one JSON object a line, in the feed's order,\n" +
			"then polls for more. With --position-file the next-token is saved after each page is printed\n" +
			"and read at start, so a restarted follow goes on where it stopped; a crash between printing\n" +
			"and saving prints that page again (at least once: consumers key on case-id and version-num).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.pageSize < 1 || o.pageSize > api.MaxFeedPageSize || o.poll <= 0 {
				return fmt.Errorf("--page-size is 1 to %d and --poll positive", api.MaxFeedPageSize)
			}
			if o.token == "" {
				issuer, err := devissuer.Load(cfg.Auth.DevKeyFile, cfg.Auth.Issuer, cfg.Auth.Audience)
				if err != nil {
					return fmt.Errorf("dev issuer (or pass --token): %w", err)
				}
				if o.token, err = issuer.Token(devissuer.Claims{Subject: "casectl-follow", Scopes: []string{"case:read"}, TTL: 24 * time.Hour}); err != nil {
					return err
				}
			}
			return follow(cmd.Context(), o, cmd.OutOrStdout())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.api, "api", "http://127.0.0.1:8080/v1/case", "Case API root")
	f.StringVar(&o.token, "token", os.Getenv("CASE_TOKEN"), "bearer token of an agent or system (default $CASE_TOKEN, else a dev-issuer token)")
	f.StringVar(&o.positionFile, "position-file", "", "file holding the feed position: read at start, written after every page")
	f.IntVar(&o.pageSize, "page-size", 500, "rows asked for per request")
	f.DurationVar(&o.poll, "poll", time.Second, "wait between requests once caught up")
	f.BoolVar(&o.once, "once", false, "stop once caught up instead of polling")
	return cmd
}

func follow(ctx context.Context, o followOptions, out io.Writer) error {
	position := ""
	if o.positionFile != "" {
		raw, err := os.ReadFile(o.positionFile)
		switch {
		case err == nil:
			position = strings.TrimSpace(string(raw))
		case !errors.Is(err, os.ErrNotExist):
			return err
		}
	}
	client := &http.Client{Timeout: 30 * time.Second}
	w := bufio.NewWriter(out)
	for {
		page, err := feedPage(ctx, client, o, position)
		if err != nil {
			return err
		}
		for _, item := range page.Items {
			w.Write(item)
			w.WriteByte('\n')
		}
		if err := w.Flush(); err != nil {
			return err
		}
		if page.NextToken != position && o.positionFile != "" {
			if err := savePosition(o.positionFile, page.NextToken); err != nil {
				return err
			}
		}
		position = page.NextToken
		if len(page.Items) > 0 {
			continue
		}
		if o.once {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(o.poll):
		}
	}
}

type changesAnswer struct {
	Items     []json.RawMessage `json:"Items"`
	NextToken string            `json:"next-token"`
}

func feedPage(ctx context.Context, client *http.Client, o followOptions, after string) (changesAnswer, error) {
	query := url.Values{"page-size": {strconv.Itoa(o.pageSize)}}
	if after != "" {
		query.Set("after", after)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(o.api, "/")+"/changes?"+query.Encode(), nil)
	if err != nil {
		return changesAnswer{}, err
	}
	req.Header.Set("Authorization", "Bearer "+o.token)
	resp, err := client.Do(req)
	if err != nil {
		return changesAnswer{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return changesAnswer{}, err
	}
	if resp.StatusCode != http.StatusOK {
		return changesAnswer{}, fmt.Errorf("GET /changes: %s: %s", resp.Status, body)
	}
	var page changesAnswer
	if err := json.Unmarshal(body, &page); err != nil {
		return changesAnswer{}, fmt.Errorf("GET /changes: %w", err)
	}
	return page, nil
}

// savePosition replaces the position file in one rename, so a crash leaves
// the old position or the new one, never half of one.
func savePosition(path, token string) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".follow-*")
	if err != nil {
		return err
	}
	if _, err := tmp.WriteString(token + "\n"); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), path)
}
