package console

import (
	"slices"
	"strings"

	"github.com/datavenue/datavenue"
)

// ClaimMapping says how an identity provider's ID token names the venue's role and organisation.
// A venue's own provider uses the venue's words ("role": "data_bureau", "org": "org_…"); a
// government unified identity service has its own ("roles": ["data_bureau_staff", …],
// "dept_code": "310000-SJJ"). The mapping only translates: the role gate (parties.RoleGate) still
// decides whether the organisation holds the role, at sign-in and on every request after it.
type ClaimMapping struct {
	// RoleClaim and OrgClaim are the claims' names ("": "role" and "org"), or paths into nested
	// claims, dot-separated ("realm_access.roles": Keycloak's realm roles); a top-level claim of
	// that very name (Auth0's namespaced "https://example.com/roles") wins over a path.
	RoleClaim, OrgClaim string
	// RoleMap translates the provider's role values (nil: they must be venue roles as they are).
	// When set, only mapped values count: a provider's other roles (a staff member's mail
	// access, say) are not the venue's business.
	RoleMap map[string]datavenue.Role
	// OrgMap translates the provider's organisation values (unit codes) into organisation ids
	// (nil: the value must be an organisation id). When set, an unmapped code is refused.
	OrgMap map[string]datavenue.OrgID
}

// identity reads the role and organisation claims of verified ID token claims under the mapping,
// with the same requirements as a bearer token's (a venue role, an organisation id, a subject).
func (m ClaimMapping) identity(claims map[string]any, subject string) (oidcIdentity, error) {
	id := oidcIdentity{Subject: subject, Roles: m.roles(claimAt(claims, orDefault(m.RoleClaim, "role")))}
	if len(id.Roles) == 0 {
		return id, datavenue.Unauthorized("token_bad_role", "the ID token's role claim names no venue role")
	}
	org, ok := m.org(claimAt(claims, orDefault(m.OrgClaim, "org")))
	if !ok || subject == "" {
		return id, datavenue.Unauthorized("token_bad_claims", "the ID token must name a subject and the organisation it acts for")
	}
	id.Org = org
	return id, nil
}

// roles are the venue roles a role claim names: a string or a list of strings, each translated
// by the map when there is one, unknown values dropped, each role once, in the claim's order.
func (m ClaimMapping) roles(v any) []datavenue.Role {
	var values []string
	switch t := v.(type) {
	case string:
		values = []string{t}
	case []any:
		for _, e := range t {
			if s, ok := e.(string); ok {
				values = append(values, s)
			}
		}
	}
	var out []datavenue.Role
	for _, s := range values {
		r := datavenue.Role(s)
		if m.RoleMap != nil {
			r = m.RoleMap[s]
		}
		if r.Valid() && !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	return out
}

// claimAt is the claim named name: a top-level claim of that name, or else the value at the
// dot-separated path through nested objects (nil when there is none).
func claimAt(claims map[string]any, name string) any {
	if v, ok := claims[name]; ok {
		return v
	}
	var v any = claims
	for _, key := range strings.Split(name, ".") {
		object, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = object[key]
	}
	return v
}

// org is the organisation an organisation claim names (a string, or a list of exactly one, as
// providers that send every group claim as a list do), translated by the map when there is one.
func (m ClaimMapping) org(v any) (datavenue.OrgID, bool) {
	if list, ok := v.([]any); ok && len(list) == 1 {
		v = list[0]
	}
	s, _ := v.(string)
	org := datavenue.OrgID(s)
	if m.OrgMap != nil {
		org = m.OrgMap[s]
	}
	return org, datavenue.HasPrefix(string(org), "org")
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
