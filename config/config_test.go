package config_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bank/caseservice/casefile"
	"github.com/bank/caseservice/config"
)

func envOf(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func TestDefaults(t *testing.T) {
	cfg, err := config.Load(envOf(map[string]string{"AUTH_ISSUER": "https://login.bank.example/", "CASE_CODEC_KEYS_FILE": "/keys"}))
	require.NoError(t, err)
	require.Equal(t, "postgres://postgres@127.0.0.1:5432/cases", cfg.DatabaseURL)
	require.Equal(t, "127.0.0.1:7233", cfg.Temporal.Address)
	require.Equal(t, "127.0.0.1:8080", cfg.HTTPAddr)
	require.Equal(t, 168*time.Hour, cfg.Lifecycle.AutoCloseAfter)
	require.Equal(t, 4*time.Hour, cfg.Lifecycle.ResolveWithin["High"])
	require.Equal(t, time.Hour, cfg.Lifecycle.CallbackMaxRetry)
	require.Empty(t, cfg.Delivery.Callback.URL, "callbacks go to the outbox by default")
	require.False(t, cfg.Temporal.TLS())
	require.False(t, cfg.Auth.DevIssuer, "the dev issuer is off unless asked for")
	require.Equal(t, []string{"RS256", "ES256", "PS256"}, cfg.Auth.Algorithms)
	require.Equal(t, 4, cfg.DatabaseCaseReads)
}

func TestAnIssuerIsRequiredOutsideDevelopment(t *testing.T) {
	_, err := config.Load(envOf(nil))
	require.ErrorContains(t, err, "AUTH_ISSUER")
	cfg, err := config.Load(envOf(map[string]string{"AUTH_DEV_ISSUER": "true"}))
	require.NoError(t, err)
	require.Equal(t, config.DevIssuer, cfg.Auth.Issuer)
}

func TestAKeyRingIsRequiredOutsideDevelopment(t *testing.T) {
	_, err := config.Load(envOf(map[string]string{"AUTH_ISSUER": "https://i/"}))
	require.ErrorContains(t, err, "CASE_CODEC_KEYS or CASE_CODEC_KEYS_FILE: required")
	_, err = config.Load(envOf(map[string]string{"AUTH_ISSUER": "https://i/", "CASE_CODEC_KEYS": "k:x", "CASE_CODEC_KEYS_FILE": "/keys"}))
	require.ErrorContains(t, err, "not both")

	cfg, err := config.Load(envOf(map[string]string{"AUTH_ISSUER": "https://i/", "CASE_CODEC_KEYS_FILE": "/run/secrets/codec-keys"}))
	require.NoError(t, err)
	require.Equal(t, config.Codec{KeysFile: "/run/secrets/codec-keys"}, cfg.Temporal.Codec)
	cfg, err = config.Load(envOf(map[string]string{"AUTH_DEV_ISSUER": "true", "CASE_CODEC_COMPRESS": "true"}))
	require.NoError(t, err)
	require.Equal(t, config.Codec{KeysFile: config.DevCodecKeysFile, DevRing: true, Compress: true}, cfg.Temporal.Codec)
}

func TestCodecServerOrigins(t *testing.T) {
	cfg, err := config.Load(envOf(map[string]string{"AUTH_DEV_ISSUER": "true", "CODEC_CORS_ORIGINS": "http://127.0.0.1:8233, http://localhost:8233"}))
	require.NoError(t, err)
	require.Equal(t, config.CodecServer{Addr: "127.0.0.1:8234", Origins: []string{"http://127.0.0.1:8233", "http://localhost:8233"}, DecodesPerMinute: 600}, cfg.CodecServer)
	for _, bad := range []string{"127.0.0.1:8233", "https://ui.bank.example/", "ftp://ui"} {
		_, err := config.Load(envOf(map[string]string{"AUTH_DEV_ISSUER": "true", "CODEC_CORS_ORIGINS": bad}))
		require.ErrorContains(t, err, "CODEC_CORS_ORIGINS", bad)
	}
}

func TestSymmetricAlgorithmsAreRefused(t *testing.T) {
	_, err := config.Load(envOf(map[string]string{"AUTH_ISSUER": "https://i/", "AUTH_ALGORITHMS": "RS256,HS256"}))
	require.ErrorContains(t, err, "HS256")
}

func TestBadValuesAreAllReported(t *testing.T) {
	_, err := config.Load(envOf(map[string]string{
		"REQUEST_TIMEOUT":           "soon",
		"CASE_SLA_HIGH":             "-1h",
		"CASE_CALLBACK_WEBHOOK_URL": "https://cc.bank.example/callbacks",
		"CASE_SMTP_TLS":             "maybe",
		"TEMPORAL_TLS_CERT":         "/cert.pem",
		"TEMPORAL_GRPC_COMPRESSION": "zstd",
		"DATABASE_MAX_CONNS":        "4",
		"DATABASE_CASE_READS":       "3", // twice 3 is more than 4
	}))
	require.Error(t, err)
	for _, name := range []string{"DATABASE_CASE_READS", "REQUEST_TIMEOUT", "CASE_SLA_HIGH", "CASE_CALLBACK_WEBHOOK_SECRET", "CASE_SMTP_TLS", "TEMPORAL_TLS_KEY", "TEMPORAL_GRPC_COMPRESSION"} {
		require.ErrorContains(t, err, name)
	}
}

func TestTemporalCloudAPIKeyImpliesTLS(t *testing.T) {
	cfg, err := config.Load(envOf(map[string]string{"TEMPORAL_API_KEY": "k", "AUTH_DEV_ISSUER": "true"}))
	require.NoError(t, err)
	require.True(t, cfg.Temporal.TLS())
}

func TestTemporalRequestsAreGzippedOnlyWhenAsked(t *testing.T) {
	cfg, err := config.Load(envOf(map[string]string{"AUTH_DEV_ISSUER": "true"}))
	require.NoError(t, err)
	require.False(t, cfg.Temporal.GzipRequests)
	cfg, err = config.Load(envOf(map[string]string{"AUTH_DEV_ISSUER": "true", "TEMPORAL_GRPC_COMPRESSION": "gzip"}))
	require.NoError(t, err)
	require.True(t, cfg.Temporal.GzipRequests)
}

func TestCountsAndSizesHaveTheirFloor(t *testing.T) {
	cfg, err := config.Load(envOf(map[string]string{"AUTH_DEV_ISSUER": "true", "AUTH_CACHE_SIZE": "0"}))
	require.NoError(t, err)
	require.Zero(t, cfg.Auth.CacheSize, "0 turns the token cache off")
	_, err = config.Load(envOf(map[string]string{"AUTH_DEV_ISSUER": "true", "AUTH_CACHE_SIZE": "-1", "WORKER_CACHE_SIZE": "0", "WORKER_POLLERS": "-2"}))
	require.ErrorContains(t, err, "AUTH_CACHE_SIZE: want 0 or a positive integer")
	require.ErrorContains(t, err, "WORKER_POLLERS: want 0 or a positive integer")
	require.ErrorContains(t, err, "WORKER_CACHE_SIZE: want a positive integer")
}

func TestRouting(t *testing.T) {
	dev := map[string]string{"AUTH_DEV_ISSUER": "true"}
	cfg, err := config.Load(envOf(dev))
	require.NoError(t, err)
	require.Equal(t, "complaints", cfg.Routing.QueueFor(&casefile.Case{Class: casefile.ClassComplaint, Importance: "Low"}))

	dev["CASE_ROUTING"], dev["CASE_DEFAULT_QUEUE"] = "none", "front-office"
	cfg, err = config.Load(envOf(dev))
	require.NoError(t, err)
	require.Equal(t, "front-office", cfg.Routing.QueueFor(&casefile.Case{Class: casefile.ClassComplaint, Importance: "Low"}))

	dev["CASE_ROUTING"] = "case-class=Complaint"
	_, err = config.Load(envOf(dev))
	require.ErrorContains(t, err, "CASE_ROUTING: rule 1")
}
