package console

import (
	"slices"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/assets"
	"github.com/datavenue/datavenue/listing"
	"github.com/datavenue/datavenue/money"
	"github.com/datavenue/datavenue/parties"
)

// The holder's asset-card forms: a new card registered (the API's registerAsset) and a card
// changed (changeAsset: D5's change or correction registration, a new version with its reason,
// the version edited sent along so that two people editing one card cannot overwrite each other:
// the second gets the service's 409 beside the form). Both go through assets.Service, which
// decides everything (who may register, the vocabularies, G4's measurement, G5's sharing); a
// refusal names each field beside what was typed.
//
// The cost is entered as one amount per stage: a card whose cost has two components of one stage
// is shown, and saved again, with their sum for it (the original cost is the same).

func init() {
	pageOps["assetnew"] = []string{"registerAsset", "listOrganisations"}
	pageOps["assetedit"] = []string{"getAsset", "changeAsset", "listOrganisations"}
	pageNames = append(pageNames, "op-asset-form")
}

// cardFields are the form's single-valued fields, by their API names.
var cardFields = []string{"category", "name", "summary", "classification", "grade", "source", "shared_from", "shared_consent_ref",
	"scale", "update_frequency", "acquisition_mode", "measurement_basis", "accounting_status"}

type assetFormData struct {
	// ID and Version are the card changed (empty for a new one).
	ID      assets.ID
	Version int
	Name    string // the card's name as it is, for the heading
	Values  map[string]string
	Rights  []string
	Costs   []stageCost
	Reason  string
	// The choices.
	Categories, Grades, Frequencies, Modes, Bases, States, AllRights, Domains []string
	Orgs                                                                      []parties.Organisation
	CSRF, Key                                                                 string
	Problem                                                                   string
	Conditions                                                                []condition
}

func (c *Console) newAssetForm(ctx *fiber.Ctx) error {
	// A new card starts at the usual answers: a data resource, general grade, self-built, at cost,
	// not booked yet.
	return c.renderAssetForm(ctx, nil, map[string]string{"category": "data_resource", "grade": "general", "acquisition_mode": "self_built",
		"update_frequency": "daily", "measurement_basis": "cost", "accounting_status": "not_booked"}, nil, nil, "", "", nil)
}

func (c *Console) editAssetForm(ctx *fiber.Ctx) error {
	card, err := c.d.Assets.Card(ctx.UserContext(), sessionOf(ctx).Caller, assets.ID(ctx.Params("id")))
	if err != nil {
		return err
	}
	a := card.Asset
	values := map[string]string{"category": a.Category, "name": a.Name, "summary": a.Summary, "classification": a.Classification,
		"grade": a.Grade, "source": a.Source, "shared_from": string(a.SharedFrom), "shared_consent_ref": a.SharedConsentRef,
		"scale": a.Scale, "update_frequency": a.UpdateFrequency, "acquisition_mode": a.AcquisitionMode,
		"measurement_basis": a.MeasurementBasis, "accounting_status": a.AccountingStatus}
	sums := map[string]money.Yuan{}
	for _, cc := range a.CostComponents {
		sums[cc.Stage] = sums[cc.Stage].Add(cc.Amount)
	}
	costs := make([]stageCost, 0, len(assets.CostStages))
	for _, stage := range assets.CostStages {
		amount := ""
		if y, ok := sums[stage]; ok {
			amount = y.String()
		}
		costs = append(costs, stageCost{Stage: stage, Amount: amount})
	}
	return c.renderAssetForm(ctx, &card.Asset, values, a.Rights, costs, "", "", nil)
}

