package postgres

import "context"

// InRecovery asks pg_is_in_recovery() of the server the router sends a catalogue read to: true
// when that is the standby. It proves which server answers, not merely that an answer came.
func (r *ReadRouter) InRecovery(ctx context.Context) (bool, error) {
	return routed(ctx, r, func(db *DB) (bool, error) {
		var in bool
		err := db.Pool.QueryRow(ctx, `SELECT pg_is_in_recovery()`).Scan(&in)
		return in, interpretError(err)
	})
}
