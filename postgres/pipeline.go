package postgres

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/datavenue/datavenue"
)

// Pipelined transactions. A settlement step is "lock and read, check in Go, write": on a busy
// machine each statement's round trip (two context switches on each side, the parse-bind-execute
// protocol) costs as much as the statement itself, so the hot paths send their statements as
// pgx batches — one round trip each — and fold BEGIN into the first batch and COMMIT into the
// last. The transaction is the same one inTx would run: same isolation, same locks, taken in the
// same order; only the number of times the client waits for the server changes.

// txPipe is a transaction sent as batches on one pooled connection.
type txPipe struct {
	conn  *pgx.Conn
	begun bool // BEGIN sent
	done  bool // COMMIT sent and answered
}

// inPipe runs fn in one pipelined transaction; fn must end it with commit. Like inTx, a
// serialisation failure or deadlock is retried a few times; anything else rolls back.
func (db conn) inPipe(ctx context.Context, fn func(p *txPipe) error) error {
	const attempts = 4
	var err error
	for i := 0; i < attempts; i++ {
		err = db.runPipe(ctx, fn)
		if !retryable(err) {
			return interpretError(err)
		}
	}
	return interpretError(err)
}

func (db conn) runPipe(ctx context.Context, fn func(p *txPipe) error) error {
	conn, err := db.Pool.Acquire(ctx)
	if err != nil {
		return err
	}
	// A connection left inside a transaction (a failed rollback) is closed by the pool on release.
	defer conn.Release()
	p := &txPipe{conn: conn.Conn()}
	err = fn(p)
	if err == nil && !p.done {
		err = errors.New("postgres: pipelined transaction not committed")
	}
	if err != nil && p.conn.PgConn().TxStatus() != 'I' {
		_, _ = p.conn.Exec(ctx, "rollback") // the error that made us roll back is the one to report
	}
	return err
}

// send sends b (BEGIN first if the transaction is not open yet) and runs its callbacks.
func (p *txPipe) send(ctx context.Context, b *pgx.Batch) error {
	if !p.begun {
		// BEGIN rides in the first batch, so opening the transaction costs no round trip of its own. The
		// batch's callbacks run in Close, in order, so a callback sees the results of the statements
		// queued before it.
		//
		// The transaction runs on generic plans. Its statements find their rows by primary or foreign
		// key, insert from arrays, or join a handful of rows so found to their keys (the certificates
		// of the orders' products, a bill's subscription, an event's subscribers), so the one plan
		// each is right for any parameters; but under
		// plan_cache_mode = auto PostgreSQL re-plans a statement whenever a custom plan for the values
		// at hand looks cheaper than the generic one, which is always the case for = ANY($1) over an
		// array (one element against the generic plan's guess of ten) and, depending on the
		// statistics of the moment, for the foreign-key reads and the ledger trigger's sum. A profile
		// of the settlement benchmark found a tenth of the server's CPU in the planner for statements
		// whose plan never changed.
		b.QueuedQueries = append([]*pgx.QueuedQuery{{SQL: "begin"}, {SQL: "set local plan_cache_mode = force_generic_plan"}}, b.QueuedQueries...)
		p.begun = true
	}
	return p.conn.SendBatch(ctx, b).Close()
}

// commit sends b followed by COMMIT: the writes and the commit cost one round trip. A commit
// that PostgreSQL turns into a rollback (a deferred constraint failed) is an error.
func (p *txPipe) commit(ctx context.Context, b *pgx.Batch) error {
	b.Queue("commit").Exec(func(tag pgconn.CommandTag) error {
		// A deferred constraint (the ledger's balance trigger) is checked at COMMIT; PostgreSQL then ends
		// the transaction with ROLLBACK, which must not be mistaken for success.
		if tag.String() == "ROLLBACK" {
			return pgx.ErrTxCommitRollback
		}
		p.done = true
		return nil
	})
	return p.send(ctx, b)
}

// auditStatement is appendAudit's statement, for a batch (queueAudit) or a direct Exec.
func auditStatement(ctx context.Context, action, resourceType, resourceID string, detail any) (string, []any, error) {
	// The caller comes from ctx (set by the HTTP layer, or audit.SystemCaller for sweeps); a write
	// without one is refused rather than audited as nobody, because every change must name who made
	// it.
	caller, ok := datavenue.CallerFrom(ctx)
	if !ok {
		return "", nil, errors.New("audit: no caller in context")
	}
	raw, err := json.Marshal(detail)
	if err != nil {
		return "", nil, err
	}
	return `INSERT INTO audit_events
		(actor_org, actor_role, actor_subject, actor_issuer, request_id, client_request_id, action, resource_type, resource_id, detail)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`, []any{
			caller.Org, caller.Role, caller.Subject, caller.Issuer, datavenue.RequestIDFrom(ctx), datavenue.ClientRequestIDFrom(ctx),
			action, resourceType, resourceID, raw}, nil
}

// queueAudit queues an audit record of a change in the batch that makes it.
func queueAudit(ctx context.Context, b *pgx.Batch, action, resourceType, resourceID string, detail any) error {
	sql, args, err := auditStatement(ctx, action, resourceType, resourceID, detail)
	if err == nil {
		b.Queue(sql, args...)
	}
	return err
}
