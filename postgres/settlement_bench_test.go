package postgres_test

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/audit"
	"github.com/datavenue/datavenue/auth"
	"github.com/datavenue/datavenue/internal/catalogueseed"
	"github.com/datavenue/datavenue/internal/testenv"
	"github.com/datavenue/datavenue/parties"
	"github.com/datavenue/datavenue/postgres"
	"github.com/datavenue/datavenue/settlement"
	"github.com/datavenue/datavenue/workdays"
)

// settlementTables are the tables one settlement writes rows to, in the order it writes them.
// The webhook events (order created, payment recorded, voucher issued) are rows it writes too.
var settlementTables = []string{"trades", "settlement_orders", "settlement_shares", "ledger_transactions", "ledger_postings",
	"obligations", "vouchers", "audit_events", "webhook_events"}

type settlementBench struct {
	// steps adds up the time spent in each step (trade, payment, delivery, confirmation), in ns.
	steps    [4]atomic.Int64
	db       *postgres.DB
	product  string
	buyer    datavenue.OrgID
	operator datavenue.OrgID
	orders   settlement.Service
	vouchers settlement.Vouchers
	seq      atomic.Int64
}

func newSettlementBench(b testing.TB) *settlementBench {
	db, dbURL := testenv.NewDBWithURL(b)
	ctx := datavenue.WithCaller(context.Background(), audit.SystemCaller)
	if w := benchWorkers(); w > int(db.Pool.Config().MaxConns) {
		// A connection per worker, for the settlement and the baseline alike.
		u, err := url.Parse(dbURL)
		if err != nil {
			b.Fatal(err)
		}
		q := u.Query()
		q.Set("pool_max_conns", strconv.Itoa(w))
		u.RawQuery = q.Encode()
		if db, err = postgres.Open(ctx, u.String()); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(db.Close)
	}
	org := func(n int) datavenue.OrgID { return datavenue.OrgID(fmt.Sprintf("org_01JBENCH%018d", n)) }
	usccOf := map[int]string{}
	for n := 1; n <= 5; n++ {
		body := fmt.Sprintf("91350100MB%07d", n)
		c, _ := parties.USCCCheckChar(body)
		usccOf[n] = body + string(c)
	}
	for _, reg := range []parties.Registration{
		{ID: org(1), USCC: usccOf[1], Name: "市交通运输局", Kind: parties.KindGovernmentUnit, FiscalLevel: parties.LevelMunicipal, Treasury: "市级国库"},
		{ID: org(2), USCC: usccOf[2], Name: "城市大数据集团", Kind: parties.KindStateEnterprise, Supervisor: "市国资委"},
		{ID: org(3), USCC: usccOf[3], Name: "数据加工有限公司", Kind: parties.KindOperator},
		{ID: org(4), USCC: usccOf[4], Name: "数据运营有限公司", Kind: parties.KindOperator},
		{ID: org(5), USCC: usccOf[5], Name: "智慧物流", Kind: parties.KindBuyer},
	} {
		if _, err := db.Parties().CreateOrganisation(ctx, reg); err != nil {
			b.Fatal(err)
		}
	}
	if err := catalogueseed.Load(ctx, db.Pool, org(4), 0, 1); err != nil {
		b.Fatal(err)
	}
	product := catalogueseed.Product(0, org(4), time.Time{}).ID
	if _, err := db.Settlement().AddAgreement(datavenue.WithCaller(ctx, datavenue.Caller{Subject: "op", Role: datavenue.RoleOperator, Org: org(4)}),
		settlement.Agreement{ProductID: product, Basis: "ratio", Parties: []settlement.AgreementParty{
			{Party: org(1), Role: "holder", Ratio: "0.40"}, {Party: org(2), Role: "collector", Ratio: "0.25"},
			{Party: org(3), Role: "processor", Ratio: "0.15"}, {Party: org(4), Role: "operator", Ratio: "0.17"},
			{Role: "venue_fee", Ratio: "0.03"}}}); err != nil {
		b.Fatal(err)
	}
	kr, err := auth.LoadKeyring(b.TempDir(), true)
	if err != nil {
		b.Fatal(err)
	}
	cal, err := workdays.New(nil)
	if err != nil {
		b.Fatal(err)
	}
	return &settlementBench{db: db, product: product, buyer: org(5), operator: org(4),
		orders:   settlement.Service{Store: db.Settlement(), Calendar: cal, Clock: datavenue.SystemClock{}},
		vouchers: settlement.Vouchers{Store: db.Settlement(), Keys: kr, Issuer: "urn:datavenue:bench", Clock: datavenue.SystemClock{}}}
}

