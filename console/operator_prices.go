package console

import (
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/datavenue/datavenue/listing"
	"github.com/datavenue/datavenue/money"
)

// A product's price change: the form shows the current price version's amounts for its pricing
// method, the change goes through listing.Service.ChangePrice (the API's changePrice: a new
// version, the old ones kept; on a published product the gate's price conditions, band, appraisal
// reserve and cap, decide at once), and a refusal names its conditions beside the form.

type priceData struct {
	P          listing.Product
	Title      string
	Fields     []priceField
	Reason     string
	History    []priceVersionRow
	CSRF, Key  string
	Changed    string // the version just made
	Problem    string // the refusal's code and explanation
	Conditions []condition
}

// priceVersionRow is a price version with the time it was made in China Standard Time.
type priceVersionRow struct {
	listing.PriceVersion
	At string
}

// priceField is one amount of the form: its input name, label and value.
type priceField struct {
	Name, Label, Value, Kind string // Kind: amount, percent or datetime
}

// priceFields are the amounts an operator sets for each pricing method. A guided price's base and
// float are the bureau's once the product is on the market (the service refuses them); the form
// offers the asking price only, the band shown beside it.
var priceFields = map[string][]string{
	listing.MethodGuided:      {"list_price"},
	listing.MethodAppraisal:   {"list_price", "reserve_percent"},
	listing.MethodAuction:     {"reserve", "opening_price", "increment", "deposit", "start_at", "end_at"},
	listing.MethodNegotiation: {"list_price", "min_price", "max_price"},
}

func (c *Console) priceForm(ctx *fiber.Ctx) error {
	return c.renderPrice(ctx, nil, "", nil)
}

// renderPrice shows the form: with the values sent when a change was refused, else the current
// price version's.
func (c *Console) renderPrice(ctx *fiber.Ctx, sent map[string]string, problem string, conds []condition) error {
	l, s, cx := lang(ctx), sessionOf(ctx), ctx.UserContext()
	p, err := c.d.Listing.Get(cx, s.Caller, ctx.Params("id"))
	if err != nil {
		return err
	}
	d := priceData{P: p, Title: displayTitle(l, p), CSRF: s.CSRF, Key: randomToken(), Changed: versionParam(ctx, "changed"), Problem: problem, Conditions: conds}
	current := pricingInputOf(p.Pricing)
	for _, name := range priceFields[p.Pricing.Method] {
		f := priceField{Name: name, Label: l.T("price.field." + name), Value: inputValue(current, name), Kind: "amount"}
		switch name {
		case "reserve_percent":
			f.Kind = "percent"
		case "start_at", "end_at":
			f.Kind = "datetime"
			f.Value = localTime(f.Value)
		}
		if sent != nil {
			f.Value = sent[name]
		}
		d.Fields = append(d.Fields, f)
	}
	if sent != nil {
		d.Reason = sent["reason"]
	}
	history, err := c.d.Listing.PriceHistory(cx, s.Caller, p.ID)
	if err != nil {
		return err
	}
	for _, h := range history {
		d.History = append(d.History, priceVersionRow{PriceVersion: h, At: h.ChangedAt.In(cst).Format("2006-01-02 15:04")})
	}
	return c.render(ctx, "op-price", d.Title, d)
}

// changePrice sends the form to the listing service: the current pricing with the form's amounts.
func (c *Console) changePrice(ctx *fiber.Ctx) error {
	s, cx, id := sessionOf(ctx), ctx.UserContext(), ctx.Params("id")
	p, err := c.d.Listing.Get(cx, s.Caller, id)
	if err != nil {
		return err
	}
	in := pricingInputOf(p.Pricing)
	sent := map[string]string{"reason": strings.TrimSpace(ctx.FormValue("reason"))}
	for _, name := range priceFields[p.Pricing.Method] {
		v := strings.TrimSpace(ctx.FormValue(name))
		sent[name] = v
		setInput(&in, name, v)
	}
	// The product is read again here rather than trusted from the page: the change is made to the
	// version current now, and the gate decides on it inside the service's transaction.
	var version int
	err = c.onceTo(ctx, func() (string, error) {
		q, err := c.d.Listing.ChangePrice(cx, s.Caller, id, listing.PriceInput{Pricing: in, Reason: sent["reason"]})
		version = q.PriceVersion
		return Prefix + "/manage/prices/" + id + "?changed=" + strconv.Itoa(version), err
	})
	if text, ok := refusal(err); ok {
		ctx.Status(refusalStatus(err))
		return c.renderPrice(ctx, sent, text, conditionsOf(err))
	}
	return err
}

