-- Certified data assets: asset cards with versions, certificate applications and reviews, signed
-- certificates, scenario authorisations, usage/disposal approvals, appraisals, and the event outbox
-- that tells listing and matching when a certificate or grant stops holding.

-- +goose Up

-- forbid_change makes a table append-only.
-- +goose StatementBegin
CREATE FUNCTION forbid_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only (% refused)', TG_TABLE_NAME, TG_OP USING ERRCODE = 'insufficient_privilege';
END
$$;
-- +goose StatementEnd

-- (id, kind) is unique so that other tables can require, by foreign key, that an organisation they
-- name is of the right kind (a holder is a government unit or state enterprise, an appraiser is an
-- appraiser) even if application code forgets to check.
ALTER TABLE organisations ADD CONSTRAINT organisations_id_kind UNIQUE (id, kind);

CREATE TABLE assets (
    id                 text PRIMARY KEY CHECK (id ~ '^ast_[0-9A-Z]{26}$'),
    holder_id          text NOT NULL,
    holder_kind        text NOT NULL CHECK (holder_kind IN ('government_unit', 'state_enterprise')),
    version            int NOT NULL CHECK (version >= 1),
    category           text NOT NULL CHECK (category IN ('data_resource', 'data_asset')),
    name               text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
    summary            text NOT NULL CHECK (char_length(summary) <= 2000),
    rights             text[] NOT NULL CHECK (cardinality(rights) >= 1 AND rights <@ ARRAY['holding', 'processing', 'operating']),
    classification     text NOT NULL CHECK (char_length(classification) BETWEEN 1 AND 100),
    grade              text NOT NULL CHECK (grade IN ('general', 'important', 'core')),
    source             text NOT NULL CHECK (char_length(source) BETWEEN 1 AND 500),
    shared_from        text REFERENCES organisations (id),
    shared_consent_ref text CHECK (char_length(shared_consent_ref) BETWEEN 1 AND 200),
    scale              text NOT NULL CHECK (char_length(scale) <= 200),
    update_frequency   text NOT NULL CHECK (update_frequency IN ('realtime', 'daily', 'weekly', 'monthly', 'quarterly', 'yearly', 'irregular', 'static')),
    acquisition_mode   text NOT NULL CHECK (acquisition_mode IN ('self_built', 'purchased', 'shared', 'donated', 'other')),
    cost_components    jsonb NOT NULL,
    original_cost      numeric(17, 2) NOT NULL CHECK (original_cost >= 0),
    measurement_basis  text NOT NULL CHECK (measurement_basis IN ('cost', 'nominal')),
    book_value         numeric(17, 2) NOT NULL,
    accounting_status  text NOT NULL CHECK (accounting_status IN ('not_booked', 'memorandum', 'booked')),
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (holder_id, holder_kind) REFERENCES organisations (id, kind),
    -- G4: where cost is not reliably measurable the asset is booked at a nominal 1 yuan; otherwise
    -- at cost. Either way the book value never exceeds what is justified: values are not inflated.
    CONSTRAINT assets_nominal_is_one_yuan CHECK (measurement_basis <> 'nominal' OR book_value = 1.00),
    CONSTRAINT assets_cost_is_book_value CHECK (measurement_basis <> 'cost' OR book_value = original_cost),
    CONSTRAINT assets_shared_names_source CHECK ((acquisition_mode = 'shared') = (shared_from IS NOT NULL)),
    CONSTRAINT assets_consent_only_for_shared CHECK (shared_consent_ref IS NULL OR shared_from IS NOT NULL)
);
CREATE INDEX assets_holder ON assets (holder_id, id);

-- Every version of every card, the first included; a change never overwrites silently.
CREATE TABLE asset_versions (
    asset_id       text NOT NULL REFERENCES assets (id),
    version        int NOT NULL CHECK (version >= 1),
    snapshot       jsonb NOT NULL,
    change_reason  text NOT NULL CHECK (char_length(change_reason) BETWEEN 1 AND 500),
    changed_by_org text NOT NULL,
    changed_by     text NOT NULL,
    changed_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (asset_id, version)
);
CREATE TRIGGER asset_versions_append_only BEFORE UPDATE OR DELETE ON asset_versions
    FOR EACH ROW EXECUTE FUNCTION forbid_change();

