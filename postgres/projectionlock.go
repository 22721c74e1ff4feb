package postgres

import (
	"context"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/datavenue/datavenue/matching"
)

// projectionLockKey is the first half of the projection's advisory lock keys; the shard is the
// second.
const projectionLockKey = `hashtext('datavenue projection')`

// projectionLease is the longest a projector keeps a shard's lock.
const projectionLease = time.Minute

// ProjectionLocks are the projection's shard locks (see matching.ShardLocker): session-level
// advisory locks, held on a connection of their own rather than one of the pool's. A projector
// holding a shard needs pooled connections to apply its entries; holding a pooled one as well
// would let it, and the other users that take two at once, exhaust a small pool and wait for each
// other for good. A process that dies loses its session, and its locks with it, so a survivor takes
// the shard over at its next pass.
type ProjectionLocks struct {
	db   conn
	mu   sync.Mutex // held from a lock to its unlock: one shard at a time per process
	conn *pgx.Conn
}

// ProjectionLocks makes the process's shard locks; Close ends their connection.
func (db MatchingStore) ProjectionLocks() *ProjectionLocks { return &ProjectionLocks{db: db.conn} }

// TryLockShard takes one shard's lock unless another process holds it (ok false).
func (l *ProjectionLocks) TryLockShard(ctx context.Context, shard int) (unlock func(), ok bool, err error) {
	l.mu.Lock()
	if l.conn == nil || l.conn.IsClosed() {
		if l.conn, err = pgx.ConnectConfig(ctx, l.db.Pool.Config().ConnConfig.Copy()); err != nil {
			l.conn = nil
			l.mu.Unlock()
			return nil, false, interpretError(err)
		}
	}
	if err := l.conn.QueryRow(ctx, `SELECT pg_try_advisory_lock(`+projectionLockKey+`, $1)`, shard).Scan(&ok); err != nil || !ok {
		if err != nil {
			l.drop() // whether the lock was taken is unknown: end the session, and any lock with it
		}
		l.mu.Unlock()
		return nil, false, interpretError(err)
	}
	// A lease: a holder that has not unlocked within projectionLease (a pass takes seconds) is
	// stuck (seen: a Redis call that did not return), and gives the shard up as a dead process
	// would: its session's socket is closed, PostgreSQL ends the session and frees the lock.
	conn := l.conn
	lease := time.AfterFunc(projectionLease, func() { _ = conn.PgConn().Conn().Close() })
	return func() {
		lease.Stop()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if _, err := l.conn.Exec(ctx, `SELECT pg_advisory_unlock(`+projectionLockKey+`, $1)`, shard); err != nil {
			l.drop() // not known to be released: the session ends rather than keep the shard
		}
		l.mu.Unlock()
	}, true, nil
}

// drop closes the locks' connection (l.mu held); the next lock opens another.
func (l *ProjectionLocks) drop() {
	if l.conn != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = l.conn.Close(ctx)
		l.conn = nil
	}
}

// Close ends the locks' connection, releasing any lock still held.
func (l *ProjectionLocks) Close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.drop()
}

var _ matching.ShardLocker = (*ProjectionLocks)(nil)
