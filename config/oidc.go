package config

import (
	"fmt"
	"strings"

	"github.com/datavenue/datavenue"
)

// parseMaps reads DATAVENUE_OIDC_ROLE_MAP and DATAVENUE_OIDC_ORG_MAP. A provider run by another
// body (a unified identity service) names roles and units in its own words ("data_bureau_staff",
// a department code); the maps say which venue role and organisation each stands for. A role
// map's target must be a venue role and an organisation map's an organisation id, so a typo
// stops the venue at start-up rather than refusing every sign-in later.
func (o *OIDC) parseMaps(roles, orgs string) error {
	var err error
	if o.RoleMap, err = claimMap("DATAVENUE_OIDC_ROLE_MAP", roles, func(v string) bool { return datavenue.Role(v).Valid() }); err != nil {
		return err
	}
	o.OrgMap, err = claimMap("DATAVENUE_OIDC_ORG_MAP", orgs, func(v string) bool { return datavenue.HasPrefix(v, "org") })
	return err
}

// claimMap parses "from=to,from=to" (spaces around either side ignored); nil when empty.
func claimMap(name, v string, valid func(string) bool) (map[string]string, error) {
	if strings.TrimSpace(v) == "" {
		return nil, nil
	}
	out := map[string]string{}
	for _, pair := range strings.Split(v, ",") {
		if strings.TrimSpace(pair) == "" {
			continue
		}
		from, to, ok := strings.Cut(pair, "=")
		from, to = strings.TrimSpace(from), strings.TrimSpace(to)
		if !ok || from == "" || !valid(to) {
			return nil, fmt.Errorf("%s: %q is not a provider=venue pair with a venue value (e.g. data_bureau_staff=data_bureau)", name, pair)
		}
		if _, dup := out[from]; dup {
			return nil, fmt.Errorf("%s: %q is mapped twice", name, from)
		}
		out[from] = to
	}
	return out, nil
}
