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

func (revenueCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- revenueAllowed
	ch <- revenueEarned
	ch <- revenueRatio
	ch <- revenueUp
}

func (c revenueCollector) Collect(ch chan<- prometheus.Metric) {
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
