package settlement_test

import (
	"testing"

	"github.com/datavenue/datavenue/civil"
	"github.com/datavenue/datavenue/money"
	"github.com/datavenue/datavenue/parties"
	"github.com/datavenue/datavenue/settlement"
)

func TestMatchReceipt(t *testing.T) {
	c := &settlement.Candidate{ObligationID: "obl_1", Amount: money.MustParse("100.00"), Remitted: money.MustParse("30.00"),
		UnitName: "市交通运输局", FiscalLevel: parties.LevelMunicipal, Treasury: "市级国库", ByCode: true}
	row := func(amount, unit, treasury string) settlement.ReceiptRow {
		return settlement.ReceiptRow{SlipNo: "S", PaymentCode: "JK1", Unit: unit, Amount: money.MustParse(amount), Treasury: treasury}
	}
	for _, tc := range []struct {
		row                          settlement.ReceiptRow
		cand                         *settlement.Candidate
		dup                          bool
		outcome, remit, excess, kind string
	}{
		{row("70.00", "市交通运输局", "市级国库"), c, false, "matched", "70.00", "0.00", ""},
		{row("20.00", "市交通运输局", "市级国库"), c, false, "partial", "20.00", "0.00", "partial"},
		{row("90.00", "市交通运输局", ""), c, false, "over_paid", "70.00", "20.00", "over_paid"},
		{row("70.00", "市交通运输局", "省级国库"), c, false, "wrong_treasury", "0.00", "0.00", "wrong_treasury"},
		{row("70.00", "市交通运输局", "某区国库"), c, false, "wrong_treasury", "0.00", "0.00", "wrong_treasury"},
		{row("70.00", "市交通运输局", "市本级国库"), c, false, "matched", "70.00", "0.00", ""},
		{row("70.00", "市 交通运输局", "市级国库"), c, false, "matched", "70.00", "0.00", ""},
		{row("70.00", "区卫健委", "市级国库"), c, false, "matched", "70.00", "0.00", "unit_mismatch"},
		{row("70.00", "市交通运输局", "市级国库"), nil, false, "unmatched", "0.00", "0.00", "unmatched"},
		{row("70.00", "市交通运输局", "市级国库"), c, true, "duplicate", "0.00", "0.00", "duplicate"},
	} {
		d := settlement.MatchReceipt(tc.row, tc.cand, tc.dup)
		kind := ""
		if len(d.Findings) > 0 {
			kind = d.Findings[len(d.Findings)-1].Kind
		}
		if d.Outcome != tc.outcome || d.Remit.String() != tc.remit || d.Excess.String() != tc.excess || kind != tc.kind {
			t.Errorf("%s %s %s: %s remit %s excess %s %v; want %s %s %s %s", tc.row.Amount, tc.row.Unit, tc.row.Treasury,
				d.Outcome, d.Remit, d.Excess, d.Findings, tc.outcome, tc.remit, tc.excess, tc.kind)
		}
	}
}

func TestTreasuryLevel(t *testing.T) {
	for name, want := range map[string]parties.FiscalLevel{"中央国库": parties.LevelCentral, "福建省级国库": parties.LevelProvincial,
		"宁夏回族自治区国库": parties.LevelProvincial, "市级国库（市财政局国库支付中心）": parties.LevelMunicipal, "台江区级国库": parties.LevelCounty,
		"闽侯县国库": parties.LevelCounty, "洪塘镇国库": parties.LevelTownship,
		// The level named last decides; a city named 镇江 is no township; bracketed remarks and
		// what follows 国库 do not count; the municipalities under the central government are
		// provincial; a prefecture is municipal.
		"浙江省杭州市国库": parties.LevelMunicipal, "江苏省镇江市国库": parties.LevelMunicipal, "杭州市西湖区国库": parties.LevelCounty,
		"市级国库（台江区代理）": parties.LevelMunicipal, "福建省级国库福州中心支库": parties.LevelProvincial,
		"北京市国库": parties.LevelProvincial, "上海市浦东新区国库": parties.LevelCounty, "重庆市级国库": parties.LevelProvincial,
		"新疆维吾尔自治区国库": parties.LevelProvincial, "延边朝鲜族自治州国库": parties.LevelMunicipal, "锡林郭勒盟国库": parties.LevelMunicipal,
		"喀什地区国库": parties.LevelMunicipal, "正蓝旗国库": parties.LevelCounty,
		"国家金库福州市中心支库": parties.LevelMunicipal, "国家金库福州市鼓楼区支库": parties.LevelCounty} {
		if got, ok := parties.TreasuryLevel(name); !ok || got != want {
			t.Errorf("%s: %s %v, want %s", name, got, ok, want)
		}
	}
	if _, ok := parties.TreasuryLevel("国库支付中心"); ok {
		t.Error("a treasury name without a level was given one")
	}
}

// A receipt without a payment code is taken for an obligation from its event to 30 days past its
// deadline, at any time while the deadline is pending; the earliest deadline that fits wins.
func TestAReceiptByUnitFitsTheObligationsWindow(t *testing.T) {
	event, due := civil.MustParse("2026-12-01"), civil.MustParse("2026-12-15")
	pending := settlement.Candidate{ObligationID: "pending", EventDate: event}
	dated := settlement.Candidate{ObligationID: "dated", EventDate: event, DueDate: &due}
	for _, tc := range []struct {
		paidOn string
		c      settlement.Candidate
		want   bool
	}{
		{"2026-11-30", dated, false}, // before the event
		{"2026-12-01", dated, true},
		{"2027-01-14", dated, true}, // the 30th day past the deadline
		{"2027-01-15", dated, false},
		{"2030-01-01", pending, true},
		{"2026-11-30", pending, false},
	} {
		if got := settlement.MayPayByUnit(civil.MustParse(tc.paidOn), tc.c); got != tc.want {
			t.Errorf("%s paying %s: %v, want %v", tc.paidOn, tc.c.ObligationID, got, tc.want)
		}
	}
	if got := settlement.PickByUnit(civil.MustParse("2027-01-20"), []*settlement.Candidate{&dated, &pending}); got != &pending {
		t.Errorf("past the first's window: picked %+v, want the pending one", got)
	}
	if got := settlement.PickByUnit(civil.MustParse("2026-11-01"), []*settlement.Candidate{&dated, &pending}); got != nil {
		t.Errorf("before both events: picked %+v", got)
	}
}
