package settlement_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/auth"
	"github.com/datavenue/datavenue/settlement"
)

const statementCSV = "\uFEFF缴款书编号,缴款码,执收单位,金额,缴款日期,收款国库\n" +
	"S1,JK01,市交通运输局,\"2,000.01\",2026-11-26,市级国库\n" +
	"S2,,市财政局,10.00,2026-11-27,市级国库\n"

// checkParsed holds for any statement: it parses to rows a clerk can trust, or fails with a
// problem the clerk can act on (a venue error naming what is wrong), never a panic or an internal
// error.
func checkParsed(t *testing.T, rows []settlement.ReceiptRow, err error) {
	t.Helper()
	if err != nil {
		if k := datavenue.KindOf(err); k != datavenue.KindInvalid && k != datavenue.KindMalformed && k != datavenue.KindTooLarge {
			t.Fatalf("statement error of kind %v: %v", k, err)
		}
		return
	}
	last := 0
	for _, r := range rows {
		if r.Line <= last || !r.Amount.Decimal().IsPositive() || r.PaidOn.IsZero() {
			t.Fatalf("row %+v after line %d", r, last)
		}
		if r.SlipNo == "" && r.PaymentCode == "" && r.Unit == "" {
			t.Fatalf("row %+v names nothing to match on", r)
		}
		last = r.Line
	}
}

func FuzzParseStatementCSV(f *testing.F) {
	f.Add([]byte(statementCSV), "")
	f.Add([]byte("票号,code,unit,amount,date,treasury\nA,B,C,1.00,2026-01-01,D\n"), `{"slip_no":"票号"}`)
	f.Add([]byte("缴款书编号,金额\n\"unterminated,1\n"), "")
	f.Add([]byte{0xff, 0xfe, 0x00}, "")
	f.Fuzz(func(t *testing.T, data []byte, mapping string) {
		var m map[string]string
		if mapping != "" {
			m = map[string]string{"slip_no": mapping}
		}
		rows, err := settlement.ParseStatement(data, "csv", m)
		checkParsed(t, rows, err)
	})
}

func statementXLSX(f *testing.F) []byte {
	x := excelize.NewFile()
	for i, row := range strings.Split(strings.TrimSpace(strings.TrimPrefix(statementCSV, "\uFEFF")), "\n") {
		for j, cell := range strings.Split(strings.ReplaceAll(row, "\"2,000.01\"", "2000.01"), ",") {
			name, _ := excelize.CoordinatesToCellName(j+1, i+1)
			x.SetCellValue("Sheet1", name, cell)
		}
	}
	var buf bytes.Buffer
	if err := x.Write(&buf); err != nil {
		f.Fatal(err)
	}
	return buf.Bytes()
}

func FuzzParseStatementXLSX(f *testing.F) {
	good := statementXLSX(f)
	f.Add(good)
	f.Add(good[:len(good)/2])
	f.Add([]byte("PK\x03\x04"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rows, err := settlement.ParseStatement(data, "xlsx", nil)
		checkParsed(t, rows, err)
	})
}

// FuzzVerifyVoucher: only the document the venue signed verifies; any other text is refused
// without a panic.
func FuzzVerifyVoucher(f *testing.F) {
	keys, err := auth.LoadKeyring(f.TempDir(), true)
	if err != nil {
		f.Fatal(err)
	}
	doc, err := settlement.SignVoucher(keys, "urn:test", settlement.VoucherContent{Seq: 1, OrderID: "ord_01JFUZZ0000000000000000000",
		PrevHash: settlement.GenesisHash, Price: "1.00", ConfirmedAt: time.Now().UTC().Format(time.RFC3339)})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(doc)
	f.Add(doc[:len(doc)-1])
	f.Add(strings.Replace(doc, ".", "..", 1))
	f.Add("eyJhbGciOiJub25lIn0.e30.")
	f.Fuzz(func(t *testing.T, s string) {
		content, err := settlement.VerifyVoucher(s, keys)
		if err == nil && s != doc {
			// Base64 has a little slack (padding bits); anything else that verifies must carry the
			// same content.
			if content.OrderID != "ord_01JFUZZ0000000000000000000" || content.Seq != 1 {
				t.Fatalf("a different document verified: %+v", content)
			}
		}
	})
}
