package wiring

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/datavenue/datavenue/settlement"
)

// revenueCollector exports each operator's revenue against its maximum allowed revenue for this
// year (N4/N5), read at scrape time.
type revenueCollector struct{ revenue settlement.AllowedRevenues }

var (
	revenueAllowed = prometheus.NewDesc("datavenue_operator_allowed_revenue_yuan",
		"The operator's effective maximum allowed revenue for this year (the maximum less last year's excess), in yuan.", []string{"operator"}, nil)
	revenueEarned = prometheus.NewDesc("datavenue_operator_revenue_yuan",
		"The operator's revenue this year (its operator shares of paid orders by the day the money was received), in yuan.", []string{"operator"}, nil)
	revenueRatio = prometheus.NewDesc("datavenue_operator_allowed_revenue_ratio",
		"The operator's revenue over its effective maximum this year (0.9: approaching; 1: reached).", []string{"operator"}, nil)
	revenueUp = prometheus.NewDesc("datavenue_operator_allowed_revenue_up",
		"1 when the allowed-revenue figures could be read at this scrape, 0 when not.", nil, nil)
)

// Describe lists every descriptor up front so the registry can reject a clash with another
// collector's metric names when the collector is registered, not at the first scrape.
func (revenueCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- revenueAllowed
	ch <- revenueEarned
	ch <- revenueRatio
	ch <- revenueUp
}

// Collect reads the standings at scrape time rather than caching them, so a dashboard never
// shows a figure older than the scrape. A failed read reports up=0 instead of an error: an error
// would fail the whole scrape and hide the Go and process metrics with it. The float64
// conversions are for alerting only; the money itself stays decimal in the store and the API.
func (c revenueCollector) Collect(ch chan<- prometheus.Metric) {
	// Bounded well below a usual scrape timeout, so a slow database costs one series, not the scrape.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	list, err := c.revenue.Current(ctx)
	if err != nil {
		ch <- prometheus.MustNewConstMetric(revenueUp, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(revenueUp, prometheus.GaugeValue, 1)
	for _, s := range list {
		op := string(s.OperatorID)
		// Effective is nil for an operator without a maximum on file (N4): it has earnings but no
		// limit, so neither the limit nor the ratio exists; a zero maximum has no ratio either.
		if s.Effective != nil {
			ch <- prometheus.MustNewConstMetric(revenueAllowed, prometheus.GaugeValue, s.Effective.Decimal().InexactFloat64(), op)
		}
		ch <- prometheus.MustNewConstMetric(revenueEarned, prometheus.GaugeValue, s.Earned.Decimal().InexactFloat64(), op)
		if s.Effective != nil && !s.Effective.IsZero() {
			ch <- prometheus.MustNewConstMetric(revenueRatio, prometheus.GaugeValue,
				s.Earned.Decimal().Div(s.Effective.Decimal()).InexactFloat64(), op)
		}
	}
}
