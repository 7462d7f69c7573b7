// Package codecserver serves Temporal's remote codec protocol (POST /encode
// and /decode of {"payloads": [...]}) so that operators see cases decoded in
// the Temporal UI and CLI, and only the operators allowed to.
package codecserver

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"go.uber.org/zap"
	"golang.org/x/time/rate"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/bank/caseservice/internal/platform/auth"
	"github.com/bank/caseservice/internal/platform/encryption"
)

// Options configure the server.
type Options struct {
	Codec    converter.PayloadCodec
	Verifier *auth.Verifier
	// Namespace is the one namespace whose payloads this codec's keys protect.
	Namespace string
	// Origins may call from a browser (the Temporal UI's origins).
	Origins []string
	// DevUI admits tokenless requests from Origins: the dev server's UI
	// sends no token. Only ever with the dev issuer.
	DevUI bool
	// DecodesPerMinute bounds each subject's decode calls; bursts of a
	// minute's worth pass.
	DecodesPerMinute int
	// Audit receives one line per call.
	Audit  *zap.Logger
	Logger *zap.Logger
}

// maxBody bounds a request: a UI page decodes a history's payloads in
// batches, each far below Temporal's own 2 MB payload limit per event.
const maxBody = 16 << 20

// devUISubject is who a tokenless request from the dev UI acts as.
const devUISubject = "dev-ui"

type server struct {
	opts     Options
	mu       sync.Mutex
	limiters map[string]*rate.Limiter
}

// New returns the codec server's handler.
func New(opts Options) http.Handler {
	s := &server{opts: opts, limiters: map[string]*rate.Limiter{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /encode", s.serve("encode", opts.Codec.Encode))
	mux.HandleFunc("POST /decode", s.serve("decode", opts.Codec.Decode))
	mux.HandleFunc("OPTIONS /encode", s.preflight)
	mux.HandleFunc("OPTIONS /decode", s.preflight)
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		writeProblem(w, http.StatusNotFound, "The codec server answers POST /encode and POST /decode.")
	})
	return s.cors(mux)
}

func (s *server) serve(op string, code func([]*commonpb.Payload) ([]*commonpb.Payload, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		subject, ok := s.authenticate(w, r)
		if !ok {
			return
		}
		namespace := r.Header.Get("X-Namespace")
		if namespace != "" && namespace != s.opts.Namespace {
			writeProblem(w, http.StatusForbidden, fmt.Sprintf("This codec holds the keys of namespace %q only.", s.opts.Namespace))
			return
		}
		if op == "decode" && !s.allow(subject) {
			w.Header().Set("Retry-After", "60")
			writeProblem(w, http.StatusTooManyRequests, "Too many decode calls; try again in a minute.")
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
		if err != nil {
			writeProblem(w, http.StatusRequestEntityTooLarge, "The request is larger than 16 MiB.")
			return
		}
		var in commonpb.Payloads
		if err := protojson.Unmarshal(body, &in); err != nil {
			writeProblem(w, http.StatusBadRequest, `Want {"payloads": [...]} as Temporal's remote codec sends it.`)
			return
		}
		s.opts.Audit.Info("Codec call", zap.String("operation", op), zap.String("subject", subject),
			zap.String("namespace", namespace), zap.Int("payloads", len(in.Payloads)), zap.String("remote", r.RemoteAddr))
		out, err := code(in.Payloads)
		if err != nil {
			var missing *encryption.MissingKeyError
			if errors.As(err, &missing) {
				writeProblem(w, http.StatusUnprocessableEntity, fmt.Sprintf("A payload is encrypted with key %q, which this codec server's key ring lacks.", missing.KeyID))
				return
			}
			s.opts.Logger.Info("Codec call failed", zap.String("operation", op), zap.String("subject", subject), zap.Error(err))
			writeProblem(w, http.StatusUnprocessableEntity, "The payloads could not be "+op+"d.")
			return
		}
		answer, err := protojson.Marshal(&commonpb.Payloads{Payloads: out})
		if err != nil {
			s.opts.Logger.Error("Encoding a codec answer failed", zap.Error(err))
			writeProblem(w, http.StatusInternalServerError, "The answer could not be written.")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		_, _ = w.Write(answer) // a client gone away is not ours to handle
	}
}

// authenticate admits a bearer token with the decode scope, or in
// development a tokenless request from the dev UI.
func (s *server) authenticate(w http.ResponseWriter, r *http.Request) (string, bool) {
	header := r.Header.Get("Authorization")
	if header == "" && s.opts.DevUI && slices.Contains(s.opts.Origins, r.Header.Get("Origin")) {
		return devUISubject, true
	}
	scheme, token, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "bearer") || strings.TrimSpace(token) == "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="case-codec"`)
		writeProblem(w, http.StatusUnauthorized, "A bearer token is required.")
		return "", false
	}
	p, err := s.opts.Verifier.Verify(r.Context(), strings.TrimSpace(token))
	if err != nil {
		s.opts.Logger.Info("Token refused", zap.Error(err))
		w.Header().Set("WWW-Authenticate", `Bearer realm="case-codec", error="invalid_token"`)
		writeProblem(w, http.StatusUnauthorized, "The bearer token is not valid.")
		return "", false
	}
	if !p.HasScope(auth.ScopeDecode) {
		w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm="case-codec", error="insufficient_scope", scope=%q`, auth.ScopeDecode))
		writeProblem(w, http.StatusForbidden, fmt.Sprintf("The token lacks the %s scope.", auth.ScopeDecode))
		return "", false
	}
	return p.Subject, true
}

// maxSubjects bounds the limiters kept; past it, those at rest are dropped.
const maxSubjects = 10000

func (s *server) allow(subject string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.limiters[subject]
	if !ok {
		if len(s.limiters) >= maxSubjects {
			s.forgetRested()
		}
		perMinute := s.opts.DecodesPerMinute
		l = rate.NewLimiter(rate.Every(time.Minute/time.Duration(perMinute)), perMinute)
		s.limiters[subject] = l
	}
	return l.Allow()
}

// forgetRested drops the limiters whose bucket is full again: forgetting
// them changes nothing.
func (s *server) forgetRested() {
	for subject, l := range s.limiters {
		if l.Tokens() >= float64(l.Burst()) {
			delete(s.limiters, subject)
		}
	}
}

// cors answers browsers from the configured origins only.
func (s *server) cors(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Vary", "Origin")
		if origin := r.Header.Get("Origin"); origin != "" && slices.Contains(s.opts.Origins, origin) {
			w.Header().Set("Access-Control-Allow-Origin", origin)
			w.Header().Set("Access-Control-Allow-Credentials", "true")
		}
		next.ServeHTTP(w, r)
	})
}

func (s *server) preflight(w http.ResponseWriter, r *http.Request) {
	if w.Header().Get("Access-Control-Allow-Origin") == "" {
		writeProblem(w, http.StatusForbidden, "This origin may not call the codec server.")
		return
	}
	w.Header().Set("Access-Control-Allow-Methods", "POST, OPTIONS")
	w.Header().Set("Access-Control-Allow-Headers", "Authorization, Content-Type, X-Namespace")
	w.Header().Set("Access-Control-Max-Age", "600")
	w.WriteHeader(http.StatusNoContent)
}

// problem is an RFC 9457 problem details document, as the API answers.
type problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
}

func writeProblem(w http.ResponseWriter, status int, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(problem{Type: "about:blank", Title: http.StatusText(status), Status: status, Detail: detail})
}
