// Package api serves the bank's Customer Case API on Fiber v2.
package api

import (
	"context"
	"net/http"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"github.com/gofiber/fiber/v2/middleware/cors"
	"github.com/gofiber/fiber/v2/middleware/helmet"
	"github.com/gofiber/fiber/v2/middleware/limiter"
	"github.com/gofiber/fiber/v2/middleware/recover"
	"github.com/gofiber/fiber/v2/middleware/requestid"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/zap"

	"github.com/bank/caseservice/internal/platform/auth"
	"github.com/bank/caseservice/internal/platform/metrics"
	caserequest "github.com/bank/caseservice/internal/platform/requestid"
	"github.com/bank/caseservice/routing"
)

// Root is the URL root of the Case API.
const Root = "/v1/case"

// maxBodyBytes bounds request bodies; larger ones get 413.
const maxBodyBytes = 1 << 20

// Options are the dependencies of the API.
type Options struct {
	Cases    Cases
	Verifier *auth.Verifier
	// Idempotency keeps Idempotency-Key answers; nil turns the header off
	// (handler tests only).
	Idempotency IdempotencyStore
	Logger      *zap.Logger
	// AccessLog takes the line per request; Logger if nil.
	AccessLog      *zap.Logger
	RequestTimeout time.Duration
	// Now is the clock used to judge callback times; time.Now if nil.
	Now func() time.Time
	// RateLimit is the most requests one token subject may make per
	// RateWindow in this process; 0 turns the limit off.
	RateLimit  int
	RateWindow time.Duration
	// CORSOrigins lists the browser origins allowed to call; empty: none.
	CORSOrigins string
	// Health serves /healthz and /readyz, without a token; nil: not served.
	Health http.Handler
	// Metrics are served at /metrics, without a token; nil: none kept.
	Metrics *metrics.API
	// Tracer, if set, opens a span per request; Temporal and SQL spans nest in it.
	Tracer trace.TracerProvider
	// ResolutionCodes are the codes a resolve or close may give; empty: none.
	ResolutionCodes []string
	// Routing gives each new case its queue; the zero Rules give none.
	Routing routing.Rules
	// PageTokenKeys sign the cursor page tokens (the first signs, all are
	// accepted); processes behind one address need the same. Nil: a random
	// key, for one process.
	PageTokenKeys [][]byte
}

