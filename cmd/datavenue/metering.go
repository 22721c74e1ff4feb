package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/config"
	"github.com/datavenue/datavenue/subscriptions"
)

// meteringSecret prints an operator's secret for signing usage batches: derived from the venue's
// metering secret and the organisation id, so the venue stores none and can print it again.
func meteringSecret(cfg config.Config, args []string, stdout io.Writer) error {
	if len(args) != 1 || args[0] == "" {
		return errors.New("usage: datavenue metering-secret ORG_ID")
	}
	if cfg.MeteringSecret == "" {
		return errors.New("DATAVENUE_METERING_SECRET is not set: usage batches are refused on this venue")
	}
	_, err := fmt.Fprintf(stdout, "%s\n", subscriptions.OperatorSecret([]byte(cfg.MeteringSecret), datavenue.OrgID(args[0])))
	return err
}
