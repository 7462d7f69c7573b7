// Package logging builds the zap loggers of every process, shared with the
// Temporal SDK.
package logging

import (
	"fmt"
	"io"
	"time"

	"go.temporal.io/sdk/log"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// New returns a JSON logger at level, or a console logger in development.
func New(level string, development bool) (*zap.Logger, error) {
	lvl, err := zapcore.ParseLevel(level)
	if err != nil {
		return nil, fmt.Errorf("LOG_LEVEL: %w", err)
	}
	cfg := zap.NewProductionConfig()
	if development {
		cfg = zap.NewDevelopmentConfig()
	}
	cfg.Level = zap.NewAtomicLevelAt(lvl)
	return cfg.Build()
}

// Access returns the logger for the API's line per request to w, and how to
// flush it at exit. Unlike New's, it is never sampled, so that every request is
// accounted for, and it is buffered: one write per second or per 256 KiB
// instead of a write system call per request (the unbuffered development log
// was 8% of the API's CPU on reads). A process killed outright loses at most
// the last second of access lines; case data never goes through a log.
// A request waits for w only when a second's lines fill the batch; otherwise
// it waits at most to append its line (batchWriter).
func Access(level string, development bool, w io.Writer) (*zap.Logger, func() error, error) {
	lvl, err := zapcore.ParseLevel(level)
	if err != nil {
		return nil, nil, fmt.Errorf("LOG_LEVEL: %w", err)
	}
	encoder := zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig())
	if development {
		encoder = zapcore.NewConsoleEncoder(zap.NewDevelopmentEncoderConfig())
	}
	out := newBatchWriter(w, 256<<10, time.Second)
	return zap.New(zapcore.NewCore(encoder, out, lvl)), out.Stop, nil
}

// Temporal adapts a zap logger to the Temporal SDK's logger interface.
func Temporal(l *zap.Logger) log.Logger {
	return temporalLogger{l.WithOptions(zap.AddCallerSkip(1)).Sugar()}
}

type temporalLogger struct{ s *zap.SugaredLogger }

var (
	_ log.WithLogger      = temporalLogger{}
	_ log.WithSkipCallers = temporalLogger{}
)

func (t temporalLogger) Debug(msg string, keyvals ...any) { t.s.Debugw(msg, keyvals...) }
func (t temporalLogger) Info(msg string, keyvals ...any)  { t.s.Infow(msg, keyvals...) }
func (t temporalLogger) Warn(msg string, keyvals ...any)  { t.s.Warnw(msg, keyvals...) }
func (t temporalLogger) Error(msg string, keyvals ...any) { t.s.Errorw(msg, keyvals...) }

func (t temporalLogger) With(keyvals ...any) log.Logger {
	return temporalLogger{t.s.With(keyvals...)}
}

func (t temporalLogger) WithCallerSkip(depth int) log.Logger {
	return temporalLogger{t.s.WithOptions(zap.AddCallerSkip(depth))}
}
