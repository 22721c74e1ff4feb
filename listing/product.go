package listing

import (
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/assets"
)

// ProductTypes are what a product can be. raw_data exists so a draft can say what it is and the
// gate can refuse it by name (D15): unpublished raw data never reaches the market.
var ProductTypes = []string{"dataset", "api_service", "data_report", "model", "sandbox_access", "privacy_computing", "published_data", "raw_data"}

// Domains are the fields of D11 (教育科技, 交通出行, 健康医疗, 文化产业, 地理空间, 社保就业, 企业征信,
// 普惠金融) and the pilot departments' other fields.
var Domains = []string{"education_technology", "transport", "healthcare", "culture", "geospatial",
	"social_security_employment", "enterprise_credit", "inclusive_finance", "natural_resources",
	"ecology_environment", "agriculture", "market_regulation", "other"}

// UseCategories (G7): governance and welfare use may be free; industry use is paid.
var UseCategories = []string{"public_governance", "public_welfare", "industry"}

// Statuses of a product: draft → submitted → published ⇄ suspended → delisted. Only a published
// product trades; a suspended one can still be found in the catalogue (status=suspended) until it
// is reinstated, which re-runs the gate; delisted is final, and the product is kept (trades name it).
const (
	StatusDraft     = "draft"
	StatusSubmitted = "submitted"
	StatusPublished = "published"
	StatusSuspended = "suspended"
	StatusDelisted  = "delisted"
)

// Delivery is how a buyer receives the product. A file's content hash is announced in advance, and
// exported as the distribution's checksum, so a buyer can check what it receives.
type Delivery struct {
	Method      string `json:"method" jsonschema:"enum=file,enum=api,enum=sandbox"`
	Format      string `json:"format,omitempty" jsonschema:"description=e.g. CSV, Parquet, JSON"`
	ContentHash string `json:"content_hash,omitempty" jsonschema:"description=sha256:<64 hex> of the delivered file"`
	Endpoint    string `json:"endpoint,omitempty" jsonschema:"description=API base URL or sandbox address"`
}

// Licence are the terms of use that come with the product: how long a buyer may use it, for what,
// and whether it may pass it on. The DCAT export publishes them as the distribution's licence.
type Licence struct {
	DurationDays   int    `json:"duration_days" jsonschema:"minimum=1,maximum=3650"`
	PermittedUse   string `json:"permitted_use" jsonschema:"minLength=1,maxLength=2000"`
	OnwardTransfer bool   `json:"onward_transfer"`
}

// Suspension says why a product is suspended and by whom (automatic, bureau or operator). An
// automatic suspension follows an event (a certificate cancelled, a grant revoked) that made the
// gate fail: Unmet lists the conditions and EventID the event, so the operator knows what to fix.
type Suspension struct {
	By      string                 `json:"by"`
	Reason  string                 `json:"reason"`
	Unmet   []datavenue.FieldError `json:"unmet,omitempty"`
	Actor   datavenue.OrgID        `json:"actor,omitempty"`
	At      time.Time              `json:"at"`
	EventID int64                  `json:"event_id,omitempty"`
}

// Product is a data product. Version counts edits and is the optimistic lock of an edit;
// PriceVersion counts prices, kept in the price history, so a trade names the price it was made
// on. HolderIDs are the source assets' holders, resolved from the assets on every save and kept
// on the product because eligibility (no sale to the operator or a holder) is checked on every bid.
type Product struct {
	ID              string            `json:"id"`
	OperatorID      datavenue.OrgID   `json:"operator_id"`
	SourceAssets    []assets.ID       `json:"source_assets"`
	HolderIDs       []datavenue.OrgID `json:"holder_ids"`
	Title           string            `json:"title"`
	TitleEN         string            `json:"title_en,omitempty"`
	Description     string            `json:"description"`
	DescriptionEN   string            `json:"description_en,omitempty"`
	ProductType     string            `json:"product_type"`
	Domain          string            `json:"domain"`
	Scenario        string            `json:"scenario"`
	Keywords        []string          `json:"keywords"`
	Delivery        Delivery          `json:"delivery"`
	UpdateFrequency string            `json:"update_frequency"`
	Schema          json.RawMessage   `json:"schema"`
	Sample          json.RawMessage   `json:"sample"`
	Licence         Licence           `json:"licence"`
	UseCategory     string            `json:"use_category"`
	Pricing         Pricing           `json:"pricing"`
	PriceVersion    int               `json:"price_version"`
	AllowList       []datavenue.OrgID `json:"allow_list"`
	DenyList        []datavenue.OrgID `json:"deny_list"`
	Status          string            `json:"status"`
	Suspension      *Suspension       `json:"suspension,omitempty"`
	Version         int               `json:"version"`
	CreatedAt       time.Time         `json:"created_at"`
	UpdatedAt       time.Time         `json:"updated_at"`
	PublishedAt     *time.Time        `json:"published_at,omitempty"`
	// Lifted is set by the rule that ends a suspension (reinstatement, delisting) to the instant
	// it ended, by the service's clock, for the store to close the suspension's span
	// (SuspensionSpan). Not stored on the product and never shown: the spans are the record.
	Lifted *time.Time `json:"-"`
}

