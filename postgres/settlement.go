package postgres

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/civil"
	"github.com/datavenue/datavenue/money"
	"github.com/datavenue/datavenue/settlement"
	"github.com/datavenue/datavenue/webhooks"
)

// AddAgreement stores the next version of a product's contribution agreement.
//
// An agreement is how revenue is split among contributors (D16/G6: by agreement or by each
// party's share of input cost). Versions are append-only: an order keeps the version it was made
// under (agreement_version), so a later agreement never re-splits past revenue.
func (db SettlementStore) AddAgreement(ctx context.Context, a settlement.Agreement) (settlement.Agreement, error) {
	var version int
	return readBack(ctx, db.conn, func(tx pgx.Tx) error {
		// Lock the product row so two versions cannot take the same number.
		if _, err := tx.Exec(ctx, `SELECT 1 FROM products WHERE id = $1 FOR UPDATE`, a.ProductID); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, `SELECT coalesce(max(version), 0) + 1 FROM contribution_agreements WHERE product_id = $1`, a.ProductID).Scan(&version); err != nil {
			return err
		}
		parties, _ := json.Marshal(a.Parties)
		caller, _ := datavenue.CallerFrom(ctx)
		if _, err := tx.Exec(ctx, `INSERT INTO contribution_agreements (product_id, version, basis, parties, created_by)
			VALUES ($1, $2, $3, $4, $5)`, a.ProductID, version, a.Basis, parties, caller.Org); err != nil {
			return err
		}
		return appendAudit(ctx, tx, "agreement.versioned", "product", a.ProductID, map[string]any{"version": version, "basis": a.Basis})
	}, func(q querier) (settlement.Agreement, error) {
		return agreementFrom(ctx, q, a.ProductID, version)
	})
}

// Agreement returns a version of a product's agreement (0: the latest).
func (db SettlementStore) Agreement(ctx context.Context, productID string, version int) (settlement.Agreement, error) {
	return agreementFrom(ctx, db.Pool, productID, version)
}

// agreementFrom is Agreement read through q: the pool, or the transaction that has just written it (readBack).
func agreementFrom(ctx context.Context, q querier, productID string, version int) (settlement.Agreement, error) {
	var a settlement.Agreement
	var parties []byte
	err := q.QueryRow(ctx, `SELECT product_id, version, basis, parties, created_by, created_at FROM contribution_agreements
		WHERE product_id = $1 AND ($2 = 0 OR version = $2) ORDER BY version DESC LIMIT 1`, productID, version).
		Scan(&a.ProductID, &a.Version, &a.Basis, &parties, &a.CreatedBy, &a.CreatedAt)
	if err != nil {
		return a, interpretError(notFoundAs(err, datavenue.NotFound("agreement_not_found", "the product has no contribution agreement")))
	}
	return a, json.Unmarshal(parties, &a.Parties)
}

// ProductOperator returns a product's operator.
// The product row, not the settlement copy, is the authority on who operates a product.
func (db SettlementStore) ProductOperator(ctx context.Context, productID string) (datavenue.OrgID, error) {
	var op datavenue.OrgID
	err := db.Pool.QueryRow(ctx, `SELECT operator_id FROM products WHERE id = $1`, productID).Scan(&op)
	return op, interpretError(notFoundAs(err, errProductNotFound))
}

// Parties returns what settlement needs of organisations.
// Kind, fiscal level, treasury and supervisor decide where a share goes: a government unit's share
// is non-tax revenue remitted to its treasury (D17), a state enterprise files with its supervisor
// (G6). Unknown ids are simply absent from the map.
func (db SettlementStore) Parties(ctx context.Context, ids []datavenue.OrgID) (map[datavenue.OrgID]settlement.PartyInfo, error) {
	rows, err := db.Pool.Query(ctx, `SELECT id, kind, coalesce(fiscal_level, ''), coalesce(treasury, ''), coalesce(supervisor, '')
		FROM organisations WHERE id = ANY($1)`, strs(ids))
	if err != nil {
		return nil, interpretError(err)
	}
	out := map[datavenue.OrgID]settlement.PartyInfo{}
	var id datavenue.OrgID
	var info settlement.PartyInfo
	_, err = pgx.ForEachRow(rows, []any{&id, &info.Kind, &info.FiscalLevel, &info.Treasury, &info.Supervisor}, func() error {
		out[id] = info
		return nil
	})
	return out, interpretError(err)
}

