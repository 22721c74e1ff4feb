package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/datavenue/datavenue/civil"
	"github.com/datavenue/datavenue/client"
	"github.com/datavenue/datavenue/config"
	"github.com/datavenue/datavenue/internal/venueclient"
)

// loadReport is what a mixed-load run measured.
// Errors and refusals are counted apart because they mean opposite things: a refusal is the
// venue applying a rule under load, an error is the venue failing under it.
type loadReport struct {
	Duration time.Duration
	Ops      map[string]*opStats
	MemStart venueMemory
	MemEnd   venueMemory
	Requests int
	Errors   int // transport errors and 5xx answers
	Refused  int // 4xx answers (business refusals, expected in small numbers)
}

// opStats are one operation kind's figures: latencies of successful requests only, so a fast
// refusal never flatters a percentile.
type opStats struct {
	latencies []time.Duration
	errors    int
	refused   int
}

// venueMemory is read from the venue's own /metrics, in bytes.
type venueMemory struct{ RSS, HeapInuse float64 }

// loadRun drives a running venue with a mix of catalogue searches, sealed bids, negotiations,
// settlements (payment, delivery, confirmation) and statement imports, each kind by its own
// workers, for the given time; it needs the venue started without rate limits
// (DATAVENUE_RATE_PER_SECOND=0), as its workers act for few organisations.
// mu guards report, which every worker writes through op; deadline is set once before the
// workers start and only read afterwards.
type loadRun struct {
	c        *venueclient.Client
	mu       sync.Mutex
	report   loadReport
	deadline time.Time
}

// loadCommand exits non-zero when any request failed with a transport error or a 5xx: refusals
// (4xx) are part of a realistic mix, errors are not.
func loadCommand(ctx context.Context, cfg config.Config, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	base := fs.String("url", "http://"+cfg.Listen, "the running venue's base URL (start it with DATAVENUE_RATE_PER_SECOND=0)")
	duration := fs.Duration("duration", time.Minute, "how long the load runs")
	if err := fs.Parse(args); err != nil {
		return err
	}
	m, err := minter(cfg)
	if err != nil {
		return err
	}
	c := &venueclient.Client{Base: strings.TrimRight(*base, "/"), HTTP: &http.Client{Timeout: 30 * time.Second}, Minter: m, Out: io.Discard}
	rep, err := runLoad(ctx, c, *duration)
	if err != nil {
		return err
	}
	printLoad(stdout, rep)
	if rep.Errors > 0 {
		return fmt.Errorf("load: %d errors", rep.Errors)
	}
	return nil
}

