// Package activities holds the case workflow's side effects: recording changes
// in Postgres and delivering callbacks and notices.
package activities

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"go.temporal.io/sdk/activity"

	"github.com/bank/caseservice/casefile"
	"github.com/bank/caseservice/delivery"
	"github.com/bank/caseservice/internal/platform/requestid"
)

// Recorder persists case history entries; store.Store is the real one.
type Recorder interface {
	Record(ctx context.Context, entry casefile.HistoryEntry) error
}

// Sender delivers a message: a webhook, or the outbox.
type Sender interface {
	Send(ctx context.Context, m delivery.Message) error
}

// Mailer sends email notices.
type Mailer interface {
	Mail(ctx context.Context, e delivery.Email) error
}

// Observer is told what the activities did, for metrics; metrics.Worker is
// the real one.
type Observer interface {
	Recorded(change string)
	CallbackDelivered(lateness time.Duration)
}

// Activities carries the dependencies of the case activities.
type Activities struct {
	// Observe may be nil.
	Observe     Observer
	Recorder    Recorder
	Callbacks   Sender
	Escalations Sender
	// Notices receives resolution notices other than email, and email too
	// when Mail is nil.
	Notices Sender
	Mail    Mailer
}

// RecordChange writes the case's current row and its history row for this
// version. Idempotent on (case id, version): a retry changes nothing twice.
func (a *Activities) RecordChange(ctx context.Context, entry casefile.HistoryEntry) error {
	if err := a.Recorder.Record(ctx, entry); err != nil {
		return fmt.Errorf("record %s version %d: %w", entry.Case.ID, entry.Case.Version, err)
	}
	if a.Observe != nil {
		a.Observe.Recorded(string(entry.Change))
	}
	// The activity logger adds the workflow and run ids; the request id, when
	// an API request caused the change, ties this line to the API's.
	activity.GetLogger(ctx).Info("Recorded case change", "case-id", entry.Case.ID, "version", entry.Case.Version,
		"change", entry.Change, "request-id", requestid.From(ctx))
	return nil
}

// CallbackDelivery is a callback handed to the contact centre.
type CallbackDelivery struct {
	CaseID      string
	PartyID     string
	Categorry   string
	RequestedAt time.Time
	// Schedule is the case's CallbackSchedule; a rescheduled callback is a new message.
	Schedule int
}

// callbackBody is the JSON the contact centre receives.
type callbackBody struct {
	CaseID              string    `json:"case-id"`
	PartyID             string    `json:"party-id"`
	Categorry           string    `json:"categorry"`
	CallbackRequestTime time.Time `json:"callback-request-time"`
	Schedule            int       `json:"schedule"`
	Attempt             int       `json:"attempt"`
}

// DeliverCallback hands a due callback over; an error is retried by the
// activity's retry policy.
func (a *Activities) DeliverCallback(ctx context.Context, d CallbackDelivery) error {
	attempt := int(activity.GetInfo(ctx).Attempt)
	err := send(ctx, a.Callbacks, delivery.KindCallback, fmt.Sprintf("%s/callback/%d", d.CaseID, d.Schedule), d.CaseID, attempt, callbackBody{
		CaseID: d.CaseID, PartyID: d.PartyID, Categorry: d.Categorry,
		CallbackRequestTime: d.RequestedAt, Schedule: d.Schedule, Attempt: attempt,
	})
	if err == nil && a.Observe != nil {
		a.Observe.CallbackDelivered(time.Since(d.RequestedAt))
	}
	return err
}

// EscalationNotice tells the bank a case missed its resolution deadline.
type EscalationNotice struct {
	CaseID     string    `json:"case-id"`
	CaseType   string    `json:"case-type"`
	CustomerID string    `json:"customer-id"`
	Importance string    `json:"importance"`
	ResolveBy  time.Time `json:"resolve-by"`
}

// SendEscalation delivers an escalation notice.
func (a *Activities) SendEscalation(ctx context.Context, n EscalationNotice) error {
	attempt := int(activity.GetInfo(ctx).Attempt)
	return send(ctx, a.Escalations, delivery.KindEscalation, n.CaseID+"/escalation", n.CaseID, attempt, n)
}

// ResolutionNotice tells the customer how their case was resolved, through
// the channel they asked for.
type ResolutionNotice struct {
	CaseID           string `json:"case-id"`
	CaseType         string `json:"case-type"`
	CustomerID       string `json:"customer-id"`
	CustomerName     string `json:"customer-name,omitempty"`
	CommType         string `json:"comm-type"`
	ReplyAddress     string `json:"comm-reply-address"`
	ReplyAddressCode string `json:"comm-reply-address-code,omitempty"`
	Resolution       string `json:"resolution"`
	// Version is the case version that resolved it: one notice per resolution.
	Version int64 `json:"version"`
}

// SendResolutionNotice sends the notice by email or through the notice webhook.
func (a *Activities) SendResolutionNotice(ctx context.Context, n ResolutionNotice) error {
	key := fmt.Sprintf("%s/notice/%d", n.CaseID, n.Version)
	if n.CommType == "Email" && a.Mail != nil {
		return a.Mail.Mail(ctx, delivery.Email{
			MessageID: key + "@case-service",
			To:        n.ReplyAddress,
			Subject:   fmt.Sprintf("Your case %s is resolved", n.CaseID),
			Text:      noticeText(n),
		})
	}
	return send(ctx, a.Notices, delivery.KindNotice, key, n.CaseID, int(activity.GetInfo(ctx).Attempt), n)
}

func noticeText(n ResolutionNotice) string {
	greeting := "Dear customer"
	if n.CustomerName != "" {
		greeting = "Dear " + n.CustomerName
	}
	return fmt.Sprintf("%s,\n\nyour case %s (%s) has been resolved:\n\n%s\n\nIf this does not settle the matter, reply within the reopen window and we will look at it again.\n",
		greeting, n.CaseID, n.CaseType, n.Resolution)
}

func send(ctx context.Context, to Sender, kind, key, caseID string, attempt int, body any) error {
	raw, err := json.Marshal(body)
	if err != nil {
		return fmt.Errorf("encode %s: %w", kind, err)
	}
	if err := to.Send(ctx, delivery.Message{Kind: kind, IdempotencyKey: key, CaseID: caseID, Attempt: attempt, Body: raw}); err != nil {
		return fmt.Errorf("deliver %s %s: %w", kind, key, err)
	}
	return nil
}
