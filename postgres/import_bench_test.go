package postgres_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"runtime/metrics"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/audit"
	"github.com/datavenue/datavenue/civil"
	"github.com/datavenue/datavenue/internal/catalogueseed"
	"github.com/datavenue/datavenue/internal/testenv"
	"github.com/datavenue/datavenue/money"
	"github.com/datavenue/datavenue/parties"
	"github.com/datavenue/datavenue/settlement"
)

// BenchmarkImport imports a treasury statement of importRows receipts, each paying one of as many
// treasury obligations by its payment code (the common case: the statement a clerk imports each
// day), in one transaction, and in the same run copies the very same rows with COPY, twice:
//
//   - raw: into receipts itself, with the import row they reference, in a transaction rolled
//     back: what PostgreSQL must do to keep the rows at all (their keys, checks and references),
//     with no matching. The target (import ≥ 0.3× of raw) is against this one.
//   - bare: into an unlogged table like receipts with no constraint, index or trigger, a floor
//     no import that keeps its constraints reaches; reported for comparison.
//
// It reports the times, the ratios, and the import's peak live Go heap beyond the statement's
// own rows, sampled while it runs.
//
//	make bench-import   (go test ./postgres -run '^$' -bench Import -benchtime 1x)
func BenchmarkImport(b *testing.B) {
	// Two sizes, so that the heap figure shows whether the import's memory grows with the file.
	for _, importRows := range []int{10_000, 100_000} {
		b.Run(fmt.Sprintf("receipts=%d", importRows), func(b *testing.B) { benchmarkImport(b, importRows) })
	}
}

