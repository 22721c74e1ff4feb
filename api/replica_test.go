package api_test

import (
	"context"
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/api"
	"github.com/datavenue/datavenue/internal/testenv"
	"github.com/datavenue/datavenue/listing"
	"github.com/datavenue/datavenue/postgres"
)

// These tests run the venue over the test command's real hot standby (scripts/services.sh up
// --replica), or over a standby that is not there.

// replicaDeps is what a venue's anonymous catalogue reads through (none: the primary, as usual).
type replicaDeps struct {
	catalogue api.CatalogueReader
	status    api.ReadReplica
}

// replicaSetup, while a test of the read replica builds its venue, gives the venue a read replica
// for its database (as newVenueLimit sets bodyLimit).
var replicaSetup func(t *testing.T, db *postgres.DB, dbURL string) replicaDeps

func replicaFor(t *testing.T, db *postgres.DB, dbURL string) replicaDeps {
	if replicaSetup == nil {
		return replicaDeps{}
	}
	return replicaSetup(t, db, dbURL)
}

// withReplica builds a venue whose anonymous catalogue reads go through a router over
// replicaURL(its database's URL), checked in the background as `datavenue serve` does.
func withReplica[V any](t *testing.T, replicaURL func(dbURL string) string, maxLag time.Duration, build func() V) V {
	t.Helper()
	replicaSetup = func(t *testing.T, db *postgres.DB, dbURL string) replicaDeps {
		replica, err := postgres.Open(context.Background(), replicaURL(dbURL))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(replica.Close)
		router := postgres.NewReadRouter(db, replica, maxLag, nil)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { router.Run(ctx); close(done) }()
		t.Cleanup(func() { cancel(); <-done })
		return replicaDeps{catalogue: listing.Catalogue{Store: router}, status: router}
	}
	defer func() { replicaSetup = nil }()
	return build()
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

// readiness is /readyz; the venue serves the catalogue whatever its standby does, so it is never 503.
func (v *venue) readiness() api.Readiness {
	v.t.Helper()
	r := v.do("GET", "/readyz", "", nil)
	mustStatus(v.t, r, 200)
	return decode[api.Readiness](v.t, r)
}

// replicaIs waits until /readyz says the read replica is ok or degraded, and returns the answer.
func (v *venue) replicaIs(check string) api.Readiness {
	v.t.Helper()
	var res api.Readiness
	eventually(v.t, "/readyz read_replica "+check, func() bool {
		res = v.readiness()
		return res.Checks["read_replica"] == check
	})
	return res
}

// metric reads one sample of the venue's metrics (-1 when it is absent).
func (v *venue) metric(series string) float64 {
	v.t.Helper()
	r := v.do("GET", "/metrics", v.token(datavenue.RoleClerk, venueOrg), nil)
	mustStatus(v.t, r, 200)
	for _, line := range strings.Split(string(r.body), "\n") {
		if value, ok := strings.CutPrefix(line, series+" "); ok {
			f, err := strconv.ParseFloat(value, 64)
			if err != nil {
				v.t.Fatalf("metric %s: %v", line, err)
			}
			return f
		}
	}
	return -1
}

const (
	replicaReads = `datavenue_catalogue_reads_total{target="replica"}`
	primaryReads = `datavenue_catalogue_reads_total{target="primary"}`
	serving      = `datavenue_read_replica_serving`
)

// anonymousFinds reports whether an anonymous search for q lists product id.
func (v *venue) anonymousFinds(q, id string) bool {
	v.t.Helper()
	return slices.ContainsFunc(v.search("q="+q).Data, func(e listing.Entry) bool { return e.ID == id })
}

func TestAnonymousCatalogueReadsTheStandby(t *testing.T) {
	m := withReplica(t, func(url string) string { return testenv.NewReplica(t, url, false).URL }, time.Minute,
		func() *market { return newMarket(t, nil) })
	m.replicaIs("ok")
	p := m.createProduct(nil)
	mustStatus(t, m.publish(p.ID), 200)

	// The operator who published sees the product at once: a request with a token reads the
	// primary, whatever the standby has replayed.
	op := m.as(datavenue.RoleOperator, operatorOrg)
	r := m.do("GET", "/v1/catalogue?q=公交", op, nil)
	mustStatus(t, r, 200)
	if !slices.ContainsFunc(decode[listing.SearchResult](t, r).Data, func(e listing.Entry) bool { return e.ID == p.ID }) {
		t.Fatal("the operator's own search does not list the product it just published")
	}
	if n := m.metric(replicaReads) + m.metric(primaryReads); n != 0 {
		t.Errorf("catalogue reads counted for requests with a token: %v, want 0", n)
	}

	// Anonymous readers see it once the standby has replayed it, and the standby answers them.
	eventually(t, "the published product in the anonymous catalogue", func() bool { return m.anonymousFinds("公交", p.ID) })
	mustStatus(t, m.do("GET", "/v1/catalogue/"+p.ID, "", nil), 200)
	mustStatus(t, m.do("GET", "/v1/catalogue/"+p.ID+"/dcat", "", nil), 200)
	if r := m.do("GET", "/v1/catalogue.jsonld", "", nil); r.status != 200 || !strings.Contains(string(r.body), p.ID) {
		t.Errorf("DCAT export from the standby: %d, product listed %v", r.status, strings.Contains(string(r.body), p.ID))
	}
	if got := m.metric(replicaReads); got < 4 {
		t.Errorf("%s = %v, want every anonymous read (at least 4)", replicaReads, got)
	}
	if got := m.metric(primaryReads); got != 0 {
		t.Errorf("%s = %v, want 0", primaryReads, got)
	}
	if got := m.metric(serving); got != 1 {
		t.Errorf("%s = %v, want 1", serving, got)
	}
	if lag := m.metric("datavenue_read_replica_lag_seconds"); lag < 0 || lag > 60 {
		t.Errorf("lag = %v s, want measured and under the bound", lag)
	}
}

func TestCatalogueLeavesALaggingStandbyForThePrimary(t *testing.T) {
	var rep testenv.Replica
	m := withReplica(t, func(url string) string { rep = testenv.NewReplica(t, url, true); return rep.URL }, time.Second,
		func() *market { return newMarket(t, nil) })
	m.replicaIs("ok")
	p := m.createProduct(nil)

	rep.PauseReplay(t)
	mustStatus(t, m.publish(p.ID), 200) // on the primary; the standby receives it but does not apply it
	res := m.replicaIs("degraded")
	if res.Status != "degraded" || !slices.ContainsFunc(res.Degraded, func(s string) bool {
		return strings.Contains(s, "behind the primary") && strings.HasSuffix(s, "catalogue reads go to the primary")
	}) {
		t.Errorf("/readyz = %+v, want degraded: the replica behind the primary", res)
	}
	before := m.metric(primaryReads)
	if !m.anonymousFinds("公交", p.ID) {
		t.Error("an anonymous search while the standby lags does not list what the primary has")
	}
	if got := m.metric(primaryReads); got != before+1 {
		t.Errorf("%s = %v, want %v (the search on the primary)", primaryReads, got, before+1)
	}
	if got := m.metric(serving); got != 0 {
		t.Errorf("%s = %v, want 0", serving, got)
	}

	// Once it has caught up, the standby answers again (polled: under the test suite's load the
	// standby can drift past so tight a bound for a moment, and that search goes to the primary).
	rep.ResumeReplay(t)
	m.replicaIs("ok")
	eventually(t, "the caught-up standby to answer the search", func() bool {
		before := m.metric(replicaReads)
		return m.anonymousFinds("公交", p.ID) && m.metric(replicaReads) == before+1
	})
}

func TestCatalogueAnswersFromThePrimaryWhenTheStandbyIsDown(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	l.Close() // nothing listens there now
	v := withReplica(t, func(string) string {
		return "postgres://datavenue:x@" + closed + "/datavenue_test?sslmode=disable&connect_timeout=2"
	}, 5*time.Second, func() *venue { return newCatalogue(t) })
	res := v.replicaIs("degraded")
	if !slices.Contains(res.Degraded, "read replica unreachable: catalogue reads go to the primary") {
		t.Errorf("/readyz degraded = %q, want the replica unreachable", res.Degraded)
	}
	if got := v.search("").Total; got != seeded {
		t.Errorf("anonymous search with the standby down: %d products, want %d", got, seeded)
	}
	mustStatus(t, v.do("GET", "/v1/catalogue.jsonld", "", nil), 200)
	if got := v.metric(replicaReads); got != 0 {
		t.Errorf("%s = %v, want 0", replicaReads, got)
	}
	if got := v.metric(primaryReads); got != 2 {
		t.Errorf("%s = %v, want 2", primaryReads, got)
	}
	if lag := v.metric("datavenue_read_replica_lag_seconds"); lag != -1 {
		t.Errorf("lag of an unreachable standby = %v, want no sample", lag)
	}
}
