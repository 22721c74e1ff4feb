-- The double-entry ledger: accounts per party and purpose, immutable transactions of postings that
-- the database itself keeps balanced (debits equal credits) whatever the code does.

-- +goose Up
CREATE TABLE ledger_accounts (
    id         text PRIMARY KEY CHECK (id ~ '^acc_[a-z_]+(:org_[0-9A-Z]{26})?$'),
    party_id   text REFERENCES organisations (id),
    purpose    text NOT NULL CHECK (purpose IN ('clearing', 'deposits_held', 'payable', 'due_to_treasury', 'remitted', 'venue_fees', 'paid_out')),
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE NULLS NOT DISTINCT (party_id, purpose)
);

CREATE TABLE ledger_transactions (
    id              text PRIMARY KEY CHECK (id ~ '^ltx_[0-9A-Z]{26}$'),
    kind            text NOT NULL CHECK (char_length(kind) BETWEEN 1 AND 50),
    source_id       text NOT NULL,
    idempotency_key text NOT NULL UNIQUE, -- a retried settlement finds its transaction, never posts twice
    reverses        text UNIQUE REFERENCES ledger_transactions (id), -- a correction is a reversal, at most one
    memo            text NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL DEFAULT now()
);

-- Amounts are signed: a debit is positive, a credit negative; a transaction's postings sum to zero.
CREATE TABLE ledger_postings (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    transaction_id text NOT NULL REFERENCES ledger_transactions (id),
    account_id     text NOT NULL REFERENCES ledger_accounts (id),
    amount         numeric(17, 2) NOT NULL CHECK (amount <> 0)
);
CREATE INDEX ledger_postings_account ON ledger_postings (account_id);
CREATE INDEX ledger_postings_transaction ON ledger_postings (transaction_id);

CREATE TRIGGER ledger_transactions_append_only BEFORE UPDATE OR DELETE ON ledger_transactions
    FOR EACH ROW EXECUTE FUNCTION forbid_change();
CREATE TRIGGER ledger_postings_append_only BEFORE UPDATE OR DELETE ON ledger_postings
    FOR EACH ROW EXECUTE FUNCTION forbid_change();

-- Balance is checked at commit (a deferred constraint trigger), when all of a transaction's
-- postings are in: a transaction whose debits and credits differ, or that has fewer than two
-- postings, cannot commit.
-- +goose StatementBegin
CREATE FUNCTION ledger_transaction_balanced() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    total numeric;
    n int;
BEGIN
    SELECT coalesce(sum(amount), 0), count(*) INTO total, n FROM ledger_postings WHERE transaction_id = NEW.transaction_id;
    IF total <> 0 OR n < 2 THEN
        RAISE EXCEPTION 'ledger transaction % is not balanced (sum %, % postings)', NEW.transaction_id, total, n
            USING ERRCODE = 'check_violation', CONSTRAINT = 'ledger_transaction_balanced';
    END IF;
    RETURN NULL;
END
$$;
-- +goose StatementEnd
CREATE CONSTRAINT TRIGGER ledger_postings_balanced AFTER INSERT ON ledger_postings
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_transaction_balanced();

-- +goose Down
DROP TABLE ledger_postings;
DROP TABLE ledger_transactions;
DROP TABLE ledger_accounts;
DROP FUNCTION ledger_transaction_balanced();
