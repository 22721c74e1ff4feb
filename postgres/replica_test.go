package postgres_test

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/internal/catalogueseed"
	"github.com/datavenue/datavenue/internal/testenv"
	"github.com/datavenue/datavenue/listing"
	"github.com/datavenue/datavenue/parties"
	"github.com/datavenue/datavenue/postgres"
)

// These tests run against the test command's real hot standby (scripts/services.sh up --replica),
// streaming from the primary the test databases live on.

const replicaOperator = datavenue.OrgID("org_01JDEM00000000000000000005")

// replicaFixture is a test database with an operator, and a router over it and its copy on the
// standby (or on replicaURL).
func replicaFixture(t *testing.T, replicaURL func(dbURL string) string, maxLag time.Duration) (db, replica *postgres.DB, r *postgres.ReadRouter) {
	t.Helper()
	db, url := testenv.NewDBWithURL(t)
	replica, err := postgres.Open(context.Background(), replicaURL(url))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(replica.Close)
	if _, err := db.Parties().CreateOrganisation(callerCtx(), parties.Registration{ID: replicaOperator, USCC: "91350100M000100Y43",
		Name: "数据运营有限公司", Kind: parties.KindOperator}); err != nil {
		t.Fatal(err)
	}
	return db, replica, postgres.NewReadRouter(db, replica, maxLag, nil)
}

// publish writes published product number i to the primary and returns its id.
func publish(t *testing.T, db *postgres.DB, i int) string {
	t.Helper()
	if err := catalogueseed.Load(callerCtx(), db.Pool, replicaOperator, i, i+1); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("prd_%026d", i)
}

// eventually polls cond until it holds, failing the test at the deadline.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within a minute", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// searchFinds reports whether the catalogue's newest products, read through the router, include id.
func searchFinds(t *testing.T, r *postgres.ReadRouter, id string) bool {
	t.Helper()
	res, err := listing.Catalogue{Store: r}.Search(callerCtx(), listing.SearchInput{Limit: 100})
	if err != nil {
		t.Fatalf("search: %v", err)
	}
	return slices.ContainsFunc(res.Data, func(e listing.Entry) bool { return e.ID == id })
}

// caughtUp checks the standby until the router reads from it.
func caughtUp(t *testing.T, r *postgres.ReadRouter) {
	t.Helper()
	eventually(t, "the router to read from the standby", func() bool {
		r.Check(context.Background())
		return r.ReplicaFallback() == ""
	})
}

func TestReadRouterReadsPublishedProductsFromTheStandby(t *testing.T) {
	db, _, router := replicaFixture(t, func(url string) string { return testenv.NewReplica(t, url, false).URL }, time.Minute)
	ctx := callerCtx()

	// Until it has measured the standby, the router does not trust it.
	if why := router.ReplicaFallback(); why == "" {
		t.Fatal("an unchecked standby serves reads")
	}
	if in, err := router.InRecovery(ctx); err != nil || in {
		t.Fatalf("before the first check: pg_is_in_recovery() = %v, %v; want false (the primary)", in, err)
	}
	caughtUp(t, router)
	if in, err := router.InRecovery(ctx); err != nil || !in {
		t.Fatalf("after a check: pg_is_in_recovery() = %v, %v; want true (the standby answers)", in, err)
	}
	if lag := router.ReplicaLag(); lag < 0 || lag > time.Minute {
		t.Errorf("lag = %s, want a measured lag under the bound", lag)
	}

	id := publish(t, db, 0)
	_, primaryBefore := router.CatalogueReads()
	eventually(t, "the product published on the primary to be found through the standby", func() bool {
		return searchFinds(t, router, id)
	})
	replica, primary := router.CatalogueReads()
	if primary != primaryBefore || replica < 2 {
		t.Errorf("reads: replica %d, primary %d (was %d); want every search on the standby", replica, primary, primaryBefore)
	}
	// A product the standby does not have yet is asked of the primary, not reported missing.
	id = publish(t, db, 1)
	if p, err := (listing.Catalogue{Store: router}).Public(ctx, id); err != nil || p.ID != id {
		t.Errorf("Public(%s) = %s, %v; want the product", id, p.ID, err)
	}
}

