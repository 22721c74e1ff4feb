package config_test

import (
	"maps"
	"strings"
	"testing"

	"github.com/datavenue/datavenue/config"
)

// The claim maps are read as provider=venue pairs; a target that is not a venue role or an
// organisation id stops the venue at start-up, naming the setting.
func TestOIDCClaimMaps(t *testing.T) {
	cfg, err := config.Load(lookup(map[string]string{"DATAVENUE_OIDC_ROLE_CLAIM": "roles", "DATAVENUE_OIDC_ORG_CLAIM": "dept_code",
		"DATAVENUE_OIDC_ROLE_MAP": " data_bureau_staff = data_bureau ,finance_staff=finance_bureau,",
		"DATAVENUE_OIDC_ORG_MAP":  "310000-SJJ=org_01JDEM00000000000000000003"}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.OIDC.RoleClaim != "roles" || cfg.OIDC.OrgClaim != "dept_code" ||
		!maps.Equal(cfg.OIDC.RoleMap, map[string]string{"data_bureau_staff": "data_bureau", "finance_staff": "finance_bureau"}) ||
		!maps.Equal(cfg.OIDC.OrgMap, map[string]string{"310000-SJJ": "org_01JDEM00000000000000000003"}) {
		t.Errorf("got %+v", cfg.OIDC)
	}
	if cfg.OIDC.PostLogoutURL != cfg.PublicURL+"/console/signin" {
		t.Errorf("post-logout URL = %q, want the public URL's sign-in page", cfg.OIDC.PostLogoutURL)
	}
	def, _ := config.Load(lookup(nil))
	if def.OIDC.RoleClaim != "role" || def.OIDC.OrgClaim != "org" || def.OIDC.RoleMap != nil || def.OIDC.OrgMap != nil {
		t.Errorf("defaults: %+v, want role and org, no maps", def.OIDC)
	}
	for name, bad := range map[string]string{
		"DATAVENUE_OIDC_ROLE_MAP": "staff=superuser", "DATAVENUE_OIDC_ORG_MAP": "310000=bureau",
	} {
		_, err := config.Load(lookup(map[string]string{name: bad}))
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s=%s: err = %v, want a refusal naming the setting", name, bad, err)
		}
	}
	if _, err := config.Load(lookup(map[string]string{"DATAVENUE_OIDC_ROLE_MAP": "a=buyer,a=operator"})); err == nil {
		t.Error("a provider value mapped twice was accepted")
	}
}
