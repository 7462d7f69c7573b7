// Package temporalclient connects to Temporal as configured: a dev server, a
// self-hosted cluster or Temporal Cloud.
package temporalclient

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/uber-go/tally/v4"
	tallyprom "github.com/uber-go/tally/v4/prometheus"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"go.temporal.io/sdk/contrib/opentelemetry"
	sdktally "go.temporal.io/sdk/contrib/tally"
	"go.temporal.io/sdk/interceptor"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/workflow"
	"go.uber.org/zap"

	"github.com/bank/caseservice/config"
	"github.com/bank/caseservice/internal/platform/encryption"
	"github.com/bank/caseservice/internal/platform/logging"
	"github.com/bank/caseservice/internal/platform/metrics"
	"github.com/bank/caseservice/internal/platform/requestid"
)

// Options are what the process adds to its Temporal client.
type Options struct {
	Logger *zap.Logger
	// Metrics, if set, receives the SDK's own metrics (workflow task latency,
	// schedule-to-start, pollers, ...) for /metrics.
	Metrics *prometheus.Registry
	// Tracer, if set, traces client calls, workflows and activities, carrying
	// the span context in Temporal headers.
	Tracer trace.TracerProvider
	// PlainPayloads leaves payloads unencrypted. Only the load tool's
	// comparison of the create path with and without the codec sets it; no
	// setting of the service does.
	PlainPayloads bool
}

// Dial connects to Temporal and checks that the namespace answers.
func Dial(ctx context.Context, cfg config.Temporal, o Options) (client.Client, error) {
	opts := client.Options{
		HostPort:           cfg.Address,
		Namespace:          cfg.Namespace,
		Logger:             logging.Temporal(o.Logger),
		ContextPropagators: []workflow.ContextPropagator{requestid.Propagator{}},
		ConnectionOptions:  client.ConnectionOptions{GrpcCompression: &client.GrpcCompressionNone{}},
	}
	if cfg.GzipRequests {
		opts.ConnectionOptions.GrpcCompression = &client.GrpcCompressionGzip{}
	}
	if o.Tracer != nil {
		tracing, err := opentelemetry.NewTracingInterceptor(opentelemetry.TracerOptions{
			Tracer:            o.Tracer.Tracer("temporal"),
			TextMapPropagator: propagation.TraceContext{},
		})
		if err != nil {
			return nil, fmt.Errorf("temporal tracing: %w", err)
		}
		opts.Interceptors = []interceptor.ClientInterceptor{tracing}
	}
	if registry := o.Metrics; registry != nil {
		scope, _ := tally.NewRootScope(tally.ScopeOptions{
			// Histograms rather than the default summaries: they add up across
			// processes and give the quantiles of any interval.
			CachedReporter: tallyprom.NewReporter(tallyprom.Options{
				Registerer:              registry,
				DefaultTimerType:        tallyprom.HistogramTimerType,
				DefaultHistogramBuckets: metrics.LatencyBuckets(),
			}),
			Separator:       tallyprom.DefaultSeparator,
			SanitizeOptions: &sdktally.PrometheusSanitizeOptions,
		}, time.Second)
		opts.MetricsHandler = sdktally.NewMetricsHandler(scope)
	}
	if cfg.TLS() {
		tlsConfig, err := tlsConfig(cfg)
		if err != nil {
			return nil, err
		}
		opts.ConnectionOptions.TLS = tlsConfig
	}
	if cfg.APIKey != "" {
		opts.Credentials = client.NewAPIKeyStaticCredentials(cfg.APIKey)
	}
	if !o.PlainPayloads {
		codec, err := encrypted(cfg.Codec, o)
		if err != nil {
			return nil, err
		}
		opts.DataConverter, opts.FailureConverter = encryption.Converters(codec)
	}
	c, err := client.DialContext(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("connect to temporal at %s: %w", cfg.Address, err)
	}
	return c, nil
}

// encrypted is the codec of the configured key ring. A payload under a key
// the ring lacks is logged and counted; the task that met it fails and is
// retried until the key is back.
func encrypted(cfg config.Codec, o Options) (*encryption.Codec, error) {
	missing := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "case_codec_missing_key_total",
		Help: "Payloads that could not be decrypted because their key is not in the key ring, by key id.",
	}, []string{"key_id"})
	if o.Metrics != nil {
		if err := o.Metrics.Register(missing); err != nil {
			return nil, fmt.Errorf("codec metrics: %w", err)
		}
	}
	codec, created, err := encryption.FromConfig(cfg, encryption.Options{
		OnMissingKey: func(keyID string) {
			missing.WithLabelValues(keyID).Inc()
			o.Logger.Error("Payload key not in the codec key ring; its task fails until the key is added back", zap.String("key-id", keyID))
		},
	})
	if err != nil {
		return nil, err
	}
	if created {
		o.Logger.Warn("Created a dev codec key ring; set CASE_CODEC_KEYS or CASE_CODEC_KEYS_FILE in production", zap.String("file", cfg.KeysFile))
	}
	return codec, nil
}

func tlsConfig(cfg config.Temporal) (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: cfg.TLSServerName}
	if cfg.TLSCertFile != "" {
		cert, err := tls.LoadX509KeyPair(cfg.TLSCertFile, cfg.TLSKeyFile)
		if err != nil {
			return nil, fmt.Errorf("load temporal client certificate: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	if cfg.TLSCAFile != "" {
		pem, err := os.ReadFile(cfg.TLSCAFile)
		if err != nil {
			return nil, fmt.Errorf("read temporal CA: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("temporal CA %s holds no PEM certificate", cfg.TLSCAFile)
		}
		tc.RootCAs = pool
	}
	return tc, nil
}
