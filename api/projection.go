package api

import (
	"context"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/matching"
)

// Projection is what the API needs of the projection's controls (matching.ProjectionControl). The
// projection copies the matching engine's events from Redis into PostgreSQL, where trades become
// orders; an event it can never apply is parked rather than retried forever, so the events behind
// it on its shard keep flowing, and a clerk retries it here once its cause is fixed.
type Projection interface {
	Parked(ctx context.Context, caller datavenue.Caller, status, after string, limit int) ([]matching.ParkedEntry, error)
	Get(ctx context.Context, caller datavenue.Caller, id string) (matching.ParkedEntry, error)
	Retry(ctx context.Context, caller datavenue.Caller, id string) (matching.ParkedEntry, error)
	Health(ctx context.Context) (matching.ProjectionHealth, error)
}

// projectionRoutes are operations routes for venue staff; they exist only when the venue runs a
// projection. Retrying is a POST whose answer is the entry as it now is (applied, or still parked
// with the new error as a 409), so a clerk sees at once whether the fix worked.
func (h *handlers) projectionRoutes() []Route {
	if h.d.Projection == nil {
		return nil
	}
	return []Route{
		{"GET", "/v1/projection/parked", Operation{ID: "listParkedEntries", Tag: "operations", Summary: "Engine events the projection parked (clerks, auditors)",
			Description: "An event of the matching engine that can never be applied as it is (it refers to a row PostgreSQL does not have, " +
				"or a field does not decode) is parked so its shard goes on; it waits here until a clerk retries it. Bidders and amounts of " +
				"bid and deposit events are shown as (sealed); `datavenue parked show` shows the whole entry.", Auth: true,
			Params:   []Param{{Name: "status", In: "query", Description: "parked (waiting) or applied (a retry applied it); both by default"}, limitParam, cursorParam},
			Response: Page[matching.ParkedEntry]{}, Errors: []int{403, 422}}, h.listParked},
		{"GET", "/v1/projection/parked/:id", Operation{ID: "getParkedEntry", Tag: "operations", Summary: "One parked engine event", Auth: true,
			Params: []Param{{Name: "id", In: "path"}}, Response: matching.ParkedEntry{}, Errors: []int{403, 404}}, h.getParked},
		{"POST", "/v1/projection/parked/:id/retry", Operation{ID: "retryParkedEntry", Tag: "operations", Summary: "Apply a parked engine event again (clerk)",
			Description: "After its cause is fixed. Idempotent: an entry already applied is answered as it is. One that still fails stays parked " +
				"with the new error (409 parked_entry_still_fails).", Auth: true,
			Params: []Param{{Name: "id", In: "path"}}, Response: matching.ParkedEntry{}, Errors: []int{403, 404, 409}}, h.retryParked},
	}
}

// listParked pages the parked entries by their numeric id; bidders and amounts of sealed-bid events
// are masked by the service (the command line shows the whole entry to those on the server).
func (h *handlers) listParked(c *fiber.Ctx) error {
	return paged(c, func(after string, limit int) ([]matching.ParkedEntry, error) {
		return h.d.Projection.Parked(c.UserContext(), callerOf(c), c.Query("status"), after, limit)
	}, func(e matching.ParkedEntry) string { return strconv.FormatInt(e.ID, 10) })
}

func (h *handlers) getParked(c *fiber.Ctx) error {
	e, err := h.d.Projection.Get(c.UserContext(), callerOf(c), c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(e)
}

// retryParked applies the entry again now, in this request, so the clerk learns the outcome from
// the answer; an entry applied before is answered as it is (a retry of the retry is harmless).
func (h *handlers) retryParked(c *fiber.Ctx) error {
	e, err := h.d.Projection.Retry(c.UserContext(), callerOf(c), c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(e)
}

// projectionCollector reads the projection's health at each scrape: the backlog comes from Redis
// and parked entries from PostgreSQL, so the figures are right even when no projector runs.
type projectionCollector struct {
	projection Projection
	lagEntries *prometheus.Desc
	lagSeconds *prometheus.Desc
	parked     *prometheus.Desc
	up         *prometheus.Desc
}

// newProjectionCollector describes the projection's metrics, one series per shard: the backlog
// (entries and the oldest's age) shows a projection falling behind, parked entries one stuck.
func newProjectionCollector(p Projection) *projectionCollector {
	return &projectionCollector{projection: p,
		lagEntries: prometheus.NewDesc("datavenue_projection_lag_entries", "Engine events of a shard not yet applied to PostgreSQL.", []string{"shard"}, nil),
		lagSeconds: prometheus.NewDesc("datavenue_projection_lag_seconds", "Age of a shard's oldest engine event not yet applied (0: none waits).", []string{"shard"}, nil),
		parked:     prometheus.NewDesc("datavenue_projection_parked_entries", "Engine events of a shard parked because they cannot be applied.", []string{"shard"}, nil),
		up:         prometheus.NewDesc("datavenue_projection_health_up", "1 when the projection's health could be read at this scrape.", nil, nil),
	}
}

// Describe lists the descriptors so registration rejects a name clash at start.
func (p *projectionCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- p.lagEntries
	ch <- p.lagSeconds
	ch <- p.parked
	ch <- p.up
}

// Collect reports one series per shard, so an alert can say which shard is stuck; a failed read
// gives up=0 rather than failing the scrape.
func (p *projectionCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	health, err := p.projection.Health(ctx)
	if err != nil {
		ch <- prometheus.MustNewConstMetric(p.up, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(p.up, prometheus.GaugeValue, 1)
	for _, s := range health.Shards {
		shard := strconv.Itoa(s.Shard)
		ch <- prometheus.MustNewConstMetric(p.lagEntries, prometheus.GaugeValue, float64(s.LagEntries), shard)
		ch <- prometheus.MustNewConstMetric(p.lagSeconds, prometheus.GaugeValue, s.LagSeconds, shard)
		ch <- prometheus.MustNewConstMetric(p.parked, prometheus.GaugeValue, float64(s.ParkedEntries), shard)
	}
}
