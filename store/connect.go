package store

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// preparedStatements bounds each connection's statement caches: room for
// every query in queries.sql (24) and the ad hoc ones, twice over.
const preparedStatements = 64

// Connect opens a pool to databaseURL and checks that the database answers.
// tracer, if not nil, sees every query.
func Connect(ctx context.Context, databaseURL string, maxConns int32, tracer pgx.QueryTracer) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(databaseURL)
	if err != nil {
		return nil, fmt.Errorf("parse database url: %w", err)
	}
	cfg.MaxConns = maxConns
	// The service prepares a few dozen distinct statements; pgx's default
	// caches of 512 per connection preallocate their maps, 1.5 MB of live
	// heap for a pool of 16 (the API's RSS target is 50 MB).
	cfg.ConnConfig.StatementCacheCapacity = preparedStatements
	cfg.ConnConfig.DescriptionCacheCapacity = preparedStatements
	cfg.ConnConfig.Tracer = tracer
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open database pool: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("reach database %s@%s/%s: %w", cfg.ConnConfig.User, cfg.ConnConfig.Host, cfg.ConnConfig.Database, err)
	}
	return pool, nil
}