// runLoad sets up through the API, then runs every worker until the deadline (or ctx ends), and
// reads the venue's memory before and after, so a leak shows as growth under steady load. The
// setup is not measured.
func runLoad(ctx context.Context, c *venueclient.Client, duration time.Duration) (loadReport, error) {
	l := &loadRun{c: c, report: loadReport{Ops: map[string]*opStats{}}}
	// Setup, through the API: a certified asset, a negotiable product, a sealed revisable auction,
	// and eight buyers.
	// The setup uses the same steps as the demo (venueclient), so the load exercises a product that
	// passed every publication gate, not rows written behind the venue's back.
	cert, err := c.Certify()
	if err != nil {
		return l.report, err
	}
	asset, scenario := cert.Asset, cert.Scenario
	ptr := venueclient.Ptr[string]
	negotiable, err := c.Publish(asset, scenario, "负载测试协议定价数据", client.PricingInput{Method: client.PricingInputMethodNegotiation,
		ListPrice: ptr("12000.00"), MinPrice: ptr("9000.00"), MaxPrice: ptr("15000.00")})
	if err != nil {
		return l.report, err
	}
	// The auction opens a few seconds ahead (time to open it and register the buyers) and ends an
	// hour after the load would: it must not close mid-run, whatever the duration.
	opens := time.Now().Add(3 * time.Second).Truncate(time.Second)
	auctioned, err := c.Publish(asset, scenario, "负载测试密封拍卖数据", client.PricingInput{Method: client.PricingInputMethodAuction,
		AuctionKind: venueclient.Ptr(client.PricingInputAuctionKindSealedFirst), Reserve: ptr("1000.00"),
		StartAt: venueclient.Ptr(opens), EndAt: venueclient.Ptr(opens.Add(duration + time.Hour))})
	if err != nil {
		return l.report, err
	}
	api := c.API()
	auction, err := venueclient.Result[client.Auction](api.OpenAuctionWithResponse(ctx, nil,
		client.OpenAuctionInput{ProductId: auctioned.Id, Revisable: venueclient.Ptr(true)}, c.As(operator)))
	if err != nil {
		return l.report, err
	}
	// Eight buyers, reused across runs by their USCC: bids come from several organisations, so the
	// sealed auction holds several buyers' bids and most bids revise an earlier one.
	buyers, err := c.Buyers(8, "91350100MC", "负载测试买方")
	if err != nil {
		return l.report, err
	}
	time.Sleep(time.Until(opens.Add(200 * time.Millisecond))) // bidding opens on the venue's clock
	if l.report.MemStart, err = l.memory(); err != nil {
		return l.report, err
	}

	start := time.Now()
	// The deadline is wall-clock time shared by all workers, so a request in flight at the deadline
	// finishes (and is counted) but no new one starts.
	l.deadline = start.Add(duration)
	var wg sync.WaitGroup
	// worker starts n goroutines running fn until the deadline. The workers per kind (2 searches, 4
	// bidders, 2 negotiators, 1 settler, 1 importer) set the mix: bidding dominates, and settlement
	// and imports run one at a time, as a clerk's work does.
	worker := func(n int, fn func(w int) error) {
		for w := 0; w < n; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for time.Now().Before(l.deadline) && ctx.Err() == nil {
					if err := fn(w); err != nil {
						return
					}
				}
			}()
		}
	}
	// Search terms mix Chinese and English, one word and two, and words of domains the load publishes
	// nothing in, so the searches cover both scripts and near-empty results.
	terms := []string{"公交", "客流", "数据", "transport", "bus ridership", "医保", "地理 遥感"}
	worker(2, func(w int) error {
		l.op("search", func() error {
			_, err := api.SearchCatalogueWithResponse(ctx, &client.SearchCatalogueParams{Q: ptr(terms[rand.IntN(len(terms))]), Limit: venueclient.Ptr(20)},
				c.As(public))
			return err
		})
		return nil
	})
	// A shared counter makes every amount distinct and rising in steps of 1.00 yuan, so each
	// revision of a buyer's sealed bid goes up, as a real bidder's does.
	var bidMu sync.Mutex
	bidFen := int64(100000)
	worker(4, func(w int) error {
		b := buyers[rand.IntN(len(buyers))]
		bidMu.Lock()
		bidFen += 100
		amount := bidFen
		bidMu.Unlock()
		l.op("bid", func() error {
			_, err := api.PlaceBidWithResponse(ctx, auction.Id, nil, client.BidInput{Amount: fmt.Sprintf("%d.%02d", amount/100, amount%100)}, c.As(b))
			return err
		})
		return nil
	})
	// Each negotiation runs to a trade (offer, counter-offer inside the range, acceptance), so the
	// settler always has orders to work on.
	worker(2, func(w int) error {
		b := buyers[rand.IntN(len(buyers))]
		var neg client.NegotiationView
		if !l.op("negotiate", func() (err error) {
			neg, err = venueclient.Result[client.NegotiationView](api.StartNegotiationWithResponse(ctx, nil,
				client.NegotiationInput{ProductId: negotiable.Id, Amount: "9500.00"}, c.As(b)))
			return err
		}) {
			return nil
		}
		move := func(who venueclient.Actor, m client.MoveInput) func() error {
			return func() error {
				_, err := api.MoveNegotiationWithResponse(ctx, neg.Id, nil, m, c.As(who))
				return err
			}
		}
		if l.op("negotiate", move(operator, client.MoveInput{Action: client.MoveInputActionCounter, Amount: ptr("11000.00")})) {
			l.op("negotiate", move(b, client.MoveInput{Action: client.MoveInputActionAccept}))
		}
		return nil
	})
	byOrg := map[string]venueclient.Actor{}
	for _, b := range buyers {
		byOrg[string(b.Org)] = b
	}
	// The settler pays, delivers and confirms every order of the load's own buyers (the byOrg filter
	// leaves other orders on a shared venue alone), the whole settlement path each trade takes.
	worker(1, func(w int) error {
		var orders client.PageOfOrder
		if !l.op("settle", func() (err error) {
			orders, err = venueclient.Result[client.PageOfOrder](api.ListOrdersWithResponse(ctx, &client.ListOrdersParams{Status: ptr("awaiting_payment")}, c.As(clerk)))
			return err
		}) {
			return nil
		}
		for _, o := range orders.Data {
			b, ok := byOrg[o.BuyerId]
			if !ok || time.Now().After(l.deadline) {
				continue
			}
			if l.op("settle", func() error {
				_, err := api.RecordPaymentWithResponse(ctx, o.Id, nil, client.PaymentInput{Reference: "LOAD-" + o.Id}, c.As(clerk))
				return err
			}) && l.op("settle", func() error {
				_, err := api.RecordDeliveryWithResponse(ctx, o.Id, nil, client.OrderDelivery{Method: client.OrderDeliveryMethodFile,
					ContentHash: ptr("sha256:" + strings.Repeat("cd", 32))}, c.As(operator))
				return err
			}) {
				l.op("settle", func() error {
					_, err := api.ConfirmDeliveryWithResponse(ctx, o.Id, nil, c.As(b))
					return err
				})
			}
		}
		// With nothing to settle the worker would otherwise spin on the order list.
		if len(orders.Data) == 0 {
			time.Sleep(100 * time.Millisecond) // nothing to settle yet: the negotiations' trades are projected within a second
		}
		return nil
	})
	imports := 0
	// Each import is a statement of 200 receipts with unique statement numbers and the payment code
	// NONE, which matches no obligation: it exercises parsing, matching and the import's locking
	// alongside the other work without settling anything. imports is touched by this one worker only.
	worker(1, func(w int) error {
		imports++
		var csv strings.Builder
		csv.WriteString("缴款书编号,缴款码,执收单位,金额,缴款日期,收款国库\n")
		for i := 0; i < 200; i++ {
			fmt.Fprintf(&csv, "L%d-%d-%d,NONE,负载单位,%d.00,%s,市级国库\n", start.UnixNano(), imports, i, 1+i, civil.Of(time.Now()).String())
		}
		l.op("import", func() error {
			_, err := api.ImportStatementWithBodyWithResponse(ctx, &client.ImportStatementParams{Format: ptr("csv"), PeriodEnd: venueclient.Date(time.Now())},
				"text/csv; charset=utf-8", strings.NewReader(csv.String()), c.As(clerk))
			return err
		})
		return nil
	})
	// Memory is read again as soon as the workers stop, so the two readings bracket the load.
	wg.Wait()
	l.report.Duration = time.Since(start)
	if l.report.MemEnd, err = l.memory(); err != nil {
		return l.report, err
	}
	return l.report, nil
}