// renderAssetForm shows the form with the values given (the card's, or what was sent when the
// change was refused).
func (c *Console) renderAssetForm(ctx *fiber.Ctx, card *assets.Asset, values map[string]string, rights []string, costs []stageCost,
	reason, problem string, conds []condition) error {
	l, s := lang(ctx), sessionOf(ctx)
	if costs == nil {
		for _, stage := range assets.CostStages {
			costs = append(costs, stageCost{Stage: stage})
		}
	}
	d := assetFormData{Values: values, Rights: rights, Costs: costs, Reason: reason, Categories: assets.Categories, Grades: assets.Grades,
		Frequencies: assets.UpdateFrequencies, Modes: assets.AcquisitionModes, Bases: assets.MeasurementBases, States: assets.AccountingStates,
		AllRights: assets.Rights, Domains: listing.Domains, CSRF: s.CSRF, Key: randomToken(), Problem: problem, Conditions: conds}
	// A classification outside the catalogue's domains (the API takes any text) stays choosable.
	if v := values["classification"]; v != "" && !slices.Contains(d.Domains, v) {
		d.Domains = append(slices.Clone(d.Domains), v)
	}
	var err error
	if d.Orgs, err = c.orgChoices(ctx.UserContext(), datavenue.OrgID(values["shared_from"])); err != nil {
		return err
	}
	title := l.T("assetform.new")
	if card != nil {
		d.ID, d.Version, d.Name = card.ID, card.Version, card.Name
		title = l.T("assetform.change") + "：" + card.Name
	}
	return c.render(ctx, "op-asset-form", title, d)
}

// assetInput reads the form as the API's body, and what was sent to show again if refused.
func assetInput(ctx *fiber.Ctx) (assets.Input, map[string]string, []string, []stageCost) {
	values := map[string]string{}
	for _, name := range cardFields {
		values[name] = strings.TrimSpace(ctx.FormValue(name))
	}
	rights := postedAll(ctx, "rights")
	in := assets.Input{Category: values["category"], Name: values["name"], Summary: values["summary"], Rights: rights,
		Classification: values["classification"], Grade: values["grade"], Source: values["source"],
		SharedFrom: datavenue.OrgID(values["shared_from"]), SharedConsentRef: values["shared_consent_ref"], Scale: values["scale"],
		UpdateFrequency: values["update_frequency"], AcquisitionMode: values["acquisition_mode"],
		MeasurementBasis: values["measurement_basis"], AccountingStatus: values["accounting_status"]}
	var costs []stageCost
	for _, stage := range assets.CostStages {
		amount := strings.TrimSpace(ctx.FormValue("cost-" + stage))
		costs = append(costs, stageCost{Stage: stage, Amount: amount})
		// A blank stage is no component; an amount the service cannot read is sent as typed, and
		// refused by it with the component's field name.
		if amount != "" {
			in.CostComponents = append(in.CostComponents, assets.CostInput{Stage: stage, Amount: amount})
		}
	}
	return in, values, rights, costs
}

// registerAsset registers a card of the caller's organisation and lands on it.
func (c *Console) registerAsset(ctx *fiber.Ctx) error {
	s, cx := sessionOf(ctx), ctx.UserContext()
	in, values, rights, costs := assetInput(ctx)
	err := c.onceTo(ctx, func() (string, error) {
		a, err := c.d.Assets.Register(cx, s.Caller, in)
		return Prefix + "/manage/assets/" + string(a.ID) + "?done=registered", err
	})
	if text, ok := refusal(err); ok {
		ctx.Status(refusalStatus(err))
		return c.renderAssetForm(ctx, nil, values, rights, costs, "", text, conditionsOf(err))
	}
	return err
}

// changeAsset makes the next version of a card, from the version the form was made with.
func (c *Console) changeAsset(ctx *fiber.Ctx) error {
	s, cx, id := sessionOf(ctx), ctx.UserContext(), assets.ID(ctx.Params("id"))
	in, values, rights, costs := assetInput(ctx)
	reason := strings.TrimSpace(ctx.FormValue("reason"))
	version, _ := strconv.Atoi(ctx.FormValue("version"))
	err := c.onceTo(ctx, func() (string, error) {
		a, err := c.d.Assets.Update(cx, s.Caller, id, version, reason, in)
		return Prefix + "/manage/assets/" + string(a.ID) + "?done=changed", err
	})
	if text, ok := refusal(err); ok {
		card, cerr := c.d.Assets.Card(cx, s.Caller, id)
		if cerr != nil {
			return cerr
		}
		// The form keeps the version it was made with: after a conflict, the person reloads to
		// see the other change rather than overwrite it by sending again.
		card.Asset.Version = version
		ctx.Status(refusalStatus(err))
		return c.renderAssetForm(ctx, &card.Asset, values, rights, costs, reason, text, conditionsOf(err))
	}
	return err
}
