// Package config reads the service's settings from the environment, once, at
// process start. Every setting, its variable and its default is listed in Load.
package config

import (
	"errors"
	"fmt"
	"strconv"
	"time"
)

// Config holds every setting of the API, the worker and casectl.
type Config struct {
	// DatabaseURL is a pgx connection string.
	DatabaseURL string
	// DatabaseMaxConns bounds each process's pool.
	DatabaseMaxConns int32
	Temporal         Temporal
	// HTTPAddr is where the API listens.
	HTTPAddr string
	// RequestTimeout bounds every API request, Temporal round trips included.
	RequestTimeout time.Duration
	Auth           Auth
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
}

// TLS reports whether the connection to Temporal uses TLS.
func (t Temporal) TLS() bool { return t.TLSCertFile != "" || t.TLSCAFile != "" || t.APIKey != "" }

// Auth says how bearer tokens are checked.
type Auth struct {
	// Issuer and Audience are required claims of every token.
	Issuer   string
	Audience string
	// JWKSURL is the identity provider's key set. Empty means the dev issuer:
	// tokens signed by the key in DevKeyFile (created on first use).
	JWKSURL    string
	DevKeyFile string
}

// DevIssuer and DevAudience are the defaults used with the dev issuer.
const (
	DevIssuer   = "caseservice-dev"
	DevAudience = "case-api"
)

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
	integer := func(key, def string) int {
		n, err := strconv.Atoi(env(key, def))
		if err != nil || n <= 0 {
			errs = append(errs, fmt.Errorf("%s: want a positive integer", key))
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
		DatabaseURL:      env("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/cases"),
		DatabaseMaxConns: int32(integer("DATABASE_MAX_CONNS", "16")),
		Temporal: Temporal{
			Address:       env("TEMPORAL_ADDRESS", "127.0.0.1:7233"),
			Namespace:     env("TEMPORAL_NAMESPACE", "default"),
			TLSCertFile:   getenv("TEMPORAL_TLS_CERT"),
			TLSKeyFile:    getenv("TEMPORAL_TLS_KEY"),
			TLSCAFile:     getenv("TEMPORAL_TLS_CA"),
			TLSServerName: getenv("TEMPORAL_TLS_SERVER_NAME"),
			APIKey:        getenv("TEMPORAL_API_KEY"),
		},
		HTTPAddr:       env("HTTP_ADDR", "127.0.0.1:8080"),
		RequestTimeout: duration("REQUEST_TIMEOUT", "30s"),
		Auth: Auth{
			Issuer:     env("AUTH_ISSUER", DevIssuer),
			Audience:   env("AUTH_AUDIENCE", DevAudience),
			JWKSURL:    getenv("AUTH_JWKS_URL"),
			DevKeyFile: env("AUTH_DEV_KEY_FILE", ".data/dev-signing-key.json"),
		},
		LogLevel:       env("LOG_LEVEL", "info"),
		LogDevelopment: boolean("LOG_DEVELOPMENT", "false"),
	}
	if (c.Temporal.TLSCertFile == "") != (c.Temporal.TLSKeyFile == "") {
		errs = append(errs, errors.New("TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY go together"))
	}
	if err := errors.Join(errs...); err != nil {
		return Config{}, fmt.Errorf("configuration: %w", err)
	}
	return c, nil
}