CREATE TABLE certificate_applications (
    id                  text PRIMARY KEY CHECK (id ~ '^cap_[0-9A-Z]{26}$'),
    kind                text NOT NULL CHECK (kind IN ('resource', 'asset')),
    asset_id            text NOT NULL REFERENCES assets (id),
    asset_version       int NOT NULL,
    holder_id           text NOT NULL REFERENCES organisations (id),
    amends              text, -- certificate id this application changes (a change registration)
    revision            int NOT NULL CHECK (revision >= 1),
    status              text NOT NULL CHECK (status IN ('submitted', 'rejected', 'issued', 'withdrawn')),
    scope_scenarios     text[] NOT NULL CHECK (cardinality(scope_scenarios) >= 1),
    scope_product_types text[] NOT NULL CHECK (cardinality(scope_product_types) >= 1),
    materials           jsonb NOT NULL,
    concurrence         jsonb,
    certificate_id      text,
    submitted_at        timestamptz NOT NULL DEFAULT now(),
    decided_at          timestamptz,
    FOREIGN KEY (asset_id, asset_version) REFERENCES asset_versions (asset_id, version),
    CONSTRAINT certificate_applications_issued_has_certificate CHECK ((status = 'issued') = (certificate_id IS NOT NULL))
);
-- One open application per asset and kind: a second would race the first to a certificate.
CREATE UNIQUE INDEX certificate_applications_one_open ON certificate_applications (asset_id, kind) WHERE status = 'submitted';

CREATE TABLE application_reviews (
    application_id text NOT NULL REFERENCES certificate_applications (id),
    revision       int NOT NULL,
    item           text NOT NULL CHECK (item IN ('legality', 'product_info', 'scenario_info', 'security_risk', 'source_compliance')),
    verdict        text NOT NULL CHECK (verdict IN ('pass', 'fail')),
    comment        text NOT NULL CHECK (char_length(comment) <= 2000),
    reviewer_org   text NOT NULL,
    reviewer       text NOT NULL,
    reviewed_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (application_id, revision, item)
);
CREATE TRIGGER application_reviews_append_only BEFORE UPDATE OR DELETE ON application_reviews
    FOR EACH ROW EXECUTE FUNCTION forbid_change();

CREATE SEQUENCE certificate_number_resource;
CREATE SEQUENCE certificate_number_asset;

CREATE TABLE certificates (
    id                  text PRIMARY KEY CHECK (id ~ '^crt_[0-9A-Z]{26}$'),
    number              text NOT NULL CHECK (number ~ '^D[RA]-[0-9]{4}-[0-9]{6}$'),
    version             int NOT NULL CHECK (version >= 1),
    kind                text NOT NULL CHECK (kind IN ('resource', 'asset')),
    amendment           text NOT NULL CHECK (amendment IN ('original', 'change', 'correction')),
    amendment_reason    text,
    application_id      text REFERENCES certificate_applications (id),
    asset_id            text NOT NULL,
    asset_version       int NOT NULL,
    holder_id           text NOT NULL REFERENCES organisations (id),
    scope_scenarios     text[] NOT NULL CHECK (cardinality(scope_scenarios) >= 1),
    scope_product_types text[] NOT NULL CHECK (cardinality(scope_product_types) >= 1),
    issuer_org          text NOT NULL REFERENCES organisations (id),
    issued_by           text NOT NULL,
    concurring_org      text REFERENCES organisations (id),
    issued_at           timestamptz NOT NULL,
    valid_from          date NOT NULL,
    valid_until         date NOT NULL,
    status              text NOT NULL CHECK (status IN ('valid', 'superseded', 'cancelled', 'expired')),
    superseded_by       text REFERENCES certificates (id) DEFERRABLE INITIALLY DEFERRED, -- set before its successor is inserted
    cancelled_at        timestamptz,
    cancellation_reason text,
    kid                 text NOT NULL,
    document            text NOT NULL,
    UNIQUE (number, version),
    FOREIGN KEY (asset_id, asset_version) REFERENCES asset_versions (asset_id, version),
    CONSTRAINT certificates_valid_dates CHECK (valid_until >= valid_from),
    CONSTRAINT certificates_cancelled_has_reason CHECK ((status = 'cancelled') = (cancellation_reason IS NOT NULL AND cancelled_at IS NOT NULL)),
    CONSTRAINT certificates_superseded_has_successor CHECK ((status = 'superseded') = (superseded_by IS NOT NULL)),
    CONSTRAINT certificates_amendment_has_reason CHECK ((amendment = 'original') = (amendment_reason IS NULL)),
    -- A data asset certificate is issued by the finance bureau with the data bureau's concurrence.
    CONSTRAINT certificates_asset_concurrence CHECK ((kind = 'asset') = (concurring_org IS NOT NULL))
);
-- At most one version of a certificate number holds at a time.
CREATE UNIQUE INDEX certificates_one_valid_version ON certificates (number) WHERE status = 'valid';
CREATE INDEX certificates_asset ON certificates (asset_id, kind);
ALTER TABLE certificate_applications ADD FOREIGN KEY (certificate_id) REFERENCES certificates (id);
ALTER TABLE certificate_applications ADD FOREIGN KEY (amends) REFERENCES certificates (id);

