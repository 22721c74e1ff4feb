package console_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/shopspring/decimal"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/unicode"

	"github.com/datavenue/datavenue/civil"
	"github.com/datavenue/datavenue/client"
	"github.com/datavenue/datavenue/internal/venueclient"
)

// A clerk's day in the browser: the obligations by due date (an overdue one marked, its deadline
// explained from the day of receipt), a GB18030 statement as Chinese Excel saves it dropped on the
// upload field and imported with its progress shown, a UTF-16 "Unicode text" statement imported by
// the plain form with scripts off, the outcomes, an exception resolved with a reason from the
// keyboard, the trial balance and the report downloads.
func TestClerkJourneyInTheBrowser(t *testing.T) {
	clock := &shifted{}
	v := newVenueAt(t, clock)
	overdue, soon := v.paidObligations(t, clock)
	tab := newTab(t, newBrowser(t))

	// Signed in, a clerk lands on the obligations.
	run(t, tab, chromedp.Navigate(v.URL+"/console/signin"), chromedp.WaitVisible(chromedp.CSS("#dev-submit")),
		chromedp.Click(chromedp.CSS("#identity-demo-clerk")), chromedp.Click(chromedp.CSS("#dev-submit")),
		chromedp.WaitVisible(chromedp.CSS("#obligations")))
	mustContain(t, "the signed-in user", textOf(t, tab, "#who"), "结算专员")
	row := "#obligation-" + overdue.Id
	if cls := value(t, tab, chromedp.Evaluate[string](`document.querySelector("`+row+`").className`)); cls != "overdue" {
		t.Errorf("the obligation received 30 days ago is shown as %q, want overdue", cls)
	}
	mustContain(t, "the overdue obligation", textOf(t, tab, row), "已逾期", overdue.DueDate.Format("2006-01-02"), overdue.PaymentCode, "国库缴款",
		"自收款日 "+overdue.EventDate.Format("2006-01-02")+" 起 10 个工作日", "跳过")
	// Due soon is a display threshold over the service's due date: within 7 days of today.
	wantSoon := ""
	if soon.DueDate != nil && !civil.FromTime(soon.DueDate.Time).After(civil.Of(clock.Now()).AddDays(7)) {
		wantSoon = "due-soon"
	}
	if cls := value(t, tab, chromedp.Evaluate[string](`document.querySelector("#obligation-`+soon.Id+`").className`)); cls != wantSoon {
		t.Errorf("the obligation due %s is shown as %q, want %q", soon.DueDate, cls, wantSoon)
	}
	checkAccessibility(t, tab, "obligations")
	screenshot(t, tab, "clerk-obligations")
	run(t, tab, chromedp.Click(chromedp.CSS("#lang-switch")), chromedp.WaitVisible(chromedp.CSS(`html[lang="en"] #obligations`)))
	mustContain(t, "the overdue obligation in English", textOf(t, tab, row), "Overdue", "Treasury remittance",
		"10 working days from the day of receipt, "+overdue.EventDate.Format("2006-01-02"), "skipped")
	checkAccessibility(t, tab, "obligations (English)")
	run(t, tab, chromedp.Click(chromedp.CSS("#lang-switch")), chromedp.WaitVisible(chromedp.CSS(`html[lang="zh-CN"] #obligations`)))

	// The GB18030 statement is dropped on the field (the script puts it in the file input), sent
	// with the progress stream, and the browser goes to the outcomes.
	gbk := v.statementGB18030(t, overdue)
	run(t, tab, chromedp.Click(chromedp.CSS(`nav a[href="/console/imports/new"]`)), chromedp.WaitVisible(chromedp.CSS("#dropzone")))
	checkAccessibility(t, tab, "import")
	dropped := value(t, tab, chromedp.Evaluate[int](`(() => {
		const bytes = Uint8Array.from(atob("`+base64.StdEncoding.EncodeToString(gbk)+`"), c => c.charCodeAt(0));
		const dt = new DataTransfer();
		dt.items.add(new File([bytes], "国库收入明细表.csv", {type: "text/csv"}));
		const zone = document.querySelector("#dropzone");
		zone.dispatchEvent(new DragEvent("dragover", {dataTransfer: dt, bubbles: true, cancelable: true}));
		zone.dispatchEvent(new DragEvent("drop", {dataTransfer: dt, bubbles: true, cancelable: true}));
		return document.querySelector("#statement").files.length;
	})()`))
	if dropped != 1 {
		t.Fatalf("the dropped statement is not in the file input (%d files)", dropped)
	}
	screenshot(t, tab, "clerk-import")
	// The progress the script shows is recorded in the tab's session storage, which outlives the
	// navigation to the outcomes.
	value(t, tab, chromedp.Evaluate[bool](`(() => {
		const form = document.querySelector("#import-form"), bar = document.querySelector("#progress");
		new MutationObserver(() => sessionStorage.setItem("stages", (sessionStorage.getItem("stages") || "") +
			form.getAttribute("data-state") + "@" + bar.value + "/" + bar.max + ";")).observe(form, {attributes: true, attributeFilter: ["data-state"]});
		return true;
	})()`))
	run(t, tab, chromedp.Click(chromedp.CSS("#import-submit")), chromedp.WaitVisible(chromedp.CSS("#counts")))
	// (Observer callbacks are batched: with two rows the stream's parsed and applying stages can be
	// overtaken by done before they are recorded, so the bar must show a stage before done — the
	// upload's, or one of the stream's — and end at done with both rows.)
	stages := value(t, tab, chromedp.Evaluate[string](`sessionStorage.getItem("stages")`))
	if !strings.Contains(stages, "sending@") && !strings.Contains(stages, "parsed@") && !strings.Contains(stages, "applying@") ||
		!strings.HasSuffix(stages, "done@2/2;") {
		t.Errorf("the progress shown = %q, want a stage of the import's progress, then done with both rows", stages)
	}
	mustContain(t, "the outcomes", textOf(t, tab, "#counts"), "已匹配: 1", "未匹配: 1")
	mustContain(t, "the receipts", textOf(t, tab, "#receipts"), overdue.PaymentCode, "某区文化和旅游局", "88.00")
	checkAccessibility(t, tab, "import outcomes")
	screenshot(t, tab, "clerk-outcomes")

	// The same page without scripts: the form posts, the server imports and sends the outcomes.
	plain := newTab(t, newBrowser(t))
	run(t, plain, func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		return chromedp.Void{}, tg.Call(ctx, "Emulation.setScriptExecutionDisabled", map[string]any{"value": true}, nil)
	})
	path := filepath.Join(t.TempDir(), "国库收入退库明细表.txt")
	if err := os.WriteFile(path, v.statementUTF16(t, soon), 0o644); err != nil {
		t.Fatal(err)
	}
	run(t, plain, chromedp.Navigate(v.URL+"/console/signin"), chromedp.WaitVisible(chromedp.CSS("#dev-submit")),
		chromedp.Click(chromedp.CSS("#identity-demo-clerk")), chromedp.Click(chromedp.CSS("#dev-submit")),
		chromedp.WaitVisible(chromedp.CSS("#obligations")), chromedp.Navigate(v.URL+"/console/imports/new"),
		chromedp.WaitVisible(chromedp.CSS("#statement")), chromedp.SetUploadFiles(chromedp.CSS("#statement"), []string{path}),
		chromedp.Click(chromedp.CSS("#import-submit")), chromedp.WaitVisible(chromedp.CSS("#counts")))
	mustContain(t, "the outcomes of the plain upload", textOf(t, plain, "#counts"), "部分缴款: 1")

	// The exception queue: the unmatched receipt resolved with a reason, from the keyboard.
	run(t, tab, chromedp.Click(chromedp.CSS(`nav a[href="/console/exceptions"]`)), chromedp.WaitVisible(chromedp.CSS("#exceptions")))
	mustContain(t, "the queue", textOf(t, tab, "#exceptions"), "未匹配的收款", "部分缴款")
	checkAccessibility(t, tab, "exceptions")
	screenshot(t, tab, "clerk-exceptions")
	unmatched := v.openException(t, "unmatched")
	reason := "非本平台收入，已转区财政核对"
	run(t, tab, chromedp.Focus(chromedp.CSS("#reason-"+unmatched)), chromedp.SendKeys(chromedp.CSS("#reason-"+unmatched), reason),
		chromedp.KeyEvent(kb.Tab), chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(chromedp.CSS("#resolved")))
	mustContain(t, "the confirmation", textOf(t, tab, "#resolved"), unmatched)
	if n := value(t, tab, chromedp.Evaluate[int](`document.querySelectorAll("#exception-`+unmatched+`").length`)); n != 0 {
		t.Error("the resolved exception is still in the open queue")
	}
	resolved, err := venueclient.Result[client.PageOfException](v.client.API().ListExceptionsWithResponse(context.Background(),
		&client.ListExceptionsParams{Status: venueclient.Ptr("resolved")}, v.client.As(venueclient.Clerk)))
	if err != nil {
		t.Fatal(err)
	}
	if len(resolved.Data) != 1 || resolved.Data[0].Id != unmatched || venueclient.Deref(resolved.Data[0].Resolution) != reason {
		t.Errorf("the venue's resolved exceptions = %+v, want %s resolved with the reason", resolved.Data, unmatched)
	}

	// The trial balance, and the report downloads (fetched with the session, as a click would).
	run(t, tab, chromedp.Click(chromedp.CSS(`nav a[href="/console/ledger"]`)), chromedp.WaitVisible(chromedp.CSS("#tb-total")))
	mustContain(t, "the trial balance", textOf(t, tab, "#tb-total"), "0.00", "借贷平衡")
	checkAccessibility(t, tab, "ledger")
	screenshot(t, tab, "clerk-ledger")
	for sel, want := range map[string]string{"#report-csv": "text/csv", "#report-xlsx": "spreadsheetml"} {
		got := value(t, tab, chromedp.Evaluate[string](`fetch(document.querySelector("`+sel+`").href).then(r => r.status + " " + r.headers.get("content-type"))`,
			chromedp.EvalAwaitPromise))
		mustContain(t, "the download "+sel, got, "200", want)
	}
}

