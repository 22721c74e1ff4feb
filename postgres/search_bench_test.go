package postgres_test

import (
	"context"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/audit"
	"github.com/datavenue/datavenue/internal/catalogueseed"
	"github.com/datavenue/datavenue/internal/testenv"
	"github.com/datavenue/datavenue/listing"
	"github.com/datavenue/datavenue/parties"
)

// BenchmarkCatalogueSearch loads 100,000 products and runs a mix of Chinese and English catalogue
// queries with filters, sorts and facets through listing.Service.Search against the real
// PostgreSQL. It reports the query mix's p50 and p99 and, as the baseline measured in the same
// run, a product lookup by primary key, with the ratio of each. Run it with
//
//	make bench   (go test ./postgres -run '^$' -bench CatalogueSearch -benchtime 2000x)
func BenchmarkCatalogueSearch(b *testing.B) {
	const products = 100_000
	db := testenv.NewDB(b)
	ctx := datavenue.WithCaller(context.Background(), audit.SystemCaller)
	operator := datavenue.OrgID("org_01JDEM00000000000000000005")
	if _, err := db.Parties().CreateOrganisation(ctx, parties.Registration{ID: operator, USCC: "91350100M000100Y43", Name: "数据运营有限公司", Kind: parties.KindOperator}); err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	for from := 0; from < products; from += 10_000 {
		if err := catalogueseed.Load(ctx, db.Pool, operator, from, from+10_000); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := db.Pool.Exec(ctx, `VACUUM ANALYZE products`); err != nil {
		b.Fatal(err)
	}
	b.Logf("loaded %d products in %s", products, time.Since(start).Round(time.Millisecond))

	svc := listing.Service{Store: db.Listing(), Clock: datavenue.SystemClock{}}
	mix := []listing.SearchInput{
		{Q: "公交"},
		{Q: "公交客流", Domain: "transport"},
		{Q: "医保", Sort: "price_asc"},
		{Q: "ridership"},
		{Q: "credit risk", UseCategory: "industry"},
		{Q: "社保 pension", MinPrice: "1000", MaxPrice: "200000"},
		{Q: "数据", Sort: "newest"},
		{Domain: "healthcare", Sort: "price_desc"},
		{ProductType: "api_service", PricingMethod: "auction"},
		{Q: "遥感影像", ProductType: "dataset"},
		{Q: "tourism heritage"},
		{MinPrice: "5000", MaxPrice: "6000", Sort: "price_asc"},
	}
	// Warm the caches the way a running venue's are warm.
	for _, in := range mix {
		if _, err := svc.Search(ctx, in); err != nil {
			b.Fatal(err)
		}
	}
	var search, lookup []time.Duration
	perQuery := make([][]time.Duration, len(mix))
	i := 0
	b.ResetTimer()
	for b.Loop() {
		in := mix[i%len(mix)]
		t0 := time.Now()
		if _, err := svc.Search(ctx, in); err != nil {
			b.Fatal(err)
		}
		search = append(search, time.Since(t0))
		perQuery[i%len(mix)] = append(perQuery[i%len(mix)], time.Since(t0))
		t0 = time.Now()
		if _, err := db.Listing().Product(ctx, fmt.Sprintf("prd_%026d", (i*7919)%products)); err != nil {
			b.Fatal(err)
		}
		lookup = append(lookup, time.Since(t0))
		i++
	}
	b.StopTimer()
	for k, in := range mix {
		b.Logf("%-70s p50 %6.2f ms  p99 %6.2f ms", fmt.Sprintf("%+v", in), ms(percentile(perQuery[k], 50)), ms(percentile(perQuery[k], 99)))
	}
	p50, p99 := percentile(search, 50), percentile(search, 99)
	base50, base99 := percentile(lookup, 50), percentile(lookup, 99)
	b.ReportMetric(ms(p50), "search-p50-ms")
	b.ReportMetric(ms(p99), "search-p99-ms")
	b.ReportMetric(ms(base50), "pk-lookup-p50-ms")
	b.ReportMetric(float64(p50)/float64(base50), "p50-x-baseline")
	b.ReportMetric(float64(p99)/float64(base99), "p99-x-baseline")
}

func percentile(d []time.Duration, p int) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[(len(s)-1)*p/100]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
