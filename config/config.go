// Package config reads the service's settings from the environment, once, at
// process start.
package config

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/bank/caseservice/routing"
)

// Config holds every setting of the API, the worker and casectl.
type Config struct {
	// DatabaseURL is a pgx connection string.
	DatabaseURL string
	// DatabaseMaxConns bounds each process's pool.
	DatabaseMaxConns int32
	// DatabaseCaseReads bounds the API's reads of single cases in flight,
	// and apart from them its reads of customers' pages: one of a kind while
	// that many of it wait; those that wait go in batches (store.BatchReads).
	// 0: no bound, no batches.
	DatabaseCaseReads int
	Temporal          Temporal
	// HTTPAddr is where the API listens.
	HTTPAddr string
	// WorkerHTTPAddr is where the worker serves /healthz and /readyz.
	WorkerHTTPAddr string
	// CodecServer is the operators' codec server (cmd/casecodec).
	CodecServer CodecServer
	// PprofAddr and WorkerPprofAddr, if set, are where the API and the
	// worker serve /debug/pprof/.
	PprofAddr       string
	WorkerPprofAddr string
	// WorkerCacheSize bounds the case workflows a worker keeps in memory
	// between tasks; the rest replay their history when they next run.
	WorkerCacheSize int
	// WorkerPollers fixes the worker's pollers per kind of task; 0 lets
	// their number follow the server's backlog.
	WorkerPollers int
	// RequestTimeout bounds every API request, Temporal round trips included.
	RequestTimeout time.Duration
	// RateLimit requests per RateWindow per token subject and API process.
	RateLimit  int
	RateWindow time.Duration
	// CORSOrigins are the browser origins allowed to call the API; empty: none.
	CORSOrigins string
	Auth        Auth
	Lifecycle   Lifecycle
	Delivery    Delivery
	// ResolutionCodes are the codes a case may be resolved or closed with.
	ResolutionCodes []string
	// Routing puts each new case in a queue.
	Routing routing.Rules
	// LogLevel is a zap level name (debug, info, warn, error).
	LogLevel string
	// LogDevelopment switches zap to its human-readable console encoder.
	LogDevelopment bool
}

// Temporal says how to reach the Temporal cluster.
type Temporal struct {
	Address   string
	Namespace string
	// TLSCertFile and TLSKeyFile enable mTLS (self-hosted or Temporal Cloud).
	TLSCertFile string
	TLSKeyFile  string
	// TLSCAFile pins the server CA; empty uses the system roots.
	TLSCAFile string
	// TLSServerName overrides the name checked on the server certificate.
	TLSServerName string
	// APIKey authenticates to Temporal Cloud; it implies TLS.
	APIKey string
	// GzipRequests compresses what the SDK sends. The SDK's default is on;
	// ours is off: requests are a few KB, and each concurrent call held a
	// deflate writer of several hundred KB (docs/BENCHMARKS.md, P4).
	GzipRequests bool
	// Codec encrypts every payload sent to Temporal.
	Codec Codec
}

// Codec holds the key ring that encrypts what the service sends to Temporal.
type Codec struct {
	// Keys is the ring inline (id:base64-secret, comma-separated, newest
	// first); KeysFile names a file holding it, one key per line. One of them.
	Keys     string
	KeysFile string
	// DevRing is set when KeysFile is the dev ring, made on first use.
	DevRing bool
	// Compress deflates payloads before they are encrypted.
	Compress bool
}

// CodecServer configures the codec server that the Temporal UI and CLI call.
type CodecServer struct {
	Addr string
	// Origins are the Temporal UI origins that may call from a browser.
	Origins []string
	// DecodesPerMinute bounds each operator's decode calls.
	DecodesPerMinute int
}

// DevCodecKeysFile holds the dev key ring, as the dev signing key sits beside it.
const DevCodecKeysFile = ".data/dev-codec-keys"

// TLS reports whether the connection to Temporal uses TLS.
func (t Temporal) TLS() bool { return t.TLSCertFile != "" || t.TLSCAFile != "" || t.APIKey != "" }

