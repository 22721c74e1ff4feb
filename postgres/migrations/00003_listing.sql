-- Listing: data products, their versioned prices, the publishing gate's inputs, and the catalogue's
-- search index (CJK bigrams and Latin words as a tsvector, computed by the application).

-- +goose Up
CREATE TABLE products (
    id               text PRIMARY KEY CHECK (id ~ '^prd_[0-9A-Z]{26}$'),
    operator_id      text NOT NULL REFERENCES organisations (id),
    holder_ids       text[] NOT NULL CHECK (cardinality(holder_ids) >= 1),
    title            text NOT NULL CHECK (char_length(title) BETWEEN 1 AND 200),
    title_en         text NOT NULL CHECK (char_length(title_en) <= 200),
    description      text NOT NULL CHECK (char_length(description) BETWEEN 1 AND 5000),
    description_en   text NOT NULL CHECK (char_length(description_en) <= 5000),
    product_type     text NOT NULL CHECK (product_type IN ('dataset', 'api_service', 'data_report', 'model',
                         'sandbox_access', 'privacy_computing', 'published_data', 'raw_data')),
    domain           text NOT NULL,
    scenario         text NOT NULL CHECK (char_length(scenario) BETWEEN 1 AND 500),
    keywords         text[] NOT NULL,
    delivery         jsonb NOT NULL,
    update_frequency text NOT NULL,
    data_schema      jsonb NOT NULL,
    sample           jsonb NOT NULL,
    licence          jsonb NOT NULL,
    use_category     text NOT NULL CHECK (use_category IN ('public_governance', 'public_welfare', 'industry')),
    pricing_method   text NOT NULL CHECK (pricing_method IN ('guided', 'appraisal', 'auction', 'negotiation', 'free')),
    pricing          jsonb NOT NULL,
    ref_price        numeric(17, 2) NOT NULL CHECK (ref_price >= 0), -- the price the catalogue filters and sorts on
    price_version    int NOT NULL CHECK (price_version >= 1),
    allow_list       text[] NOT NULL,
    deny_list        text[] NOT NULL,
    status           text NOT NULL CHECK (status IN ('draft', 'submitted', 'published', 'suspended', 'delisted')),
    suspension       jsonb, -- why and by whom, while suspended
    version          int NOT NULL CHECK (version >= 1),
    search           tsvector NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    published_at     timestamptz,
    CONSTRAINT products_free_is_zero CHECK (pricing_method <> 'free' OR ref_price = 0),
    -- G7: industry use is paid; only public governance and public welfare may be free.
    CONSTRAINT products_industry_paid CHECK (use_category <> 'industry' OR pricing_method <> 'free'),
    CONSTRAINT products_suspension_reason CHECK ((status = 'suspended') = (suspension IS NOT NULL)),
    CONSTRAINT products_published_at CHECK (status IN ('draft', 'submitted') OR published_at IS NOT NULL),
    -- D15: unpublished raw data never reaches the market.
    CONSTRAINT products_no_raw_data_on_market CHECK (product_type <> 'raw_data' OR status IN ('draft', 'delisted'))
);
CREATE INDEX products_search ON products USING gin (search) WHERE status IN ('published', 'suspended');
CREATE INDEX products_published ON products (published_at DESC, id DESC) WHERE status = 'published';
CREATE INDEX products_price ON products (ref_price, id) WHERE status = 'published';
CREATE INDEX products_operator ON products (operator_id, id);
CREATE INDEX products_holders ON products USING gin (holder_ids);
CREATE INDEX products_facets ON products (domain, product_type, pricing_method, use_category) WHERE status = 'published';

CREATE TABLE product_assets (
    product_id text NOT NULL REFERENCES products (id),
    asset_id   text NOT NULL REFERENCES assets (id),
    PRIMARY KEY (product_id, asset_id)
);
CREATE INDEX product_assets_asset ON product_assets (asset_id);

-- Every price a product has had: a published product's price is changed by adding a version.
CREATE TABLE product_prices (
    product_id     text NOT NULL REFERENCES products (id),
    version        int NOT NULL CHECK (version >= 1),
    pricing_method text NOT NULL,
    pricing        jsonb NOT NULL,
    ref_price      numeric(17, 2) NOT NULL,
    reason         text NOT NULL,
    changed_by_org text NOT NULL,
    changed_by     text NOT NULL,
    changed_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (product_id, version)
);
CREATE TRIGGER product_prices_append_only BEFORE UPDATE OR DELETE ON product_prices
    FOR EACH ROW EXECUTE FUNCTION forbid_change();

-- +goose Down
DROP TABLE product_prices;
DROP TABLE product_assets;
DROP TABLE products;
