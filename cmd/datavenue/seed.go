package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/audit"
	"github.com/datavenue/datavenue/config"
	"github.com/datavenue/datavenue/console"
	"github.com/datavenue/datavenue/internal/venueclient"
	"github.com/datavenue/datavenue/postgres"
)

// demoID makes stable ids, so seeding twice finds the same rows and the printed tokens stay valid.
func demoID(n int) datavenue.OrgID { return venueclient.DemoID(n) }

// seed loads the demo organisations. Each is inserted once (stable id and USCC); a second run
// finds them and changes nothing, so its audit trail does not grow either.
func seed(ctx context.Context, cfg config.Config, stdout io.Writer) error {
	db, err := postgres.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer db.Close()
	// Seeding acts as the system caller with a request id of its own, so every organisation created
	// has an audit record that says who did it and groups this run's records together.
	ctx = datavenue.WithRequestID(datavenue.WithCaller(ctx, audit.SystemCaller), datavenue.NewID("req"))
	created := 0
	for _, d := range venueclient.DemoOrgs() {
		if err := d.Reg.Validate(); err != nil {
			return fmt.Errorf("demo organisation %s: %w", d.Reg.Name, err)
		}
		_, err := db.Parties().CreateOrganisation(ctx, d.Reg)
		// An organisation already present (by id or by USCC) is not an error: seeding is idempotent and
		// runs on every `make run`.
		switch datavenue.CodeOf(err) {
		case "organisation_exists", "organisation_uscc_taken":
			// Present, perhaps from before roles were recorded: give it its demo roles.
			if o, err := db.Parties().Organisation(ctx, d.Reg.ID); err == nil && !slices.Equal(o.Roles, d.Reg.Roles) {
				if _, err := db.Parties().SetOrganisationRoles(ctx, d.Reg.ID, d.Reg.Roles); err != nil {
					return fmt.Errorf("seed %s roles: %w", d.Reg.Name, err)
				}
			}
		default:
			if err != nil {
				return fmt.Errorf("seed %s: %w", d.Reg.Name, err)
			}
			created++
		}
	}
	fmt.Fprintf(stdout, "seed: %d demo organisations created, %d already present\n", created, len(venueclient.DemoOrgs())-created)
	return printDemoTokens(cfg, stdout)
}

// printDemoTokens prints one bearer token per demo role, ready to export in a shell. They are
// development tokens signed by the venue's own key, so they only work on a venue that trusts
// its own issuer (DATAVENUE_DEV_ISSUER, the default); 12 hours covers a working day, and exceeds
// no lifetime limit the venue applies by default (24 h).
func printDemoTokens(cfg config.Config, stdout io.Writer) error {
	m, err := minter(cfg)
	if err != nil {
		return err
	}
	base := "http://" + cfg.Listen
	fmt.Fprintf(stdout, "\nBase URL: %s   (docs: %s/docs, OpenAPI: %s/openapi.json)\n", base, base, base)
	fmt.Fprintln(stdout, "Demo bearer tokens (valid 12h; mint more with `datavenue token --role R --org ID`):")
	for _, d := range venueclient.DemoOrgs() {
		if d.Role == "" {
			continue
		}
		tok, err := m.Mint("demo-"+strings.ReplaceAll(string(d.Role), "_", "-"), d.Role, d.Reg.ID, 12*time.Hour)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "\n  %s — %s (%s)\n  export DV_%s_TOKEN=%s\n", d.Role, d.Reg.Name, d.Reg.ID, strings.ToUpper(string(d.Role)), tok)
	}
	fmt.Fprintf(stdout, "\nTry: curl -H \"Authorization: Bearer $DV_BUYER_TOKEN\" %s/v1/me\n\n", base)
	return nil
}

// demoIdentities are the demo users the console's development sign-in offers (the ones `seed`
// prints tokens for), under the subjects those tokens carry, and two more the demo acts as: the
// second buyer (who wins the demo's auctions, so its orders and vouchers are there to see after
// `make demo`) and the transport bureau as the holder operating its own data (its asset cards).
func demoIdentities() []console.Identity {
	var out []console.Identity
	names := map[datavenue.OrgID]string{}
	for _, d := range venueclient.DemoOrgs() {
		names[d.Reg.ID] = d.Reg.Name
		if d.Role != "" {
			out = append(out, console.Identity{Subject: "demo-" + strings.ReplaceAll(string(d.Role), "_", "-"), Role: d.Role, Org: d.Reg.ID, OrgName: d.Reg.Name})
		}
	}
	for _, more := range []struct {
		subject string
		who     venueclient.Actor
	}{{"demo-buyer-b", venueclient.BuyerB}, {"demo-holder", venueclient.Holder}} {
		out = append(out, console.Identity{Subject: more.subject, Role: more.who.Role, Org: more.who.Org, OrgName: names[more.who.Org]})
	}
	return out
}
