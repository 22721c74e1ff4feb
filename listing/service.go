package listing

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"time"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/access"
	"github.com/datavenue/datavenue/assets"
	"github.com/datavenue/datavenue/certificates"
	"github.com/datavenue/datavenue/civil"
	"github.com/datavenue/datavenue/money"
)

// PriceVersion is one entry of a product's price history.
type PriceVersion struct {
	Version      int             `json:"version"`
	Pricing      Pricing         `json:"pricing"`
	RefPrice     money.Yuan      `json:"ref_price"`
	Reason       string          `json:"reason"`
	ChangedByOrg datavenue.OrgID `json:"changed_by_org"`
	ChangedBy    string          `json:"changed_by"`
	ChangedAt    time.Time       `json:"changed_at"`
}

// ProductFilter narrows an operator's or a supervisor's listing of products.
type ProductFilter struct {
	Operator datavenue.OrgID
	Status   string
	Method   string // the pricing method (MethodAuction…); empty: any
	After    string
	Limit    int
}

// ErrUnchanged aborts a transition without error: the store rolls back and returns the product
// as it was (used when a re-check finds nothing to do).
var ErrUnchanged = errors.New("listing: unchanged")

// Store keeps products. Transition is the one way a product changes: it locks the product, gathers
// the gate's Facts in the same transaction with share locks on the certificates, authorisations
// and approvals it reads (so a concurrent cancellation waits, then finds the product published and
// suspends it), calls change, and saves the result with its audit record. With newPrice set it also
// appends a price version.
type Store interface {
	Asset(ctx context.Context, id assets.ID) (assets.Asset, error)
	Appraisal(ctx context.Context, id string) (certificates.Appraisal, error)
	CreateProduct(ctx context.Context, p Product, reason string) (Product, error)
	Product(ctx context.Context, id string) (Product, error)
	Products(ctx context.Context, f ProductFilter) ([]Product, error)
	Transition(ctx context.Context, id, action string, newPrice string, change func(p *Product, facts Facts) error) (Product, error)
	// GateFacts reads a product and the facts its gate weighs, changing nothing (Check).
	GateFacts(ctx context.Context, id string) (Product, Facts, error)
	PriceHistory(ctx context.Context, id string) ([]PriceVersion, error)
	ProductsOnAsset(ctx context.Context, assetID string, status string) ([]string, error)
	Search(ctx context.Context, q SearchQuery) (SearchResult, error)
}

// Service runs the product lifecycle and the catalogue.
type Service struct {
	Store Store
	Clock datavenue.Clock
}

// errProductNotFound is the one answer for a product that does not exist and for one the caller
// may not see (another operator's draft), so product ids cannot be probed.
var errProductNotFound = datavenue.NotFound("product_not_found", "no product with this id is visible to you")

// isOverseer: the bureaus and the auditors, who read every product; isRegulator: the bureaus
// alone, who may also act on another operator's product (suspend, delist, guided parameters).
func isOverseer(c datavenue.Caller) bool { return c.Is(access.Overseers...) }

func isRegulator(c datavenue.Caller) bool { return c.Is(access.Regulators...) }

func ownedBy(c datavenue.Caller, p *Product) bool {
	return c.Is(datavenue.RoleOperator) && c.Org == p.OperatorID
}

// visible reports whether caller may read p: published and suspended products are public; drafts
// are the operator's and the supervisors'.
func visible(c datavenue.Caller, p Product) bool {
	return p.Status == StatusPublished || p.Status == StatusSuspended || c.Org == p.OperatorID || isOverseer(c)
}

// Create makes a draft product for the caller's organisation.
func (s Service) Create(ctx context.Context, caller datavenue.Caller, in Input) (Product, error) {
	if !caller.Is(datavenue.RoleOperator) {
		return Product{}, datavenue.Forbidden("role_not_allowed", "operators list products")
	}
	p, err := in.Validate()
	if err != nil {
		return Product{}, err
	}
	if err := s.resolve(ctx, &p); err != nil {
		return Product{}, err
	}
	p.ID, p.OperatorID, p.Status, p.Version, p.PriceVersion = datavenue.NewID("prd"), caller.Org, StatusDraft, 1, 1
	return s.Store.CreateProduct(ctx, p, "created")
}

