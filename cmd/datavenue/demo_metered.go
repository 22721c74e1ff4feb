package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/client"
	"github.com/datavenue/datavenue/internal/venueclient"
	"github.com/datavenue/datavenue/settlement"
	"github.com/datavenue/datavenue/subscriptions"
)

// metered shows a product sold as a service (issue 15): published with a subscription plan (a
// monthly fee, a price per call, a plan maximum) under caps per call and per service time,
// negotiated by a buyer (quicker than an auction), which makes a subscription instead of an order;
// then the operator's gateway reports signed usage, a batch retried after a lost answer counts
// once, and the buyer reads its subscription and its usage report.
func (d *demoRun) metered() error {
	c := d.c
	c.Say("A product sold as a service (N3): a subscription with a monthly fee, a price per call and a maximum; metered use")
	p, err := d.publishMetered()
	if err != nil {
		return err
	}
	neg, err := venueclient.Result[client.NegotiationView](d.api.StartNegotiationWithResponse(d.ctx, nil,
		client.NegotiationInput{ProductId: p.Id, Amount: "0.60"}, c.As(buyerA)))
	if err != nil {
		return err
	}
	if _, err := venueclient.Result[client.NegotiationView](d.api.MoveNegotiationWithResponse(d.ctx, neg.Id, nil,
		client.MoveInput{Action: client.MoveInputActionAccept}, c.As(operator))); err != nil {
		return err
	}
	sub, err := d.awaitSubscription(p.Id)
	if err != nil {
		return err
	}
	c.Note("subscription %s: %s per call + %s a month, at most %s, %s from %s to %s (%d periods)", sub.Id, sub.UnitPrice, sub.FixedFee,
		venueclient.Deref(sub.PlanMaximum), sub.Status, sub.StartsOn, sub.EndsOn, sub.TermPeriods)
	if len(c.Metering) == 0 {
		c.Note("usage batches need DATAVENUE_METERING_SECRET on the venue: not reported")
		return nil
	}
	now := time.Now().UTC()
	rec := func(id, qty string) map[string]any {
		return map[string]any{"record_id": id, "subscription_id": sub.Id, "unit": "per_call", "quantity": qty, "used_at": now.Format(time.RFC3339)}
	}
	// Record ids are the gateway's own, unique per operator: the run's subscription id keeps a
	// second run of the demo from meeting the first one's records.
	batch := []map[string]any{rec(sub.Id+"-1", "10"), rec(sub.Id+"-2", "2"), rec(sub.Id+"-3", "0.5")}
	res, err := d.reportUsage(batch)
	if err != nil {
		return err
	}
	c.Note("usage batch: %d accepted, %d duplicate, %d refused", res.Accepted, res.Duplicate, res.Refused)
	// The answer was lost (say): the gateway sends the batch again, with one new record.
	if res, err = d.reportUsage(append(batch, rec(sub.Id+"-4", "1"))); err != nil {
		return err
	}
	c.Note("retried batch: %d accepted, %d duplicate (counted once), %d refused", res.Accepted, res.Duplicate, res.Refused)
	report, err := venueclient.Result[client.UsageReport](d.api.UsageReportWithResponse(d.ctx, &client.UsageReportParams{ProductId: &p.Id}, c.As(buyerA)))
	if err != nil {
		return err
	}
	if len(report.ByProduct) != 1 {
		return fmt.Errorf("demo: the buyer's usage report has %d product lines, want 1", len(report.ByProduct))
	}
	u := report.ByProduct[0]
	c.Note("the buyer's usage report: %s %s in %d records (period from %s); billed with its fee once the period and its 3-day grace are over",
		u.Quantity, u.Unit, u.Records, report.ByPeriod[0].PeriodStart)
	return nil
}

