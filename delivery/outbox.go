package delivery

import (
	"context"

	"go.uber.org/zap"
)

// OutboxStore keeps messages; store.Store is the real one. It reports whether
// the message was new.
type OutboxStore interface {
	AddToOutbox(ctx context.Context, m Message) (bool, error)
}

// Outbox is the delivery used when no receiver is configured: the message is
// kept in Postgres (once, by its idempotency key) and logged, so a local stack
// shows deliveries with nothing else installed.
type Outbox struct {
	Store  OutboxStore
	Logger *zap.Logger
}

// Send keeps m in the outbox.
func (o *Outbox) Send(ctx context.Context, m Message) error {
	added, err := o.Store.AddToOutbox(ctx, m)
	if err != nil {
		return err
	}
	if added {
		o.Logger.Info("Delivered to outbox", zap.String("kind", m.Kind), zap.String("case-id", m.CaseID),
			zap.String("idempotency-key", m.IdempotencyKey), zap.ByteString("body", m.Body))
	}
	return nil
}
