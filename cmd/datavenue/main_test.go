package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/auth"
	"github.com/datavenue/datavenue/internal/testenv"
)

// runCmd runs a datavenue command with the environment pointing at a fresh test database.
func runCmd(t *testing.T, env map[string]string, args ...string) (string, error) {
	t.Helper()
	for k, v := range env {
		t.Setenv(k, v)
	}
	var out, errOut bytes.Buffer
	err := run(args, &out, &errOut)
	return out.String(), err
}

func TestMigrateAndSeedAreIdempotent(t *testing.T) {
	db, url := testenv.NewDBWithURL(t)
	env := map[string]string{"DATAVENUE_DATABASE_URL": url, "DATAVENUE_KEY_DIR": t.TempDir()}
	out, err := runCmd(t, env, "migrate")
	if err != nil || !strings.Contains(out, "up to date") {
		t.Fatalf("migrate on a migrated database: %q, %v", out, err)
	}
	out, err = runCmd(t, env, "seed")
	if err != nil || !strings.Contains(out, "10 demo organisations created, 0 already present") {
		t.Fatalf("first seed: %q, %v", out, err)
	}
	for _, role := range []string{"DV_OPERATOR_TOKEN", "DV_BUYER_TOKEN", "DV_DATA_BUREAU_TOKEN", "DV_FINANCE_BUREAU_TOKEN", "DV_CLERK_TOKEN", "DV_AUDITOR_TOKEN"} {
		if !strings.Contains(out, "export "+role+"=ey") {
			t.Errorf("seed output lacks a token for %s", role)
		}
	}
	out, err = runCmd(t, env, "seed")
	if err != nil || !strings.Contains(out, "0 demo organisations created, 10 already present") {
		t.Fatalf("second seed: %q, %v", out, err)
	}
	var orgs, events int
	ctx := context.Background()
	if err := db.Pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM organisations), (SELECT count(*) FROM audit_events)`).Scan(&orgs, &events); err != nil {
		t.Fatal(err)
	}
	if orgs != 10 || events != 10 {
		t.Fatalf("after two seeds: %d organisations, %d audit events; want 10 and 10", orgs, events)
	}

	// Roles: the seeded clerk organisation holds the clerk role; an administrator grants the
	// state enterprise the buyer role (audited); a buyer cannot be made a clerk.
	out, err = runCmd(t, env, "org", "roles", string(demoID(9)))
	if err != nil || !strings.Contains(out, "roles [clerk]") {
		t.Fatalf("org roles (show): %q, %v", out, err)
	}
	out, err = runCmd(t, env, "org", "roles", string(demoID(4)), "operator", "buyer")
	if err != nil || !strings.Contains(out, "roles [operator buyer]") {
		t.Fatalf("org roles (grant): %q, %v", out, err)
	}
	if _, err := runCmd(t, env, "org", "roles", string(demoID(6)), "clerk"); err == nil || !strings.Contains(err.Error(), "role_not_for_kind") &&
		!strings.Contains(err.Error(), "validation_failed") {
		t.Fatalf("a buyer made a clerk: %v", err)
	}
	var changed int
	if err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM audit_events WHERE action = 'organisation.roles_changed'`).Scan(&changed); err != nil || changed != 1 {
		t.Fatalf("role changes audited: %d (%v), want 1", changed, err)
	}
}

func TestTokenCommandMintsAVerifiableToken(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"DATAVENUE_KEY_DIR": dir}
	out, err := runCmd(t, env, "token", "--role", "buyer", "--org", "org_01JDEM00000000000000000006", "--ttl", "1h")
	if err != nil {
		t.Fatal(err)
	}
	kr, err := auth.LoadKeyring(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	v := auth.Verifier{Issuers: map[string]auth.KeySource{"urn:datavenue:dev": kr}, Audience: "datavenue", Clock: datavenue.SystemClock{}}
	caller, err := v.Verify(strings.TrimSpace(out))
	if err != nil || caller.Role != datavenue.RoleBuyer || caller.Org != "org_01JDEM00000000000000000006" {
		t.Fatalf("minted token verifies as %+v, %v", caller, err)
	}
	for _, bad := range [][]string{
		{"token", "--role", "admin", "--org", "org_01JDEM00000000000000000006"},
		{"token", "--role", "buyer", "--org", "nobody"},
		{"frobnicate"},
	} {
		if _, err := runCmd(t, env, bad...); err == nil {
			t.Errorf("datavenue %v succeeded, want an error", bad)
		}
	}
}

func TestHelpExplainsEveryVariable(t *testing.T) {
	out, err := runCmd(t, nil, "--help")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"serve", "migrate", "seed", "token", "DATAVENUE_DATABASE_URL", "DATAVENUE_REDIS_URL",
		"DATAVENUE_LISTEN", "DATAVENUE_KEY_DIR", "DATAVENUE_TRUSTED_ISSUERS"} {
		if !strings.Contains(out, want) {
			t.Errorf("--help lacks %s", want)
		}
	}
}