// resolve fills what follows from other records: the holders of the source assets, and the
// appraisal-based reserve.
func (s Service) resolve(ctx context.Context, p *Product) error {
	p.HolderIDs = nil
	for i, id := range p.SourceAssets {
		a, err := s.Store.Asset(ctx, id)
		if err != nil {
			return datavenue.Invalid("validation_failed", "a source asset does not exist",
				datavenue.FieldError{Field: "source_assets[" + strconv.Itoa(i) + "]", Code: "not_found", Message: "no asset " + string(id)})
		}
		if !slices.Contains(p.HolderIDs, a.HolderID) {
			p.HolderIDs = append(p.HolderIDs, a.HolderID)
		}
	}
	// An appraisal that cannot be read leaves the reserve unset rather than failing the save: a
	// draft may be incomplete, and the gate names the missing appraisal when it matters.
	if p.Pricing.Method == MethodAppraisal && p.Pricing.AppraisalID != "" {
		if a, err := s.Store.Appraisal(ctx, p.Pricing.AppraisalID); err == nil && p.Pricing.ReservePercent != nil {
			r := AppraisalReserve(a.Value, *p.Pricing.ReservePercent)
			p.Pricing.Reserve = &r
		}
	}
	return nil
}

// Update replaces a draft's content (a submitted product returns to draft).
func (s Service) Update(ctx context.Context, caller datavenue.Caller, id string, version int, in Input) (Product, error) {
	// Rights before validation: a caller who may not edit the product learns nothing of the field
	// rules (or of the product) from the errors of its body.
	if err := s.mayManage(ctx, caller, id, false); err != nil {
		return Product{}, err
	}
	next, err := in.Validate()
	if err != nil {
		return Product{}, err
	}
	if err := s.resolve(ctx, &next); err != nil {
		return Product{}, err
	}
	// Only drafts are edited: a published product's content is what buyers saw and bought, so it
	// changes only by a new price version or by delisting. A submitted product goes back to draft
	// and must pass the gate again on its next submission.
	return s.Store.Transition(ctx, id, "product.edited", "edited", func(p *Product, _ Facts) error {
		if err := s.own(caller, p, false); err != nil {
			return err
		}
		if p.Version != version {
			return datavenue.Conflict("version_conflict", "the product changed since you read it; reload it")
		}
		if p.Status != StatusDraft && p.Status != StatusSubmitted {
			return datavenue.Conflict("not_a_draft", "only a draft or submitted product is edited; change a published product's price with /price")
		}
		next.ID, next.OperatorID, next.Status, next.Version, next.PriceVersion, next.CreatedAt = p.ID, p.OperatorID, StatusDraft, p.Version, p.PriceVersion, p.CreatedAt
		*p = next
		return nil
	})
}

// mayManage checks, before anything is validated, that caller may manage the product (see own);
// the change's transaction checks again on the row it locks.
func (s Service) mayManage(ctx context.Context, caller datavenue.Caller, id string, bureauToo bool) error {
	p, err := s.Store.Product(ctx, id)
	if err != nil {
		return err
	}
	return s.own(caller, &p, bureauToo)
}

// own checks that caller may manage p: its operator, or (when bureauToo) a bureau.
// A caller who can see the product learns that it is not theirs (403); one who cannot gets the
// same 404 as for a product that does not exist.
func (s Service) own(caller datavenue.Caller, p *Product, bureauToo bool) error {
	if ownedBy(caller, p) || (bureauToo && isRegulator(caller)) {
		return nil
	}
	if visible(caller, *p) {
		return datavenue.Forbidden("not_operator", "only the product's operator (or, where allowed, a bureau) does this")
	}
	return errProductNotFound
}

// gate returns the refusal for unmet conditions, or nil.
func (s Service) gate(p Product, facts Facts, onMarket bool) error {
	if unmet := s.unmet(p, facts, onMarket); len(unmet) > 0 {
		return GateError(unmet)
	}
	return nil
}

