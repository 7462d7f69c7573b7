package store

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/bank/caseservice/casefile"
	"github.com/bank/caseservice/store/internal/queries"
)

// SeedSpec shapes generated cases for measuring reads at scale.
type SeedSpec struct {
	Cases     int
	Customers int
	// Span is how far back registration dates reach.
	Span time.Duration
	// Seed makes the data repeatable.
	Seed uint64
}

// seedBatch rows go to Postgres per COPY.
const seedBatch = 10_000

// Seeded cases sit in one of these queues; most are assigned to one of
// seedAgents agents, and each has the default deadline of its importance.
var (
	seedQueues = []string{"complaints", "complaints-urgent", "service-desk", "callbacks", "cards", "loans", "payments", "branches"}
	seedSLA    = map[string]time.Duration{"Low": 120 * time.Hour, "Standard": 48 * time.Hour, "High": 4 * time.Hour, "Critical": time.Hour}
)

const seedAgents = 200

// Seed fills the cases table fast, with COPY: a realistic spread over
// customers, classes, states, importances and dates. Seeded cases have no
// workflow; they exist to measure reads. It returns the first and last case id.
func (s *Store) Seed(ctx context.Context, spec SeedSpec, now time.Time) (string, string, error) {
	if spec.Cases < 1 || spec.Customers < 1 {
		return "", "", fmt.Errorf("seed needs at least one case and one customer")
	}
	first, err := s.queries.ReserveCaseNumbers(ctx, int64(spec.Cases))
	if err != nil {
		return "", "", mapError("reserve case numbers", err)
	}
	rnd := rand.New(rand.NewPCG(spec.Seed, spec.Seed^0x5eed))
	classes := []casefile.Class{casefile.ClassComplaint, casefile.ClassComplaint, casefile.ClassServiceRequest, casefile.ClassCallbackRequest}
	batch := make([]queries.SeedCasesParams, 0, seedBatch)
	for i := range spec.Cases {
		class := classes[rnd.IntN(len(classes))]
		registered := now.Add(-time.Duration(rnd.Int64N(int64(spec.Span)))).UTC().Truncate(time.Millisecond)
		state, resolution := casefile.StateAccepted, (*string)(nil)
		switch r := rnd.IntN(100); {
		case r < 25:
			state, resolution = casefile.StateClosed, nullable("closed by seed")
		case r < 40:
			state, resolution = casefile.StateResolved, nullable("resolved by seed")
		}
		importance := casefile.Importances[rnd.IntN(len(casefile.Importances))]
		queue, assignee := seedQueues[rnd.IntN(len(seedQueues))], (*string)(nil)
		if state != casefile.StateAccepted || rnd.IntN(100) < 60 {
			assignee = nullable(fmt.Sprintf("agent-%03d", rnd.IntN(seedAgents)))
		}
		resolveBy := registered.Add(seedSLA[importance])
		escalated := state != casefile.StateClosed && rnd.IntN(100) < 5
		var callbackAt *time.Time
		var callbackStatus, categorry *string
		if class == casefile.ClassCallbackRequest {
			at := registered.Add(time.Duration(1+rnd.IntN(72)) * time.Hour)
			callbackAt, categorry = &at, nullable(casefile.Categories[rnd.IntN(len(casefile.Categories))])
			callbackStatus = nullable(string(casefile.CallbackDelivered))
			if state == casefile.StateAccepted && at.After(now) {
				callbackStatus = nullable(string(casefile.CallbackScheduled))
			}
		}
		batch = append(batch, queries.SeedCasesParams{
			CaseID:              casefile.FormatID(first + int64(i)),
			CaseClass:           string(class),
			CaseType:            string(class),
			RegisteredByID:      nullable("seed"),
			RegisteredByName:    nullable("seed"),
			UpdatedByID:         nullable("seed"),
			UpdatedByName:       nullable("seed"),
			CustomerID:          fmt.Sprintf("SEED%07d", rnd.IntN(spec.Customers)),
			CustomerName:        nullable("Seeded Customer"),
			RegistrationDate:    registered,
			State:               string(state),
			Resolution:          resolution,
			Importance:          importance,
			Details:             nullable("generated for read benchmarks"),
			Attachments:         []byte("[]"),
			Version:             1,
			UpdatedAt:           registered,
			Queue:               &queue,
			AssigneeID:          assignee,
			AssigneeName:        assignee,
			ResolveBy:           &resolveBy,
			Escalated:           escalated,
			CallbackRequestTime: callbackAt,
			CallbackStatus:      callbackStatus,
			Categorry:           categorry,
		})
		if len(batch) == seedBatch || i == spec.Cases-1 {
			if _, err := s.queries.SeedCases(ctx, batch); err != nil {
				return "", "", mapError("copy seeded cases", err)
			}
			batch = batch[:0]
		}
	}
	// Fresh statistics now: until autovacuum gets to it, the planner guessed
	// the list filters from an empty table and intersected two bitmap scans
	// (60 ms a page instead of 0.1 ms).
	if _, err := s.pool.Exec(ctx, "ANALYZE cases"); err != nil {
		return "", "", mapError("analyze seeded cases", err)
	}
	return casefile.FormatID(first), casefile.FormatID(first + int64(spec.Cases) - 1), nil
}