// benchWorkers is how many workers the benchmark runs, settlement and baselines alike:
// DATAVENUE_BENCH_WORKERS, by default 2 × GOMAXPROCS (4 on this machine).
func benchWorkers() int {
	if w, err := strconv.Atoi(os.Getenv("DATAVENUE_BENCH_WORKERS")); err == nil && w > 0 {
		return w
	}
	return 2 * runtime.GOMAXPROCS(0)
}

// parallelism is RunParallel's multiplier for benchWorkers (rounded up to a multiple of GOMAXPROCS).
func parallelism() int {
	return (benchWorkers() + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0)
}

// settle takes one trade to a voucher: the trade and its order, the payment (split over five
// parties, one ledger transaction, the treasury and filing obligations), the delivery and the
// buyer's confirmation (a signed voucher appended to the chained log).
func (s *settlementBench) settle(ctx context.Context) (string, error) {
	orderID, err := s.deliver(ctx)
	if err != nil {
		return "", err
	}
	defer s.timed(3)()
	buyer := datavenue.Caller{Subject: "buyer", Role: datavenue.RoleBuyer, Org: s.buyer}
	_, err = s.vouchers.Confirm(datavenue.WithCaller(ctx, buyer), buyer, orderID)
	return orderID, err
}

// deliver takes one trade up to its delivery: the trade, the payment, the delivery.
func (s *settlementBench) deliver(ctx context.Context) (string, error) {
	n := s.seq.Add(1)
	done := s.timed(0)
	orderID, err := s.db.RecordTrade(datavenue.WithCaller(ctx, audit.SystemCaller), fmt.Sprintf("bench-%d", n), s.product, s.buyer, fmt.Sprintf("%d.%02d", 1000+n%9000, n%100))
	if err != nil {
		return "", err
	}
	done()
	done = s.timed(1)
	clerk := datavenue.Caller{Subject: "clerk", Role: datavenue.RoleClerk, Org: "org_01JDEM00000000000000000009"}
	if _, err := s.orders.RecordPayment(datavenue.WithCaller(ctx, clerk), clerk, orderID, settlement.PaymentInput{Reference: fmt.Sprintf("pay-%d", n)}); err != nil {
		return "", err
	}
	done()
	defer s.timed(2)()
	seller := datavenue.Caller{Subject: "seller", Role: datavenue.RoleOperator, Org: s.operator}
	_, err = s.vouchers.Deliver(datavenue.WithCaller(ctx, seller), seller, orderID,
		settlement.Delivery{Method: "api", Credential: fmt.Sprintf("cred-%d", n)})
	return orderID, err
}

// timed starts timing a step; the function it returns ends it.
func (s *settlementBench) timed(step int) func() {
	start := time.Now()
	return func() { s.steps[step].Add(int64(time.Since(start))) }
}

