package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/audit"
	"github.com/datavenue/datavenue/config"
	"github.com/datavenue/datavenue/parties"
	"github.com/datavenue/datavenue/postgres"
)

// orgCommand shows or sets an organisation's roles: the administrators' audited act that grants
// the bureau, clerk and auditor roles (a registration over the API cannot). A running venue
// applies a change within its role cache's lifetime (10 s).
func orgCommand(ctx context.Context, cfg config.Config, args []string, stdout io.Writer) error {
	if len(args) < 2 || args[0] != "roles" {
		return errors.New("usage: datavenue org roles ORG_ID [ROLE...]")
	}
	db, err := postgres.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer db.Close()
	svc := parties.Service{Store: db.Parties()}
	id := datavenue.OrgID(args[1])
	// The organisation is read first so that an unknown id fails before anything is written, and
	// the output shows the roles its kind may hold next to those it holds.
	o, err := svc.Get(ctx, id)
	if err != nil {
		return err
	}
	if len(args) > 2 {
		// parties.Service checks the roles against the organisation's kind (a buyer cannot be made a
		// finance bureau); the change and its audit record are one transaction, recorded as the system
		// caller under a request id of its own.
		roles := make([]datavenue.Role, 0, len(args)-2)
		for _, r := range args[2:] {
			roles = append(roles, datavenue.Role(r))
		}
		ctx = datavenue.WithRequestID(datavenue.WithCaller(ctx, audit.SystemCaller), datavenue.NewID("req"))
		if o, err = svc.SetRoles(ctx, id, roles); err != nil {
			return err
		}
	}
	fmt.Fprintf(stdout, "%s %s (%s): roles %v; its kind may hold %v\n", o.ID, o.Name, o.Kind, o.Roles, parties.RolesFor(o.Kind))
	return nil
}