CREATE TABLE authorisations (
    id                 text PRIMARY KEY CHECK (id ~ '^aut_[0-9A-Z]{26}$'),
    asset_id           text NOT NULL REFERENCES assets (id),
    operator_id        text NOT NULL REFERENCES organisations (id),
    scenario           text NOT NULL CHECK (char_length(scenario) BETWEEN 1 AND 500),
    product_types      text[] NOT NULL CHECK (cardinality(product_types) >= 1),
    conditions         text NOT NULL CHECK (char_length(conditions) <= 2000),
    valid_from         date NOT NULL,
    valid_until        date NOT NULL,
    version            int NOT NULL CHECK (version >= 1),
    status             text NOT NULL CHECK (status IN ('active', 'revoked', 'expired')),
    granted_by_org     text NOT NULL REFERENCES organisations (id),
    granted_by         text NOT NULL,
    granted_at         timestamptz NOT NULL DEFAULT now(),
    revoked_at         timestamptz,
    revocation_reason  text,
    CONSTRAINT authorisations_valid_dates CHECK (valid_until >= valid_from),
    CONSTRAINT authorisations_revoked_has_reason CHECK ((status = 'revoked') = (revocation_reason IS NOT NULL AND revoked_at IS NOT NULL))
);
-- D9 "one scenario, one authorisation": an asset's scenario is granted to one operator at a time.
CREATE UNIQUE INDEX authorisations_one_per_scenario ON authorisations (asset_id, scenario) WHERE status = 'active';

CREATE TABLE authorisation_changes (
    authorisation_id text NOT NULL REFERENCES authorisations (id),
    version          int NOT NULL,
    change           text NOT NULL CHECK (change IN ('granted', 'narrowed', 'revoked', 'expired')),
    product_types    text[] NOT NULL,
    valid_until      date NOT NULL,
    conditions       text NOT NULL,
    reason           text NOT NULL,
    changed_by_org   text NOT NULL,
    changed_by       text NOT NULL,
    changed_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (authorisation_id, version, change)
);
CREATE TRIGGER authorisation_changes_append_only BEFORE UPDATE OR DELETE ON authorisation_changes
    FOR EACH ROW EXECUTE FUNCTION forbid_change();

CREATE TABLE authorisation_assessments (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    authorisation_id text NOT NULL REFERENCES authorisations (id),
    period           text NOT NULL CHECK (char_length(period) BETWEEN 1 AND 50),
    result           text NOT NULL CHECK (result IN ('satisfactory', 'needs_improvement', 'unsatisfactory')),
    comment          text NOT NULL CHECK (char_length(comment) <= 2000),
    assessed_by_org  text NOT NULL,
    assessed_by      text NOT NULL,
    assessed_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (authorisation_id, period)
);