// orderColumns is the settlement order as settlement.Order needs it. Amounts are NUMERIC yuan read
// as text; payment_due and received_on are CST civil dates (DATE); the trade day is derived from
// the trade's UTC timestamp in Asia/Shanghai, because the 7 payment days (settlement/terms.go)
// count from the CST day of the trade.
const orderColumns = `id, trade_id, product_id, buyer_id, seller_id, price::text, deposit_applied::text, amount_due::text,
	agreement_version, status, payment_due, coalesce(payment_ref, ''), coalesce(paid_via, ''), paid_at, income_kind, delivered_at,
	coalesce(confirmed_by, ''), coalesce(cancel_reason, ''), deposit_forfeited::text, received_on,
	(SELECT (traded_at AT TIME ZONE 'Asia/Shanghai')::date FROM trades WHERE trades.id = settlement_orders.trade_id)`

// scanOrder reads one orderColumns row; a NULL received_on (not paid yet) stays a nil pointer.
func scanOrder(row pgx.Row) (settlement.Order, error) {
	var o settlement.Order
	var price, deposit, due, forfeited string
	var payDue, tradedOn time.Time
	var receivedOn *time.Time
	err := row.Scan(&o.ID, &o.TradeID, &o.ProductID, &o.BuyerID, &o.SellerID, &price, &deposit, &due, &o.AgreementVersion,
		&o.Status, &payDue, &o.PaymentRef, &o.PaidVia, &o.PaidAt, &o.IncomeKind, &o.DeliveredAt, &o.ConfirmedBy, &o.CancelReason, &forfeited,
		&receivedOn, &tradedOn)
	if err != nil {
		return o, err
	}
	if receivedOn != nil {
		d := civil.FromTime(*receivedOn)
		o.ReceivedOn = &d
	}
	o.TradedOn = civil.FromTime(tradedOn)
	o.Price, o.DepositApplied, o.AmountDue = yuan(price), yuan(deposit), yuan(due)
	o.DepositForfeited = yuan(forfeited)
	o.PaymentDue, o.Currency = civil.FromTime(payDue), "CNY"
	return o, nil
}

// OrderHead returns an order without its shares and obligations.
func (db SettlementStore) OrderHead(ctx context.Context, id string) (settlement.Order, error) {
	o, err := scanOrder(db.Pool.QueryRow(ctx, `SELECT `+orderColumns+` FROM settlement_orders WHERE id = $1`, id))
	return o, interpretError(notFoundAs(err, datavenue.NotFound("order_not_found", "no order with this id is visible to you")))
}

// Order returns an order with its shares and obligations, read in one round trip (a batch of
// three queries): every payment, delivery and confirmation answers with it.
func (db SettlementStore) Order(ctx context.Context, id string) (settlement.Order, error) {
	return orderFrom(ctx, db.Pool, id)
}

// orderFrom is Order read through q: the pool, or the transaction that has just written it (readBack).
func orderFrom(ctx context.Context, q querier, id string) (settlement.Order, error) {
	batch := &pgx.Batch{}
	o, headErr := queueOrder(batch, id)
	if err := q.SendBatch(ctx, batch).Close(); err != nil {
		return settlement.Order{}, interpretError(err)
	}
	if *headErr != nil {
		return settlement.Order{}, interpretError(notFoundAs(*headErr, datavenue.NotFound("order_not_found", "no order with this id is visible to you")))
	}
	return *o, nil
}

