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
	"github.com/datavenue/datavenue/access"
)

// Kind is the legal nature of an organisation, which decides how the venue treats its money.
//
// Only the first two kinds hold data assets (D3/G1; the assets table enforces it by foreign key);
// their kind decides where their revenue share goes: D17's treasury for a government unit, G6's
// filing with the supervisor for a state enterprise.
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
// D17 remits a government unit's share to the treasury of the same level, so the level recorded
// here is what reconciliation compares a receipt's treasury against.
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
	Supervisor string `json:"supervisor,omitempty"`
	// Roles are the roles the venue lets this organisation's callers act in: a token naming
	// another role is refused, whatever its issuer says (see RolesFor).
	Roles     []datavenue.Role `json:"roles"`
	CreatedAt time.Time        `json:"created_at"`
	UpdatedAt time.Time        `json:"updated_at"`
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
	// Roles the organisation may act in; empty: its kind's default (DefaultRoles). Over the API
	// only operator, buyer and appraiser may be named; the bureau, clerk and auditor roles are
	// granted by the venue's administrators (`datavenue org roles`), an audited act.
	Roles []datavenue.Role `json:"roles,omitempty" jsonschema:"uniqueItems=true"`
}

// maxNameRunes counts characters, not bytes: a Chinese name of 200 characters is 600 bytes of UTF-8.
const maxNameRunes = 200

// Validate checks every field and reports all problems at once.
func (r *Registration) Validate() error {
	var f datavenue.Fields
	// The code and the name are normalised before they are checked and stored, so the unique index on
	// the code cannot be dodged by case or by surrounding spaces.
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
	// These cross-field rules are also constraints in the organisations table
	// (organisations_government_treasury, organisations_supervisor_state_enterprise): the checks here
	// give every problem at once as field errors, the constraints hold whatever writes the row.
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
	if len(r.Roles) == 0 {
		r.Roles = DefaultRoles(r.Kind)
	}
	if err := CheckRoles(r.Kind, r.Roles); err != nil {
		f = append(f, datavenue.AsError(err).Fields...)
	}
	return f.Err()
}

// RolesFor is which roles an organisation of a kind may hold. The bureaus and supervisors are
// government bodies, but not every government unit is one: they hold those roles only when
// granted. A settlement clerk acts for the venue's own organisation, a state enterprise. Holders
// and operators may also be granted the buyer role (a unit buying another's data); a buyer or an
// appraiser holds only its own role.
func RolesFor(k Kind) []datavenue.Role {
	switch k {
	case KindGovernmentUnit:
		return []datavenue.Role{datavenue.RoleOperator, datavenue.RoleBuyer, datavenue.RoleDataBureau, datavenue.RoleFinanceBureau, datavenue.RoleAuditor}
	case KindStateEnterprise:
		return []datavenue.Role{datavenue.RoleOperator, datavenue.RoleBuyer, datavenue.RoleClerk, datavenue.RoleAuditor}
	case KindOperator:
		return []datavenue.Role{datavenue.RoleOperator, datavenue.RoleBuyer}
	case KindBuyer:
		return []datavenue.Role{datavenue.RoleBuyer}
	case KindAppraiser:
		return []datavenue.Role{datavenue.RoleAppraiser}
	}
	return nil
}

// DefaultRoles is what an organisation of a kind holds when its registration names none: a
// holder (government unit or state enterprise) manages its assets in the operator role.
func DefaultRoles(k Kind) []datavenue.Role {
	switch k {
	case KindGovernmentUnit, KindStateEnterprise, KindOperator:
		return []datavenue.Role{datavenue.RoleOperator}
	case KindBuyer:
		return []datavenue.Role{datavenue.RoleBuyer}
	case KindAppraiser:
		return []datavenue.Role{datavenue.RoleAppraiser}
	}
	return nil
}

// PrivilegedRoles are granted only by the venue's administrators, never by a registration over
// the API: whoever holds them reviews, approves, reconciles or reads everything.
var PrivilegedRoles = []datavenue.Role{datavenue.RoleDataBureau, datavenue.RoleFinanceBureau, datavenue.RoleClerk, datavenue.RoleAuditor}

// CheckRoles says whether an organisation of kind may hold roles (each known, none twice, each
// one its kind may hold).
func CheckRoles(kind Kind, roles []datavenue.Role) error {
	var f datavenue.Fields
	allowed := RolesFor(kind)
	for i, r := range roles {
		switch {
		case !r.Valid():
			f.Add("roles", "invalid_role", "unknown role "+string(r))
		case slices.Contains(roles[:i], r):
			f.Add("roles", "duplicate_role", string(r)+" is named twice")
		case !slices.Contains(allowed, r):
			f.Add("roles", "role_not_for_kind", "an organisation of kind "+string(kind)+" cannot hold the role "+string(r))
		}
	}
	return f.Err()
}

// checkText is the common check of a free-text field: required, valid UTF-8, at most maxNameRunes
// characters, and no NUL (which PostgreSQL text refuses, and which would otherwise surface as a 500).
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

