package venueclient

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"net/http"
	"strings"
	"time"

	openapi_types "github.com/oapi-codegen/runtime/types"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/client"
	"github.com/datavenue/datavenue/parties"
)

// Certified is an asset taken through registration, authorisation, approval and appraisal.
type Certified struct {
	Asset         client.Asset
	Scenario      string
	Authorisation string // the scenario authorisation's id: revoking it stops trading in its products
}

// Certify takes a new asset card of the transport bureau through registration, authorisation,
// approval and appraisal, so that products derived from it may be published; it returns the asset
// with its authorised scenario and the authorisation.
func (c *Client) Certify() (Certified, error) {
	// The two certificates are separate steps because the rules make them separate: the data bureau
	// issues the resource registration certificate after reviewing legality, product and scenario
	// information and the security risk (D2); the finance bureau issues the asset certificate after a
	// source-compliance review, with the data bureau concurring (D5/G3). Only then is the asset
	// authorised, approved for paid use and appraised (grantAndApprove).
	ctx, api := context.Background(), c.API()
	c.Say("The transport bureau registers its data as an asset card (D1–D4)")
	asset, err := Result[client.Asset](api.RegisterAssetWithResponse(ctx, nil, client.AssetInput{
		Category: client.AssetInputCategoryDataAsset, Name: "公交刷卡客流数据", Summary: "全市公交线路刷卡客流，按站点、小时汇总",
		Rights: []string{"holding", "processing", "operating"}, Classification: "transport", Grade: client.AssetInputGradeImportant,
		Source: "公交IC卡系统", Scale: "每日约300万条", UpdateFrequency: "daily", AcquisitionMode: "self_built",
		CostComponents:   []client.CostInput{{Stage: "collection", Amount: "120000.50"}, {Stage: "processing", Amount: "30000.25"}},
		MeasurementBasis: client.AssetInputMeasurementBasisCost, AccountingStatus: client.AssetInputAccountingStatusBooked}, c.As(Holder)))
	if err != nil {
		return Certified{}, err
	}
	c.Note("asset %s v%d, original cost %s yuan", asset.Id, asset.Version, asset.OriginalCost)

	scenario := "城市交通规划客流分析"
	until := Date(time.Now().AddDate(1, 0, 0))
	scope := client.Scope{Scenarios: []string{scenario}, ProductTypes: []string{"dataset", "data_report", "api_service"}}
	c.Say("Registration: a data resource certificate (data bureau) and a data asset certificate (finance bureau, data bureau concurring)")
	app, err := Result[client.Application](api.ApplyForCertificateWithResponse(ctx, nil, client.ApplyInput{Kind: client.ApplyInputKindResource,
		AssetId: asset.Id, Scope: scope, Materials: client.Materials{Legality: Ptr("数据采集依据《公共交通条例》"), ProductInfo: Ptr("按站点小时汇总的客流数据集"),
			ScenarioInfo: Ptr("面向交通规划研究"), SecurityAssessment: Ptr("已脱敏，无个人信息")}}, c.As(Holder)))
	if err != nil {
		return Certified{}, err
	}
	review, err := Result[client.ReviewResult](api.ReviewApplicationWithResponse(ctx, app.Id, nil, client.ReviewInput{ValidUntil: until,
		Items: PassAll("legality", "product_info", "scenario_info", "security_risk")}, c.As(DataBureau)))
	if err != nil {
		return Certified{}, err
	}
	if review.Certificate == nil {
		return Certified{}, fmt.Errorf("venueclient: application %s passed every item but no certificate was issued", app.Id)
	}
	resource := *review.Certificate
	c.Note("%s v%d issued to %s, valid until %s", resource.Number, resource.Version, resource.HolderId, resource.ValidUntil)
	if app, err = Result[client.Application](api.ApplyForCertificateWithResponse(ctx, nil, client.ApplyInput{Kind: client.ApplyInputKindAsset,
		AssetId: asset.Id, Scope: scope, Materials: client.Materials{SourceCompliance: Ptr("来源合法，权属清晰")}}, c.As(Holder))); err != nil {
		return Certified{}, err
	}
	if _, err := api.ConcurWithResponse(ctx, app.Id, nil, client.ConcurInput{Verdict: client.ConcurInputVerdictPass, Comment: "同意"}, c.As(DataBureau)); err != nil {
		return Certified{}, err
	}
	if review, err = Result[client.ReviewResult](api.ReviewApplicationWithResponse(ctx, app.Id, nil, client.ReviewInput{ValidUntil: until,
		Items: PassAll("source_compliance")}, c.As(FinanceBureau))); err != nil {
		return Certified{}, err
	}
	if review.Certificate == nil {
		return Certified{}, fmt.Errorf("venueclient: application %s passed every item but no certificate was issued", app.Id)
	}
	c.Note("%s v%d issued", review.Certificate.Number, review.Certificate.Version)
	status, err := api.CertificateStatusWithResponse(ctx, resource.Number, nil, c.As(Public))
	if err != nil {
		return Certified{}, err
	}
	c.Note("public status of %s: %s", resource.Number, strings.TrimSpace(string(status.Body)))

	grant, err := c.grantAndApprove(asset.Id, scenario, until)
	if err != nil {
		return Certified{}, err
	}
	return Certified{Asset: asset, Scenario: scenario, Authorisation: grant.Id}, nil
}