// queueOrder queues the three queries that read an order with its shares and obligations; the
// order and the head query's error (pgx.ErrNoRows: no such order) are filled in once the batch
// has run. A transaction queues them after its writes to answer with the order as it left it,
// without a round trip of its own.
func queueOrder(batch *pgx.Batch, id string) (*settlement.Order, *error) {
	var o settlement.Order
	var headErr error
	batch.Queue(`SELECT `+orderColumns+` FROM settlement_orders WHERE id = $1`, id).QueryRow(func(r pgx.Row) error {
		shares, obligations := o.Shares, o.Obligations
		o, headErr = scanOrder(r)
		o.Shares, o.Obligations = shares, obligations
		return nil // a missing order is answered after the batch
	})
	batch.Queue(`SELECT coalesce(party_id, ''), role, amount::text, account FROM settlement_shares WHERE order_id = $1 ORDER BY account`, id).
		Query(func(rows pgx.Rows) error {
			var err error
			o.Shares, err = pgx.CollectRows(rows, scanShare)
			return err
		})
	batch.Queue(obligationSelect+` WHERE order_id = $1 ORDER BY `+obligationOrder, id).Query(func(rows pgx.Rows) error {
		var err error
		o.Obligations, err = pgx.CollectRows(rows, scanObligation)
		return err
	})
	return &o, &headErr
}

// scanShare reads a revenue share (D16): party is empty only for the venue's fee (role
// venue_fee), stored as NULL.
func scanShare(r pgx.CollectableRow) (settlement.Share, error) {
	var s settlement.Share
	var amount string
	err := r.Scan(&s.Party, &s.Role, &amount, &s.Account)
	s.Amount = yuan(amount)
	return s, err
}

