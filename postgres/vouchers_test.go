package postgres_test

import (
	"context"
	"sync"
	"testing"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/settlement"
)

// Confirmations that arrive together are appended in groups, one transaction each (see
// postgres.DB.Confirm): each caller must still get its own answer, and the log one chain with no
// gaps, no forks and one voucher per order.
func TestConcurrentConfirmationsAppendOneChain(t *testing.T) {
	s := newSettlementBench(t)
	ctx := context.Background()
	const n = 12
	orders := make([]string, n)
	for i := range orders {
		var err error
		if orders[i], err = s.deliver(ctx); err != nil {
			t.Fatal(err)
		}
	}
	// Every order is confirmed twice by its buyer and once by its seller (not its buyer), at once.
	type answer struct {
		order string
		buyer bool
		v     settlement.Voucher
		err   error
	}
	answers := make(chan answer, 3*n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for _, order := range orders {
		for _, org := range []datavenue.OrgID{s.buyer, s.operator, s.buyer} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				caller := datavenue.Caller{Subject: "someone", Role: datavenue.RoleBuyer, Org: org}
				v, err := s.vouchers.Confirm(datavenue.WithCaller(ctx, caller), caller, order)
				answers <- answer{order: order, buyer: org == s.buyer, v: v, err: err}
			}()
		}
	}
	close(start)
	wg.Wait()
	close(answers)
	issued := map[string]string{} // order -> voucher id
	for a := range answers {
		if !a.buyer {
			if datavenue.CodeOf(a.err) != "order_not_found" {
				t.Errorf("%s confirmed by its seller: %v, want order_not_found", a.order, a.err)
			}
			continue
		}
		if a.err != nil || a.v.OrderID != a.order || a.v.Document == "" || a.v.CreatedAt.IsZero() {
			t.Fatalf("%s confirmed by its buyer: %+v, %v", a.order, a.v, a.err)
		}
		if prev, ok := issued[a.order]; ok && prev != a.v.ID {
			t.Errorf("%s: two vouchers, %s and %s", a.order, prev, a.v.ID)
		}
		issued[a.order] = a.v.ID
	}
	log, err := s.db.Settlement().VoucherLog(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := settlement.VerifyChain(log, s.vouchers.Keys); err != nil || len(log) != n {
		t.Fatalf("the log has %d vouchers (want %d) and verifies: %v", len(log), n, err)
	}
	for i, e := range log {
		if e.Seq != int64(i+1) {
			t.Fatalf("entry %d has seq %d", i, e.Seq)
		}
	}
	for _, order := range orders {
		o, err := s.db.Settlement().Order(ctx, order)
		if err != nil || o.Status != settlement.OrderConfirmed {
			t.Fatalf("%s: %s, %v", order, o.Status, err)
		}
		v, err := s.db.Settlement().Voucher(ctx, issued[order])
		if err != nil || v.OrderID != order {
			t.Fatalf("%s: its voucher %s is for %s, %v", order, issued[order], v.OrderID, err)
		}
	}
	// They were grouped: rows written by one transaction share its xmin. 36 callers released at
	// once cannot all have found the appender idle.
	var txs int
	if err := s.db.Pool.QueryRow(ctx, `SELECT count(DISTINCT xmin::text) FROM vouchers`).Scan(&txs); err != nil || txs >= n {
		t.Fatalf("%d vouchers in %d transactions: not grouped (%v)", n, txs, err)
	}
	t.Logf("%d vouchers appended in %d transactions", n, txs)
	// One audit record and one webhook event per voucher, not per call.
	var audits, events int
	if err := s.db.Pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM audit_events WHERE action = 'voucher.issued'),
		(SELECT count(*) FROM webhook_events WHERE type = 'voucher.issued')`).Scan(&audits, &events); err != nil || audits != n || events != n {
		t.Fatalf("%d voucher.issued audit records and %d events, want %d: %v", audits, events, n, err)
	}
}