// grantAndApprove gives the operator the scenario, approves paid use and appraises the asset.
// These are the gates a paid product must pass before publication: a scenario authorisation for
// the operator, one scenario per grant (D9/G5); the finance bureau's approval of paid use after
// the holder's internal decision (D10/G5); and an appraisal (D7/D14), which appraisal-based prices
// are formed from. The validity dates are a year ahead so that a long test never outlives them.
func (c *Client) grantAndApprove(assetID, scenario string, until openapi_types.Date) (client.Authorisation, error) {
	ctx, api := context.Background(), c.API()
	c.Say("Scenario authorisation (data bureau), paid-use approval (finance bureau), appraisal (appraiser)")
	grant, err := Result[client.Authorisation](api.GrantAuthorisationWithResponse(ctx, nil, client.GrantInput{AssetId: assetID,
		OperatorId: string(Operator.Org), Scenario: scenario, Purpose: client.GrantInputPurposeIndustry, ProductTypes: []string{"dataset", "api_service"}, Conditions: "仅限脱敏汇总数据",
		ValidUntil: until}, c.As(DataBureau)))
	if err != nil {
		return grant, err
	}
	c.Note("authorisation %s: %s may operate %q", grant.Id, grant.OperatorId, grant.Scenario)
	approval, err := Result[client.Approval](api.SubmitApprovalWithResponse(ctx, nil, client.ApprovalInput{AssetId: assetID,
		Purpose: client.ApprovalInputPurposePaidUse, Scenario: scenario, PricingMethods: []string{"guided", "appraisal", "auction", "negotiation"},
		InternalDecisionRef: "局务会〔2026〕3号"}, c.As(Holder)))
	if err != nil {
		return grant, err
	}
	if approval, err = Result[client.Approval](api.DecideApprovalWithResponse(ctx, approval.Id, nil, client.DecisionInput{
		Decision: client.DecisionInputDecisionApprove, Comment: "同意", ValidUntil: &until}, c.As(FinanceBureau))); err != nil {
		return grant, err
	}
	c.Note("approval %s: %s", approval.Id, approval.Status)
	now := time.Now()
	appraisal, err := Result[client.Appraisal](api.RecordAppraisalWithResponse(ctx, nil, client.AppraisalInput{AssetId: assetID,
		ReportNumber: reportNumber(now, assetID), Method: client.AppraisalInputMethodIncome,
		Value: "200000.00", ValuationDate: Date(now), ValidUntil: until}, c.As(Appraiser)))
	if err != nil {
		return grant, err
	}
	c.Note("appraisal %s: %s yuan by the %s method", appraisal.ReportNumber, appraisal.Value, appraisal.Method)
	return grant, nil
}

// reportNumber numbers the appraisal report of an asset: report numbers are unique, and several
// clients certify assets in the same second (the scale-out test), so the number comes from the
// asset's id rather than the clock.
func reportNumber(now time.Time, assetID string) string {
	// A crc32 of the id modulo 100000 is not collision-free; it is enough for the few assets a run
	// certifies, and a collision shows as a conflict on the appraisal, not as a silent error.
	return fmt.Sprintf("评报〔%d〕%05d", now.Year(), crc32.ChecksumIEEE([]byte(assetID))%100000)
}