// Eligible reports whether a buyer organisation may acquire the product by its lists: not the
// operator or a holder (no shill bidding), not denied, and allowed when an allow list exists. The
// matching engine enforces it on every bid and offer.
func (p Product) Eligible(buyer datavenue.OrgID) bool {
	if buyer == p.OperatorID || slices.Contains(p.HolderIDs, buyer) || slices.Contains(p.DenyList, buyer) {
		return false
	}
	return len(p.AllowList) == 0 || slices.Contains(p.AllowList, buyer)
}

// Input is what an operator submits to create or edit a draft.
type Input struct {
	SourceAssets    []assets.ID       `json:"source_assets" jsonschema:"minItems=1,maxItems=20"`
	Title           string            `json:"title" jsonschema:"minLength=1,maxLength=200"`
	TitleEN         string            `json:"title_en,omitempty" jsonschema:"maxLength=200"`
	Description     string            `json:"description" jsonschema:"minLength=1,maxLength=5000"`
	DescriptionEN   string            `json:"description_en,omitempty" jsonschema:"maxLength=5000"`
	ProductType     string            `json:"product_type"`
	Domain          string            `json:"domain"`
	Scenario        string            `json:"scenario" jsonschema:"description=the authorised scenario this product serves (D9)"`
	Keywords        []string          `json:"keywords,omitempty" jsonschema:"maxItems=20"`
	Delivery        Delivery          `json:"delivery"`
	UpdateFrequency string            `json:"update_frequency"`
	Schema          json.RawMessage   `json:"schema" jsonschema:"description=the product's data schema (a JSON object)"`
	Sample          json.RawMessage   `json:"sample" jsonschema:"description=a synthetic sample (never real records)"`
	Licence         Licence           `json:"licence"`
	UseCategory     string            `json:"use_category" jsonschema:"enum=public_governance,enum=public_welfare,enum=industry"`
	Pricing         PricingInput      `json:"pricing"`
	AllowList       []datavenue.OrgID `json:"allow_list,omitempty"`
	DenyList        []datavenue.OrgID `json:"deny_list,omitempty"`
}

// contentHash is a file delivery's hash in lower case only, so the same file always has the same
// string, whoever wrote it down.
var contentHash = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)

