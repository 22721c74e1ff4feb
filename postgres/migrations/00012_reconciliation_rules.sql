-- +goose Up
-- Reconciliation against the seeds' rules (issue 17): money paid into another level's treasury
-- is not a remittance (wrong_treasury); a receipt naming another paying unit than its payment
-- code's is flagged (unit_mismatch); an over-payment's excess is booked to the unit's treasury
-- suspense account and its amount kept on the exception.
ALTER TABLE ledger_accounts DROP CONSTRAINT ledger_accounts_purpose_check;
ALTER TABLE ledger_accounts ADD CONSTRAINT ledger_accounts_purpose_check
    CHECK (purpose IN ('clearing', 'deposits_held', 'payable', 'due_to_treasury', 'remitted', 'venue_fees', 'paid_out', 'forfeited_deposits',
        'treasury_suspense'));
ALTER TABLE receipts DROP CONSTRAINT receipts_outcome_check;
ALTER TABLE receipts ADD CONSTRAINT receipts_outcome_check
    CHECK (outcome IN ('matched', 'partial', 'over_paid', 'duplicate', 'unmatched', 'wrong_treasury'));
ALTER TABLE reconciliation_exceptions DROP CONSTRAINT reconciliation_exceptions_kind_check;
ALTER TABLE reconciliation_exceptions ADD CONSTRAINT reconciliation_exceptions_kind_check
    CHECK (kind IN ('partial', 'over_paid', 'duplicate', 'unmatched', 'missing', 'wrong_treasury', 'unit_mismatch'));
ALTER TABLE reconciliation_exceptions ADD COLUMN amount numeric(17, 2) CHECK (amount >= 0);

-- G6: a government unit files its usage and disposal income (备案) with the finance department
-- itself, besides remitting it; a state enterprise files with its supervisor and copies (抄送) the
-- finance department.
ALTER TABLE obligations DROP CONSTRAINT obligations_kind_check;
ALTER TABLE obligations ADD CONSTRAINT obligations_kind_check CHECK (kind IN ('treasury_remittance', 'supervisor_filing', 'finance_filing'));
ALTER TABLE obligations ADD COLUMN copy_to text;

-- +goose Down
ALTER TABLE obligations DROP COLUMN copy_to;
DELETE FROM obligations WHERE kind = 'finance_filing';
ALTER TABLE obligations DROP CONSTRAINT obligations_kind_check;
ALTER TABLE obligations ADD CONSTRAINT obligations_kind_check CHECK (kind IN ('treasury_remittance', 'supervisor_filing'));
ALTER TABLE reconciliation_exceptions DROP COLUMN amount;
