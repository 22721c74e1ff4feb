package matching

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/access"
)

// ParkedStore keeps the entries the projection parked.
type ParkedStore interface {
	ParkedEntries(ctx context.Context, status string, after int64, limit int) ([]ParkedEntry, error)
	ParkedEntry(ctx context.Context, id int64) (ParkedEntry, error)
	RetryParked(ctx context.Context, id int64) (ParkedEntry, error)
	ParkedCounts(ctx context.Context) (map[int]int64, error)
}

// ProjectionControl is how people see and handle the projection: its per-shard lag, the parked
// entries, and retrying one once its cause is fixed. Settlement clerks (the venue's own staff)
// retry; clerks and auditors read.
type ProjectionControl struct {
	Store ParkedStore
	Redis LagRedis
	Keys  Keys
	Group string
	Clock datavenue.Clock
	// LagLimit is the age of the oldest unapplied entry past which the projection is degraded.
	LagLimit time.Duration
}

func mayReadProjection(c datavenue.Caller) bool {
	return c.Is(access.VenueStaff...)
}

// Parked lists parked entries (status parked, applied or empty for both), oldest first.
func (s ProjectionControl) Parked(ctx context.Context, caller datavenue.Caller, status, after string, limit int) ([]ParkedEntry, error) {
	if !mayReadProjection(caller) {
		return nil, datavenue.Forbidden("role_not_allowed", "settlement clerks and auditors read parked projection entries")
	}
	var f datavenue.Fields
	if status != "" && status != "parked" && status != "applied" {
		f.Add("status", "invalid_value", "status must be parked or applied")
	}
	from, err := parkedID(after)
	if after != "" && err != nil {
		f.Add("cursor", "invalid_cursor", "cursor must be a next_cursor value from a previous page")
	}
	if err := f.Err(); err != nil {
		return nil, err
	}
	list, err := s.Store.ParkedEntries(ctx, status, from, limit)
	for i := range list {
		list[i] = redactParked(list[i])
	}
	return list, err
}

// Get reads one parked entry.
func (s ProjectionControl) Get(ctx context.Context, caller datavenue.Caller, id string) (ParkedEntry, error) {
	if !mayReadProjection(caller) {
		return ParkedEntry{}, datavenue.Forbidden("role_not_allowed", "settlement clerks and auditors read parked projection entries")
	}
	n, err := pathParkedID(id)
	if err != nil {
		return ParkedEntry{}, err
	}
	e, err := s.Store.ParkedEntry(ctx, n)
	return redactParked(e), err
}

// Retry applies a parked entry again (idempotent: an applied entry stays applied).
func (s ProjectionControl) Retry(ctx context.Context, caller datavenue.Caller, id string) (ParkedEntry, error) {
	if !caller.Is(datavenue.RoleClerk) {
		return ParkedEntry{}, datavenue.Forbidden("role_not_allowed", "a settlement clerk retries parked projection entries")
	}
	n, err := pathParkedID(id)
	if err != nil {
		return ParkedEntry{}, err
	}
	e, err := s.Store.RetryParked(ctx, n)
	return redactParked(e), err
}

// pathParkedID reads an entry id from a path: one that cannot be an id names no entry.
func pathParkedID(s string) (int64, error) {
	n, err := parkedID(s)
	if err != nil || s == "" {
		return 0, datavenue.NotFound("parked_entry_not_found", "no parked projection entry has this id")
	}
	return n, nil
}

func parkedID(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err == nil && n < 0 {
		err = fmt.Errorf("negative id")
	}
	return n, err
}

// redactParked hides who bid what: a parked bid may belong to an auction still open, and sealed
// bids stay sealed to everyone until the close. The command line (`datavenue parked show`), run
// by whoever operates the database, shows the entry whole.
func redactParked(e ParkedEntry) ParkedEntry {
	if e.Fields["type"] != "bid" && e.Fields["type"] != "deposit" {
		return e
	}
	out := make(map[string]string, len(e.Fields))
	for k, v := range e.Fields {
		switch k {
		case "amount", "buyer", "bid", "ref":
			v = "(sealed)"
		}
		out[k] = v
	}
	e.Fields = out
	// The error text may quote a field (an amount that did not decode): its code says enough.
	e.Error = "(sealed: " + e.ErrorCode + "; datavenue parked show prints it whole)"
	return e
}

// ProjectionHealth is the projection's state: each shard's backlog and parked entries.
type ProjectionHealth struct {
	Shards []ShardHealth `json:"shards"`
	Parked int64         `json:"parked"`
	// Degraded says why the projection is not keeping up, if it is not.
	Degraded []string `json:"degraded,omitempty"`
}

// ShardHealth is one shard's backlog.
type ShardHealth struct {
	Shard         int     `json:"shard"`
	LagEntries    int64   `json:"lag_entries"`
	LagSeconds    float64 `json:"lag_seconds"`
	ParkedEntries int64   `json:"parked_entries"`
}

// Health reads the projection's state from Redis (the backlog) and PostgreSQL (parked entries).
func (s ProjectionControl) Health(ctx context.Context) (ProjectionHealth, error) {
	lags, err := Lag(ctx, s.Redis, s.Keys, s.Group, s.Clock.Now())
	if err != nil {
		return ProjectionHealth{}, err
	}
	parked, err := s.Store.ParkedCounts(ctx)
	if err != nil {
		return ProjectionHealth{}, err
	}
	return assessProjection(lags, parked, s.LagLimit), nil
}

// assessProjection says whether the projection keeps up: it does not when any entry is parked,
// or when an unapplied entry is older than limit.
func assessProjection(lags []ShardLag, parked map[int]int64, limit time.Duration) ProjectionHealth {
	var h ProjectionHealth
	for _, l := range lags {
		sh := ShardHealth{Shard: l.Shard, LagEntries: l.Entries, LagSeconds: l.Oldest.Seconds(), ParkedEntries: parked[l.Shard]}
		h.Shards = append(h.Shards, sh)
		h.Parked += sh.ParkedEntries
		if sh.ParkedEntries > 0 {
			h.Degraded = append(h.Degraded, fmt.Sprintf("shard %d: %d parked entries", l.Shard, sh.ParkedEntries))
		}
		if limit > 0 && l.Entries > 0 && l.Oldest > limit {
			h.Degraded = append(h.Degraded, fmt.Sprintf("shard %d: %d entries behind, the oldest %s old (limit %s)",
				l.Shard, l.Entries, l.Oldest.Round(time.Second), limit))
		}
	}
	return h
}