CREATE TABLE approvals (
    id                    text PRIMARY KEY CHECK (id ~ '^apv_[0-9A-Z]{26}$'),
    asset_id              text NOT NULL REFERENCES assets (id),
    holder_id             text NOT NULL REFERENCES organisations (id),
    purpose               text NOT NULL CHECK (purpose IN ('paid_use', 'disposal')),
    scenario              text NOT NULL CHECK (char_length(scenario) BETWEEN 1 AND 500),
    pricing_methods       text[] NOT NULL CHECK (cardinality(pricing_methods) >= 1 AND pricing_methods <@ ARRAY['guided', 'appraisal', 'auction', 'negotiation']),
    internal_decision_ref text NOT NULL CHECK (char_length(internal_decision_ref) BETWEEN 1 AND 200),
    route                 text NOT NULL CHECK (route IN ('finance_bureau', 'own')),
    own_approver          text CHECK (char_length(own_approver) BETWEEN 1 AND 200),
    status                text NOT NULL CHECK (status IN ('submitted', 'approved', 'rejected', 'recorded')),
    decided_by_org        text REFERENCES organisations (id),
    decided_by            text,
    decided_at            timestamptz,
    decision_comment      text,
    valid_from            date,
    valid_until           date,
    submitted_at          timestamptz NOT NULL DEFAULT now(),
    lapsed_at             timestamptz, -- when the sweep announced that its validity ended
    -- D10: a government unit's paid use or disposal is approved by the finance bureau; a state
    -- enterprise records its own approval route, which the venue does not second-guess.
    CONSTRAINT approvals_route_status CHECK (
        (route = 'finance_bureau' AND status IN ('submitted', 'approved', 'rejected') AND own_approver IS NULL)
        OR (route = 'own' AND status = 'recorded' AND own_approver IS NOT NULL)),
    CONSTRAINT approvals_granted_has_validity CHECK (
        (status IN ('approved', 'recorded')) = (valid_from IS NOT NULL AND valid_until IS NOT NULL)),
    CONSTRAINT approvals_valid_dates CHECK (valid_until >= valid_from),
    CONSTRAINT approvals_decided CHECK ((status IN ('approved', 'rejected')) = (decided_at IS NOT NULL))
);
CREATE INDEX approvals_asset ON approvals (asset_id);

CREATE TABLE appraisals (
    id             text PRIMARY KEY CHECK (id ~ '^apr_[0-9A-Z]{26}$'),
    asset_id       text NOT NULL REFERENCES assets (id),
    appraiser_id   text NOT NULL,
    appraiser_kind text NOT NULL DEFAULT 'appraiser' CHECK (appraiser_kind = 'appraiser'),
    report_number  text NOT NULL CHECK (char_length(report_number) BETWEEN 1 AND 100),
    method         text NOT NULL CHECK (method IN ('cost', 'income', 'market')),
    value          numeric(17, 2) NOT NULL CHECK (value > 0),
    valuation_date date NOT NULL,
    valid_until    date NOT NULL CHECK (valid_until >= valuation_date),
    recorded_by    text NOT NULL,
    recorded_at    timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (appraiser_id, appraiser_kind) REFERENCES organisations (id, kind),
    UNIQUE (appraiser_id, report_number)
);
CREATE INDEX appraisals_asset ON appraisals (asset_id);

-- The outbox: events written in the transaction of the change they announce; consumers (listing,
-- matching) read them in id order from their own cursor, at least once.
CREATE TABLE events (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    type         text NOT NULL CHECK (type ~ '^[a-z_]+\.[a-z_]+$'),
    subject_id   text NOT NULL,
    asset_id     text NOT NULL,
    payload      jsonb NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION forbid_change();

CREATE TABLE event_cursors (
    consumer   text PRIMARY KEY,
    last_id    bigint NOT NULL DEFAULT 0,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- +goose Down
DROP TABLE event_cursors;
DROP TABLE events;
DROP TABLE appraisals;
DROP TABLE approvals;
DROP TABLE authorisation_assessments;
DROP TABLE authorisation_changes;
DROP TABLE authorisations;
ALTER TABLE certificate_applications DROP CONSTRAINT certificate_applications_certificate_id_fkey;
ALTER TABLE certificate_applications DROP CONSTRAINT certificate_applications_amends_fkey;
DROP TABLE certificates;
DROP SEQUENCE certificate_number_asset;
DROP SEQUENCE certificate_number_resource;
DROP TABLE application_reviews;
DROP TABLE certificate_applications;
DROP TABLE asset_versions;
DROP TABLE assets;
ALTER TABLE organisations DROP CONSTRAINT organisations_id_kind;
DROP FUNCTION forbid_change();