// unmet is the gate's verdict at this instant: every condition p does not meet.
func (s Service) unmet(p Product, facts Facts, onMarket bool) []datavenue.FieldError {
	now := s.Clock.Now()
	unmet := Evaluate(p, facts, now)
	if onMarket {
		unmet = append(unmet, EvaluateSchedule(p, now)...)
	}
	return unmet
}

// Check is what the gate would say of a product now if it went on the market (submit, publish,
// reinstate), without moving it: the unmet conditions, none when it may. It is the same verdict
// the steps reach (the same facts, the same evaluation), so a page can show an operator the
// checklist before the step is tried. A product the caller may not read is not found.
func (s Service) Check(ctx context.Context, caller datavenue.Caller, id string) (Product, []datavenue.FieldError, error) {
	p, facts, err := s.Store.GateFacts(ctx, id)
	if err != nil {
		return Product{}, nil, err
	}
	if !visible(caller, p) {
		return Product{}, nil, errProductNotFound
	}
	return p, s.unmet(p, facts, p.Status != StatusPublished && p.Status != StatusSuspended), nil
}

// Submit declares a draft ready; the gate is checked now, so the operator learns every unmet
// condition before publishing.
func (s Service) Submit(ctx context.Context, caller datavenue.Caller, id string) (Product, error) {
	return s.step(ctx, caller, id, "product.submitted", StatusDraft, StatusSubmitted, false)
}

// Publish puts a submitted product on the market, the gate checked again at this instant.
func (s Service) Publish(ctx context.Context, caller datavenue.Caller, id string) (Product, error) {
	return s.step(ctx, caller, id, "product.published", StatusSubmitted, StatusPublished, false)
}

// Reinstate puts a suspended product back on the market once the gate holds again. A product a
// bureau suspended is reinstated by a bureau.
func (s Service) Reinstate(ctx context.Context, caller datavenue.Caller, id string) (Product, error) {
	return s.step(ctx, caller, id, "product.reinstated", StatusSuspended, StatusPublished, true)
}

func (s Service) step(ctx context.Context, caller datavenue.Caller, id, action, from, to string, bureauToo bool) (Product, error) {
	return s.Store.Transition(ctx, id, action, "", func(p *Product, facts Facts) error {
		if err := s.own(caller, p, bureauToo); err != nil {
			return err
		}
		if p.Status != from {
			return datavenue.Conflict("invalid_transition", "a "+p.Status+" product cannot be "+to)
		}
		if p.Suspension != nil && p.Suspension.By == "bureau" && !isRegulator(caller) {
			return datavenue.Forbidden("suspended_by_bureau", "a bureau suspended this product; a bureau reinstates it")
		}
		// The schedule is checked when a product first goes on the market (submit, publish), not
		// when a suspended one comes back: its auction may have run (a subscription sold by auction
		// is metered long after its start), and a published product past its start is an ordinary
		// state, which reinstatement only restores; a new auction past its end is refused by matching.
		if err := s.gate(*p, facts, from != StatusSuspended); err != nil {
			return err
		}
		// PublishedAt is the first publication only: a reinstated product does not jump to the top
		// of the catalogue's "newest" order.
		now := s.Clock.Now()
		if from == StatusSuspended {
			p.Lifted = &now // the suspension's span ends here (the usage records dated in it stay refused)
		}
		p.Status, p.Suspension = to, nil
		if to == StatusPublished && p.PublishedAt == nil {
			p.PublishedAt = &now
		}
		return nil
	})
}

// SuspendInput says why a product is suspended or delisted.
type SuspendInput struct {
	Reason string `json:"reason" jsonschema:"minLength=1,maxLength=500"`
}

// Suspend takes a published product off the market: its operator or a bureau may.
func (s Service) Suspend(ctx context.Context, caller datavenue.Caller, id string, in SuspendInput) (Product, error) {
	return s.withReason(ctx, caller, id, "product.suspended", in.Reason, func(p *Product) error {
		if p.Status != StatusPublished {
			return datavenue.Conflict("invalid_transition", "only a published product is suspended")
		}
		// Who suspended is kept: a bureau's suspension is supervision, which the operator cannot
		// lift by reinstating (see step); an operator's own suspension it lifts itself.
		by := "operator"
		if isRegulator(caller) {
			by = "bureau"
		}
		p.Status, p.Suspension = StatusSuspended, &Suspension{By: by, Reason: in.Reason, Actor: caller.Org, At: s.Clock.Now()}
		return nil
	})
}

