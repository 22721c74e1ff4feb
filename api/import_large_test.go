package api_test

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/datavenue/datavenue/api"
	"github.com/datavenue/datavenue/civil"
	"github.com/datavenue/datavenue/settlement"
)

// A statement larger than one of the import's chunks (5,000 receipts) is decided as one: a slip
// seen in the first chunk is a duplicate in the second, and an obligation partly paid in the first
// is paid off in the second. The answer lists the first 1,000 receipts and counts them all; the
// import's receipts page in line order, filtered by outcome.
func TestALargeStatementIsDecidedAcrossChunks(t *testing.T) {
	m, order, clerk := paidOrder(t)
	obligation := order.Obligations[0]
	today := civil.Of(time.Now()).String()
	var csv strings.Builder
	csv.WriteString("缴款书编号,缴款码,执收单位,金额,缴款日期,收款国库\n")
	fmt.Fprintf(&csv, "S1,%s,市交通运输局,3000.00,%s,市级国库\n", obligation.PaymentCode, today) // line 2: partial
	for i := range 5000 {
		fmt.Fprintf(&csv, "U%05d,NONE%05d,某单位,1.00,%s,市级国库\n", i, i, today) // lines 3–5002: unmatched
	}
	fmt.Fprintf(&csv, "S1,%s,市交通运输局,3000.00,%s,市级国库\n", obligation.PaymentCode, today) // line 5003: duplicate
	fmt.Fprintf(&csv, "S2,%s,市交通运输局,2000.01,%s,市级国库\n", obligation.PaymentCode, today) // line 5004: the rest

	r := m.importStatement(clerk, "csv", "period_end="+today, []byte(csv.String()))
	mustStatus(t, r, 201)
	res := decode[settlement.ImportResult](t, r)
	want := map[string]int{"partial": 1, "unmatched": 5000, "duplicate": 1, "matched": 1, "missing": 0}
	if fmt.Sprint(res.Counts) != fmt.Sprint(want) || res.ReceiptsTotal != 5003 || len(res.Receipts) != settlement.ReceiptsListed {
		t.Fatalf("counts %v, total %d, listed %d", res.Counts, res.ReceiptsTotal, len(res.Receipts))
	}
	if res.Receipts[0].Outcome != "partial" || res.Receipts[999].Line != 1001 {
		t.Fatalf("listed: first %+v, last %+v", res.Receipts[0], res.Receipts[999])
	}

	receipts := "/v1/reconciliation/imports/" + res.ID
	matched := decode[api.Page[settlement.ReceiptOutcome]](t, m.do("GET", receipts+"?outcome=matched", clerk, nil))
	if len(matched.Data) != 1 || matched.Data[0].Line != 5004 || matched.Data[0].Obligation != obligation.ID || matched.Data[0].Amount.String() != "2000.01" {
		t.Fatalf("matched = %+v", matched.Data)
	}
	lines := pageThrough(t, m, receipts+"?limit=500", clerk, func(o settlement.ReceiptOutcome) string { return strconv.Itoa(o.Line) })
	if len(lines) != 5003 || lines[0] != "2" || lines[5002] != "5004" {
		t.Fatalf("paged %d receipts, first %v", len(lines), lines[:min(3, len(lines))])
	}
	for i, l := range lines {
		if l != strconv.Itoa(i+2) {
			t.Fatalf("receipt %d is line %s: not in line order", i, l)
		}
	}
	paid := decode[settlement.Order](t, m.do("GET", "/v1/orders/"+order.ID, clerk, nil))
	if got := paid.Obligations[0]; got.Status != "remitted" || got.Remitted.String() != "5000.01" {
		t.Fatalf("obligation after the statement = %+v", got)
	}
	wantProblem(t, m.do("GET", receipts+"?outcome=paid", clerk, nil), 422, "validation_failed")
	wantProblem(t, m.do("GET", "/v1/reconciliation/imports/imp_01JNOSUCHIMPORT00000000000", clerk, nil), 404, "import_not_found")
	m.checkInvariants()
}