// Auth says how bearer tokens are checked.
type Auth struct {
	// DevIssuer trusts tokens signed by the key in DevKeyFile (created on
	// first use) instead of an identity provider; for local development only.
	DevIssuer  bool
	DevKeyFile string
	// Issuer and Audience are required claims of every token. Without
	// JWKSURL the keys are found by OpenID discovery at the issuer.
	Issuer   string
	Audience string
	JWKSURL  string
	// Algorithms allowed in token headers.
	Algorithms []string
	// Leeway tolerated on exp, nbf and iat.
	Leeway time.Duration
	// KeyRefreshMin is the least time between two fetches of the JWKS.
	KeyRefreshMin time.Duration
	// CacheSize verified tokens are remembered for at most CacheMaxAge.
	CacheSize   int
	CacheMaxAge time.Duration
}

// Lifecycle holds the time rules new cases are registered under.
type Lifecycle struct {
	// AutoCloseAfter closes a Resolved case not reopened within it.
	AutoCloseAfter time.Duration
	// ResolveWithin is the resolution deadline (SLA) by importance.
	ResolveWithin map[string]time.Duration
	// CallbackMaxRetry bounds the retries of one callback delivery.
	CallbackMaxRetry time.Duration
	// NoticeMaxRetry bounds the retries of escalation and customer notices.
	NoticeMaxRetry time.Duration
	// MaxHistoryEvents continues a case's workflow as new past this length.
	MaxHistoryEvents int
}

// Delivery says where callbacks and notices go. An empty URL or SMTP host
// sends that kind to the Postgres outbox instead.
type Delivery struct {
	Callback   Webhook
	Escalation Webhook
	Notice     Webhook
	SMTP       SMTP
}

// Webhook is a receiver of signed JSON posts.
type Webhook struct {
	URL    string
	Secret string
}

// SMTP is the mail server for email notices.
type SMTP struct {
	Host     string
	Port     int
	From     string
	Username string
	Password string
	// TLS is starttls, tls or none.
	TLS string
}

// DevIssuer and DevAudience are the defaults used with the dev issuer.
const (
	DevIssuer   = "caseservice-dev"
	DevAudience = "case-api"
)

// list splits a comma-separated setting, dropping blanks.
// DefaultResolutionCodes is the list of resolution codes unless
// CASE_RESOLUTION_CODES gives the bank's own: outcomes of complaints
// (upheld, partly upheld, rejected, explained, withdrawn, referred to the
// ombudsman) and of service requests (fulfilled, declined, duplicate, no
// reply from the customer).
var DefaultResolutionCodes = []string{
	"ComplaintUpheld", "ComplaintPartlyUpheld", "ComplaintRejected", "Explained", "Withdrawn",
	"ReferredToOmbudsman", "RequestFulfilled", "RequestDeclined", "Duplicate", "NoCustomerReply",
}