// Delist ends a product for good: its operator or a bureau may.
func (s Service) Delist(ctx context.Context, caller datavenue.Caller, id string, in SuspendInput) (Product, error) {
	return s.withReason(ctx, caller, id, "product.delisted", in.Reason, func(p *Product) error {
		// Any status but delisted may be delisted (a draft is withdrawn the same way); the
		// suspension is cleared, as there is nothing left to reinstate.
		if p.Status == StatusDelisted {
			return datavenue.Conflict("invalid_transition", "the product is already delisted")
		}
		if p.Status == StatusSuspended {
			now := s.Clock.Now()
			p.Lifted = &now
		}
		p.Status, p.Suspension = StatusDelisted, nil
		return nil
	})
}

// withReason applies a change its operator or a bureau makes with a reason: who may is checked
// first, then the reason, then change runs in the product's transaction (who may checked again).
func (s Service) withReason(ctx context.Context, caller datavenue.Caller, id, action, reason string, change func(*Product) error) (Product, error) {
	if err := s.mayManage(ctx, caller, id, true); err != nil {
		return Product{}, err
	}
	var f datavenue.Fields
	assets.Text(&f, "reason", reason, 1, 500)
	if err := f.Err(); err != nil {
		return Product{}, err
	}
	return s.Store.Transition(ctx, id, action, "", func(p *Product, _ Facts) error {
		if err := s.own(caller, p, true); err != nil {
			return err
		}
		return change(p)
	})
}

// PriceInput is a price change: the new pricing and why.
type PriceInput struct {
	Pricing PricingInput `json:"pricing"`
	Reason  string       `json:"reason" jsonschema:"minLength=1,maxLength=500"`
}

// ChangePrice gives a product a new price version; the old ones are kept. A published product's
// new price must satisfy the price conditions (band, appraisal reserve) at once. The operator
// changes its product's price; a bureau may change a guided price's parameters.
func (s Service) ChangePrice(ctx context.Context, caller datavenue.Caller, id string, in PriceInput) (Product, error) {
	if err := s.mayManage(ctx, caller, id, true); err != nil { // the bureau's narrower right is checked below
		return Product{}, err
	}
	var f datavenue.Fields
	pricing := in.Pricing.Parse(&f)
	assets.Text(&f, "reason", in.Reason, 1, 500)
	if err := f.Err(); err != nil {
		return Product{}, err
	}
	// The new pricing is resolved (holders, appraisal reserve) before the product's transaction,
	// against the source assets as they are now; the transaction then checks rights and rules.
	probe := Product{Pricing: pricing}
	current, err := s.Store.Product(ctx, id)
	if err != nil {
		return Product{}, err
	}
	probe.SourceAssets = current.SourceAssets
	if err := s.resolve(ctx, &probe); err != nil {
		return Product{}, err
	}
	return s.Store.Transition(ctx, id, "product.price_changed", in.Reason, func(p *Product, facts Facts) error {
		bureauGuided := isRegulator(caller) && p.Pricing.Method == MethodGuided && pricing.Method == MethodGuided
		if !ownedBy(caller, p) && !bureauGuided {
			if visible(caller, *p) {
				return datavenue.Forbidden("not_operator", "the operator changes its price; a bureau changes only guided price parameters")
			}
			return errProductNotFound
		}
		if p.Status == StatusDelisted {
			return datavenue.Conflict("invalid_transition", "a delisted product has no price to change")
		}
		// A guided price is the authority's (D14 政府指导定价): once on the market its base and float
		// are the bureau's to change; the operator moves only its price within the band.
		if !isRegulator(caller) && p.Status != StatusDraft && bandChanged(p.Pricing, probe.Pricing) {
			return datavenue.Forbidden("band_set_by_bureau", "once a product is on the market its guided band (base price and float) is changed by the bureau; change only the list price")
		}
		if p.UseCategory == "industry" && pricing.Method == MethodFree {
			return datavenue.Invalid("validation_failed", "industry use is paid",
				datavenue.FieldError{Field: "pricing.method", Code: CondFreeNeedsPublicUse, Message: "industry use is paid (G7)"})
		}
		methodChanged := p.Pricing.Method != probe.Pricing.Method
		p.Pricing = probe.Pricing
		if p.Status == StatusPublished {
			now := s.Clock.Now()
			today := civil.Of(now)
			unmet := append(evaluatePrice(*p, facts, today), evaluateCap(*p, facts, today)...)
			// A new pricing method moves the conditions that depend on it too: free use must stay
			// free (N1) and a government unit's paid use needs an approval covering the new method
			// (D10). The whole gate is evaluated then; with the same method the rest did not change.
			if methodChanged {
				unmet = Evaluate(*p, facts, now)
			}
			if len(unmet) > 0 {
				return GateError(unmet)
			}
		}
		return nil
	})
}

