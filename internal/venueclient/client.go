// Package venueclient drives a running venue over its public HTTP API, as an integrator would:
// the demo, the mixed load, the benchmarks and the process-level tests share it, so each walks the
// same certification and publishing steps.
package venueclient

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/api"
	"github.com/datavenue/datavenue/assets"
	"github.com/datavenue/datavenue/auth"
	"github.com/datavenue/datavenue/certificates"
	"github.com/datavenue/datavenue/listing"
	"github.com/datavenue/datavenue/parties"
	"github.com/datavenue/datavenue/settlement"
)

// DemoID is the id of the n-th seeded demo organisation (`datavenue seed`): stable, so seeding
// twice finds the same rows and printed tokens stay valid.
func DemoID(n int) datavenue.OrgID { return datavenue.OrgID(fmt.Sprintf("org_01JDEM%020d", n)) }

// Client drives a running venue through its public HTTP API only, as an integrator would.
// Tokens are minted with the venue's development keys: the demo plays the identity provider of
// every demo user (a production venue trusts an external one instead).
type Client struct {
	Base   string
	HTTP   *http.Client
	Minter auth.Minter
	Out    io.Writer
	Step   int
	Calls  int
	Secret []byte // the payment callback secret, when the venue has one
}

// Problem is an error answer of the venue.
type Problem struct{ api.Problem }

func (p *Problem) Error() string {
	msg := fmt.Sprintf("%d %s: %s", p.Status, p.Code, p.Detail)
	for _, f := range p.Errors {
		msg += fmt.Sprintf("; %s: %s", f.Field, f.Message)
	}
	return msg
}

// Actor is who a request is sent as: a role acting for an organisation (none: no token).
type Actor struct {
	Role datavenue.Role
	Org  datavenue.OrgID
}

// Say prints the next numbered step.
func (c *Client) Say(format string, args ...any) {
	c.Step++
	fmt.Fprintf(c.Out, "\n%2d. %s\n", c.Step, fmt.Sprintf(format, args...))
}

// Note prints a detail of the current step.
func (c *Client) Note(format string, args ...any) {
	fmt.Fprintf(c.Out, "    %s\n", fmt.Sprintf(format, args...))
}