// op makes one timed request (a call of the generated client) and records it; it reports
// whether the request succeeded.
// op classifies the outcome: a problem answer under 500 is a refusal (a business rule said no),
// anything else an error. The lock guards the shared report; the request itself runs outside it.
func (l *loadRun) op(name string, call func() error) bool {
	t0 := time.Now()
	err := call()
	took := time.Since(t0)
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.report.Ops[name]
	if s == nil {
		s = &opStats{}
		l.report.Ops[name] = s
	}
	l.report.Requests++
	var p *venueclient.Problem
	switch {
	case err == nil:
		s.latencies = append(s.latencies, took)
		return true
	case errors.As(err, &p) && p.Status < 500:
		s.refused++
		l.report.Refused++
	default:
		s.errors++
		l.report.Errors++
	}
	return false
}

// memory reads the venue's resident memory and Go heap in use from /metrics (as a clerk).
// It parses the Prometheus text format line by line rather than pulling in a parser: only two
// gauges without labels are needed, and their lines are "name value".
func (l *loadRun) memory() (venueMemory, error) {
	res, err := l.c.API().MetricsWithResponse(context.Background(), l.c.As(clerk))
	if err != nil {
		return venueMemory{}, err
	}
	text := string(res.Body)
	var m venueMemory
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			continue
		}
		v, _ := strconv.ParseFloat(value, 64)
		switch name {
		case "process_resident_memory_bytes":
			m.RSS = v
		case "go_memstats_heap_inuse_bytes":
			m.HeapInuse = v
		}
	}
	return m, sc.Err()
}

// percentile is the nearest-rank percentile of d (p from 0 to 1), on a sorted copy.
func percentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	sorted := append([]time.Duration(nil), d...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i] < sorted[j] })
	return sorted[int(float64(len(sorted)-1)*p)]
}

// printLoad prints the report as a Markdown table, ready to paste into the README.
func printLoad(w io.Writer, r loadReport) {
	fmt.Fprintf(w, "mixed load for %s: %d requests, %d errors, %d refused (4xx)\n\n", r.Duration.Round(time.Second), r.Requests, r.Errors, r.Refused)
	// The per-second column counts successful requests only, over the whole run.
	fmt.Fprintf(w, "| operation | requests ok | per second | p50 ms | p99 ms | refused | errors |\n|---|---|---|---|---|---|---|\n")
	names := make([]string, 0, len(r.Ops))
	for name := range r.Ops {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		s := r.Ops[name]
		fmt.Fprintf(w, "| %s | %d | %.1f | %.1f | %.1f | %d | %d |\n", name, len(s.latencies), float64(len(s.latencies))/r.Duration.Seconds(),
			float64(percentile(s.latencies, 0.5).Microseconds())/1000, float64(percentile(s.latencies, 0.99).Microseconds())/1000, s.refused, s.errors)
	}
	fmt.Fprintf(w, "\nvenue memory: resident %.0f MiB at start, %.0f MiB at end; Go heap in use %.0f MiB → %.0f MiB\n",
		r.MemStart.RSS/(1<<20), r.MemEnd.RSS/(1<<20), r.MemStart.HeapInuse/(1<<20), r.MemEnd.HeapInuse/(1<<20))
}