func list(value string) []string {
	var out []string
	for _, v := range strings.Split(value, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// Load reads the configuration through getenv (os.Getenv in production).
func Load(getenv func(string) string) (Config, error) {
	env := func(key, def string) string {
		if v := getenv(key); v != "" {
			return v
		}
		return def
	}
	var errs []error
	duration := func(key, def string) time.Duration {
		d, err := time.ParseDuration(env(key, def))
		if err != nil || d <= 0 {
			errs = append(errs, fmt.Errorf("%s: want a positive duration such as 30s", key))
		}
		return d
	}
	// integer reads a whole number no smaller than least (0 or 1).
	integer := func(key, def string, least int) int {
		n, err := strconv.Atoi(env(key, def))
		if err != nil || n < least {
			want := "a positive integer"
			if least == 0 {
				want = "0 or a positive integer"
			}
			errs = append(errs, fmt.Errorf("%s: want %s", key, want))
		}
		return n
	}
	boolean := func(key, def string) bool {
		b, err := strconv.ParseBool(env(key, def))
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: want true or false", key))
		}
		return b
	}
	c := Config{
		DatabaseURL:       env("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/cases"),
		DatabaseMaxConns:  int32(integer("DATABASE_MAX_CONNS", "16", 1)),
		DatabaseCaseReads: integer("DATABASE_CASE_READS", "4", 0),
		Temporal: Temporal{
			Address:       env("TEMPORAL_ADDRESS", "127.0.0.1:7233"),
			Namespace:     env("TEMPORAL_NAMESPACE", "default"),
			TLSCertFile:   getenv("TEMPORAL_TLS_CERT"),
			TLSKeyFile:    getenv("TEMPORAL_TLS_KEY"),
			TLSCAFile:     getenv("TEMPORAL_TLS_CA"),
			TLSServerName: getenv("TEMPORAL_TLS_SERVER_NAME"),
			APIKey:        getenv("TEMPORAL_API_KEY"),
			Codec: Codec{
				Keys:     getenv("CASE_CODEC_KEYS"),
				KeysFile: getenv("CASE_CODEC_KEYS_FILE"),
				Compress: boolean("CASE_CODEC_COMPRESS", "false"),
			},
		},
		HTTPAddr:       env("HTTP_ADDR", "127.0.0.1:8080"),
		WorkerHTTPAddr: env("WORKER_HTTP_ADDR", "127.0.0.1:8081"),
		CodecServer: CodecServer{
			Addr:             env("CODEC_HTTP_ADDR", "127.0.0.1:8234"),
			Origins:          list(getenv("CODEC_CORS_ORIGINS")),
			DecodesPerMinute: integer("CODEC_DECODES_PER_MINUTE", "600", 1),
		},
		PprofAddr: getenv("PPROF_ADDR"),
		// About 100 KB per cached case (measured, docs/BENCHMARKS.md).
		WorkerCacheSize: integer("WORKER_CACHE_SIZE", "1000", 1),
		WorkerPollers:   integer("WORKER_POLLERS", "0", 0),
		RequestTimeout:  duration("REQUEST_TIMEOUT", "30s"),
		RateLimit:       integer("RATE_LIMIT", "600", 1),
		RateWindow:      duration("RATE_WINDOW", "1m"),
		CORSOrigins:     getenv("CORS_ALLOW_ORIGINS"),
		Auth: Auth{
			DevIssuer:     boolean("AUTH_DEV_ISSUER", "false"),
			DevKeyFile:    env("AUTH_DEV_KEY_FILE", ".data/dev-signing-key.json"),
			Audience:      env("AUTH_AUDIENCE", DevAudience),
			JWKSURL:       getenv("AUTH_JWKS_URL"),
			Algorithms:    strings.Split(env("AUTH_ALGORITHMS", "RS256,ES256,PS256"), ","),
			Leeway:        duration("AUTH_LEEWAY", "30s"),
			KeyRefreshMin: duration("AUTH_JWKS_REFRESH_MIN", "1m"),
			CacheSize:     integer("AUTH_CACHE_SIZE", "10000", 0),
			CacheMaxAge:   duration("AUTH_CACHE_MAX_AGE", "5m"),
		},
		ResolutionCodes: list(env("CASE_RESOLUTION_CODES", strings.Join(DefaultResolutionCodes, ","))),
		Lifecycle: Lifecycle{
			AutoCloseAfter: duration("CASE_AUTO_CLOSE_AFTER", "168h"),
			ResolveWithin: map[string]time.Duration{
				"Low":      duration("CASE_SLA_LOW", "120h"),
				"Standard": duration("CASE_SLA_STANDARD", "48h"),
				"High":     duration("CASE_SLA_HIGH", "4h"),
				"Critical": duration("CASE_SLA_CRITICAL", "1h"),
			},
			CallbackMaxRetry: duration("CASE_CALLBACK_MAX_RETRY", "1h"),
			NoticeMaxRetry:   duration("CASE_NOTICE_MAX_RETRY", "24h"),
			MaxHistoryEvents: integer("CASE_MAX_HISTORY_EVENTS", "10000", 1),
		},
		Delivery: Delivery{
			Callback:   Webhook{URL: getenv("CASE_CALLBACK_WEBHOOK_URL"), Secret: getenv("CASE_CALLBACK_WEBHOOK_SECRET")},
			Escalation: Webhook{URL: getenv("CASE_ESCALATION_WEBHOOK_URL"), Secret: getenv("CASE_ESCALATION_WEBHOOK_SECRET")},
			Notice:     Webhook{URL: getenv("CASE_NOTICE_WEBHOOK_URL"), Secret: getenv("CASE_NOTICE_WEBHOOK_SECRET")},
			SMTP: SMTP{
				Host:     getenv("CASE_SMTP_HOST"),
				Port:     integer("CASE_SMTP_PORT", "587", 1),
				From:     env("CASE_SMTP_FROM", "cases@bank.example"),
				Username: getenv("CASE_SMTP_USERNAME"),
				Password: getenv("CASE_SMTP_PASSWORD"),
				TLS:      env("CASE_SMTP_TLS", "starttls"),
			},
		},
		LogLevel:       env("LOG_LEVEL", "info"),
		LogDevelopment: boolean("LOG_DEVELOPMENT", "false"),
	}
	// "none": every new case goes to the default queue.
	spec := env("CASE_ROUTING", routing.DefaultSpec)
	if spec == "none" {
		spec = ""
	}
	var err error
	if c.Routing, err = routing.Parse(spec, env("CASE_DEFAULT_QUEUE", routing.DefaultQueue)); err != nil {
		errs = append(errs, fmt.Errorf("CASE_ROUTING: %w", err))
	}
	c.Auth.Issuer = getenv("AUTH_ISSUER")
	switch {
	case c.Auth.DevIssuer && c.Auth.Issuer == "":
		c.Auth.Issuer = DevIssuer
	case !c.Auth.DevIssuer && c.Auth.Issuer == "":
		errs = append(errs, errors.New("AUTH_ISSUER: required (the identity provider), unless AUTH_DEV_ISSUER=true for local development"))
	}
	switch codec := &c.Temporal.Codec; {
	case codec.Keys != "" && codec.KeysFile != "":
		errs = append(errs, errors.New("CASE_CODEC_KEYS and CASE_CODEC_KEYS_FILE: one of them, not both"))
	case codec.Keys == "" && codec.KeysFile == "" && c.Auth.DevIssuer:
		codec.KeysFile, codec.DevRing = DevCodecKeysFile, true
	case codec.Keys == "" && codec.KeysFile == "":
		errs = append(errs, errors.New("CASE_CODEC_KEYS or CASE_CODEC_KEYS_FILE: required (the key ring that encrypts case data in Temporal; casectl codec-key makes a key), unless AUTH_DEV_ISSUER=true for local development"))
	}
	for _, origin := range c.CodecServer.Origins {
		if u, err := url.Parse(origin); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Path != "" || u.RawQuery != "" {
			errs = append(errs, fmt.Errorf("CODEC_CORS_ORIGINS: %q is not an origin such as https://temporal-ui.bank.example", origin))
		}
	}
	for _, alg := range c.Auth.Algorithms {
		if !strings.HasPrefix(alg, "RS") && !strings.HasPrefix(alg, "ES") && !strings.HasPrefix(alg, "PS") && alg != "EdDSA" {
			errs = append(errs, fmt.Errorf("AUTH_ALGORITHMS: %q is not an asymmetric signature algorithm", alg))
		}
	}
	if 2*c.DatabaseCaseReads > int(c.DatabaseMaxConns) {
		errs = append(errs, errors.New("DATABASE_CASE_READS: at most half of DATABASE_MAX_CONNS (reads by id and customers' pages each take that many), so other queries still get a connection"))
	}
	if (c.Temporal.TLSCertFile == "") != (c.Temporal.TLSKeyFile == "") {
		errs = append(errs, errors.New("TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY go together"))
	}
	webhooks := []struct {
		name string
		hook Webhook
	}{{"CALLBACK", c.Delivery.Callback}, {"ESCALATION", c.Delivery.Escalation}, {"NOTICE", c.Delivery.Notice}}
	for _, w := range webhooks {
		if w.hook.URL != "" && len(w.hook.Secret) < 16 {
			errs = append(errs, fmt.Errorf("CASE_%s_WEBHOOK_SECRET: at least 16 characters, to sign what goes to CASE_%s_WEBHOOK_URL", w.name, w.name))
		}
	}
	switch compression := env("TEMPORAL_GRPC_COMPRESSION", "none"); compression {
	case "none", "gzip":
		c.Temporal.GzipRequests = compression == "gzip"
	default:
		errs = append(errs, errors.New("TEMPORAL_GRPC_COMPRESSION: want none or gzip"))
	}
	switch c.Delivery.SMTP.TLS {
	case "starttls", "tls", "none":
	default:
		errs = append(errs, errors.New("CASE_SMTP_TLS: want starttls, tls or none"))
	}
	if err := errors.Join(errs...); err != nil {
		return Config{}, fmt.Errorf("configuration: %w", err)
	}
	return c, nil
}
