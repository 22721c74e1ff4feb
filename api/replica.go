package api

import (
	"context"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/datavenue/datavenue/listing"
)

// CatalogueReader is the public catalogue as anonymous callers read it (listing.Catalogue over a
// store that may read a hot standby).
type CatalogueReader interface {
	Search(ctx context.Context, in listing.SearchInput) (listing.SearchResult, error)
	Public(ctx context.Context, id string) (listing.Product, error)
	Published(ctx context.Context, after string, limit int) ([]listing.Product, error)
}

// ReadReplica reports on the hot standby the anonymous catalogue reads from (postgres.ReadRouter):
// /readyz and the metrics show it.
type ReadReplica interface {
	// ReplicaFallback says why catalogue reads go to the primary now; "" when they go to the standby.
	ReplicaFallback() string
	// ReplicaLag is how far behind the primary the standby is; negative when unknown.
	ReplicaLag() time.Duration
	// CatalogueReads counts the catalogue reads the standby and the primary answered.
	CatalogueReads() (replica, primary uint64)
}

// catalogue is where a catalogue request reads. Anonymous requests may read the standby (the
// answers are public and cached for up to a minute anyway); a request with a token reads the
// primary, since its caller may be the operator who just published or changed the product and
// must see that change (read-your-writes), and its answer is never cached.
func (h *handlers) catalogue(c *fiber.Ctx) CatalogueReader {
	if h.d.Catalogue != nil && c.Get(fiber.HeaderAuthorization) == "" {
		return h.d.Catalogue
	}
	return h.d.Listing
}

// replicaReadiness adds the standby to /readyz: reads that leave it for the primary make the venue
// degraded, not unready, since every catalogue read is still answered.
func (h *handlers) replicaReadiness(res *Readiness) {
	if h.d.ReadReplica == nil || res.Status == "not_ready" {
		return
	}
	why := h.d.ReadReplica.ReplicaFallback()
	if why == "" {
		res.Checks["read_replica"] = "ok"
		return
	}
	res.Status, res.Checks["read_replica"] = "degraded", "degraded"
	res.Degraded = append(res.Degraded, why+": catalogue reads go to the primary")
}

// replicaCollector reads the standby's state at each scrape.
type replicaCollector struct {
	replica ReadReplica
	reads   *prometheus.Desc
	lag     *prometheus.Desc
	serving *prometheus.Desc
}

// newReplicaCollector describes the standby's metrics. "serving" says where catalogue reads go
// now; the lag alone does not, since reads leave the standby only beyond DATAVENUE_READ_MAX_LAG.
func newReplicaCollector(r ReadReplica) *replicaCollector {
	return &replicaCollector{replica: r,
		reads: prometheus.NewDesc("datavenue_catalogue_reads_total", "Anonymous catalogue reads, by the server that answered them (replica, primary).", []string{"target"}, nil),
		lag:   prometheus.NewDesc("datavenue_read_replica_lag_seconds", "How far the read replica is behind the primary (an upper bound; absent while unknown).", nil, nil),
		serving: prometheus.NewDesc("datavenue_read_replica_serving",
			"1 when catalogue reads go to the read replica; 0 when they go to the primary (replica down or beyond DATAVENUE_READ_MAX_LAG).", nil, nil),
	}
}

// Describe lists the collector's descriptors so registration rejects a name clash at start.
func (r *replicaCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- r.reads
	ch <- r.lag
	ch <- r.serving
}

// Collect reports the router's own counters as counters (they only grow), and the lag only when it
// is known: a 0 for "unknown" would read as "fully caught up", the opposite of what an operator
// needs to see while the standby is unreachable.
func (r *replicaCollector) Collect(ch chan<- prometheus.Metric) {
	replica, primary := r.replica.CatalogueReads()
	ch <- prometheus.MustNewConstMetric(r.reads, prometheus.CounterValue, float64(replica), "replica")
	ch <- prometheus.MustNewConstMetric(r.reads, prometheus.CounterValue, float64(primary), "primary")
	if lag := r.replica.ReplicaLag(); lag >= 0 {
		ch <- prometheus.MustNewConstMetric(r.lag, prometheus.GaugeValue, lag.Seconds())
	}
	serving := 0.0
	if r.replica.ReplicaFallback() == "" {
		serving = 1
	}
	ch <- prometheus.MustNewConstMetric(r.serving, prometheus.GaugeValue, serving)
}