// publishMetered publishes the metered product: caps per call and per service time (the fee's),
// then the gate, then the contribution agreement its bills are split by.
func (d *demoRun) publishMetered() (client.Product, error) {
	c, ptr := d.c, venueclient.Ptr[string]
	var sample any = []map[string]any{{"stop_id": "S0001", "hour": 8, "riders": 123}}
	var schema any = map[string]any{"stop_id": "string", "hour": "int", "riders": "int"}
	p, err := venueclient.Result[client.Product](d.api.CreateProductWithResponse(d.ctx, nil, client.ProductInput{SourceAssets: []string{d.asset.Id},
		Title: "公交客流实时查询接口（按次计费订阅）", Description: "按调用次数计费的公交客流查询服务，按月结算", ProductType: "dataset", Domain: "transport",
		Scenario: "城市交通规划客流分析", Delivery: client.ProductDelivery{Method: "file", Format: ptr("CSV"), ContentHash: ptr("sha256:" + fmt.Sprintf("%064x", 15))},
		UpdateFrequency: "daily", Schema: schema, Sample: sample,
		Licence:     client.Licence{DurationDays: 365, PermittedUse: "交通规划研究"},
		UseCategory: client.ProductInputUseCategoryIndustry, Pricing: client.PricingInput{Method: client.PricingInputMethodNegotiation,
			ListPrice: ptr("0.60"), MinPrice: ptr("0.40"), MaxPrice: ptr("0.80"), ChargingUnit: venueclient.Ptr(client.PricingInputChargingUnitPerCall),
			Subscription: &client.SubscriptionPlanInput{BillingPeriod: client.SubscriptionPlanInputBillingPeriodMonthly, TermPeriods: 3,
				FixedFee: ptr("300.00"), PlanMaximum: ptr("2000.00")}}}, c.As(operator)))
	if err != nil {
		return p, err
	}
	for unit, amount := range map[client.CapInputChargingUnit]string{client.CapInputChargingUnitPerCall: "0.80", client.CapInputChargingUnitPerTimeUnit: "500.00"} {
		if _, err := venueclient.Result[client.Cap](d.api.FileCapWithResponse(d.ctx, p.Id, nil, client.CapInput{Amount: amount, ChargingUnit: &unit,
			ApprovalRef: "数据局批复〔2026〕12号", ValidUntil: venueclient.Date(time.Now().AddDate(1, 0, 0))}, c.As(dataBureau))); err != nil {
			return p, err
		}
	}
	if _, err := d.api.SubmitProductWithResponse(d.ctx, p.Id, nil, c.As(operator)); err != nil {
		return p, err
	}
	if p, err = venueclient.Result[client.Product](d.api.PublishProductWithResponse(d.ctx, p.Id, nil, c.As(operator))); err != nil {
		return p, err
	}
	ratio := func(r string) *string { return &r }
	org := func(o datavenue.OrgID) *string { s := string(o); return &s }
	_, err = venueclient.Result[client.Agreement](d.api.SetAgreementWithResponse(d.ctx, p.Id, nil, client.AgreementInput{Basis: client.AgreementInputBasisRatio,
		Parties: []client.AgreementParty{{Party: org(holder.Org), Role: "holder", Ratio: ratio("0.60")}, {Party: org(operator.Org), Role: "operator", Ratio: ratio("0.40")}}},
		c.As(operator)))
	c.Note("%s %s: %s, %s per call, a plan of 300.00 a month at most 2000.00", p.Id, p.Title, p.Status, venueclient.Deref(p.Pricing.ListPrice))
	return p, err
}

// awaitSubscription waits for the projection to make the negotiation's subscription (it runs in
// the venue, a moment after the acceptance).
func (d *demoRun) awaitSubscription(productID string) (client.MeteredSubscription, error) {
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		page, err := venueclient.Result[client.PageOfMeteredSubscription](d.api.ListSubscriptionsWithResponse(d.ctx,
			&client.ListSubscriptionsParams{Limit: venueclient.Ptr(500)}, d.c.As(buyerA)))
		if err != nil {
			return client.MeteredSubscription{}, err
		}
		for _, s := range page.Data {
			if s.ProductId == productID {
				return s, nil
			}
		}
	}
	return client.MeteredSubscription{}, errors.New("demo: the negotiation made no subscription within 20 s")
}

// reportUsage sends a batch signed as the operator's gateway signs it.
func (d *demoRun) reportUsage(records []map[string]any) (client.BatchResult, error) {
	body, err := json.Marshal(map[string]any{"records": records})
	if err != nil {
		return client.BatchResult{}, err
	}
	sig := settlement.CallbackSignature(subscriptions.OperatorSecret(d.c.Metering, operator.Org), body, time.Now())
	return venueclient.Result[client.BatchResult](d.api.ReportUsageWithBodyWithResponse(d.ctx, &client.ReportUsageParams{XDatavenueSignature: sig},
		"application/json", bytes.NewReader(body), d.c.As(operator)))
}