// Call sends one request as who (no token when who.Role is empty) and decodes a 2xx answer into
// out. State changes carry an Idempotency-Key; a request that got no answer is retried with the
// same key, so it happens once.
func (c *Client) Call(who Actor, method, path string, body, out any, headers ...string) error {
	var raw []byte
	switch b := body.(type) {
	case nil:
	case []byte:
		raw = b
	default:
		var err error
		if raw, err = json.Marshal(b); err != nil {
			return err
		}
	}
	key := datavenue.NewID("idem")
	for attempt := 1; ; attempt++ {
		req, err := http.NewRequest(method, c.Base+path, bytes.NewReader(raw))
		if err != nil {
			return err
		}
		switch b := body.(type) {
		case nil:
		case []byte:
			// Raw bytes: a signed JSON document (a payment callback), or a statement file.
			if json.Valid(b) {
				req.Header.Set("Content-Type", "application/json")
			} else {
				req.Header.Set("Content-Type", "text/csv; charset=utf-8")
			}
		default:
			req.Header.Set("Content-Type", "application/json")
		}
		if method != http.MethodGet {
			req.Header.Set("Idempotency-Key", key)
		}
		if who.Role != "" {
			tok, err := c.Minter.Mint("demo-"+string(who.Role), who.Role, who.Org, time.Hour)
			if err != nil {
				return err
			}
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		for i := 0; i+1 < len(headers); i += 2 {
			req.Header.Set(headers[i], headers[i+1])
		}
		c.Calls++
		resp, err := c.HTTP.Do(req)
		if err != nil {
			if attempt < 3 {
				continue // no answer: the same request again, under the same key
			}
			return fmt.Errorf("%s %s: %w", method, path, err)
		}
		data, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		if resp.StatusCode >= 300 {
			p := &Problem{api.Problem{Status: resp.StatusCode}}
			_ = json.Unmarshal(data, p)
			return fmt.Errorf("%s %s: %w", method, path, p)
		}
		if out == nil {
			return nil
		}
		if s, ok := out.(*string); ok {
			*s = string(data)
			return nil
		}
		return json.Unmarshal(data, out)
	}
}

// WaitFor polls a condition every 250 ms up to limit: the demo waits for the venue's clock (an
// auction's end) and its background workers (closing, projection), which it cannot hurry.
func WaitFor(limit time.Duration, what string, cond func() (bool, error)) error {
	deadline := time.Now().Add(limit)
	for {
		ok, err := cond()
		if err != nil || ok {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("demo: gave up waiting for %s after %s", what, limit)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// The demo's parties: the seeded organisations (`datavenue seed`), plus a third buyer it registers.
var (
	DataBureau    = Actor{datavenue.RoleDataBureau, DemoID(1)}
	FinanceBureau = Actor{datavenue.RoleFinanceBureau, DemoID(2)}
	Holder        = Actor{datavenue.RoleOperator, DemoID(3)} // the transport bureau, holder of the data
	Operator      = Actor{datavenue.RoleOperator, DemoID(5)}
	BuyerA        = Actor{datavenue.RoleBuyer, DemoID(6)}
	BuyerB        = Actor{datavenue.RoleBuyer, DemoID(7)}
	Appraiser     = Actor{datavenue.RoleAppraiser, DemoID(8)}
	Clerk         = Actor{datavenue.RoleClerk, DemoID(9)}
	Auditor       = Actor{datavenue.RoleAuditor, DemoID(10)}
	Public        = Actor{}
)

// Certified is an asset taken through registration, authorisation, approval and appraisal.
type Certified struct {
	Asset         assets.Asset
	Scenario      string
	Authorisation string // the scenario authorisation's id: revoking it stops trading in its products
}

// Certify takes a new asset card of the transport bureau through registration, authorisation,
// approval and appraisal, so that products derived from it may be published; it returns the asset
// with its authorised scenario and the authorisation.
func (c *Client) Certify() (Certified, error) {
	c.Say("The transport bureau registers its data as an asset card (D1–D4)")
	var asset assets.Asset
	if err := c.Call(Holder, "POST", "/v1/assets", map[string]any{
		"category": "data_asset", "name": "公交刷卡客流数据", "summary": "全市公交线路刷卡客流，按站点、小时汇总",
		"rights": []string{"holding", "processing", "operating"}, "classification": "transport", "grade": "important",
		"source": "公交IC卡系统", "scale": "每日约300万条", "update_frequency": "daily", "acquisition_mode": "self_built",
		"cost_components":   []map[string]string{{"stage": "collection", "amount": "120000.50"}, {"stage": "processing", "amount": "30000.25"}},
		"measurement_basis": "cost", "accounting_status": "booked"}, &asset); err != nil {
		return Certified{}, err
	}
	c.Note("asset %s v%d, original cost %s yuan", asset.ID, asset.Version, asset.OriginalCost)

	scenario := "城市交通规划客流分析"
	until := time.Now().AddDate(1, 0, 0).Format("2006-01-02")
	scope := map[string]any{"scenarios": []string{scenario}, "product_types": []string{"dataset", "data_report", "api_service"}}
	c.Say("Registration: a data resource certificate (data bureau) and a data asset certificate (finance bureau, data bureau concurring)")
	var app certificates.Application
	if err := c.Call(Holder, "POST", "/v1/certificate-applications", map[string]any{"kind": "resource", "asset_id": asset.ID, "scope": scope,
		"materials": map[string]any{"legality": "数据采集依据《公共交通条例》", "product_info": "按站点小时汇总的客流数据集",
			"scenario_info": "面向交通规划研究", "security_assessment": "已脱敏，无个人信息"}}, &app); err != nil {
		return Certified{}, err
	}
	var review struct {
		Certificate *certificates.Certificate `json:"certificate"`
	}
	if err := c.Call(DataBureau, "POST", "/v1/certificate-applications/"+app.ID+"/review", map[string]any{"valid_until": until,
		"items": PassAll("legality", "product_info", "scenario_info", "security_risk")}, &review); err != nil {
		return Certified{}, err
	}
	resource := *review.Certificate
	c.Note("%s v%d issued to %s, valid until %s", resource.Number, resource.Version, resource.HolderID, resource.ValidUntil)
	if err := c.Call(Holder, "POST", "/v1/certificate-applications", map[string]any{"kind": "asset", "asset_id": asset.ID, "scope": scope,
		"materials": map[string]any{"source_compliance": "来源合法，权属清晰"}}, &app); err != nil {
		return Certified{}, err
	}
	if err := c.Call(DataBureau, "POST", "/v1/certificate-applications/"+app.ID+"/concurrence", map[string]any{"verdict": "pass", "comment": "同意"}, nil); err != nil {
		return Certified{}, err
	}
	if err := c.Call(FinanceBureau, "POST", "/v1/certificate-applications/"+app.ID+"/review", map[string]any{"valid_until": until,
		"items": PassAll("source_compliance")}, &review); err != nil {
		return Certified{}, err
	}
	c.Note("%s v%d issued", review.Certificate.Number, review.Certificate.Version)
	var doc string
	if err := c.Call(Public, "GET", "/v1/public/certificates/"+resource.Number+"/status", nil, &doc); err != nil {
		return Certified{}, err
	}
	c.Note("public status of %s: %s", resource.Number, strings.TrimSpace(doc))

	c.Say("Scenario authorisation (data bureau), paid-use approval (finance bureau), appraisal (appraiser)")
	var grant certificates.Authorisation
	if err := c.Call(DataBureau, "POST", "/v1/authorisations", map[string]any{"asset_id": asset.ID, "operator_id": Operator.Org, "scenario": scenario,
		"product_types": []string{"dataset", "api_service"}, "conditions": "仅限脱敏汇总数据", "valid_until": until}, &grant); err != nil {
		return Certified{}, err
	}
	c.Note("authorisation %s: %s may operate %q", grant.ID, grant.OperatorID, grant.Scenario)
	var approval certificates.Approval
	if err := c.Call(Holder, "POST", "/v1/approvals", map[string]any{"asset_id": asset.ID, "purpose": "paid_use", "scenario": scenario,
		"pricing_methods": []string{"guided", "appraisal", "auction", "negotiation"}, "internal_decision_ref": "局务会〔2026〕3号"}, &approval); err != nil {
		return Certified{}, err
	}
	if err := c.Call(FinanceBureau, "POST", "/v1/approvals/"+approval.ID+"/decision", map[string]any{"decision": "approve", "comment": "同意",
		"valid_until": until}, &approval); err != nil {
		return Certified{}, err
	}
	c.Note("approval %s: %s", approval.ID, approval.Status)
	var appraisal certificates.Appraisal
	if err := c.Call(Appraiser, "POST", "/v1/appraisals", map[string]any{"asset_id": asset.ID, "report_number": fmt.Sprintf("评报〔%d〕%05d", time.Now().Year(), time.Now().Unix()%100000),
		"method": "income", "value": "200000.00", "valuation_date": time.Now().Format("2006-01-02"), "valid_until": until}, &appraisal); err != nil {
		return Certified{}, err
	}
	c.Note("appraisal %s: %s yuan by the %s method", appraisal.ReportNumber, appraisal.Value, appraisal.Method)

	return Certified{Asset: asset, Scenario: scenario, Authorisation: grant.ID}, nil
}

// Publish creates a dataset product of asset for scenario, submits and publishes it, and gives it
// a five-party contribution agreement.
func (c *Client) Publish(asset assets.Asset, scenario, title string, pricing map[string]any) (listing.Product, error) {
	var p listing.Product
	body := map[string]any{"source_assets": []assets.ID{asset.ID}, "title": title, "title_en": "Hourly bus ridership",
		"description": "全市公交站点按小时汇总的刷卡客流", "description_en": "Bus ridership per stop and hour",
		"product_type": "dataset", "domain": "transport", "scenario": scenario, "keywords": []string{"公交", "客流"},
		"delivery":         map[string]any{"method": "file", "format": "CSV", "content_hash": "sha256:" + strings.Repeat("ab", 32)},
		"update_frequency": "daily", "schema": map[string]any{"stop_id": "string", "hour": "int", "riders": "int"},
		"sample":       []map[string]any{{"stop_id": "S0001", "hour": 8, "riders": 123}},
		"licence":      map[string]any{"duration_days": 365, "permitted_use": "交通规划研究", "onward_transfer": false},
		"use_category": "industry", "pricing": pricing}
	if err := c.Call(Operator, "POST", "/v1/products", body, &p); err != nil {
		return p, err
	}
	if err := c.Call(Operator, "POST", "/v1/products/"+p.ID+"/submit", nil, nil); err != nil {
		return p, err
	}
	if err := c.Call(Operator, "POST", "/v1/products/"+p.ID+"/publish", nil, &p); err != nil {
		return p, err
	}
	agreement := map[string]any{"basis": "ratio", "parties": []map[string]any{
		{"party": Holder.Org, "role": "holder", "ratio": "0.40"}, {"party": DemoID(4), "role": "collector", "ratio": "0.25"},
		{"party": DemoID(4), "role": "processor", "ratio": "0.10"}, {"party": Operator.Org, "role": "operator", "ratio": "0.22"},
		{"role": "venue_fee", "ratio": "0.03"}}}
	if err := c.Call(Operator, "PUT", "/v1/products/"+p.ID+"/agreement", agreement, nil); err != nil {
		return p, err
	}
	c.Note("%s %s: %s, %s", p.ID, p.Title, p.Status, p.Pricing.Method)
	return p, nil
}

// ImportStatement uploads a statement with progress streamed as NDJSON and returns the result.
func (c *Client) ImportStatement(csv string) (settlement.ImportResult, error) {
	tok, err := c.Minter.Mint("demo-clerk", Clerk.Role, Clerk.Org, time.Hour)
	if err != nil {
		return settlement.ImportResult{}, err
	}
	req, err := http.NewRequest("POST", c.Base+"/v1/reconciliation/imports?format=csv&name=treasury-demo&period_end="+time.Now().Format("2006-01-02"),
		strings.NewReader(csv))
	if err != nil {
		return settlement.ImportResult{}, err
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Accept", "application/x-ndjson")
	c.Calls++
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return settlement.ImportResult{}, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		var line api.ImportProgress
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			return settlement.ImportResult{}, err
		}
		c.Note("progress: %s %d/%d", line.Stage, line.Done, line.Total)
		switch {
		case line.Problem != nil:
			return settlement.ImportResult{}, &Problem{*line.Problem}
		case line.Result != nil:
			return *line.Result, nil
		}
	}
	return settlement.ImportResult{}, fmt.Errorf("demo: the import ended without a result (status %d): %v", resp.StatusCode, sc.Err())
}

func PassAll(items ...string) []map[string]string {
	var out []map[string]string
	for _, it := range items {
		out = append(out, map[string]string{"item": it, "verdict": "pass", "comment": "符合要求"})
	}
	return out
}

// Buyers finds or registers n buyer organisations (through the API, as the data bureau), whose
// codes are made from usccPrefix (10 characters) and a number, and returns them as actors.
func (c *Client) Buyers(n int, usccPrefix, name string) ([]Actor, error) {
	var registered api.Page[parties.Organisation]
	if err := c.Call(DataBureau, "GET", "/v1/organisations?kind=buyer&limit=500", nil, &registered); err != nil {
		return nil, err
	}
	byUSCC := map[string]datavenue.OrgID{}
	for _, o := range registered.Data {
		byUSCC[o.USCC] = o.ID
	}
	var out []Actor
	for i := 0; i < n; i++ {
		body := fmt.Sprintf("%s%07d", usccPrefix, i)
		check, err := parties.USCCCheckChar(body)
		if err != nil {
			return nil, err
		}
		uscc := body + string(check)
		id, ok := byUSCC[uscc]
		if !ok {
			var o parties.Organisation
			if err := c.Call(DataBureau, "POST", "/v1/organisations", map[string]any{"uscc": uscc, "name": fmt.Sprintf("%s%d", name, i),
				"kind": parties.KindBuyer}, &o); err != nil {
				return nil, err
			}
			id = o.ID
		}
		out = append(out, Actor{Role: datavenue.RoleBuyer, Org: id})
	}
	return out, nil
}
