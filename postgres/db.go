// Package postgres is the venue's PostgreSQL adapter (pgx v5): the connection pool, the embedded
// migrations (goose), and the stores that the domain packages declare. It is the one place that
// knows SQL and pgx; driver errors are translated to datavenue errors at this boundary
// (interpretError), so nothing above it sees a pgconn error.
package postgres

import (
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/datavenue/datavenue/audit"
)

//go:embed migrations/*.sql
var migrations embed.FS

// DB is the venue's database: the pool, its migrations, the cross-domain invariant check, and one
// store per domain (stores.go) that the domain packages' store interfaces are satisfied by.
type DB struct {
	conn
}

// conn is what every store shares: the pool and the one way to run a transaction (inTx).
type conn struct {
	Pool *pgxpool.Pool
	// appender groups concurrent voucher appends into one transaction (see Confirm).
	appender *voucherAppender
}

// Open makes the pool. It does not connect: pgxpool connects on first use, so a wrong URL or
// password shows at the first query; /readyz pings it on every call.
func Open(ctx context.Context, url string) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(url)
	// pgxpool connects lazily: NewWithConfig only validates the configuration, so a database
	// that is down shows up on the first query (or Ping), not here. The 5-second connect timeout
	// bounds how long a request waits on a dead primary before interpretError turns it into a 503.
	if err != nil {
		return nil, fmt.Errorf("database URL: %w", err)
	}
	cfg.ConnConfig.ConnectTimeout = 5 * time.Second
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return &DB{conn{Pool: pool, appender: &voucherAppender{}}}, nil
}

// Close closes the pool.
func (db *DB) Close() { db.Pool.Close() }

// Ping reports whether PostgreSQL answers; /readyz uses it.
func (db *DB) Ping(ctx context.Context) error { return db.Pool.Ping(ctx) }

// Migrate applies every embedded migration not yet applied. A PostgreSQL advisory lock (goose's
// session locker) serialises concurrent migrators, so two venue processes starting together are
// safe.
func (db *DB) Migrate(ctx context.Context) ([]string, error) {
	sqlDB := stdlib.OpenDBFromPool(db.Pool)
	defer sqlDB.Close()
	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		return nil, err
	}
	provider, err := goose.NewProvider(goose.DialectPostgres, sqlDB, mustSub(migrations, "migrations"),
		goose.WithSessionLocker(locker))
	if err != nil {
		return nil, err
	}
	results, err := provider.Up(ctx)
	applied := make([]string, 0, len(results))
	for _, r := range results {
		applied = append(applied, r.Source.Path)
	}
	return applied, err
}

// inTx runs fn in one transaction and commits it. A serialisation failure or deadlock (which
// PostgreSQL resolves by aborting one side) is retried a few times here, in one place, rather than
// surfacing as an error the client must handle.
// fn may run up to four times: it must be free of side effects outside tx (no appends to
// a caller's slice, no Redis calls) or make them idempotent. Only 40001 and 40P01 are
// retried; every other error is translated once and returned. There is no backoff: the
// aborted side's rival has already committed or is about to, so an immediate retry
// usually succeeds.
func (db conn) inTx(ctx context.Context, fn func(pgx.Tx) error) error {
	const attempts = 4
	var err error
	for i := 0; i < attempts; i++ {
		err = pgx.BeginFunc(ctx, db.Pool, fn)
		if !retryable(err) {
			return interpretError(err)
		}
	}
	return interpretError(err)
}

// querier is what a read needs: the pool, or a transaction (readBack reads inside the writing one).
type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

// readBack runs write in one transaction (inTx) and reads the answer in that same transaction,
// before it commits. Read after the commit, a failed read (the database restarting, the pool
// exhausted) would answer an error for a change that was made: the idempotency layer releases a
// failed request's key, so the client's retry would make the change a second time (a second cap
// version, a second certificate). Read inside, the change and its answer stand or fall together.
func readBack[T any](ctx context.Context, db conn, write func(pgx.Tx) error, read func(querier) (T, error)) (T, error) {
	var out T
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		if err := write(tx); err != nil {
			return err
		}
		var err error
		out, err = read(tx)
		return err
	})
	if err != nil {
		var none T
		return none, err
	}
	return out, nil
}

// retryable reports whether PostgreSQL aborted the transaction to resolve a conflict rather than
// because the request was wrong: 40001 serialization_failure (SERIALIZABLE or REPEATABLE READ
// isolation) and 40P01 deadlock_detected. Running the whole transaction again is the documented
// remedy for both.
func retryable(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (pgErr.Code == "40001" || pgErr.Code == "40P01")
}

// appendAudit records a change in the transaction that makes it. The caller and request id come
// from ctx (set by the HTTP layer, or audit.SystemCaller for commands).
func appendAudit(ctx context.Context, tx pgx.Tx, action, resourceType, resourceID string, detail any) error {
	sql, args, err := auditStatement(ctx, action, resourceType, resourceID, detail)
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, sql, args...)
	return err
}

// Record appends one audit record on its own, for an action that changes no table of the venue
// (a console sign-in or sign-out): one statement, so one transaction. The caller comes from ctx.
func (db AuditStore) Record(ctx context.Context, action, resourceType, resourceID string, detail any) error {
	sql, args, err := auditStatement(ctx, action, resourceType, resourceID, detail)
	if err != nil {
		return err
	}
	_, err = db.Pool.Exec(ctx, sql, args...)
	return interpretError(err)
}

// Events lists audit events, newest first.
// Keyset paging on the bigserial id (f.Before is the last id of the previous page) keeps a page
// stable while new events are appended; an empty filter string or zero disables that condition,
// so one prepared statement serves every filter combination.
func (db AuditStore) Events(ctx context.Context, f audit.Filter) ([]audit.Event, error) {
	rows, err := db.Pool.Query(ctx, `SELECT id, at, actor_org, actor_role, actor_subject, actor_issuer,
			request_id, client_request_id, action, resource_type, resource_id, detail
		FROM audit_events
		WHERE ($1 = '' OR actor_org = $1)
		  AND ($2 = '' OR resource_type = $2)
		  AND ($3 = '' OR resource_id = $3)
		  AND ($4 = 0 OR id < $4)
		ORDER BY id DESC LIMIT $5`,
		string(f.Org), f.ResourceType, f.ResourceID, f.Before, clampLimit(f.Limit))
	if err != nil {
		return nil, interpretError(err)
	}
	events, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (audit.Event, error) {
		var e audit.Event
		err := row.Scan(&e.ID, &e.At, &e.ActorOrg, &e.ActorRole, &e.ActorSubject, &e.ActorIssuer,
			&e.RequestID, &e.ClientRequestID, &e.Action, &e.ResourceType, &e.ResourceID, &e.Detail)
		return e, err
	})
	return events, interpretError(err)
}

// MigrationsFingerprint is a hash of the embedded migration files: tests name their migrated
// template database after it, so a new migration gets a new template.
// Errors are ignored: the files are embedded at build time, so reading them cannot fail.
func MigrationsFingerprint() string {
	h := sha256.New()
	entries, _ := fs.ReadDir(migrations, "migrations")
	for _, e := range entries {
		raw, _ := migrations.ReadFile("migrations/" + e.Name())
		h.Write([]byte(e.Name()))
		h.Write(raw)
	}
	return hex.EncodeToString(h.Sum(nil))[:12]
}

// mustSub panics because the embedded directory is fixed at build time: a failure is a build
// mistake, not a runtime condition.
func mustSub(fsys fs.FS, dir string) fs.FS {
	sub, err := fs.Sub(fsys, dir)
	if err != nil {
		panic(err)
	}
	return sub
}