func TestReadRouterLeavesALaggingStandbyForThePrimary(t *testing.T) {
	var rep testenv.Replica
	const bound = time.Second
	db, _, router := replicaFixture(t, func(url string) string { rep = testenv.NewReplica(t, url, true); return rep.URL }, bound)
	ctx := callerCtx()
	caughtUp(t, router)

	rep.PauseReplay(t)
	id := publish(t, db, 0) // on the primary only: the standby receives it but does not apply it
	eventually(t, "the lag to pass the bound", func() bool {
		router.Check(ctx)
		return strings.Contains(router.ReplicaFallback(), "behind the primary")
	})
	if lag := router.ReplicaLag(); lag <= bound {
		t.Errorf("lag = %s, want beyond the bound %s", lag, bound)
	}
	replica, primary := router.CatalogueReads()
	if !searchFinds(t, router, id) {
		t.Error("a search while the standby lags does not find what the primary has")
	}
	if r, p := router.CatalogueReads(); r != replica || p != primary+1 {
		t.Errorf("reads: replica %d→%d, primary %d→%d; want the search on the primary", replica, r, primary, p)
	}
	if in, err := router.InRecovery(ctx); err != nil || in {
		t.Errorf("pg_is_in_recovery() = %v, %v; want false (the primary answers)", in, err)
	}

	// Once it has caught up, the standby answers again (polled: under the test suite's load the
	// standby can drift past so tight a bound for a moment, and that search goes to the primary).
	rep.ResumeReplay(t)
	eventually(t, "the caught-up standby to answer the search", func() bool {
		router.Check(ctx)
		before, _ := router.CatalogueReads()
		found := searchFinds(t, router, id)
		after, _ := router.CatalogueReads()
		return found && after == before+1
	})
}

func TestReadRouterAnswersFromThePrimaryWhenTheStandbyIsDown(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	l.Close() // nothing listens there now
	db, _, router := replicaFixture(t, func(string) string {
		return "postgres://datavenue:x@" + closed + "/datavenue_test?sslmode=disable&connect_timeout=2"
	}, 5*time.Second)
	router.Check(context.Background())
	if why := router.ReplicaFallback(); why != "read replica unreachable" {
		t.Errorf("fallback = %q, want read replica unreachable", why)
	}
	if lag := router.ReplicaLag(); lag >= 0 {
		t.Errorf("lag = %s, want unknown (negative)", lag)
	}
	id := publish(t, db, 0)
	if !searchFinds(t, router, id) {
		t.Error("a search with the standby down does not find the product")
	}
	if replica, primary := router.CatalogueReads(); replica != 0 || primary != 1 {
		t.Errorf("reads: replica %d, primary %d; want 0, 1", replica, primary)
	}
}

// A read the standby fails (here: its pool is gone) is answered by the primary, and the reads after
// it go to the primary until the next check.
func TestReadRouterRetriesAFailedReadOnThePrimary(t *testing.T) {
	db, replica, router := replicaFixture(t, func(url string) string { return testenv.NewReplica(t, url, false).URL }, time.Minute)
	caughtUp(t, router)
	id := publish(t, db, 0)
	replica.Close()
	if !searchFinds(t, router, id) {
		t.Error("a search the standby failed did not find the product on the primary")
	}
	if why := router.ReplicaFallback(); why != "read replica failed a read" {
		t.Errorf("fallback = %q, want read replica failed a read", why)
	}
	if replica, primary := router.CatalogueReads(); replica != 0 || primary != 1 {
		t.Errorf("reads: replica %d, primary %d; want 0, 1", replica, primary)
	}
}