// Validate checks the input and returns the product fields it describes.
func (in Input) Validate() (Product, error) {
	// Every field is checked and every error reported in one 422. Nil lists become empty ones so
	// the product's JSON always has [] (clients need no null checks).
	var f datavenue.Fields
	p := Product{SourceAssets: in.SourceAssets, Title: strings.TrimSpace(in.Title), TitleEN: strings.TrimSpace(in.TitleEN),
		Description: in.Description, DescriptionEN: in.DescriptionEN, ProductType: in.ProductType, Domain: in.Domain,
		Scenario: strings.TrimSpace(in.Scenario), Keywords: in.Keywords, Delivery: in.Delivery, UpdateFrequency: in.UpdateFrequency,
		Schema: in.Schema, Sample: in.Sample, Licence: in.Licence, UseCategory: in.UseCategory,
		AllowList: in.AllowList, DenyList: in.DenyList}
	if len(p.SourceAssets) == 0 || len(p.SourceAssets) > 20 {
		f.Add("source_assets", "invalid_length", "a product derives from 1 to 20 source assets")
	}
	assets.Text(&f, "title", p.Title, 1, 200)
	assets.Text(&f, "title_en", p.TitleEN, 0, 200)
	assets.Text(&f, "description", p.Description, 1, 5000)
	assets.Text(&f, "description_en", p.DescriptionEN, 0, 5000)
	assets.Text(&f, "scenario", p.Scenario, 1, 500)
	enum(&f, "product_type", p.ProductType, ProductTypes)
	enum(&f, "domain", p.Domain, Domains)
	enum(&f, "use_category", p.UseCategory, UseCategories)
	enum(&f, "update_frequency", p.UpdateFrequency, assets.UpdateFrequencies)
	if len(p.Keywords) > 20 {
		f.Add("keywords", "too_many", "at most 20 keywords")
	}
	for _, k := range p.Keywords {
		assets.Text(&f, "keywords", k, 1, 50)
	}
	if p.Keywords == nil {
		p.Keywords = []string{}
	}
	in.validateDelivery(&f)
	checkJSONObject(&f, "schema", p.Schema, 64<<10)
	checkJSON(&f, "sample", p.Sample, 64<<10)
	if p.Licence.DurationDays < 1 || p.Licence.DurationDays > 3650 {
		f.Add("licence.duration_days", "out_of_range", "a licence lasts 1 to 3650 days")
	}
	assets.Text(&f, "licence.permitted_use", p.Licence.PermittedUse, 1, 2000)
	p.Pricing = in.Pricing.Parse(&f)
	// Refused already when the draft is saved, not only by the gate: no certificate or grant could
	// ever make free industry use valid (G7), so there is no point in keeping such a draft.
	if p.UseCategory == "industry" && p.Pricing.Method == MethodFree {
		f.Add("pricing.method", "industry_use_must_be_paid", "industry use is paid (G7); free is for public governance and public welfare")
	}
	if p.AllowList == nil {
		p.AllowList = []datavenue.OrgID{}
	}
	if p.DenyList == nil {
		p.DenyList = []datavenue.OrgID{}
	}
	return p, f.Err()
}

func (in Input) validateDelivery(f *datavenue.Fields) {
	d := in.Delivery
	switch d.Method {
	case "file":
		if !contentHash.MatchString(d.ContentHash) {
			f.Add("delivery.content_hash", "invalid_hash", "a file delivery names its content hash as sha256:<64 lower-case hex digits>")
		}
	case "api", "sandbox":
		if d.ContentHash != "" {
			f.Add("delivery.content_hash", "not_applicable", "only a file delivery has a content hash")
		}
	default:
		f.Add("delivery.method", "invalid_value", "delivery method is file, api or sandbox")
	}
	assets.Text(f, "delivery.format", d.Format, 0, 50)
	assets.Text(f, "delivery.endpoint", d.Endpoint, 0, 500)
}

// checkJSON bounds the free JSON a product carries (its schema and sample): both are stored with
// the product and served on every catalogue read, so their size is the catalogue's too. The sample
// must be synthetic (D15: no raw data reaches the market), which only the reviewers can check.
func checkJSON(f *datavenue.Fields, field string, raw json.RawMessage, max int) {
	if len(raw) == 0 {
		f.Add(field, "required", field+" is required")
	} else if len(raw) > max {
		f.Add(field, "too_large", field+" is at most 64 KiB")
	}
}

func checkJSONObject(f *datavenue.Fields, field string, raw json.RawMessage, max int) {
	checkJSON(f, field, raw, max)
	var obj map[string]any
	if len(raw) > 0 && json.Unmarshal(raw, &obj) != nil {
		f.Add(field, "not_an_object", field+" is a JSON object")
	}
}

// enum refuses a value outside its set, listing the set in the message so a client can correct it
// without reading the documentation.
func enum(f *datavenue.Fields, field, v string, set []string) {
	if !slices.Contains(set, v) {
		f.Add(field, "invalid_value", field+" must be one of "+strings.Join(set, ", "))
	}
}
