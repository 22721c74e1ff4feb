package config_test

import (
	"strings"
	"testing"

	"github.com/datavenue/datavenue/config"
)

func lookup(env map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := env[k]; return v, ok }
}

func TestDefaults(t *testing.T) {
	cfg, err := config.Load(lookup(nil))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Listen != "127.0.0.1:8080" || cfg.BodyLimit != 1<<20 || !cfg.DevIssuer || cfg.RatePerSecond != 50 || cfg.RateBurst != 100 {
		t.Fatalf("defaults = %+v", cfg)
	}
}

func TestBadValuesAreRefusedByName(t *testing.T) {
	for name, value := range map[string]string{
		"DATAVENUE_BODY_LIMIT":      "12",
		"DATAVENUE_DEV_ISSUER":      "maybe",
		"DATAVENUE_RATE_PER_SECOND": "-1",
		"DATAVENUE_RATE_BURST":      "0",
		"DATAVENUE_LOG_LEVEL":       "loud",
	} {
		_, err := config.Load(lookup(map[string]string{name: value}))
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s=%s: err = %v, want one naming the variable", name, value, err)
		}
	}
}
