package postgres

import (
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/datavenue/datavenue/money"
	"github.com/datavenue/datavenue/settlement"
)

// What every store shares: one page size rule and one way to turn "no row" into the domain's
// not-found error.

// Page sizes: what a list gives when no size is asked, and the most it gives (the API allows 500 a
// page and asks for one more to learn whether a next page exists).
const (
	defaultPageSize = 50
	maxPageSize     = 1000
)

// clampLimit bounds a page size.
func clampLimit(n int) int {
	switch {
	case n <= 0:
		return defaultPageSize
	case n > maxPageSize:
		return maxPageSize
	}
	return n
}

// pageLimit is a settlement page's size.
func pageLimit(p settlement.Page) int { return clampLimit(p.Limit) }

// exportLimit bounds what an export reads (whole ledgers), max when none is asked.
//
// It differs from clampLimit on purpose: an export defaults to the whole allowed range (max)
// rather than a page, because its reader wants everything up to the cap.
func exportLimit(n, max int) int {
	if n <= 0 || n > max {
		return max
	}
	return n
}

// notFoundAs answers nf, the domain's not-found error, for a query that found no row.
//
// Use it as interpretError(notFoundAs(err, errApplicationNotFound)) so each store reports its own
// domain's typed error instead of the generic not_found that interpretError would give.
func notFoundAs(err error, nf error) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return nf
	}
	return err
}

// ignoreNoRows treats a query that found no row as nothing to do.
func ignoreNoRows(err error) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	}
	return err
}

// yuan turns a NUMERIC column read as text into money. The column's type and CHECKs make it a
// valid amount whenever the row was read; when the scan itself failed (a connection lost, a
// query cancelled) the text is empty and the caller returns the scan's error, so an empty text is
// zero here instead of a panic on the error path (which answered 500 instead of the error's 503).
func yuan(text string) money.Yuan {
	if text == "" {
		return money.Yuan{}
	}
	return money.MustParse(text)
}
