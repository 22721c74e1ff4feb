package postgres_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/audit"
	"github.com/datavenue/datavenue/internal/testenv"
	"github.com/datavenue/datavenue/parties"
	"github.com/datavenue/datavenue/postgres"
	"github.com/datavenue/datavenue/settlement"
)

const (
	stateOrg = datavenue.OrgID("org_01JDEM00000000000000000004")
	govOrg   = datavenue.OrgID("org_01JDEM00000000000000000003")
)

func d(s string) decimal.Decimal { return decimal.RequireFromString(s) }

// settle is a settlement of amount: 60% payable to a state enterprise, the rest due to a
// government unit's treasury, out of clearing.
func settle(key string, amount string) settlement.Transaction {
	a := d(amount)
	sixty := a.Mul(d("0.6")).Round(2)
	return settlement.Transaction{Kind: "settlement", SourceID: "trd_x", Key: key, Postings: []settlement.Posting{
		{Account: settlement.AccountID(settlement.Clearing, ""), Amount: a.Neg()},
		{Account: settlement.AccountID(settlement.Payable, stateOrg), Amount: sixty},
		{Account: settlement.AccountID(settlement.DueToTreasury, govOrg), Amount: a.Sub(sixty)},
	}}
}

func ledgerDB(t *testing.T) (context.Context, *postgres.DB) {
	db := testenv.NewDB(t)
	ctx := datavenue.WithCaller(context.Background(), audit.SystemCaller)
	for i, org := range []datavenue.OrgID{govOrg, stateOrg} {
		body := fmt.Sprintf("91350100ML%07d", i)
		c, _ := parties.USCCCheckChar(body)
		if _, err := db.Parties().CreateOrganisation(ctx, parties.Registration{ID: org, USCC: body + string(c), Name: "x", Kind: parties.KindBuyer}); err != nil {
			t.Fatal(err)
		}
	}
	return ctx, db
}

func count(t *testing.T, db *postgres.DB, sql string) int {
	t.Helper()
	var n int
	if err := db.Pool.QueryRow(context.Background(), sql).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestLedgerPostsBalancedTransactionsOnce(t *testing.T) {
	ctx, db := ledgerDB(t)
	first, err := db.Settlement().Post(ctx, settle("settle:trd_1", "1000.05"))
	if err != nil {
		t.Fatal(err)
	}
	again, err := db.Settlement().Post(ctx, settle("settle:trd_1", "1000.05"))
	if err != nil || again.ID != first.ID {
		t.Fatalf("retry posted %s (%v), first %s", again.ID, err, first.ID)
	}
	if n := count(t, db, `SELECT count(*) FROM ledger_postings`); n != 3 {
		t.Fatalf("%d postings after a retry, want 3", n)
	}
	if b, _ := db.Settlement().Balance(ctx, settlement.AccountID(settlement.DueToTreasury, govOrg)); b.String() != "400.02" {
		t.Fatalf("due to treasury = %s", b)
	}
	// A correction is a reversal; a transaction is reversed at most once.
	if _, err := db.Settlement().Post(ctx, first.Reversal("reverse:trd_1", "wrong split")); err != nil {
		t.Fatal(err)
	}
	if b, _ := db.Settlement().Balance(ctx, settlement.AccountID(settlement.Clearing, "")); !b.IsZero() {
		t.Fatalf("clearing after reversal = %s", b)
	}
	if _, err := db.Settlement().Post(ctx, first.Reversal("reverse-again:trd_1", "twice")); datavenue.CodeOf(err) != "already_reversed" {
		t.Fatalf("second reversal: %v", err)
	}
	// Unbalanced: refused by the code …
	bad := settle("settle:bad", "10.00")
	bad.Postings[0].Amount = d("-9.99")
	if _, err := db.Settlement().Post(ctx, bad); datavenue.CodeOf(err) != "ledger_unbalanced" {
		t.Fatalf("unbalanced post: %v", err)
	}
	// … and by the database, were the code wrong.
	tx, err := db.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tx.Exec(ctx, `INSERT INTO ledger_transactions (id, kind, source_id, idempotency_key) VALUES ('ltx_01JBAD000000000000000000000', 'x', 'x', 'raw')`)
	tx.Exec(ctx, `INSERT INTO ledger_postings (transaction_id, account_id, amount) VALUES ('ltx_01JBAD000000000000000000000', 'acc_clearing', 5)`)
	if err := tx.Commit(ctx); err == nil {
		t.Fatal("the database committed an unbalanced transaction")
	}
	// Postings are immutable.
	if _, err := db.Pool.Exec(ctx, `UPDATE ledger_postings SET amount = amount * 2`); err == nil {
		t.Fatal("a posting was changed")
	}
	if _, err := db.Pool.Exec(ctx, `DELETE FROM ledger_transactions`); err == nil {
		t.Fatal("a transaction was deleted")
	}
}

// Concurrent settlements neither double-post nor deadlock: 16 retries of one settlement post it
// once; 40 different settlements all post, and the accounts add up exactly.
func TestLedgerUnderConcurrency(t *testing.T) {
	ctx, db := ledgerDB(t)
	var wg sync.WaitGroup
	ids := make(chan string, 16)
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tr, err := db.Settlement().Post(ctx, settle("settle:same", "77.77"))
			if err != nil {
				t.Error(err)
				return
			}
			ids <- tr.ID
		}()
	}
	wg.Wait()
	close(ids)
	first := ""
	for id := range ids {
		if first == "" {
			first = id
		} else if id != first {
			t.Fatalf("one settlement posted as %s and %s", first, id)
		}
	}
	for i := 0; i < 40; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := db.Settlement().Post(ctx, settle(fmt.Sprintf("settle:%d", i), "100.01")); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if n := count(t, db, `SELECT count(*) FROM ledger_transactions`); n != 41 {
		t.Fatalf("%d transactions, want 41", n)
	}
	if n := count(t, db, `SELECT count(*) FROM (SELECT transaction_id FROM ledger_postings GROUP BY 1 HAVING sum(amount) <> 0) u`); n != 0 {
		t.Fatalf("%d unbalanced transactions", n)
	}
	clearing, _ := db.Settlement().Balance(ctx, settlement.AccountID(settlement.Clearing, ""))
	if clearing.String() != d("-77.77").Add(d("-4000.40")).String() {
		t.Fatalf("clearing = %s", clearing)
	}
}
