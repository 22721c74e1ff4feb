-- Settlement lifecycle: deposits in the ledger from the day they are received, forfeiture of an
-- unpaid winner's deposit with the order cancelled, automatic confirmation of deliveries, and
-- payments by a provider's callback or in instalments.

-- +goose Up
-- A forfeited deposit is credited to the venue's forfeited-deposits account, where it waits for
-- the clerk's decision on compensation (the pilot plans say nothing of who receives it).
ALTER TABLE ledger_accounts DROP CONSTRAINT ledger_accounts_purpose_check;
ALTER TABLE ledger_accounts ADD CONSTRAINT ledger_accounts_purpose_check
    CHECK (purpose IN ('clearing', 'deposits_held', 'payable', 'due_to_treasury', 'remitted', 'venue_fees', 'paid_out', 'forfeited_deposits'));

ALTER TABLE auction_deposits DROP CONSTRAINT auction_deposits_outcome_check;
ALTER TABLE auction_deposits ADD CONSTRAINT auction_deposits_outcome_check
    CHECK (outcome IN ('held', 'apply', 'release', 'forfeit'));
ALTER TABLE auction_deposits ADD COLUMN amount numeric(17, 2) CHECK (amount >= 0); -- booked in the ledger when received

ALTER TABLE settlement_orders ADD COLUMN cancelled_at timestamptz;
ALTER TABLE settlement_orders ADD COLUMN cancel_reason text;
ALTER TABLE settlement_orders ADD COLUMN deposit_forfeited numeric(17, 2) NOT NULL DEFAULT 0 CHECK (deposit_forfeited >= 0);
ALTER TABLE settlement_orders ADD COLUMN confirmed_by text CHECK (confirmed_by IN ('buyer', 'auto'));
ALTER TABLE settlement_orders ADD COLUMN paid_via text CHECK (paid_via IN ('clerk', 'callback'));
ALTER TABLE settlement_orders ADD COLUMN income_kind text NOT NULL DEFAULT 'one_off' CHECK (income_kind IN ('one_off', 'instalment'));
ALTER TABLE settlement_orders ADD CONSTRAINT settlement_orders_cancelled
    CHECK ((status = 'cancelled') = (cancelled_at IS NOT NULL AND cancel_reason IS NOT NULL));
-- Only an order cancelled for non-payment forfeits, and never more than the deposit applied.
ALTER TABLE settlement_orders ADD CONSTRAINT settlement_orders_forfeit
    CHECK (deposit_forfeited = 0 OR (status = 'cancelled' AND deposit_forfeited = deposit_applied));
-- A party may hold two roles in an agreement (collector and processor): one share per role, both
-- booked to the party's account.
ALTER TABLE settlement_shares DROP CONSTRAINT settlement_shares_pkey;
ALTER TABLE settlement_shares ADD PRIMARY KEY (order_id, account, role);
CREATE INDEX settlement_orders_open ON settlement_orders (status, payment_due) WHERE status IN ('awaiting_payment', 'delivered');

-- +goose Down
DROP INDEX settlement_orders_open;
ALTER TABLE settlement_shares DROP CONSTRAINT settlement_shares_pkey;
ALTER TABLE settlement_shares ADD PRIMARY KEY (order_id, account);
ALTER TABLE settlement_orders DROP CONSTRAINT settlement_orders_forfeit;
ALTER TABLE settlement_orders DROP CONSTRAINT settlement_orders_cancelled;
ALTER TABLE settlement_orders DROP COLUMN income_kind;
ALTER TABLE settlement_orders DROP COLUMN paid_via;
ALTER TABLE settlement_orders DROP COLUMN confirmed_by;
ALTER TABLE settlement_orders DROP COLUMN deposit_forfeited;
ALTER TABLE settlement_orders DROP COLUMN cancel_reason;
ALTER TABLE settlement_orders DROP COLUMN cancelled_at;
ALTER TABLE auction_deposits DROP COLUMN amount;
ALTER TABLE auction_deposits DROP CONSTRAINT auction_deposits_outcome_check;
ALTER TABLE auction_deposits ADD CONSTRAINT auction_deposits_outcome_check CHECK (outcome IN ('held', 'apply', 'release'));
ALTER TABLE ledger_accounts DROP CONSTRAINT ledger_accounts_purpose_check;
ALTER TABLE ledger_accounts ADD CONSTRAINT ledger_accounts_purpose_check
    CHECK (purpose IN ('clearing', 'deposits_held', 'payable', 'due_to_treasury', 'remitted', 'venue_fees', 'paid_out'));
