package delivery_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bank/caseservice/delivery"
)

func TestWebhookSignsAndLabelsEachDelivery(t *testing.T) {
	var got *http.Request
	var body []byte
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r
		body, _ = io.ReadAll(r.Body)
		w.WriteHeader(http.StatusAccepted)
	}))
	defer receiver.Close()
	hook := &delivery.Webhook{URL: receiver.URL, Secret: []byte("secret-secret-secret"), Client: receiver.Client()}

	msg := delivery.Message{Kind: delivery.KindCallback, IdempotencyKey: "WI0000000001/callback/1", CaseID: "WI0000000001",
		Attempt: 2, Body: []byte(`{"case-id":"WI0000000001"}`)}
	require.NoError(t, hook.Send(context.Background(), msg))

	require.Equal(t, http.MethodPost, got.Method)
	require.Equal(t, `{"case-id":"WI0000000001"}`, string(body))
	require.Equal(t, "application/json", got.Header.Get("Content-Type"))
	// HMAC-SHA256 of the body under the secret, as computed by
	// openssl dgst -sha256 -hmac secret-secret-secret.
	require.Equal(t, "sha256=7af1039a7e625e923e2b807e9a8f1c221d5f132c52f990bd984f23fac7d9e38a", got.Header.Get(delivery.HeaderSignature))
	require.Equal(t, "WI0000000001/callback/1", got.Header.Get(delivery.HeaderIdempotencyKey))
	require.Equal(t, "2", got.Header.Get(delivery.HeaderAttempt))
	require.Equal(t, "callback", got.Header.Get(delivery.HeaderKind))
}

func TestWebhookReportsRefusals(t *testing.T) {
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "busy", http.StatusServiceUnavailable)
	}))
	defer receiver.Close()
	hook := &delivery.Webhook{URL: receiver.URL, Secret: []byte("s"), Client: receiver.Client()}
	err := hook.Send(context.Background(), delivery.Message{Kind: delivery.KindNotice, Body: []byte(`{}`)})
	require.ErrorContains(t, err, "503")
}