// Publish creates a dataset product of asset for scenario, submits and publishes it, and gives it
// a five-party contribution agreement.
func (c *Client) Publish(asset client.Asset, scenario, title string, pricing client.PricingInput) (client.Product, error) {
	ctx, api := context.Background(), c.API()
	var sample any = []map[string]any{{"stop_id": "S0001", "hour": 8, "riders": 123}}
	var schema any = map[string]any{"stop_id": "string", "hour": "int", "riders": "int"}
	p, err := Result[client.Product](api.CreateProductWithResponse(ctx, nil, client.ProductInput{SourceAssets: []string{asset.Id}, Title: title,
		TitleEn: Ptr("Hourly bus ridership"), Description: "全市公交站点按小时汇总的刷卡客流", DescriptionEn: Ptr("Bus ridership per stop and hour"),
		ProductType: "dataset", Domain: "transport", Scenario: scenario, Keywords: &[]string{"公交", "客流"},
		Delivery:        client.ProductDelivery{Method: "file", Format: Ptr("CSV"), ContentHash: Ptr("sha256:" + strings.Repeat("ab", 32))},
		UpdateFrequency: "daily", Schema: schema, Sample: sample,
		Licence:     client.Licence{DurationDays: 365, PermittedUse: "交通规划研究", OnwardTransfer: false},
		UseCategory: client.ProductInputUseCategoryIndustry, Pricing: pricing}, c.As(Operator)))
	if err != nil {
		return p, err
	}
	// Industry use is paid, under the authorising body's cap (上限收费标准, N4): the data bureau files
	// it before the product goes on the market.
	if _, err := Result[client.Cap](api.FileCapWithResponse(ctx, p.Id, nil, client.CapInput{Amount: "1000000.00",
		ApprovalRef: "数据局批复〔2026〕12号", PricingDocNumber: Ptr("发改价格〔2025〕65号"), ValidUntil: Date(time.Now().AddDate(1, 0, 0))},
		c.As(DataBureau))); err != nil {
		return p, err
	}
	if _, err := api.SubmitProductWithResponse(ctx, p.Id, nil, c.As(Operator)); err != nil {
		return p, err
	}
	if p, err = Result[client.Product](api.PublishProductWithResponse(ctx, p.Id, nil, c.As(Operator))); err != nil {
		return p, err
	}
	// The revenue agreement (D16/G6): each party's ratio of what a sale brings, summing to 1.00
	// (0.40 + 0.25 + 0.10 + 0.22 + 0.03); the venue refuses an agreement that does not. The
	// venue_fee party has no organisation: it is the venue's own share.
	party := func(org, role, ratio string) client.AgreementParty {
		a := client.AgreementParty{Role: role, Ratio: &ratio}
		if org != "" {
			a.Party = &org
		}
		return a
	}
	agreement := client.AgreementInput{Basis: client.AgreementInputBasisRatio, Parties: []client.AgreementParty{
		party(string(Holder.Org), "holder", "0.40"), party(string(DemoID(4)), "collector", "0.25"),
		party(string(DemoID(4)), "processor", "0.10"), party(string(Operator.Org), "operator", "0.22"), party("", "venue_fee", "0.03")}}
	if _, err := api.SetAgreementWithResponse(ctx, p.Id, nil, agreement, c.As(Operator)); err != nil {
		return p, err
	}
	c.Note("%s %s: %s, %s", p.Id, p.Title, p.Status, p.Pricing.Method)
	return p, nil
}

// importProgress is one line of a statement import streamed as NDJSON (the document describes
// the stream as text; api.ImportProgress is the type the venue writes).
type importProgress struct {
	Stage   string               `json:"stage"`
	Done    int                  `json:"done"`
	Total   int                  `json:"total"`
	Result  *client.ImportResult `json:"result,omitempty"`
	Problem *client.Problem      `json:"problem,omitempty"`
}

// ImportStatement uploads a statement (CSV) as the clerk with progress streamed as NDJSON, printing
// each line as it arrives, and returns the result.
func (c *Client) ImportStatement(csv string) (client.ImportResult, error) {
	// The stream's lines come while the venue works (parsing, matching, committing), so a large
	// statement shows progress instead of a silent request; the last line is either the result or a
	// problem, which is how a failure after the 200 status line is reported.
	accept := func(_ context.Context, req *http.Request) error {
		req.Header.Set("Accept", "application/x-ndjson")
		return nil
	}
	params := &client.ImportStatementParams{Name: Ptr("treasury-demo"), Format: Ptr("csv"), PeriodEnd: Date(time.Now())}
	// The generated ClientWithResponses would read the whole stream before returning; its
	// ClientInterface method hands the answer over unread, so progress prints as it comes.
	resp, err := c.API().ClientInterface.ImportStatementWithBody(context.Background(), params, "text/csv", strings.NewReader(csv), c.As(Clerk), accept)
	if err != nil {
		return client.ImportResult{}, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	// The last line carries the whole result (receipt outcomes, missing obligations), hence a buffer
	// well above bufio.Scanner's default 64 KiB line limit.
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		var line importProgress
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			return client.ImportResult{}, err
		}
		c.Note("progress: %s %d/%d", line.Stage, line.Done, line.Total)
		switch {
		case line.Problem != nil:
			return client.ImportResult{}, &Problem{*line.Problem}
		case line.Result != nil:
			return *line.Result, nil
		}
	}
	return client.ImportResult{}, fmt.Errorf("demo: the import ended without a result (status %d): %v", resp.StatusCode, sc.Err())
}

