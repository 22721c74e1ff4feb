package postgres

import (
	"context"
	"errors"
	"net"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/datavenue/datavenue"
)

// interpretError translates driver errors into venue errors at the boundary. Constraint names
// become stable codes, so a rule enforced by the database reads to a client exactly like one
// enforced by Go code; connection failures become Unavailable (503), never 500.
func interpretError(err error) error {
	if err == nil {
		return nil
	}
	var venueErr *datavenue.Error
	if errors.As(err, &venueErr) {
		return err
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return datavenue.NotFound("not_found", "not found")
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return datavenue.Unavailable("database_timeout", "the database did not answer in time", err)
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return fromPgError(pgErr, err)
	}
	var netErr net.Error
	var connErr *pgconn.ConnectError
	if errors.As(err, &netErr) || errors.As(err, &connErr) || pgconn.SafeToRetry(err) {
		return datavenue.Unavailable("database_unavailable", "the database is unavailable; retry later", err)
	}
	return datavenue.Internal(err)
}

func fromPgError(pgErr *pgconn.PgError, err error) error {
	var e *datavenue.Error
	switch pgErr.Code[:2] {
	case "23": // integrity constraint violation
		switch pgErr.Code {
		case "23505":
			e = datavenue.Conflict("duplicate", "a record with the same unique value exists")
		case "23503":
			e = datavenue.Invalid("reference_not_found", "the request refers to something that does not exist")
		default:
			e = datavenue.Invalid("constraint_violated", "the request breaks a rule the database enforces")
		}
		if code, ok := constraintCodes[pgErr.ConstraintName]; ok {
			e.Code = code
		}
	case "08", "57": // connection exception, operator intervention (shutdown)
		e = datavenue.Unavailable("database_unavailable", "the database is unavailable; retry later", err)
	case "53": // insufficient resources
		e = datavenue.Unavailable("database_busy", "the database is overloaded; retry later", err)
	case "40":
		e = datavenue.Conflict("concurrent_update", "the request collided with a concurrent one; retry it")
	case "22": // data exception: bad value that slipped past validation
		e = datavenue.Invalid("invalid_value", "a value in the request is out of range or malformed")
	default:
		return datavenue.Internal(err)
	}
	e.Cause = err
	return e
}

// constraintCodes names the codes clients see when a database constraint refuses a write.
var constraintCodes = map[string]string{
	"organisations_uscc_key":                                "organisation_uscc_taken",
	"organisations_pkey":                                    "organisation_exists",
	"organisations_uscc_check":                              "invalid_uscc",
	"organisations_government_treasury":                     "government_unit_needs_treasury",
	"organisations_supervisor_state_enterprise":             "supervisor_not_applicable",
	"organisations_roles_fit_kind":                          "role_not_for_kind",
	"certificate_applications_one_open":                     "application_open",
	"authorisations_one_per_scenario":                       "scenario_already_authorised",
	"authorisation_assessments_authorisation_id_period_key": "assessment_exists",
	"appraisals_appraiser_id_report_number_key":             "report_number_taken",
	"assets_holder_id_holder_kind_fkey":                     "not_a_holder",
	"appraisals_appraiser_id_appraiser_kind_fkey":           "not_an_appraiser",
	"certificates_one_valid_version":                        "certificate_not_valid",
	"ledger_transaction_balanced":                           "ledger_unbalanced",
	"ledger_transactions_reverses_key":                      "already_reversed",
	"auctions_one_open_per_product":                         "auction_open",
	"subscriptions_free_once":                               "free_subscription_exists",
}