// Orders lists orders of a party (as buyer or seller), or all.
func (db SettlementStore) Orders(ctx context.Context, party datavenue.OrgID, status string, p settlement.Page) ([]settlement.Order, error) {
	rows, err := db.Pool.Query(ctx, `SELECT `+orderColumns+` FROM settlement_orders
		WHERE ($1 = '' OR buyer_id = $1 OR seller_id = $1) AND ($2 = '' OR status = $2) AND ($3 = '' OR id < $3)
		ORDER BY id DESC LIMIT $4`, string(party), status, p.After, pageLimit(p))
	if err != nil {
		return nil, interpretError(err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (settlement.Order, error) { return scanOrder(r) })
	return list, interpretError(err)
}

// obligationOrder sorts obligations by due date, the pending ones (no date yet) last.
//
// A pending due date (an instalment whose quarter has not ended, G6) sorts last via the
// 9999-12-31 sentinel; the id breaks ties so the key is unique and usable as a keyset cursor.
const obligationOrder = `(coalesce(due_date, '9999-12-31'::date), id)`

// obligations reads obligations in due-date order; limit 0: all that match.
// where is SQL written by this file only (never request text); every value goes as an argument.
func (db SettlementStore) obligations(ctx context.Context, where string, limit int, args ...any) ([]settlement.Obligation, error) {
	if limit > 0 {
		where += " ORDER BY " + obligationOrder + " LIMIT " + strconv.Itoa(limit)
	} else {
		where += " ORDER BY " + obligationOrder
	}
	rows, err := db.Pool.Query(ctx, obligationSelect+" "+where, args...)
	if err != nil {
		return nil, interpretError(err)
	}
	list, err := pgx.CollectRows(rows, scanObligation)
	return list, interpretError(err)
}

// obligationSelect reads an obligation: a filing or remittance the order set off (D17 treasury
// remittance of a government share, G6 filing within 10 working days). due_date is NULL while the
// deadline cannot be computed yet (due_pending says why); remitted accumulates partial receipts
// matched by reconciliation, so remaining is amount - remitted.
const obligationSelect = `SELECT id, kind, party_id, counterpart, amount::text, remitted::text, income_kind, event_date, due_date,
		coalesce(due_pending, ''), status, payment_code, coalesce(copy_to, '')
	FROM obligations`

func scanObligation(r pgx.CollectableRow) (settlement.Obligation, error) {
	var o settlement.Obligation
	var amount, remitted string
	var event time.Time
	var due *time.Time
	err := r.Scan(&o.ID, &o.Kind, &o.Party, &o.Counterpart, &amount, &remitted, &o.IncomeKind, &event, &due, &o.DuePending, &o.Status, &o.PaymentCode, &o.CopyTo)
	o.Amount, o.Remitted, o.EventDate = yuan(amount), yuan(remitted), civil.FromTime(event)
	o.Remaining = money.FromDecimal(o.Amount.Decimal().Sub(o.Remitted.Decimal()))
	if due != nil {
		d := civil.FromTime(*due)
		o.DueDate = &d
	}
	return o, err
}

// Obligations lists obligations by due date, then id, a page at a time.
//
// The cursor is "due date|id" (the next_cursor the API hands out), matching obligationOrder's row
// comparison, so a page boundary between obligations due the same day is exact. OverdueOn lists
// the obligations still due whose due date is before that CST day.
func (db SettlementStore) Obligations(ctx context.Context, f settlement.ObligationFilter) ([]settlement.Obligation, error) {
	afterDate, afterID := time.Time{}, ""
	if f.After != "" {
		date, id, ok := strings.Cut(f.After, "|")
		d, err := civil.Parse(date)
		if !ok || err != nil {
			return nil, errBadCursor
		}
		afterDate, afterID = d.Time(), id
	}
	var overdueOn *time.Time
	if !f.OverdueOn.IsZero() {
		t := f.OverdueOn.Time()
		overdueOn = &t
	}
	return db.obligations(ctx, `WHERE ($1 = '' OR status = $1) AND ($2::date IS NULL OR (status = 'due' AND due_date < $2::date))
		AND ($3 = '' OR `+obligationOrder+` > ($4::date, $3))`, pageLimit(f.Page), f.Status, overdueOn, afterID, afterDate)
}

// errBadCursor is a cursor the store cannot read.
var errBadCursor = datavenue.Invalid("validation_failed", "invalid query parameter",
	datavenue.FieldError{Field: "cursor", Code: "invalid_cursor", Message: "cursor must be a next_cursor value from a previous page"})

// PaymentTerms reads what settling a payment of an order needs, in one round trip (see
// settlement.Store): the order's head, the agreement version it was made under and that
// agreement's parties. The second and third queries find the agreement through the order.
//
// The three queries go in one batch (one round trip) outside a transaction. They are reads for
// the settle rule to plan with; RecordPayment re-reads and locks the order before writing, so a
// change in between is caught there. For an order made without an agreement (no
// agreement_version) the agreement and parties come back empty and the settle rule refuses the
// payment (agreement_missing).
func (db SettlementStore) PaymentTerms(ctx context.Context, orderID string) (settlement.Order, settlement.Agreement, map[datavenue.OrgID]settlement.PartyInfo, error) {
	var o settlement.Order
	var a settlement.Agreement
	var rawParties []byte
	var headErr, agreementErr error
	parties := map[datavenue.OrgID]settlement.PartyInfo{}
	const agreementOf = `(SELECT product_id, agreement_version FROM settlement_orders WHERE id = $1)`
	b := &pgx.Batch{}
	b.Queue(`SELECT `+orderColumns+` FROM settlement_orders WHERE id = $1`, orderID).QueryRow(func(r pgx.Row) error {
		o, headErr = scanOrder(r)
		return nil
	})
	b.Queue(`SELECT product_id, version, basis, parties, created_by, created_at FROM contribution_agreements
		WHERE (product_id, version) = `+agreementOf, orderID).QueryRow(func(r pgx.Row) error {
		agreementErr = r.Scan(&a.ProductID, &a.Version, &a.Basis, &rawParties, &a.CreatedBy, &a.CreatedAt)
		return nil
	})
	b.Queue(`SELECT id, kind, coalesce(fiscal_level, ''), coalesce(treasury, ''), coalesce(supervisor, '') FROM organisations
		WHERE id IN (SELECT jsonb_array_elements(c.parties)->>'party' FROM contribution_agreements c WHERE (c.product_id, c.version) = `+agreementOf+`)`,
		orderID).Query(func(rows pgx.Rows) error {
		var id datavenue.OrgID
		var info settlement.PartyInfo
		_, err := pgx.ForEachRow(rows, []any{&id, &info.Kind, &info.FiscalLevel, &info.Treasury, &info.Supervisor}, func() error {
			parties[id] = info
			return nil
		})
		return err
	})
	if err := db.Pool.SendBatch(ctx, b).Close(); err != nil {
		return o, a, nil, interpretError(err)
	}
	if headErr != nil {
		return o, a, nil, interpretError(notFoundAs(headErr, datavenue.NotFound("order_not_found", "no order with this id is visible to you")))
	}
	if o.AgreementVersion == nil {
		return o, settlement.Agreement{}, nil, nil
	}
	if agreementErr != nil {
		return o, a, nil, interpretError(notFoundAs(agreementErr, datavenue.NotFound("agreement_not_found", "the product has no contribution agreement")))
	}
	return o, a, parties, json.Unmarshal(rawParties, &a.Parties)
}

// RecordPayment records a payment and everything it sets off, in one transaction (see the
// interface) of two round trips: the order locked and read; then the order's change, its shares,
// the ledger transaction, the obligations, the event, the audit record, the order read back and
// the commit.
func (db SettlementStore) RecordPayment(ctx context.Context, orderID string, p settlement.Payment, settle func(settlement.Order) ([]settlement.Share, settlement.Transaction, []settlement.Obligation, error)) (settlement.Order, error) {
	//
	// Idempotent on the payment reference: the same payment recorded again (order already past
	// awaiting_payment with this reference) writes nothing and returns the order as it stands; a
	// different payment on a paid or cancelled order is order_not_awaiting_payment. settle is the
	// settlement package's rule (shares D16, the ledger transaction, obligations D17/G6); it runs on
	// the locked order between the two round trips.
	var paid *settlement.Order
	var headErr *error
	err := db.inPipe(ctx, func(pipe *txPipe) error {
		paid, headErr = nil, nil
		var o settlement.Order
		var lockErr error
		b := &pgx.Batch{}
		b.Queue(`SELECT `+orderColumns+` FROM settlement_orders WHERE id = $1 FOR UPDATE`, orderID).QueryRow(func(r pgx.Row) error {
			o, lockErr = scanOrder(r)
			return nil
		})
		if err := pipe.send(ctx, b); err != nil {
			return err
		}
		if lockErr != nil {
			return notFoundAs(lockErr, datavenue.NotFound("order_not_found", "no order with this id"))
		}
		if o.Status != settlement.OrderAwaitingPayment && o.Status != settlement.OrderCancelled && o.PaymentRef == p.Reference {
			return pipe.commit(ctx, &pgx.Batch{}) // the same payment recorded again: nothing to write
		}
		if o.Status != settlement.OrderAwaitingPayment {
			return datavenue.Conflict("order_not_awaiting_payment", "the order is "+o.Status)
		}
		shares, ltx, obligations, err := settle(o)
		if err != nil {
			return err
		}
		incomeKind := settlement.IncomeKindOf(p.IncomeKind)
		b = &pgx.Batch{}
		b.Queue(`UPDATE settlement_orders SET status = 'paid', payment_ref = $2, paid_at = now(), paid_via = $3, income_kind = $4,
			received_on = $5, payment_claimed_at = NULL, payment_claim = NULL WHERE id = $1`, orderID, p.Reference, p.Via, incomeKind, p.ReceivedOn.Time())
		// The shares go as one INSERT ... SELECT FROM unnest of parallel arrays: one statement however
		// many parties, and amounts as decimal strings cast to NUMERIC.
		var sParties, sRoles, sAmounts, sAccounts []string
		for _, s := range shares {
			sParties, sRoles, sAmounts, sAccounts = append(sParties, string(s.Party)), append(sRoles, s.Role), append(sAmounts, s.Amount.String()), append(sAccounts, s.Account)
		}
		b.Queue(`INSERT INTO settlement_shares (order_id, party_id, role, amount, account)
			SELECT $1, nullif(p, ''), r, m::numeric, a FROM unnest($2::text[], $3::text[], $4::text[], $5::text[]) AS x(p, r, m, a)`,
			orderID, sParties, sRoles, sAmounts, sAccounts)
		if err := queuePost(ctx, b, ltx); err != nil {
			return err
		}
		queueObligations(b, orderID, obligations)
		facts := factsOf(o)
		facts.Status, facts.PaymentRef, facts.PaidVia, facts.ReceivedOn = "paid", p.Reference, p.Via, &p.ReceivedOn
		if err := queueOrderEvent(b, webhooks.PaymentRecorded, facts, map[string]any{"income_kind": incomeKind}); err != nil {
			return err
		}
		if err := queueAudit(ctx, b, "order.paid", "order", orderID, map[string]any{"reference": p.Reference, "via": p.Via,
			"income_kind": incomeKind, "received_on": p.ReceivedOn, "obligations": len(obligations)}); err != nil {
			return err
		}
		paid, headErr = queueOrder(b, orderID)
		return pipe.commit(ctx, b)
	})
	if err != nil {
		return settlement.Order{}, err
	}
	if paid == nil { // recorded before: the order as it stands
		return db.Order(ctx, orderID)
	}
	if *headErr != nil {
		return settlement.Order{}, interpretError(*headErr)
	}
	return *paid, nil
}

// queueObligations queues the one statement that writes an order's obligations.
//
// unnest over parallel arrays inserts every obligation in one statement of the caller's batch.
// Every obligation starts 'due'; a NULL due date with due_pending is filled in later by SetDueDate.
func queueObligations(b *pgx.Batch, orderID string, obligations []settlement.Obligation) {
	if len(obligations) == 0 {
		return
	}
	n := len(obligations)
	ids, kinds, parties, counterparts, amounts, incomeKinds := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	events, dues, pendings, codes, copies := make([]time.Time, n), make([]*time.Time, n), make([]string, n), make([]string, n), make([]string, n)
	for i, ob := range obligations {
		ids[i], kinds[i], parties[i], counterparts[i], amounts[i], incomeKinds[i] = ob.ID, ob.Kind, string(ob.Party), ob.Counterpart, ob.Amount.String(), ob.IncomeKind
		events[i], pendings[i], codes[i], copies[i] = ob.EventDate.Time(), ob.DuePending, ob.PaymentCode, ob.CopyTo
		if ob.DueDate != nil {
			t := ob.DueDate.Time()
			dues[i] = &t
		}
	}
	b.Queue(`INSERT INTO obligations (id, order_id, kind, party_id, counterpart, amount, income_kind, event_date, due_date,
			due_pending, status, payment_code, copy_to)
		SELECT id, $1, kind, party, counterpart, amount::numeric, income_kind, event, due, nullif(pending, ''), 'due', code, nullif(copy, '')
		FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::date[], $9::date[], $10::text[], $11::text[], $12::text[])
			AS x(id, kind, party, counterpart, amount, income_kind, event, due, pending, code, copy)`, orderID, ids, kinds, parties, counterparts, amounts, incomeKinds, events, dues, pendings, codes, copies)
}

// CancelUnpaid cancels the orders past their last day to pay (see settlement.Store). Each order is
// its own transaction, locked and re-checked, so a payment recorded at the same moment wins or
// loses cleanly: an order is either paid or cancelled, never both.
func (db SettlementStore) CancelUnpaid(ctx context.Context, today civil.Date) ([]string, error) {
	// Candidates are read without locks, 500 per sweep; each is then locked and re-checked in its own
	// transaction. A claimed payment (ClaimPayment) excludes an order here and again in the rule.
	rows, err := db.Pool.Query(ctx, `SELECT id FROM settlement_orders WHERE status = 'awaiting_payment' AND payment_due < $1
		AND payment_claimed_at IS NULL ORDER BY id LIMIT 500`, today.Time())
	if err != nil {
		return nil, interpretError(err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, interpretError(err)
	}
	var cancelled []string
	for _, id := range ids {
		done := false
		err := db.inTx(ctx, func(tx pgx.Tx) error {
			o, err := scanOrder(tx.QueryRow(ctx, `SELECT `+orderColumns+` FROM settlement_orders WHERE id = $1 FOR UPDATE`, id))
			if err != nil {
				return err
			}
			var claimed bool
			if err := tx.QueryRow(ctx, `SELECT payment_claimed_at IS NOT NULL FROM settlement_orders WHERE id = $1`, id).Scan(&claimed); err != nil {
				return err
			}
			// The rule lives in settlement.CancelUnpaid; this store only locks, applies and records.
			cancel, forfeited := settlement.CancelUnpaid(o, claimed, today)
			if !cancel {
				return nil // paid meanwhile, or a payment reached the venue and waits for a clerk
			}
			if _, err := tx.Exec(ctx, `UPDATE settlement_orders SET status = 'cancelled', cancelled_at = now(), cancel_reason = 'unpaid',
				deposit_forfeited = $2::numeric WHERE id = $1`, id, forfeited.String()); err != nil {
				return err
			}
			if !forfeited.IsZero() {
				// The forfeited deposit (the buyer's auction deposit that was to be applied to the price) is
				// marked forfeit on the deposit row and posted to the ledger in the same transaction, so the
				// ledger, the deposit and the order agree.
				if _, err := tx.Exec(ctx, `UPDATE auction_deposits d SET outcome = 'forfeit' FROM trades t
					WHERE t.id = $1 AND d.auction_id = t.source_id AND d.buyer_id = t.buyer_id AND d.outcome = 'apply'`, o.TradeID); err != nil {
					return err
				}
				if err := postInTx(ctx, tx, settlement.DepositForfeited(id, o.BuyerID, forfeited.Decimal())); err != nil {
					return err
				}
			}
			done = true
			return appendAudit(ctx, tx, "order.cancelled", "order", id, map[string]any{"reason": "unpaid", "payment_due": o.PaymentDue,
				"deposit_forfeited": forfeited})
		})
		if err != nil {
			return cancelled, err
		}
		if done {
			cancelled = append(cancelled, id)
		}
	}
	return cancelled, nil
}

var _ settlement.Store = SettlementStore{}

// ClaimPayment notes that a payment reached the venue but could not be settled (see
// settlement.Store), audited; the order is then never cancelled by the sweeper.
func (db SettlementStore) ClaimPayment(ctx context.Context, orderID, claim string) error {
	// The guard "status = 'awaiting_payment'" makes a claim on a paid or cancelled order a no-op
	// (no error, no audit record): the sweeper can no longer cancel it anyway.
	return db.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE settlement_orders SET payment_claimed_at = now(), payment_claim = $2
			WHERE id = $1 AND status = 'awaiting_payment'`, orderID, claim)
		if err != nil || tag.RowsAffected() == 0 {
			return err
		}
		return appendAudit(ctx, tx, "order.payment_claimed", "order", orderID, map[string]string{"claim": claim})
	})
}

// PendingDueDates lists the obligations whose due date is pending, oldest first.
func (db SettlementStore) PendingDueDates(ctx context.Context, limit int) ([]settlement.Obligation, error) {
	return db.obligations(ctx, `WHERE due_date IS NULL`, limit)
}

// SetDueDate fills in a pending due date, once, audited.
// Once: "due_date IS NULL" means a second call, or a concurrent one, changes nothing and returns
// nil, so the due-date sweeper may run in several processes.
func (db SettlementStore) SetDueDate(ctx context.Context, obligationID string, due civil.Date) error {
	return db.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE obligations SET due_date = $2, due_pending = NULL WHERE id = $1 AND due_date IS NULL`, obligationID, due.Time())
		if err != nil || tag.RowsAffected() == 0 {
			return err
		}
		return appendAudit(ctx, tx, "obligation.due_date_set", "obligation", obligationID, map[string]any{"due_date": due})
	})
}

// CountPendingDueDates counts the obligations whose due date is pending.
func (db SettlementStore) CountPendingDueDates(ctx context.Context) (int, error) {
	var n int
	err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM obligations WHERE due_date IS NULL`).Scan(&n)
	return n, interpretError(err)
}
