// Package delivery hands messages about cases to the outside world: webhooks,
// mail or the outbox.
package delivery

import "encoding/json"

// Kinds of message.
const (
	KindCallback   = "callback"
	KindEscalation = "escalation"
	KindNotice     = "notice"
)

// Message is one delivery. IdempotencyKey is the same for every attempt of
// the same message, so receivers can drop duplicates.
type Message struct {
	Kind           string
	IdempotencyKey string
	CaseID         string
	// Attempt counts deliveries of this message, from 1.
	Attempt int
	Body    json.RawMessage
}

// Email is a customer notice by mail.
type Email struct {
	// MessageID is derived from the idempotency key so duplicates can be spotted.
	MessageID string
	To        string
	Subject   string
	Text      string
}
