package store

import (
	"bytes"
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/bank/caseservice/store/internal/queries"
)

// ClaimOutcome is what a request with an Idempotency-Key finds.
type ClaimOutcome int

const (
	// Claimed: the request is the first (or takes over an abandoned one); go on.
	Claimed ClaimOutcome = iota
	// Replay: the request was answered before; send that answer again.
	Replay
	// InFlight: the first request is still being served.
	InFlight
	// Mismatch: the key was used with a different request.
	Mismatch
)

// StoredResponse is the answer kept for a key.
type StoredResponse struct {
	Status      int
	ContentType string
	Body        []byte
	// ETag names the case version a change made; empty for other answers.
	ETag string
}

// Claim is the result of claiming a key.
type Claim struct {
	Outcome  ClaimOutcome
	Response StoredResponse
	// CaseID is a case id a create reserved under this key before.
	CaseID string
}

// ClaimIdempotencyKey claims (subject, key) for a request with the given hash.
// A claim in flight for longer than staleAfter was abandoned and is taken over;
// one older than retention is forgotten.
func (s *Store) ClaimIdempotencyKey(ctx context.Context, subject, key string, hash []byte, staleAfter, retention time.Duration) (Claim, error) {
	for range 2 {
		n, err := s.queries.ClaimIdempotencyKey(ctx, queries.ClaimIdempotencyKeyParams{Subject: subject, Key: key, RequestHash: hash})
		if err != nil {
			return Claim{}, mapError("claim idempotency key", err)
		}
		if n == 1 {
			return Claim{Outcome: Claimed}, nil
		}
		row, err := s.queries.GetIdempotencyKey(ctx, queries.GetIdempotencyKeyParams{Subject: subject, Key: key})
		if errors.Is(err, pgx.ErrNoRows) {
			continue // released meanwhile: claim again
		}
		if err != nil {
			return Claim{}, mapError("read idempotency key", err)
		}
		if time.Since(row.CreatedAt) > retention {
			if _, err := s.queries.ExpireIdempotencyKeys(ctx, time.Now().Add(-retention)); err != nil {
				return Claim{}, mapError("expire idempotency keys", err)
			}
			continue
		}
		if !bytes.Equal(row.RequestHash, hash) {
			return Claim{Outcome: Mismatch}, nil
		}
		if row.Status != nil {
			return Claim{Outcome: Replay, Response: StoredResponse{
				Status: int(*row.Status), ContentType: value(row.ContentType), Body: row.Response, ETag: value(row.Etag),
			}}, nil
		}
		took, err := s.queries.TakeOverIdempotencyKey(ctx, queries.TakeOverIdempotencyKeyParams{
			Subject: subject, Key: key, Cutoff: time.Now().Add(-staleAfter),
		})
		if err != nil {
			return Claim{}, mapError("take over idempotency key", err)
		}
		if took == 1 {
			return Claim{Outcome: Claimed, CaseID: value(row.CaseID)}, nil
		}
		return Claim{Outcome: InFlight}, nil
	}
	return Claim{Outcome: InFlight}, nil
}

// ReserveIdempotentCaseID records the case id a create under (subject, key)
// registers, unless one is recorded already; it returns the recorded one.
func (s *Store) ReserveIdempotentCaseID(ctx context.Context, subject, key, caseID string) (string, error) {
	id, err := s.queries.ReserveIdempotentCaseID(ctx, queries.ReserveIdempotentCaseIDParams{Subject: subject, Key: key, CaseID: &caseID})
	if err != nil {
		return "", mapError("reserve case id", err)
	}
	return value(id), nil
}

// CompleteIdempotencyKey keeps the answer to replay.
func (s *Store) CompleteIdempotencyKey(ctx context.Context, subject, key string, r StoredResponse) error {
	status := int32(r.Status)
	return mapError("complete idempotency key", s.queries.CompleteIdempotencyKey(ctx, queries.CompleteIdempotencyKeyParams{
		Subject: subject, Key: key, Status: &status, ContentType: nullable(r.ContentType), Response: r.Body, Etag: nullable(r.ETag),
	}))
}

// ReleaseIdempotencyKey forgets an unanswered claim, so the request may be retried.
func (s *Store) ReleaseIdempotencyKey(ctx context.Context, subject, key string) error {
	return mapError("release idempotency key", s.queries.ReleaseIdempotencyKey(ctx, queries.ReleaseIdempotencyKeyParams{Subject: subject, Key: key}))
}

// ExpireIdempotencyKeys forgets keys older than retention.
func (s *Store) ExpireIdempotencyKeys(ctx context.Context, retention time.Duration) (int64, error) {
	n, err := s.queries.ExpireIdempotencyKeys(ctx, time.Now().Add(-retention))
	return n, mapError("expire idempotency keys", err)
}
