package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bank/caseservice/casefile"
	"github.com/bank/caseservice/config"
	"github.com/bank/caseservice/internal/pgtest"
	"github.com/bank/caseservice/internal/platform/auth"
	"github.com/bank/caseservice/internal/platform/devissuer"
	"github.com/bank/caseservice/store"
)

func TestTokenMintsWhatTheAPIAccepts(t *testing.T) {
	keyFile := filepath.Join(t.TempDir(), "key.json")
	t.Setenv("AUTH_DEV_KEY_FILE", keyFile)
	var out bytes.Buffer
	err := run(context.Background(), []string{"token", "--subject", "teller-4", "--customer-id", "C1", "--ttl", "5m", "--scope", "case:read"}, &out)
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")

	issuer, err := devissuer.Load(keyFile, config.DevIssuer, config.DevAudience)
	require.NoError(t, err)
	keys, err := issuer.PublicKeys()
	require.NoError(t, err)
	v := auth.NewVerifier(auth.Options{Keys: auth.StaticKeys{Keys: keys}, Issuer: config.DevIssuer, Audience: config.DevAudience,
		Algorithms: auth.DefaultAlgorithms, Leeway: time.Second})
	p, err := v.Verify(context.Background(), lines[len(lines)-1])
	require.NoError(t, err)
	require.Equal(t, auth.Principal{Subject: "teller-4", Scopes: []string{"case:read"}, CustomerID: "C1"}, p)
}

func TestBadFlagsAreRefused(t *testing.T) {
	t.Setenv("AUTH_DEV_KEY_FILE", filepath.Join(t.TempDir(), "key.json"))
	require.Error(t, run(context.Background(), []string{"token", "--ttl", "0s"}, &bytes.Buffer{}))
	require.Error(t, run(context.Background(), []string{"callbacks", "--status", "Lost"}, &bytes.Buffer{}))
	require.Error(t, run(context.Background(), []string{"cases", "list", "--state", "Open"}, &bytes.Buffer{}))
	require.Error(t, run(context.Background(), []string{"no-such-command"}, &bytes.Buffer{}))
}

func TestSearchAttributesAreListedForTheCLI(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), []string{"search-attributes"}, &out))
	require.Contains(t, out.String(), "CaseState=Keyword\n")
	require.Contains(t, out.String(), "CallbackAt=Datetime\n")
}

func TestCasesListTakesTheAPIsQuery(t *testing.T) {
	pool, dbURL := pgtest.New(t)
	_, _, err := store.New(pool).Seed(context.Background(), store.SeedSpec{Cases: 400, Customers: 10, Span: time.Hour, Seed: 3}, time.Now())
	require.NoError(t, err)
	t.Setenv("DATABASE_URL", dbURL)
	t.Setenv("AUTH_DEV_KEY_FILE", filepath.Join(t.TempDir(), "key.json"))
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), []string{"cases", "list", "--json", "--query", "queue=cards&state=Accepted,Resolved,Closed&page-size=100"}, &out))
	var cases []casefile.Case
	require.NoError(t, json.Unmarshal(out.Bytes(), &cases))
	require.NotEmpty(t, cases)
	for _, c := range cases {
		require.Equal(t, "cards", c.Queue)
	}
	require.ErrorContains(t, run(context.Background(), []string{"cases", "list", "--query", "sort=newest"}, &bytes.Buffer{}), "--query: sort")
	require.Error(t, run(context.Background(), []string{"cases", "list", "--query", "queue=cards", "--state", "Closed"}, &bytes.Buffer{}))
}
