-- +goose Up
-- Treasury reality (issue 17). A deadline counted in working days of a year whose official
-- holiday schedule is not yet published cannot be computed: the obligation is recorded anyway,
-- with its due date pending and the reason, and the date is filled in when the year is known
-- (never guessed, and never a failed payment).
ALTER TABLE obligations ALTER COLUMN due_date DROP NOT NULL;
ALTER TABLE obligations ADD COLUMN due_pending text;
ALTER TABLE obligations ADD CONSTRAINT obligations_due_date_or_pending CHECK ((due_date IS NULL) = (due_pending IS NOT NULL));
CREATE INDEX obligations_due_pending ON obligations (id) WHERE due_date IS NULL;

-- The day the money was received (the value date on the bank or payment record): deadlines run
-- from it, not from when a clerk got round to recording it.
ALTER TABLE settlement_orders ADD COLUMN received_on date;
UPDATE settlement_orders SET received_on = (paid_at AT TIME ZONE 'Asia/Shanghai')::date WHERE paid_at IS NOT NULL;
ALTER TABLE settlement_orders ADD CONSTRAINT settlement_orders_received CHECK ((paid_at IS NULL) = (received_on IS NULL));

-- A payment that reached the venue but could not be settled (an unexpected failure): the sweeper
-- never cancels such an order or forfeits its deposit; a clerk sees it in `datavenue check`.
ALTER TABLE settlement_orders ADD COLUMN payment_claimed_at timestamptz;
ALTER TABLE settlement_orders ADD COLUMN payment_claim text;

-- +goose Down
ALTER TABLE settlement_orders DROP COLUMN payment_claim;
ALTER TABLE settlement_orders DROP COLUMN payment_claimed_at;
ALTER TABLE settlement_orders DROP CONSTRAINT settlement_orders_received;
ALTER TABLE settlement_orders DROP COLUMN received_on;
DROP INDEX obligations_due_pending;
ALTER TABLE obligations DROP CONSTRAINT obligations_due_date_or_pending;
ALTER TABLE obligations DROP COLUMN due_pending;
ALTER TABLE obligations ALTER COLUMN due_date SET NOT NULL;
