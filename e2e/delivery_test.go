package e2e

import (
	"crypto/hmac"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/bank/caseservice/activities"
	"github.com/bank/caseservice/config"
	"github.com/bank/caseservice/delivery"
	"github.com/bank/caseservice/store"
)

// contactCentre is a webhook receiver that checks signatures and fails the
// first deliveries of the cases it is told to.
type contactCentre struct {
	secret []byte
	mu     sync.Mutex
	// failFirst is how many deliveries of a case id fail before one succeeds.
	failFirst map[string]int
	attempts  map[string][]time.Time
	accepted  map[string][]map[string]any
	badSigned int
}

func newContactCentre(secret string) *contactCentre {
	return &contactCentre{secret: []byte(secret), failFirst: map[string]int{},
		attempts: map[string][]time.Time{}, accepted: map[string][]map[string]any{}}
}

func (cc *contactCentre) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if !hmac.Equal([]byte(r.Header.Get(delivery.HeaderSignature)), []byte(delivery.Sign(cc.secret, body))) {
		cc.badSigned++
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	var msg map[string]any
	_ = json.Unmarshal(body, &msg)
	id, _ := msg["case-id"].(string)
	cc.attempts[id] = append(cc.attempts[id], time.Now())
	if len(cc.attempts[id]) <= cc.failFirst[id] {
		http.Error(w, "busy", http.StatusServiceUnavailable)
		return
	}
	msg["idempotency-key"] = r.Header.Get(delivery.HeaderIdempotencyKey)
	cc.accepted[id] = append(cc.accepted[id], msg)
	w.WriteHeader(http.StatusNoContent)
}

func (cc *contactCentre) snapshot(id string) (attempts []time.Time, accepted []map[string]any) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	return append([]time.Time(nil), cc.attempts[id]...), append([]map[string]any(nil), cc.accepted[id]...)
}

// startContactCentre serves a contactCentre for the test and returns the
// activities that deliver every kind of message to it, signed.
func startContactCentre(t *testing.T) (*contactCentre, func(*store.Store) *activities.Activities) {
	const secret = "a-shared-secret-of-some-length"
	cc := newContactCentre(secret)
	receiver := httptest.NewServer(cc)
	t.Cleanup(receiver.Close)
	return cc, func(st *store.Store) *activities.Activities {
		hook := &delivery.Webhook{URL: receiver.URL, Secret: []byte(secret), Client: &http.Client{Timeout: 5 * time.Second}}
		return &activities.Activities{Recorder: st, Callbacks: hook, Escalations: hook, Notices: hook}
	}
}

func TestCallbacksAreDeliveredSignedOnceAndOnTime(t *testing.T) {
	cc, acts := startContactCentre(t)
	s := startStack(t, stackOptions{activities: acts})

	at := time.Now().UTC().Add(3 * time.Second).Truncate(time.Millisecond)
	create := func() string {
		status, body := s.call(t, "POST", "/callback-requests", map[string]any{
			"callback-request-time": at.Format(time.RFC3339Nano), "categorry": "Cards", "party-id": "1104977710344",
		})
		require.Equal(t, http.StatusCreated, status, body)
		return body["id"].(string)
	}
	onTime, flaky := create(), create()
	cc.mu.Lock()
	cc.failFirst[flaky] = 2
	cc.mu.Unlock()

	require.EventuallyWithT(t, func(c *assert.CollectT) {
		for _, id := range []string{onTime, flaky} {
			_, detail := s.call(t, "GET", "/cases/"+id, nil)
			assert.Equal(c, "Delivered", detail["callback-status"], "%s %v", id, detail)
		}
	}, 30*time.Second, 100*time.Millisecond)

	attempts, accepted := cc.snapshot(onTime)
	require.Len(t, accepted, 1, "delivered exactly once")
	require.Len(t, attempts, 1)
	lateness := attempts[0].Sub(at)
	require.GreaterOrEqual(t, lateness, time.Duration(0), "never early")
	require.Less(t, lateness, time.Second, "delivered within a second of its time")
	require.Equal(t, onTime+"/callback/1", accepted[0]["idempotency-key"])
	require.Equal(t, "Cards", accepted[0]["categorry"])
	require.Equal(t, "1104977710344", accepted[0]["party-id"])

	attempts, accepted = cc.snapshot(flaky)
	require.Len(t, attempts, 3, "two refused, then accepted")
	require.Len(t, accepted, 1, "delivered exactly once")
	require.Equal(t, float64(3), accepted[0]["attempt"])
	require.Zero(t, cc.badSigned)

	_, history := s.call(t, "GET", "/cases/"+flaky+"/history", nil)
	require.Equal(t, []string{"Registered", "CallbackDelivered"}, changesOf(history))
}