// bandChanged reports whether a guided price's band parameters differ between two pricings.
func bandChanged(old, next Pricing) bool {
	if old.Method != MethodGuided || next.Method != MethodGuided {
		return false
	}
	return old.BasePrice.Cmp(*next.BasePrice) != 0 || *old.FloatPercent != *next.FloatPercent
}

// Get returns a product visible to caller.
func (s Service) Get(ctx context.Context, caller datavenue.Caller, id string) (Product, error) {
	p, err := s.Store.Product(ctx, id)
	if datavenue.KindOf(err) == datavenue.KindNotFound || (err == nil && !visible(caller, p)) {
		return Product{}, errProductNotFound
	}
	return p, err
}

// Products lists an operator's own products (any status), or for supervisors everyone's.
func (s Service) Products(ctx context.Context, caller datavenue.Caller, f ProductFilter) ([]Product, error) {
	if !isOverseer(caller) {
		f.Operator = caller.Org
	}
	if f.Status != "" && !slices.Contains([]string{StatusDraft, StatusSubmitted, StatusPublished, StatusSuspended, StatusDelisted}, f.Status) {
		return nil, datavenue.Invalid("validation_failed", "unknown status",
			datavenue.FieldError{Field: "status", Code: "invalid_value", Message: "status is draft, submitted, published, suspended or delisted"})
	}
	return s.Store.Products(ctx, f)
}

// PriceHistory returns every price version of a visible product. The history is public with the
// product (N5: fees are posted publicly), and it is what a supervisor checks a trade's price
// against.
func (s Service) PriceHistory(ctx context.Context, caller datavenue.Caller, id string) ([]PriceVersion, error) {
	if _, err := s.Get(ctx, caller, id); err != nil {
		return nil, err
	}
	return s.Store.PriceHistory(ctx, id)
}

// Published returns a page of published products in id order (Catalogue.Published).
func (s Service) Published(ctx context.Context, after string, limit int) ([]Product, error) {
	return Catalogue{Store: s.Store}.Published(ctx, after, limit)
}

// Public returns a product as anyone may see it (Catalogue.Public).
func (s Service) Public(ctx context.Context, id string) (Product, error) {
	return Catalogue{Store: s.Store}.Public(ctx, id)
}

// Published returns a page of published products in id order, for catalogue exports. Id order
// (ULIDs, so roughly by creation) is stable under edits, so a harvester paging through the export
// neither misses nor repeats a product that changes meanwhile.
func (s Catalogue) Published(ctx context.Context, after string, limit int) ([]Product, error) {
	return s.Store.Products(ctx, ProductFilter{Status: StatusPublished, After: after, Limit: limit})
}

// Public returns a published or suspended product as anyone may see it: without its allow and
// deny lists, which name other organisations.
func (s Catalogue) Public(ctx context.Context, id string) (Product, error) {
	p, err := s.Store.Product(ctx, id)
	if datavenue.KindOf(err) == datavenue.KindNotFound || (err == nil && p.Status != StatusPublished && p.Status != StatusSuspended) {
		return Product{}, errProductNotFound
	}
	p.AllowList, p.DenyList = []datavenue.OrgID{}, []datavenue.OrgID{}
	return p, err
}
