// Package parties holds the organisations that act at the venue (government units, state
// enterprises, operators, buyers, appraisers), the rules a registration must satisfy, and the store
// interface it needs. Later issues refer to parties by OrgID: revenue routing depends on a holder
// being a government unit (its share goes to the treasury of its fiscal level) or a state enterprise
// (its share is paid out and filed with its supervisor).
package parties

import (
	"context"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/datavenue/datavenue"
)

// Kind is the legal nature of an organisation, which decides how the venue treats its money.
type Kind string

// The kinds of party.
const (
	KindGovernmentUnit  Kind = "government_unit"  // 行政事业单位: its revenue share is non-tax revenue for the treasury
	KindStateEnterprise Kind = "state_enterprise" // 国有企业: its share is paid out and filed with its supervisor
	KindOperator        Kind = "operator"         // 运营机构: an authorised operating entity
	KindBuyer           Kind = "buyer"            // a qualified market participant
	KindAppraiser       Kind = "appraiser"        // 资产评估机构: a qualified appraiser
)

// Kinds lists every kind.
var Kinds = []Kind{KindGovernmentUnit, KindStateEnterprise, KindOperator, KindBuyer, KindAppraiser}

// FiscalLevel is the level of government whose treasury receives a government unit's share.
type FiscalLevel string

// The fiscal levels of China's budget system.
const (
	LevelCentral    FiscalLevel = "central"
	LevelProvincial FiscalLevel = "provincial"
	LevelMunicipal  FiscalLevel = "municipal"
	LevelCounty     FiscalLevel = "county"
	LevelTownship   FiscalLevel = "township"
)

// FiscalLevels lists every fiscal level.
var FiscalLevels = []FiscalLevel{LevelCentral, LevelProvincial, LevelMunicipal, LevelCounty, LevelTownship}