func benchmarkImport(b *testing.B, importRows int) {
	db := testenv.NewDB(b)
	ctx := datavenue.WithCaller(context.Background(), audit.SystemCaller)
	unit, op := datavenue.OrgID("org_01JBENCHUNIT00000000000001"), datavenue.OrgID("org_01JBENCHOPER00000000000001")
	for i, reg := range []parties.Registration{
		{ID: unit, Name: "市交通运输局", Kind: parties.KindGovernmentUnit, FiscalLevel: parties.LevelMunicipal, Treasury: "市级国库"},
		{ID: op, Name: "数据运营有限公司", Kind: parties.KindOperator},
	} {
		body := fmt.Sprintf("91350100MC%07d", i)
		c, _ := parties.USCCCheckChar(body)
		reg.USCC = body + string(c)
		if _, err := db.Parties().CreateOrganisation(ctx, reg); err != nil {
			b.Fatal(err)
		}
	}
	if err := catalogueseed.Load(ctx, db.Pool, op, 0, 1); err != nil {
		b.Fatal(err)
	}
	product := catalogueseed.Product(0, op, time.Time{}).ID
	// The obligations: one paid order each (trade, order, obligation), written by SQL.
	if _, err := db.Pool.Exec(ctx, `
		INSERT INTO trades (id, source, source_id, product_id, buyer_id, seller_id, price, pricing_method, price_version, traded_at)
			SELECT 'trd_' || lpad(i::text, 26, '0'), 'negotiation', 'bench-' || i, $1, $2, $2, 100.00, 'negotiation', 1, now() - interval '3 days'
			FROM generate_series(1, $3) i;
		`, product, string(op), importRows); err != nil {
		b.Fatal(err)
	}
	if _, err := db.Pool.Exec(ctx, `
		INSERT INTO settlement_orders (id, trade_id, product_id, buyer_id, seller_id, price, deposit_applied, amount_due, status, payment_due,
				payment_ref, paid_at, received_on)
			SELECT 'ord_' || lpad(i::text, 26, '0'), 'trd_' || lpad(i::text, 26, '0'), $1, $2, $2, 100.00, 0, 100.00, 'paid', current_date,
				'bench-' || i, now(), current_date - 3
			FROM generate_series(1, $3) i`, product, string(op), importRows); err != nil {
		b.Fatal(err)
	}
	if _, err := db.Pool.Exec(ctx, `
		INSERT INTO obligations (id, order_id, kind, party_id, counterpart, amount, income_kind, event_date, due_date, status, payment_code)
			SELECT 'obl_' || lpad(i::text, 26, '0'), 'ord_' || lpad(i::text, 26, '0'), 'treasury_remittance', $1, '市级国库', 60.00, 'one_off',
				current_date - 3, current_date + 10, 'due', 'JKBENCH' || i
			FROM generate_series(1, $2) i`, string(unit), importRows); err != nil {
		b.Fatal(err)
	}
	// What the obligations owe is booked, as a settlement would have (the ledger must balance).
	tx := settlement.Transaction{Kind: "settlement", SourceID: "bench", Key: "bench-settle", Postings: []settlement.Posting{
		{Account: settlement.AccountID(settlement.Clearing, ""), Amount: money.MustParse(fmt.Sprintf("%d.00", 60*importRows)).Decimal()},
		{Account: settlement.AccountID(settlement.DueToTreasury, unit), Amount: money.MustParse(fmt.Sprintf("%d.00", 60*importRows)).Decimal().Neg()}}}
	if _, err := db.Settlement().Post(ctx, tx); err != nil {
		b.Fatal(err)
	}
	today := civil.Of(time.Now())
	rows := make([]settlement.ReceiptRow, importRows)
	for i := range rows {
		rows[i] = settlement.ReceiptRow{Line: i + 2, SlipNo: fmt.Sprintf("S%07d", i+1), PaymentCode: fmt.Sprintf("JKBENCH%d", i+1),
			Unit: "市交通运输局", Amount: money.MustParse("60.00"), PaidOn: today, Treasury: "市级国库"}
	}

	// The baselines: the same rows, COPY in one transaction.
	if _, err := db.Pool.Exec(ctx, `CREATE UNLOGGED TABLE IF NOT EXISTS bare_receipts (id text, import_id text, line int, slip_no text,
		payment_code text, unit_name text, amount numeric, paid_on date, treasury text, outcome text, obligation_id text)`); err != nil {
		b.Fatal(err)
	}
	rawImport := datavenue.NewID("imp")
	raw := make([][]any, len(rows))
	for i, r := range rows {
		raw[i] = []any{datavenue.NewID("rcp"), rawImport, r.Line, r.SlipNo, r.PaymentCode, r.Unit, r.Amount.String(), r.PaidOn.Time(), r.Treasury,
			"matched", fmt.Sprintf("obl_%026d", i+1)}
	}
	receiptColumns := []string{"id", "import_id", "line", "slip_no", "payment_code", "unit_name", "amount", "paid_on", "treasury", "outcome", "obligation_id"}
	errRolledBack := errors.New("rolled back")
	b.ResetTimer()
	var rawTime, bareTime, importTime time.Duration
	var peakHeap uint64
	for n := 0; n < b.N; n++ {
		start := time.Now()
		if err := pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `INSERT INTO statement_imports (id, source_name, rows, imported_by) VALUES ($1, 'raw', $2, 'bench')`, rawImport, len(raw)); err != nil {
				return err
			}
			if _, err := tx.CopyFrom(ctx, pgx.Identifier{"receipts"}, receiptColumns, pgx.CopyFromRows(raw)); err != nil {
				return err
			}
			return errRolledBack
		}); !errors.Is(err, errRolledBack) {
			b.Fatal(err)
		}
		rawTime += time.Since(start)
		start = time.Now()
		if err := pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
			_, err := tx.CopyFrom(ctx, pgx.Identifier{"bare_receipts"}, receiptColumns, pgx.CopyFromRows(raw))
			return err
		}); err != nil {
			b.Fatal(err)
		}
		bareTime += time.Since(start)

		stop := sampleHeap(&peakHeap)
		start = time.Now()
		res, err := db.Settlement().Import(ctx, "bench", settlement.RowsOf(rows), len(rows), today)
		if err != nil {
			b.Fatal(err)
		}
		importTime += time.Since(start)
		stop()
		if n == 0 && res.Counts["matched"] != importRows {
			b.Fatalf("counts %v, want %d matched", res.Counts, importRows)
		}
	}
	b.StopTimer()
	// The statement as a clerk uploads it (a CSV file), scanned as the import reads it: the live
	// heap while scanning must not grow with the file either.
	file, err := os.CreateTemp(b.TempDir(), "statement-*.csv")
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriter(file)
	fmt.Fprintln(w, "缴款书编号,缴款码,执收单位,金额,缴款日期,收款国库")
	for _, r := range rows {
		fmt.Fprintf(w, "%s,%s,%s,%s,%s,%s\n", r.SlipNo, r.PaymentCode, r.Unit, r.Amount, r.PaidOn, r.Treasury)
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	var scanHeap uint64
	stop := sampleHeap(&scanHeap)
	scanned := 0
	scanStart := time.Now()
	if err := settlement.ScanStatement(file, "csv", nil, func(settlement.ReceiptRow) error { scanned++; return nil }); err != nil || scanned != importRows {
		b.Fatalf("scanned %d rows: %v", scanned, err)
	}
	scanTime := time.Since(scanStart)
	stop()
	b.ReportMetric(float64(scanHeap)/(1<<20), "scan-peak-heap-MiB")
	b.ReportMetric(float64(rawTime.Milliseconds())/float64(b.N), "raw-copy-ms")
	b.ReportMetric(float64(bareTime.Milliseconds())/float64(b.N), "bare-copy-ms")
	b.ReportMetric(float64(importTime.Milliseconds())/float64(b.N), "import-ms")
	b.ReportMetric(float64(rawTime)/float64(importTime), "raw/import")
	b.ReportMetric(float64(bareTime)/float64(importTime), "bare/import")
	b.ReportMetric(float64(importTime.Microseconds())/float64(b.N*importRows), "µs/receipt")
	b.ReportMetric(float64(peakHeap)/(1<<20), "peak-heap-MiB")
	b.Logf("%d receipts: import %s; raw COPY into receipts %s (%.2f of the import), bare COPY %s (%.2f); peak heap %.1f MiB beyond the parsed rows; "+
		"the CSV file scanned in %s, peak heap %.1f MiB",
		importRows, importTime/time.Duration(b.N), rawTime/time.Duration(b.N), float64(rawTime)/float64(importTime),
		bareTime/time.Duration(b.N), float64(bareTime)/float64(importTime), float64(peakHeap)/(1<<20), scanTime.Round(time.Millisecond), float64(scanHeap)/(1<<20))
}

// sampleHeap records, until stopped, the largest growth of the live Go heap over its size at the
// start, as each garbage collection measures it (the start follows one: the benchmark's rows). It samples
// every few milliseconds; a benchmark's measure, not a synchronisation.
func sampleHeap(peak *uint64) (stop func()) {
	runtime.GC()
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(sample)
	base := sample[0].Value.Uint64()
	done, finished := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(finished)
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			metrics.Read(sample)
			if v := sample[0].Value.Uint64(); v > base && v-base > *peak {
				*peak = v - base
			}
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	return func() { close(done); <-finished }
}
