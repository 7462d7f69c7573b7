package delivery

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strconv"
)

// Headers of every webhook request.
const (
	HeaderSignature      = "X-Case-Signature"
	HeaderIdempotencyKey = "Idempotency-Key"
	HeaderAttempt        = "X-Case-Delivery-Attempt"
	HeaderKind           = "X-Case-Message-Kind"
)

// Webhook POSTs messages as JSON to a URL, signed with HMAC-SHA256.
type Webhook struct {
	URL    string
	Secret []byte
	Client *http.Client
}

// Sign returns the X-Case-Signature value for body: "sha256=" and the hex
// HMAC-SHA256 of the body under secret.
func Sign(secret, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// Send delivers m; any answer but 2xx is an error, to be retried.
func (w *Webhook) Send(ctx context.Context, m Message) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(m.Body))
	if err != nil {
		return fmt.Errorf("build webhook request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(HeaderSignature, Sign(w.Secret, m.Body))
	req.Header.Set(HeaderIdempotencyKey, m.IdempotencyKey)
	req.Header.Set(HeaderAttempt, strconv.Itoa(m.Attempt))
	req.Header.Set(HeaderKind, m.Kind)
	resp, err := w.Client.Do(req)
	if err != nil {
		return fmt.Errorf("post %s webhook: %w", m.Kind, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("%s webhook answered %s", m.Kind, resp.Status)
	}
	return nil
}