// Store keeps organisations. Create and SetRoles write an audit record in the same transaction.
type Store interface {
	CreateOrganisation(ctx context.Context, reg Registration) (Organisation, error)
	Organisation(ctx context.Context, id datavenue.OrgID) (Organisation, error)
	Organisations(ctx context.Context, f ListFilter) ([]Organisation, error)
	// SetOrganisationRoles replaces an organisation's roles (the store checks them against its
	// kind too), audited with the roles before and after.
	SetOrganisationRoles(ctx context.Context, id datavenue.OrgID, roles []datavenue.Role) (Organisation, error)
}

// Service applies the venue's rules for registering and reading organisations.
type Service struct {
	Store Store
}

// Register registers an organisation. The bureaus that run the pilot register the parties.
func (s Service) Register(ctx context.Context, caller datavenue.Caller, reg Registration) (Organisation, error) {
	// access.Regulators is the access policy's named group for the two bureaus, so who may register
	// is defined once, in the policy.
	if !caller.Is(access.Regulators...) {
		return Organisation{}, datavenue.Forbidden("role_not_allowed", "only the data or finance bureau registers organisations")
	}
	if err := reg.Validate(); err != nil {
		return Organisation{}, err
	}
	// Checked after Validate so a request with several problems reports the field errors first; a
	// privileged role named over the API is refused even when its kind could hold it.
	for _, r := range reg.Roles {
		if slices.Contains(PrivilegedRoles, r) {
			return Organisation{}, datavenue.Invalid("validation_failed", "the request has invalid fields", datavenue.FieldError{Field: "roles",
				Code: "role_not_grantable", Message: "the role " + string(r) + " is granted by the venue's administrators, not at registration"})
		}
	}
	if reg.ID == "" {
		reg.ID = datavenue.OrgID(datavenue.NewID("org"))
	}
	return s.Store.CreateOrganisation(ctx, reg)
}

// SetRoles replaces an organisation's roles. It is the venue administrators' act (`datavenue org
// roles`): no API route reaches it, and the store audits it.
func (s Service) SetRoles(ctx context.Context, id datavenue.OrgID, roles []datavenue.Role) (Organisation, error) {
	o, err := s.Get(ctx, id)
	if err != nil {
		return Organisation{}, err
	}
	if err := CheckRoles(o.Kind, roles); err != nil {
		return Organisation{}, err
	}
	return s.Store.SetOrganisationRoles(ctx, id, roles)
}

// Get returns one organisation. Registered parties are public to every authenticated caller:
// buyers must see who holds and operates what they buy.
func (s Service) Get(ctx context.Context, id datavenue.OrgID) (Organisation, error) {
	// An id without the org prefix cannot exist; answering not found without a query keeps malformed
	// ids away from the database.
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

// TreasuryLevel tells the fiscal level of a treasury from its name as Chinese statements write it
// (中央国库, 福建省级国库, 福州市国库, 台江区级国库, 闽侯县国库, 洪塘镇国库, 国家金库福州市鼓楼区支库 …);
// ok is false when the name does not say. A district (区) or banner (旗) treasury is county level;
// a prefecture (地区, 自治州, 盟) is municipal; the four municipalities directly under the central
// government (北京, 上海, 天津, 重庆) are provincial.
//
// A name lists the administrative hierarchy from the top down (浙江省杭州市西湖区), so the level is
// the one named last: the rightmost level word decides, not the first one found (which classed
// 浙江省杭州市国库 as provincial and 江苏省镇江市国库, whose city is named 镇江, as township).
// Remarks in brackets and whatever follows 国库 are not part of the treasury's own name.
func TreasuryLevel(name string) (FiscalLevel, bool) {
	name = withoutBrackets(name)
	if i := strings.Index(name, "国库"); i >= 0 {
		name = name[:i]
	}
	if strings.Contains(name, "中央") {
		return LevelCentral, true
	}
	// At the same end position the longer word wins: 自治区 and 地区 are not districts.
	words := []struct {
		word  string
		level FiscalLevel
	}{
		{"自治区", LevelProvincial}, {"省", LevelProvincial},
		{"地区", LevelMunicipal}, {"自治州", LevelMunicipal}, {"盟", LevelMunicipal}, {"市", LevelMunicipal},
		{"区", LevelCounty}, {"县", LevelCounty}, {"旗", LevelCounty},
		{"乡", LevelTownship}, {"镇", LevelTownship},
	}
	level, end, found := FiscalLevel(""), -1, false
	for _, w := range words {
		i := strings.LastIndex(name, w.word)
		if i < 0 {
			continue
		}
		// The first word listed at an end position wins a tie (the longer forms come first).
		if e := i + len(w.word); e > end {
			level, end, found = w.level, e, true
		}
	}
	if !found {
		return "", false
	}
	if level == LevelMunicipal {
		for _, city := range []string{"北京", "上海", "天津", "重庆"} {
			if strings.HasPrefix(name, city) {
				return LevelProvincial, true
			}
		}
	}
	return level, true
}

// withoutBrackets drops remarks in brackets, full-width or not: 市级国库（市财政局国库支付中心）.
func withoutBrackets(s string) string {
	var b strings.Builder
	depth := 0
	for _, r := range s {
		switch r {
		case '(', '（':
			depth++
		case ')', '）':
			if depth > 0 {
				depth--
			}
		default:
			if depth == 0 {
				b.WriteRune(r)
			}
		}
	}
	return b.String()
}
