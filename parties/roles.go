package parties

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/datavenue/datavenue"
)

// RoleStore reads what the role gate needs: an organisation's roles.
type RoleStore interface {
	Organisation(ctx context.Context, id datavenue.OrgID) (Organisation, error)
}

// RoleGate refuses a caller whose organisation is unknown or does not hold the role its token
// names: the identity provider may be wrong, and the venue must not follow it. Roles are cached
// for TTL (10 s by default), so a role taken away stops working within that time. While the
// database cannot be read, what was last read is used for up to Stale (10 min by default), so that
// bidding, which needs only Redis, goes on through a PostgreSQL outage; an organisation not read
// before answers 503.
type RoleGate struct {
	Store RoleStore
	TTL   time.Duration
	Stale time.Duration
	Clock datavenue.Clock

	mu    sync.Mutex
	cache map[datavenue.OrgID]gateEntry
}

// gateEntry is what the gate remembers of an organisation: known is false for an id the store
// does not have (that answer is cached too, so unknown ids do not reach the database on every
// request), and expires is when it must be read again.
type gateEntry struct {
	roles   []datavenue.Role
	known   bool
	expires time.Time
}

// Check is nil when caller's organisation holds caller's role.
func (g *RoleGate) Check(ctx context.Context, caller datavenue.Caller) error {
	e, err := g.lookup(ctx, caller.Org)
	if err != nil {
		return err
	}
	if !e.known {
		return datavenue.Forbidden("organisation_unknown", "the token acts for an organisation the venue has not registered")
	}
	if !slices.Contains(e.roles, caller.Role) {
		return datavenue.Forbidden("role_not_held", "the token's organisation does not hold the role "+string(caller.Role)+" at the venue")
	}
	return nil
}

func (g *RoleGate) lookup(ctx context.Context, org datavenue.OrgID) (gateEntry, error) {
	// The lock is held only around the map, never across the database read, so one slow read does not
	// stall every request; two concurrent misses for the same organisation may both read it, which is
	// harmless.
	now := g.Clock.Now()
	g.mu.Lock()
	e, ok := g.cache[org]
	g.mu.Unlock()
	if ok && now.Before(e.expires) {
		return e, nil
	}
	o, err := g.Store.Organisation(ctx, org)
	switch {
	case err == nil:
		e = gateEntry{roles: o.Roles, known: true}
	// An unregistered organisation is cached as unknown for TTL as well: a just-registered one is
	// admitted within TTL.
	case datavenue.KindOf(err) == datavenue.KindNotFound:
		e = gateEntry{}
	default:
		stale := g.Stale
		if stale <= 0 {
			stale = 10 * time.Minute
		}
		// Only an outage (Unavailable) falls back to the stale entry, and only within Stale after it
		// expired; any other error is returned, so a bug is never hidden behind an old answer.
		if ok && datavenue.KindOf(err) == datavenue.KindUnavailable && now.Before(e.expires.Add(stale)) {
			return e, nil
		}
		return gateEntry{}, err
	}
	ttl := g.TTL
	if ttl <= 0 {
		ttl = 10 * time.Second
	}
	e.expires = now.Add(ttl)
	g.mu.Lock()
	if g.cache == nil || len(g.cache) > 100000 { // bounded: unknown ids cannot grow it without end
		g.cache = map[datavenue.OrgID]gateEntry{}
	}
	g.cache[org] = e
	g.mu.Unlock()
	return e, nil
}