// pricingInputOf is a price version as the input that would make it again: a change keeps
// everything the form does not show (method, kind, charging unit, subscription plan).
func pricingInputOf(p listing.Pricing) listing.PricingInput {
	amount := func(y *money.Yuan) string {
		if y == nil {
			return ""
		}
		return y.String()
	}
	instant := func(t *time.Time) string {
		if t == nil {
			return ""
		}
		return t.Format(time.RFC3339)
	}
	in := listing.PricingInput{Method: p.Method, BasePrice: amount(p.BasePrice), FloatPercent: p.FloatPercent, ListPrice: amount(p.ListPrice),
		AppraisalID: p.AppraisalID, ReservePercent: p.ReservePercent, AuctionKind: p.AuctionKind, OpeningPrice: amount(p.Opening),
		Increment: amount(p.Increment), StartAt: instant(p.StartAt), EndAt: instant(p.EndAt), AntiSnipeMinutes: p.AntiSnipeMinutes,
		Deposit: amount(p.Deposit), MinPrice: amount(p.MinPrice), MaxPrice: amount(p.MaxPrice), ChargingUnit: p.ChargingUnit}
	// An appraisal's reserve is derived from the appraised value; only an auction's is set.
	if p.Method == listing.MethodAuction {
		in.Reserve = amount(p.Reserve)
	}
	if sp := p.Subscription; sp != nil {
		in.Subscription = &listing.SubscriptionPlanInput{BillingPeriod: sp.BillingPeriod, TermPeriods: sp.TermPeriods, Renewal: sp.Renewal,
			FixedFee: amount(sp.FixedFee), PlanMaximum: amount(sp.PlanMaximum)}
		if sp.Quota != nil {
			in.Subscription.Quota = sp.Quota.String()
		}
	}
	return in
}

// inputValue and setInput read and write one form field of a pricing input.
func inputValue(in listing.PricingInput, name string) string {
	switch name {
	case "list_price":
		return in.ListPrice
	case "reserve_percent":
		if in.ReservePercent != nil {
			return strconv.Itoa(*in.ReservePercent)
		}
	case "reserve":
		return in.Reserve
	case "opening_price":
		return in.OpeningPrice
	case "increment":
		return in.Increment
	case "deposit":
		return in.Deposit
	case "start_at":
		return in.StartAt
	case "end_at":
		return in.EndAt
	case "min_price":
		return in.MinPrice
	case "max_price":
		return in.MaxPrice
	case "base_price":
		return in.BasePrice
	case "float_percent":
		if in.FloatPercent != nil {
			return strconv.Itoa(*in.FloatPercent)
		}
	case "appraisal_id":
		return in.AppraisalID
	case "auction_kind":
		return in.AuctionKind
	}
	return ""
}

func setInput(in *listing.PricingInput, name, v string) {
	switch name {
	case "list_price":
		in.ListPrice = v
	case "reserve_percent":
		in.ReservePercent = percent(v)
	case "reserve":
		in.Reserve = v
	case "opening_price":
		in.OpeningPrice = v
	case "increment":
		in.Increment = v
	case "deposit":
		in.Deposit = v
	case "start_at":
		in.StartAt = instantOf(v)
	case "end_at":
		in.EndAt = instantOf(v)
	case "min_price":
		in.MinPrice = v
	case "max_price":
		in.MaxPrice = v
	case "base_price":
		in.BasePrice = v
	case "float_percent":
		in.FloatPercent = percent(v)
	case "appraisal_id":
		in.AppraisalID = v
	case "auction_kind":
		in.AuctionKind = v
	}
}

// percent reads a whole-number percentage field. Empty is the API's omitted field (the default);
// anything that is not a whole number is sent as -1, which the service refuses by the field's name
// (every percentage it takes is 0 or more), rather than becoming the default without a word.
func percent(v string) *int {
	if v = strings.TrimSpace(v); v == "" {
		return nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		n = -1
	}
	return &n
}

// localTime shows an RFC 3339 instant as a datetime-local value in China Standard Time (the
// venue's people read and type times in it); instantOf reads such a value back. A value that does
// not parse is passed on as it is, for the service to refuse by name.
func localTime(v string) string {
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return v
	}
	return t.In(cst).Format("2006-01-02T15:04")
}

func instantOf(v string) string {
	for _, layout := range []string{"2006-01-02T15:04", "2006-01-02T15:04:05"} {
		if t, err := time.ParseInLocation(layout, v, cst); err == nil {
			return t.Format(time.RFC3339)
		}
	}
	return v
}