// PassAll is a review that passes every item named.
func PassAll(items ...string) []client.ItemVerdict {
	var out []client.ItemVerdict
	for _, it := range items {
		out = append(out, client.ItemVerdict{Item: it, Verdict: client.ItemVerdictVerdictPass, Comment: "符合要求"})
	}
	return out
}

// Buyers finds or registers n buyer organisations (through the API, as the data bureau), whose
// codes are made from usccPrefix (10 characters) and a number, and returns them as actors.
func (c *Client) Buyers(n int, usccPrefix, name string) ([]Actor, error) {
	// Reruns against the same venue reuse the buyers registered before, found by their USCC (which
	// the venue keeps unique); only the first 500 buyers are listed, enough for the load's bidders.
	ctx, api := context.Background(), c.API()
	registered, err := Result[client.PageOfOrganisation](api.ListOrganisationsWithResponse(ctx,
		&client.ListOrganisationsParams{Kind: Ptr("buyer"), Limit: Ptr(500)}, c.As(DataBureau)))
	if err != nil {
		return nil, err
	}
	byUSCC := map[string]string{}
	for _, o := range registered.Data {
		byUSCC[o.Uscc] = o.Id
	}
	var out []Actor
	for i := 0; i < n; i++ {
		// A USCC is 18 characters: the 10-character prefix, a 7-digit number and the GB 32100 check
		// character, which the venue verifies on registration.
		body := fmt.Sprintf("%s%07d", usccPrefix, i)
		check, err := parties.USCCCheckChar(body)
		if err != nil {
			return nil, err
		}
		uscc := body + string(check)
		id, ok := byUSCC[uscc]
		if !ok {
			o, err := Result[client.Organisation](api.RegisterOrganisationWithResponse(ctx, nil, client.Registration{Uscc: uscc,
				Name: fmt.Sprintf("%s%d", name, i), Kind: client.RegistrationKindBuyer}, c.As(DataBureau)))
			if err != nil {
				return nil, err
			}
			id = o.Id
		}
		out = append(out, Actor{Role: datavenue.RoleBuyer, Org: datavenue.OrgID(id)})
	}
	return out, nil
}

// PublishFree grants the operator a public-welfare scenario on asset (free use by law, N1) and
// publishes a free dataset product for it: no cap, no approval of paid use, no agreement (nothing
// is ever split).
func (c *Client) PublishFree(asset client.Asset, scenario, title string) (client.Product, error) {
	ctx, api := context.Background(), c.API()
	grant, err := Result[client.Authorisation](api.GrantAuthorisationWithResponse(ctx, nil, client.GrantInput{AssetId: asset.Id,
		OperatorId: string(Operator.Org), Scenario: scenario, Purpose: client.GrantInputPurposePublicWelfare, ProductTypes: []string{"dataset"},
		Conditions: "仅限公益研究，不得转售", ValidUntil: Date(time.Now().AddDate(1, 0, 0))}, c.As(DataBureau)))
	if err != nil {
		return client.Product{}, err
	}
	c.Note("authorisation %s: %s may operate %q for %s", grant.Id, grant.OperatorId, grant.Scenario, grant.Purpose)
	var sample any = []map[string]any{{"stop_id": "S0001", "hour": 8, "riders": 123}}
	var schema any = map[string]any{"stop_id": "string", "hour": "int", "riders": "int"}
	p, err := Result[client.Product](api.CreateProductWithResponse(ctx, nil, client.ProductInput{SourceAssets: []string{asset.Id}, Title: title,
		TitleEn: Ptr("Hourly bus ridership for public-welfare research"), Description: "全市公交站点按小时汇总的刷卡客流，供公益研究免费使用",
		ProductType: "dataset", Domain: "transport", Scenario: scenario, Keywords: &[]string{"公交", "客流", "公益"},
		Delivery:        client.ProductDelivery{Method: "file", Format: Ptr("CSV"), ContentHash: Ptr("sha256:" + strings.Repeat("cd", 32))},
		UpdateFrequency: "daily", Schema: schema, Sample: sample,
		Licence:     client.Licence{DurationDays: 365, PermittedUse: "公益研究", OnwardTransfer: false},
		UseCategory: client.ProductInputUseCategoryPublicWelfare, Pricing: client.PricingInput{Method: client.PricingInputMethodFree}}, c.As(Operator)))
	if err != nil {
		return p, err
	}
	if _, err := api.SubmitProductWithResponse(ctx, p.Id, nil, c.As(Operator)); err != nil {
		return p, err
	}
	if p, err = Result[client.Product](api.PublishProductWithResponse(ctx, p.Id, nil, c.As(Operator))); err != nil {
		return p, err
	}
	c.Note("%s %s: %s, %s", p.Id, p.Title, p.Status, p.Pricing.Method)
	return p, nil
}