// shifted is the services' clock moved ahead of the real one (the engine keeps Redis's): a test
// lives through weeks of deadlines in a second.
type shifted struct{ days atomic.Int64 }

func (s *shifted) Now() time.Time { return time.Now().UTC().AddDate(0, 0, int(s.days.Load())) }

// paidObligations has two buyers' offers for a negotiated product accepted today, the first paid
// today and the second received 20 days on; then it moves the services' clock 30 days on. It
// returns the transport bureau's treasury remittance of each: the first is overdue by then, the
// second due within days.
func (v *venue) paidObligations(t *testing.T, clock *shifted) (overdue, soon client.Obligation) {
	t.Helper()
	orders := v.negotiatedOrders(t, venueclient.BuyerA, venueclient.BuyerB)
	ctx, api := context.Background(), v.client.API()
	var out []client.Obligation
	for i, o := range orders {
		clock.days.Store(int64(20 * i))
		received := venueclient.Date(civil.Of(clock.Now()).Time()) // a day in China Standard Time
		paid, err := venueclient.Result[client.Order](api.RecordPaymentWithResponse(ctx, o.Id, nil,
			client.PaymentInput{Reference: fmt.Sprintf("BANK-%d", i), ReceivedOn: &received}, v.client.As(venueclient.Clerk)))
		if err != nil {
			t.Fatalf("payment: %v", err)
		}
		for _, ob := range venueclient.Deref(paid.Obligations) {
			if ob.Kind == "treasury_remittance" {
				out = append(out, ob)
			}
		}
	}
	if len(out) != 2 {
		t.Fatalf("the payments made %d treasury remittances, want 2", len(out))
	}
	clock.days.Store(30)
	return out[0], out[1]
}

