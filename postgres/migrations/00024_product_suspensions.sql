-- +goose Up
-- The suspension history of products (issue 15): one interval per suspension, opened when a
-- product is suspended and closed (lifted_at) when it is reinstated or delisted. A product's
-- `suspension` column only says why it is suspended *now*; metering needs the past too: a late
-- usage record (within the grace window) dated inside a suspension that has since been lifted
-- must be refused like one reported during it (delivery had to stop then).
CREATE TABLE product_suspensions (
    product_id   text NOT NULL REFERENCES products (id),
    suspended_at timestamptz NOT NULL,
    lifted_at    timestamptz,
    by_whom      text NOT NULL CHECK (by_whom IN ('automatic', 'bureau', 'operator')),
    reason       text NOT NULL,
    PRIMARY KEY (product_id, suspended_at),
    CONSTRAINT product_suspensions_order CHECK (lifted_at IS NULL OR lifted_at >= suspended_at)
);
-- At most one open interval per product: a suspension is lifted before the next one opens.
CREATE UNIQUE INDEX product_suspensions_open ON product_suspensions (product_id) WHERE lifted_at IS NULL;

-- The history agrees with the product at commit (a deferred constraint trigger, as the ledger's
-- balance): a suspended product has exactly one open interval, any other product none, and a new
-- interval never starts before the previous one was lifted. A Transition that forgot the history
-- cannot commit.
-- +goose StatementBegin
CREATE FUNCTION product_suspension_history_agrees() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    st text;
    open_n int;
    overlap int;
BEGIN
    SELECT status INTO st FROM products WHERE id = NEW.product_id;
    SELECT count(*) INTO open_n FROM product_suspensions WHERE product_id = NEW.product_id AND lifted_at IS NULL;
    SELECT count(*) INTO overlap FROM product_suspensions a JOIN product_suspensions b
        ON a.product_id = b.product_id AND a.suspended_at < b.suspended_at
        WHERE a.product_id = NEW.product_id AND (a.lifted_at IS NULL OR a.lifted_at > b.suspended_at);
    IF (st = 'suspended') <> (open_n = 1) OR overlap > 0 THEN
        RAISE EXCEPTION 'product % (%) has % open suspension intervals, % overlapping', NEW.product_id, st, open_n, overlap
            USING ERRCODE = 'check_violation', CONSTRAINT = 'product_suspension_history_agrees';
    END IF;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

-- The same check from the product's side (a status change with no interval opened or closed).
-- +goose StatementBegin
CREATE FUNCTION product_suspension_history_agrees_product() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    open_n int;
BEGIN
    SELECT count(*) INTO open_n FROM product_suspensions WHERE product_id = NEW.id AND lifted_at IS NULL;
    IF (NEW.status = 'suspended') <> (open_n = 1) THEN
        RAISE EXCEPTION 'product % (%) has % open suspension intervals', NEW.id, NEW.status, open_n
            USING ERRCODE = 'check_violation', CONSTRAINT = 'product_suspension_history_agrees';
    END IF;
    RETURN NULL;
END
$$;
-- +goose StatementEnd
CREATE CONSTRAINT TRIGGER product_suspensions_agree AFTER INSERT OR UPDATE ON product_suspensions
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION product_suspension_history_agrees();
-- Only a status change (or a product inserted suspended) can part the two: the catalogue seeder's
-- bulk inserts of published products and every edit that keeps the status queue no check.
CREATE CONSTRAINT TRIGGER products_suspension_history_insert AFTER INSERT ON products
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (NEW.status = 'suspended')
    EXECUTE FUNCTION product_suspension_history_agrees_product();
CREATE CONSTRAINT TRIGGER products_suspension_history AFTER UPDATE OF status ON products
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (NEW.status IS DISTINCT FROM OLD.status)
    EXECUTE FUNCTION product_suspension_history_agrees_product();

-- The products suspended today open their interval at the suspension's recorded instant (the
-- earlier suspensions were not kept: history starts with this migration).
INSERT INTO product_suspensions (product_id, suspended_at, by_whom, reason)
SELECT id, coalesce((suspension->>'at')::timestamptz, updated_at), coalesce(suspension->>'by', 'automatic'), coalesce(suspension->>'reason', '')
FROM products WHERE status = 'suspended';

-- +goose Down
DROP TRIGGER products_suspension_history ON products;
DROP TRIGGER products_suspension_history_insert ON products;
DROP TABLE product_suspensions;
DROP FUNCTION product_suspension_history_agrees_product();
DROP FUNCTION product_suspension_history_agrees();