// New builds the Fiber app serving the Case API.
func New(opts Options) *fiber.App {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.AccessLog == nil {
		opts.AccessLog = opts.Logger
	}
	handleError := errorHandler(opts.Logger)
	app := fiber.New(fiber.Config{
		AppName:               "case-api",
		ErrorHandler:          handleError,
		BodyLimit:             maxBodyBytes,
		ReadTimeout:           opts.RequestTimeout,
		WriteTimeout:          opts.RequestTimeout,
		IdleTimeout:           2 * time.Minute,
		DisableStartupMessage: true,
	})
	app.Use(requestid.New())
	app.Use(accessLog(opts.AccessLog, opts.Metrics, handleError))
	app.Use(recover.New())
	app.Use(helmet.New(helmet.Config{ContentSecurityPolicy: "default-src 'none'; frame-ancestors 'none'"}))
	if opts.CORSOrigins != "" {
		app.Use(cors.New(cors.Config{
			AllowOrigins:  opts.CORSOrigins,
			AllowMethods:  "GET,POST,PUT,DELETE",
			AllowHeaders:  "Authorization,Content-Type,Idempotency-Key,If-Match",
			ExposeHeaders: "ETag,Idempotent-Replayed,Retry-After",
		}))
	}
	app.Use(withDeadline(opts.RequestTimeout))
	if opts.Tracer != nil {
		app.Use(traced(opts.Tracer.Tracer("case-api")))
	}

	if opts.Health != nil {
		probes := adaptor.HTTPHandler(opts.Health)
		app.Get("/healthz", probes)
		app.Get("/readyz", probes)
	}
	if opts.Metrics != nil {
		app.Get("/metrics", adaptor.HTTPHandler(opts.Metrics.Handler()))
	}
	serveSpec(app)
	tokenKeys := pageTokenKeys(opts.PageTokenKeys)
	if len(tokenKeys) == 0 {
		tokenKeys = randomPageTokenKeys()
	}
	h := &handlers{cases: opts.Cases, keys: opts.Idempotency, now: opts.Now, resolutionCodes: opts.ResolutionCodes,
		routing: opts.Routing, pageTokens: tokenKeys}
	v1 := app.Group(Root, authenticate(opts.Verifier, opts.Logger))
	if opts.RateLimit > 0 {
		v1.Use(limiter.New(limiter.Config{
			Max:          opts.RateLimit,
			Expiration:   opts.RateWindow,
			KeyGenerator: func(c *fiber.Ctx) string { return principalOf(c).Subject },
			LimitReached: func(*fiber.Ctx) error {
				return &clientError{status: fiber.StatusTooManyRequests, detail: "Too many requests for this token; retry after the time in Retry-After."}
			},
		}))
	}
	if opts.Idempotency != nil {
		v1.Use(idempotency(opts.Idempotency, opts.RequestTimeout, opts.Metrics, handleError, opts.Logger))
	}
	v1.Get("/cases", h.listCases)
	v1.Get("/cases/:caseID", h.getCase)
	v1.Get("/cases/:caseID/history", h.caseHistory)
	v1.Put("/cases/:caseID", h.updateCase)
	v1.Delete("/cases/:caseID", h.closeCase)
	v1.Post("/cases/:caseID/attachments", h.addAttachment)
	v1.Post("/cases/:caseID/notes", h.addNote)
	v1.Delete("/cases/:caseID/attachments/:fileID", h.removeAttachment)
	v1.Post("/complaints", h.createComplaint)
	v1.Post("/service-requests", h.createServiceRequest)
	v1.Post("/callback-requests", h.createCallbackRequest)
	v1.Get("/changes", h.changes)
	return app
}

// withDeadline gives every request a context that ends after timeout; it is
// passed down to Temporal and Postgres calls.
func withDeadline(timeout time.Duration) fiber.Handler {
	return func(c *fiber.Ctx) error {
		ctx, cancel := context.WithTimeout(caserequest.With(c.UserContext(), requestID(c)), timeout)
		defer cancel()
		c.SetUserContext(ctx)
		return c.Next()
	}
}

// traced opens the request's server span; the Temporal client and the store
// continue it through the request's context.
func traced(tracer trace.Tracer) fiber.Handler {
	return func(c *fiber.Ctx) error {
		ctx, span := tracer.Start(c.UserContext(), c.Method()+" "+c.Path(), trace.WithSpanKind(trace.SpanKindServer),
			trace.WithAttributes(attribute.String("http.request.method", c.Method()), attribute.String("request.id", requestID(c))))
		defer span.End()
		c.SetUserContext(ctx)
		err := c.Next()
		span.SetName(c.Method() + " " + c.Route().Path)
		span.SetAttributes(attribute.String("http.route", c.Route().Path))
		if err != nil {
			span.RecordError(err)
		}
		return err
	}
}

// accessLog logs and measures each request once, after the error handler
// has set its status.
func accessLog(logger *zap.Logger, m *metrics.API, handleError fiber.ErrorHandler) fiber.Handler {
	return func(c *fiber.Ctx) error {
		start := time.Now()
		if err := c.Next(); err != nil {
			if err := handleError(c, err); err != nil {
				return err
			}
		}
		took, status := time.Since(start), c.Response().StatusCode()
		if m != nil {
			// The route's own strings: c.Method() points into a buffer the
			// next request reuses, and a label keeps what it is given.
			route := c.Route()
			m.Request(route.Path, route.Method, status, took)
		}
		logger.Info("Request",
			zap.String("request-id", requestID(c)),
			zap.String("method", c.Method()),
			zap.String("path", c.Path()),
			zap.Int("status", status),
			zap.Duration("duration", took),
		)
		return nil
	}
}