// negotiatedOrders has each buyer's offer for a negotiated product accepted by the operator
// (12,000.00, then 11,000.00, …) and the trades projected: the orders awaiting payment.
func (v *venue) negotiatedOrders(t *testing.T, buyers ...venueclient.Actor) []client.Order {
	t.Helper()
	product := v.publishTransport(t, 0)
	ctx, api := context.Background(), v.client.API()
	for i, b := range buyers {
		n, err := venueclient.Result[client.NegotiationView](api.StartNegotiationWithResponse(ctx, nil,
			client.NegotiationInput{ProductId: product.Id, Amount: fmt.Sprintf("%d.00", 12000-1000*i)}, v.client.As(b)))
		if err != nil {
			t.Fatalf("offer: %v", err)
		}
		if _, err := venueclient.Result[client.NegotiationView](api.MoveNegotiationWithResponse(ctx, n.Id, nil,
			client.MoveInput{Action: client.MoveInputActionAccept}, v.client.As(venueclient.Operator))); err != nil {
			t.Fatalf("accept: %v", err)
		}
	}
	// The engine's trades become orders through the projection, stepped here.
	if _, err := v.projector.RunOnce(ctx); err != nil {
		t.Fatalf("projection: %v", err)
	}
	page, err := venueclient.Result[client.PageOfOrder](api.ListOrdersWithResponse(ctx, &client.ListOrdersParams{Status: venueclient.Ptr("awaiting_payment")},
		v.client.As(venueclient.Clerk)))
	if err != nil || len(page.Data) != len(buyers) {
		t.Fatalf("after the projection: %d orders awaiting payment (%v), want %d", len(page.Data), err, len(buyers))
	}
	return page.Data
}