// Organisation is a party registered at the venue.
type Organisation struct {
	ID     datavenue.OrgID `json:"id"`
	USCC   string          `json:"uscc"`
	Name   string          `json:"name"`
	NameEN string          `json:"name_en,omitempty"`
	Kind   Kind            `json:"kind"`
	// FiscalLevel and Treasury are set for government units only: where their share is remitted.
	FiscalLevel FiscalLevel `json:"fiscal_level,omitempty"`
	Treasury    string      `json:"treasury,omitempty"`
	// Supervisor is set for state enterprises: the body (e.g. a SASAC) their income is filed with.
	Supervisor string    `json:"supervisor,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// Registration is what a caller submits to register an organisation.
type Registration struct {
	ID          datavenue.OrgID `json:"-"` // set by the service (or by the seed, for stable demo ids)
	USCC        string          `json:"uscc" jsonschema:"minLength=18,maxLength=18,description=统一社会信用代码 (GB 32100-2015)"`
	Name        string          `json:"name" jsonschema:"minLength=1,maxLength=200"`
	NameEN      string          `json:"name_en,omitempty" jsonschema:"maxLength=200"`
	Kind        Kind            `json:"kind" jsonschema:"enum=government_unit,enum=state_enterprise,enum=operator,enum=buyer,enum=appraiser"`
	FiscalLevel FiscalLevel     `json:"fiscal_level,omitempty" jsonschema:"enum=central,enum=provincial,enum=municipal,enum=county,enum=township"`
	Treasury    string          `json:"treasury,omitempty" jsonschema:"maxLength=200"`
	Supervisor  string          `json:"supervisor,omitempty" jsonschema:"maxLength=200"`
}

const maxNameRunes = 200

// Validate checks every field and reports all problems at once.
func (r *Registration) Validate() error {
	var f datavenue.Fields
	r.USCC = strings.ToUpper(strings.TrimSpace(r.USCC))
	r.Name = strings.TrimSpace(r.Name)
	if err := ValidateUSCC(r.USCC); err != nil {
		f.Add("uscc", "invalid_uscc", err.Error())
	}
	checkText(&f, "name", r.Name, true)
	checkText(&f, "name_en", r.NameEN, false)
	checkText(&f, "treasury", r.Treasury, false)
	checkText(&f, "supervisor", r.Supervisor, false)
	if !slices.Contains(Kinds, r.Kind) {
		f.Add("kind", "invalid_kind", "kind must be one of government_unit, state_enterprise, operator, buyer, appraiser")
	}
	if r.Kind == KindGovernmentUnit {
		if !slices.Contains(FiscalLevels, r.FiscalLevel) {
			f.Add("fiscal_level", "required", "a government unit needs its fiscal level: central, provincial, municipal, county or township")
		}
		if r.Treasury == "" {
			f.Add("treasury", "required", "a government unit needs the treasury its non-tax revenue is remitted to")
		}
	} else {
		if r.FiscalLevel != "" {
			f.Add("fiscal_level", "not_applicable", "only a government unit has a fiscal level")
		}
		if r.Treasury != "" {
			f.Add("treasury", "not_applicable", "only a government unit remits to a treasury")
		}
	}
	if r.Supervisor != "" && r.Kind != KindStateEnterprise {
		f.Add("supervisor", "not_applicable", "only a state enterprise has a supervisor on record")
	}
	return f.Err()
}

func checkText(f *datavenue.Fields, field, v string, required bool) {
	switch {
	case required && v == "":
		f.Add(field, "required", field+" is required")
	case !utf8.ValidString(v):
		f.Add(field, "invalid_utf8", field+" is not valid UTF-8")
	case utf8.RuneCountInString(v) > maxNameRunes:
		f.Add(field, "too_long", field+" has more than 200 characters")
	case strings.ContainsRune(v, 0):
		f.Add(field, "invalid_character", field+" contains a NUL character")
	}
}

// ListFilter narrows a listing of organisations; After is the keyset cursor (the last id seen).
type ListFilter struct {
	Kind  Kind
	After datavenue.OrgID
	Limit int
}

// Store keeps organisations. Create writes an audit record in the same transaction.
type Store interface {
	CreateOrganisation(ctx context.Context, reg Registration) (Organisation, error)
	Organisation(ctx context.Context, id datavenue.OrgID) (Organisation, error)
	Organisations(ctx context.Context, f ListFilter) ([]Organisation, error)
}

// Service applies the venue's rules for registering and reading organisations.
type Service struct {
	Store Store
}

// Register registers an organisation. The bureaus that run the pilot register the parties.
func (s Service) Register(ctx context.Context, caller datavenue.Caller, reg Registration) (Organisation, error) {
	if !caller.Is(datavenue.RoleDataBureau, datavenue.RoleFinanceBureau) {
		return Organisation{}, datavenue.Forbidden("role_not_allowed", "only the data or finance bureau registers organisations")
	}
	if err := reg.Validate(); err != nil {
		return Organisation{}, err
	}
	if reg.ID == "" {
		reg.ID = datavenue.OrgID(datavenue.NewID("org"))
	}
	return s.Store.CreateOrganisation(ctx, reg)
}

// Get returns one organisation. Registered parties are public to every authenticated caller:
// buyers must see who holds and operates what they buy.
func (s Service) Get(ctx context.Context, id datavenue.OrgID) (Organisation, error) {
	if !datavenue.HasPrefix(string(id), "org") {
		return Organisation{}, datavenue.NotFound("organisation_not_found", "no organisation has this id")
	}
	return s.Store.Organisation(ctx, id)
}

// List returns a page of organisations in id order.
func (s Service) List(ctx context.Context, f ListFilter) ([]Organisation, error) {
	if f.Kind != "" && !slices.Contains(Kinds, f.Kind) {
		return nil, datavenue.Invalid("validation_failed", "unknown kind",
			datavenue.FieldError{Field: "kind", Code: "invalid_kind", Message: "kind must be one of government_unit, state_enterprise, operator, buyer, appraiser"})
	}
	return s.Store.Organisations(ctx, f)
}