func TestRescheduledCallbackFiresOnlyAtItsNewTime(t *testing.T) {
	cc, acts := startContactCentre(t)
	s := startStack(t, stackOptions{activities: acts})

	first := time.Now().UTC().Add(2 * time.Second)
	status, body := s.call(t, "POST", "/callback-requests", map[string]any{
		"callback-request-time": first.Format(time.RFC3339Nano), "categorry": "Loans", "party-id": "P1",
	})
	require.Equal(t, http.StatusCreated, status, body)
	id := body["id"].(string)
	moved := first.Add(2 * time.Second)
	status, body = s.call(t, "PUT", "/cases/"+id, map[string]any{"callback-request-time": moved.Format(time.RFC3339Nano)})
	require.Equal(t, http.StatusOK, status, body)
	_, detail := s.call(t, "GET", "/cases/"+id, nil)
	require.Equal(t, moved.Truncate(time.Millisecond).Format("2006-01-02T15:04:05.000Z07:00"), detail["callback-request-time"])

	require.EventuallyWithT(t, func(c *assert.CollectT) {
		_, accepted := cc.snapshot(id)
		assert.Len(c, accepted, 1)
	}, 30*time.Second, 100*time.Millisecond)
	attempts, accepted := cc.snapshot(id)
	require.False(t, attempts[0].Before(moved), "not delivered at the old time")
	require.Equal(t, id+"/callback/2", accepted[0]["idempotency-key"])

	status, _ = s.call(t, "PUT", "/cases/"+id, map[string]any{"callback-request-time": time.Now().Add(time.Hour).Format(time.RFC3339)})
	require.Equal(t, http.StatusConflict, status, "a delivered callback cannot be rescheduled")
}

// mailbox is an SMTP server that keeps what it receives.
type mailbox struct {
	mu       sync.Mutex
	messages []string
	rcpts    []string
}

func (m *mailbox) NewSession(*smtp.Conn) (smtp.Session, error) { return &mailSession{box: m}, nil }

type mailSession struct {
	box   *mailbox
	rcpts []string
}

func (s *mailSession) Mail(string, *smtp.MailOptions) error { return nil }
func (s *mailSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.rcpts = append(s.rcpts, to)
	return nil
}
func (s *mailSession) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.box.mu.Lock()
	defer s.box.mu.Unlock()
	s.box.messages = append(s.box.messages, string(data))
	s.box.rcpts = append(s.box.rcpts, s.rcpts...)
	return nil
}
func (s *mailSession) Reset()        { s.rcpts = nil }
func (s *mailSession) Logout() error { return nil }

func TestResolutionSendsExactlyOneEmail(t *testing.T) {
	box := &mailbox{}
	server := smtp.NewServer(box)
	server.Domain = "localhost"
	server.AllowInsecureAuth = true
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = server.Serve(ln) }()
	t.Cleanup(func() { _ = server.Close() })
	port := ln.Addr().(*net.TCPAddr).Port

	s := startStack(t, stackOptions{activities: func(st *store.Store) *activities.Activities {
		outbox := &delivery.Outbox{Store: st, Logger: zap.NewNop()}
		return &activities.Activities{Recorder: st, Callbacks: outbox, Escalations: outbox, Notices: outbox,
			Mail: &delivery.Mailer{SMTP: config.SMTP{Host: "127.0.0.1", Port: port, From: "cases@bank.example", TLS: delivery.SMTPPlain}}}
	}})

	status, body := s.call(t, "POST", "/complaints", map[string]any{
		"customer-id": "C1", "customer-name": "Ime Prezime", "comm-type": "Email", "comm-reply-address": "ime@example.com",
	})
	require.Equal(t, http.StatusCreated, status, body)
	id := body["id"].(string)
	status, _ = s.call(t, "PUT", "/cases/"+id, map[string]any{"state": "Resolved", "resolution": "Your card is on its way."})
	require.Equal(t, http.StatusOK, status)

	require.EventuallyWithT(t, func(c *assert.CollectT) {
		_, history := s.call(t, "GET", "/cases/"+id+"/history", nil)
		assert.Contains(c, changesOf(history), "NoticeSent")
	}, 30*time.Second, 100*time.Millisecond)
	box.mu.Lock()
	defer box.mu.Unlock()
	require.Len(t, box.messages, 1, "exactly one email")
	require.Equal(t, []string{"ime@example.com"}, box.rcpts)
	require.Contains(t, box.messages[0], "Your card is on its way.")
	require.Contains(t, box.messages[0], "Subject: Your case "+id+" is resolved")
	require.Contains(t, box.messages[0], "<"+id+"/notice/2@case-service>")
}

func changesOf(history map[string]any) []string {
	out := []string{}
	for _, item := range history["Items"].([]any) {
		out = append(out, item.(map[string]any)["change"].(string))
	}
	return out
}