// statementGB18030 is the treasury's statement as Chinese Excel saves "CSV": GB18030, CRLF, a title
// block, 金额（元） amounts with ¥ and thousands separators, a 合计 row; one receipt pays ob by its
// payment code, the other is nobody's.
func (v *venue) statementGB18030(t *testing.T, ob client.Obligation) []byte {
	t.Helper()
	today := time.Now().Format("2006/1/2")
	amount := decimal.RequireFromString(ob.Amount)
	other := decimal.RequireFromString("88.00")
	text := strings.Join([]string{
		"国库收入明细表,,,,,", "单位：元,,,,,", "日期：" + time.Now().Format("2006年1月2日") + ",,,,,", ",,,,,",
		"缴款书编号,缴款码,执收单位,金额（元）,缴款日期,收款国库",
		fmt.Sprintf(`3502001,%s,市交通运输局,"¥%s",%s,%s`, ob.PaymentCode, grouped(amount), today, ob.Counterpart),
		fmt.Sprintf(`3502002,,某区文化和旅游局,￥%s,%s,区级国库`, grouped(other), today),
		fmt.Sprintf(`合计,,,"¥%s",,`, grouped(amount.Add(other))),
	}, "\r\n") + "\r\n"
	out, err := simplifiedchinese.GB18030.NewEncoder().Bytes([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// statementUTF16 is the bank's statement as Excel's "Unicode text": UTF-16LE with a BOM, TAB
// separated; its one receipt pays half of ob.
func (v *venue) statementUTF16(t *testing.T, ob client.Obligation) []byte {
	t.Helper()
	half := decimal.RequireFromString(ob.Amount).Div(decimal.NewFromInt(2)).RoundDown(2)
	text := "国库收入退库明细表\t\t\t\t\t\r\n缴款书编号\t缴款码\t执收单位\t缴款金额\t缴款日期\t收款国库\r\n" +
		fmt.Sprintf("'0012345\t%s\t市交通运输局\t%s\t%s\t%s\r\n", ob.PaymentCode, half.StringFixed(2), time.Now().Format("2006-1-2"), ob.Counterpart)
	out, err := unicode.UTF16(unicode.LittleEndian, unicode.UseBOM).NewEncoder().Bytes([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// grouped writes an amount with thousands separators, as statements do.
func grouped(d decimal.Decimal) string {
	s := d.StringFixed(2)
	whole, frac, _ := strings.Cut(s, ".")
	var b strings.Builder
	for i, r := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return b.String() + "." + frac
}

// openException is the id of the open exception of a kind (the API's queue, as the clerk).
func (v *venue) openException(t *testing.T, kind string) string {
	t.Helper()
	page, err := venueclient.Result[client.PageOfException](v.client.API().ListExceptionsWithResponse(context.Background(),
		&client.ListExceptionsParams{Status: venueclient.Ptr("open")}, v.client.As(venueclient.Clerk)))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range page.Data {
		if e.Kind == kind {
			return e.Id
		}
	}
	t.Fatalf("no open %s exception in %+v", kind, page.Data)
	return ""
}
