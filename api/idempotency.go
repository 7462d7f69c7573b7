package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"time"

	"github.com/gofiber/fiber/v2"
	"go.uber.org/zap"

	"github.com/bank/caseservice/internal/platform/metrics"
	"github.com/bank/caseservice/store"
)

// HeaderIdempotencyKey makes a POST, PUT or DELETE safe to retry.
const HeaderIdempotencyKey = "Idempotency-Key"

const maxIdempotencyKeyLen = 255

// IdempotencyStore keeps claims and answers per token subject and key;
// store.Store is the real one.
type IdempotencyStore interface {
	ClaimIdempotencyKey(ctx context.Context, subject, key string, hash []byte, staleAfter, retention time.Duration) (store.Claim, error)
	ReserveIdempotentCaseID(ctx context.Context, subject, key, caseID string) (string, error)
	CompleteIdempotencyKey(ctx context.Context, subject, key string, r store.StoredResponse) error
	ReleaseIdempotencyKey(ctx context.Context, subject, key string) error
}

// IdempotencyRetention is how long answers are kept for replay.
const IdempotencyRetention = 24 * time.Hour

// idempotentRequest is a claimed key, available to handlers.
type idempotentRequest struct {
	subject, key string
	// caseID is the id a create reserved in an earlier, abandoned attempt.
	caseID string
}

const idempotencyLocal = "idempotency"

// operationID derives the Temporal update id from the key, so Temporal
// itself drops a repeat of a change that reached it before a crash.
func (r *idempotentRequest) operationID() string {
	if r == nil {
		return ""
	}
	sum := sha256.Sum256([]byte(r.subject + "\x00" + r.key))
	return "idem-" + hex.EncodeToString(sum[:16])
}

func idempotencyOf(c *fiber.Ctx) *idempotentRequest {
	r, _ := c.Locals(idempotencyLocal).(*idempotentRequest)
	return r
}

// idempotency answers a repeated request with the first answer: same key and
// body replays it, same key with another body is 422, and a key whose first
// request is still being served is 409. Server errors are not kept, so the
// request can be retried.
func idempotency(keys IdempotencyStore, requestTimeout time.Duration, m *metrics.API, handleError fiber.ErrorHandler, logger *zap.Logger) fiber.Handler {
	return func(c *fiber.Ctx) error {
		key := c.Get(HeaderIdempotencyKey)
		if key == "" || c.Method() == fiber.MethodGet || c.Method() == fiber.MethodHead {
			return c.Next()
		}
		if len(key) > maxIdempotencyKeyLen || !printableASCII(key) {
			return badRequest("Idempotency-Key must be 1 to 255 printable ASCII characters.")
		}
		subject := principalOf(c).Subject
		hash := sha256.New()
		hash.Write([]byte(c.Method() + "\n" + c.Path() + "\n"))
		hash.Write(c.Body())
		claim, err := keys.ClaimIdempotencyKey(c.UserContext(), subject, key, hash.Sum(nil), 2*requestTimeout, IdempotencyRetention)
		if err != nil {
			return err
		}
		switch claim.Outcome {
		case store.Mismatch:
			return &clientError{status: http.StatusUnprocessableEntity, detail: "This Idempotency-Key was used with a different request."}
		case store.InFlight:
			// Retry-After tells clients this conflict passes: the first
			// request ends, or its claim is taken over once abandoned.
			c.Set(fiber.HeaderRetryAfter, "1")
			return &clientError{status: http.StatusConflict, detail: "A request with this Idempotency-Key is still being served; retry later."}
		case store.Replay:
			if m != nil {
				m.Replay()
			}
			c.Set("Idempotent-Replayed", "true")
			c.Set(fiber.HeaderContentType, claim.Response.ContentType)
			if claim.Response.ETag != "" {
				c.Set(fiber.HeaderETag, claim.Response.ETag)
			}
			return c.Status(claim.Response.Status).Send(claim.Response.Body)
		}

		c.Locals(idempotencyLocal, &idempotentRequest{subject: subject, key: key, caseID: claim.CaseID})
		if err := c.Next(); err != nil {
			if err := handleError(c, err); err != nil {
				return err
			}
		}
		// The answer is kept with a fresh deadline: the request's may be spent.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		status := c.Response().StatusCode()
		if status >= 500 {
			if err := keys.ReleaseIdempotencyKey(ctx, subject, key); err != nil {
				logger.Error("Releasing idempotency key failed", zap.Error(err), zap.String("request-id", requestID(c)))
			}
			return nil
		}
		err = keys.CompleteIdempotencyKey(ctx, subject, key, store.StoredResponse{
			Status: status, ContentType: string(c.Response().Header.ContentType()), Body: append([]byte(nil), c.Response().Body()...),
			ETag: string(c.Response().Header.Peek(fiber.HeaderETag)),
		})
		if err != nil {
			logger.Error("Keeping idempotent answer failed", zap.Error(err), zap.String("request-id", requestID(c)))
		}
		return nil
	}
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}