// BenchmarkSettlement measures settlements per second from a trade to its voucher and, as the
// baseline in the same run, plain inserts of the same rows: the rows one settlement wrote,
// inserted again one statement per row into copies of the tables with no constraints, indexes
// or triggers, in one transaction per settlement and, again, in four (as many as the settlement
// commits). All run with the same number of concurrent workers (2 × GOMAXPROCS, or
// DATAVENUE_BENCH_WORKERS), each with a connection of its own. Run it with
//
//	make bench-settlement   (go test ./postgres -run '^$' -bench Settlement -benchtime 3s)
func BenchmarkSettlement(b *testing.B) {
	s := newSettlementBench(b)
	ctx := context.Background()
	// One settlement to copy its rows for the baseline.
	orderID, err := s.settle(ctx)
	if err != nil {
		b.Fatal(err)
	}
	rows := map[string][][]any{}
	for _, table := range settlementTables {
		if _, err := s.db.Pool.Exec(ctx, `CREATE TABLE bench_`+table+` (LIKE `+table+`)`); err != nil {
			b.Fatal(err)
		}
		r, err := s.db.Pool.Query(ctx, `SELECT * FROM `+table+` WHERE `+ownedBy(table), orderID)
		if err != nil {
			b.Fatal(err)
		}
		rows[table], err = pgx.CollectRows(r, func(r pgx.CollectableRow) ([]any, error) { return r.Values() })
		if err != nil || len(rows[table]) == 0 {
			b.Fatalf("%s: %d rows, %v", table, len(rows[table]), err)
		}
	}
	total := 0
	for _, table := range settlementTables {
		total += len(rows[table])
	}
	b.Logf("one settlement writes %d rows: %v", total, func() map[string]int {
		m := map[string]int{}
		for t, r := range rows {
			m[t] = len(r)
		}
		return m
	}())

	b.Run("trade_to_voucher", func(b *testing.B) {
		b.SetParallelism(parallelism())
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := s.settle(ctx); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "settlements/s")
		// Where a settlement's time goes: each step's mean wall time, as a worker waits for it.
		for i, name := range []string{"trade", "payment", "delivery", "confirmation"} {
			b.ReportMetric(float64(s.steps[i].Swap(0))/float64(b.N)/1e6, "ms/"+name)
		}
	})
	insert := func(tx pgx.Tx, tables ...string) error {
		for _, table := range tables {
			for _, row := range rows[table] {
				marks := make([]string, len(row))
				for i := range marks {
					marks[i] = fmt.Sprintf("$%d", i+1)
				}
				if _, err := tx.Exec(ctx, `INSERT INTO bench_`+table+` VALUES (`+strings.Join(marks, ", ")+`)`, row...); err != nil {
					return err
				}
			}
		}
		return nil
	}
	// The baseline once as one transaction per settlement, and once committed in as many
	// transactions as the settlement itself commits (trade, payment, delivery, confirmation):
	// each commit waits for its WAL flush, which bounds both.
	for _, baseline := range []struct {
		name    string
		commits [][]string
	}{
		{"plain_inserts_baseline_1_commit", [][]string{settlementTables}},
		{"plain_inserts_baseline_4_commits", [][]string{{"trades", "settlement_orders"},
			{"settlement_shares", "ledger_transactions", "ledger_postings", "obligations"}, {"audit_events"}, {"vouchers", "webhook_events"}}},
	} {
		b.Run(baseline.name, func(b *testing.B) {
			b.SetParallelism(parallelism())
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					for _, tables := range baseline.commits {
						if err := pgx.BeginFunc(ctx, s.db.Pool, func(tx pgx.Tx) error { return insert(tx, tables...) }); err != nil {
							b.Error(err)
							return
						}
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "settlements/s")
		})
	}
	// The settlements the benchmark made are all there, balanced, and chained.
	var unbalanced int
	if err := s.db.Pool.QueryRow(ctx, `SELECT count(*) FROM (SELECT transaction_id FROM ledger_postings GROUP BY 1 HAVING sum(amount) <> 0) x`).Scan(&unbalanced); err != nil || unbalanced != 0 {
		b.Fatalf("unbalanced transactions: %d %v", unbalanced, err)
	}
	log, err := s.db.Settlement().VoucherLog(ctx)
	if err != nil || settlement.VerifyChain(log, s.vouchers.Keys) != nil {
		b.Fatalf("the voucher log does not verify (%d vouchers): %v", len(log), err)
	}
}

// ownedBy selects a table's rows that belong to one order's settlement ($1).
func ownedBy(table string) string {
	switch table {
	case "trades":
		return `id = (SELECT trade_id FROM settlement_orders WHERE id = $1)`
	case "settlement_orders":
		return `id = $1`
	case "ledger_transactions":
		return `source_id = $1`
	case "ledger_postings":
		return `transaction_id IN (SELECT id FROM ledger_transactions WHERE source_id = $1)`
	case "webhook_events":
		return `resource_type = 'order' AND resource_id = $1`
	case "audit_events":
		return `resource_id = $1 OR resource_id IN (SELECT trade_id FROM settlement_orders WHERE id = $1)
			OR resource_id IN (SELECT id FROM ledger_transactions WHERE source_id = $1) OR resource_id IN (SELECT id FROM vouchers WHERE order_id = $1)`
	}
	return `order_id = $1`
}
