package listing

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"time"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/money"
)

// Sort orders of the catalogue. relevance needs a query (there is nothing to rank without one);
// price sorts use RefPrice, the one price every pricing method has.
var Sorts = []string{"relevance", "newest", "price_asc", "price_desc"}

// SearchQuery is a catalogue search.
type SearchQuery struct {
	Text          string // the user's words; Terms is what is searched
	Terms         string // tsquery text from Query(Text)
	Domain        string
	ProductType   string
	PricingMethod string
	Holder        datavenue.OrgID
	UseCategory   string
	MinPrice      *money.Yuan
	MaxPrice      *money.Yuan
	Status        string // published (default) or suspended
	Sort          string
	After         *Cursor
	Limit         int
	Facets        bool
}

// Cursor is the keyset position after the last entry of a page, for the query's sort order: the
// sort key of that entry and its id as the tie-breaker. Keyset rather than offset, so a product
// published while a client pages neither repeats nor skips an entry. The rank is kept as its exact
// text: a float read back with another rounding could land on the wrong side of the last entry.
type Cursor struct {
	Sort        string    `json:"s"`
	ID          string    `json:"i"`
	Rank        string    `json:"r,omitempty"` // exact text of the real-valued rank
	Price       string    `json:"p,omitempty"`
	PublishedAt time.Time `json:"t,omitempty"`
}

// Encode makes the cursor opaque for clients.
func (c Cursor) Encode() string {
	raw, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(raw)
}

// DecodeCursor reads a cursor a client sent back. Anything that does not decode to a cursor with
// an id (truncated, edited, from another list) is a 422 on the cursor, never a silent first page.
func DecodeCursor(s string) (*Cursor, error) {
	raw, err := base64.RawURLEncoding.DecodeString(s)
	var c Cursor
	if err != nil || json.Unmarshal(raw, &c) != nil || c.ID == "" {
		return nil, datavenue.Invalid("validation_failed", "invalid cursor",
			datavenue.FieldError{Field: "cursor", Code: "invalid_cursor", Message: "cursor must be a next_cursor value from a previous page"})
	}
	return &c, nil
}

// Entry is a product as the catalogue lists it (without schema and sample, which the product
// page has). Price is the product's RefPrice; Rank is the match's rank when the search has words
// (absent without them).
type Entry struct {
	ID            string            `json:"id"`
	Title         string            `json:"title"`
	TitleEN       string            `json:"title_en,omitempty"`
	Description   string            `json:"description"`
	ProductType   string            `json:"product_type"`
	Domain        string            `json:"domain"`
	UseCategory   string            `json:"use_category"`
	PricingMethod string            `json:"pricing_method"`
	Price         money.Yuan        `json:"price"`
	Currency      string            `json:"currency"`
	OperatorID    datavenue.OrgID   `json:"operator_id"`
	HolderIDs     []datavenue.OrgID `json:"holder_ids"`
	Status        string            `json:"status"`
	PublishedAt   time.Time         `json:"published_at"`
	Rank          float32           `json:"rank,omitempty"`
}

// SearchResult is one page of a search, with facet counts over all matches. Total and facets are
// exact up to ExactMatches matches; above that (a query as broad as "数据" on a data venue) they
// are estimated from a sample and TotalExact is false, and relevance is ranked among the newest
// ExactMatches matches, so that every search stays fast however much it matches.
type SearchResult struct {
	Data       []Entry                   `json:"data"`
	NextCursor string                    `json:"next_cursor,omitempty"`
	Total      int                       `json:"total"`
	TotalExact bool                      `json:"total_exact"`
	Facets     map[string]map[string]int `json:"facets,omitempty"`
}

// ExactMatches is how many matches a search counts exactly (see SearchResult).
const ExactMatches = 5000

// SearchInput is a search as the API receives it: every value a string from the query, so that
// parsing and its field errors are the catalogue's, the same for every caller.
type SearchInput struct {
	Q, Domain, ProductType, PricingMethod, Holder, UseCategory, MinPrice, MaxPrice, Status, Sort, Cursor string
	Limit                                                                                                int
	NoFacets                                                                                             bool
}

// CatalogueStore is what the public catalogue reads, and all it reads: a hot standby can answer it
// (postgres.ReadRouter), since none of it is read to decide a change.
type CatalogueStore interface {
	Search(ctx context.Context, q SearchQuery) (SearchResult, error)
	Product(ctx context.Context, id string) (Product, error)
	Products(ctx context.Context, f ProductFilter) ([]Product, error)
}

// Catalogue is the public catalogue: search, a product as the public sees it, and the export's
// pages. Service serves it over its Store (the primary); the API serves anonymous callers from a
// Catalogue over a store that may read a standby.
type Catalogue struct {
	Store CatalogueStore
}

// Search runs a catalogue search (Catalogue.Search over the service's store).
func (s Service) Search(ctx context.Context, in SearchInput) (SearchResult, error) {
	return Catalogue{Store: s.Store}.Search(ctx, in)
}

// Search runs a catalogue search. The catalogue is public: no caller is needed.
func (s Catalogue) Search(ctx context.Context, in SearchInput) (SearchResult, error) {
	var f datavenue.Fields
	q := SearchQuery{Text: in.Q, Terms: Query(in.Q), Domain: in.Domain, ProductType: in.ProductType,
		PricingMethod: in.PricingMethod, Holder: datavenue.OrgID(in.Holder), UseCategory: in.UseCategory,
		Status: in.Status, Sort: in.Sort, Limit: in.Limit, Facets: !in.NoFacets}
	assertEnum := func(field, v string, set []string) {
		if v != "" {
			enum(&f, field, v, set)
		}
	}
	assertEnum("domain", q.Domain, Domains)
	assertEnum("product_type", q.ProductType, ProductTypes)
	assertEnum("pricing_method", q.PricingMethod, []string{MethodGuided, MethodAppraisal, MethodAuction, MethodNegotiation, MethodFree})
	assertEnum("use_category", q.UseCategory, UseCategories)
	assertEnum("status", q.Status, []string{StatusPublished, StatusSuspended})
	if q.Status == "" {
		q.Status = StatusPublished
	}
	// The default order follows the request: with words, the best matches first; without, the
	// newest products first.
	if q.Sort == "" {
		q.Sort = "newest"
		if q.Terms != "" {
			q.Sort = "relevance"
		}
	}
	assertEnum("sort", q.Sort, Sorts)
	if q.Sort == "relevance" && q.Terms == "" {
		f.Add("sort", "needs_query", "relevance sorting needs a query q")
	}
	for field, raw := range map[string]string{"min_price": in.MinPrice, "max_price": in.MaxPrice} {
		if raw == "" {
			continue
		}
		y, err := money.Parse(raw)
		if err != nil {
			f.Add(field, "invalid_amount", err.Error())
			continue
		}
		if field == "min_price" {
			q.MinPrice = &y
		} else {
			q.MaxPrice = &y
		}
	}
	if len([]rune(in.Q)) > 200 {
		f.Add("q", "too_long", "a query has at most 200 characters")
	}
	if in.Cursor != "" {
		c, err := DecodeCursor(in.Cursor)
		if err != nil {
			return SearchResult{}, err
		}
		// A cursor holds the key of one order; used with another it would start the page at an
		// arbitrary place, so it is refused.
		if c.Sort != q.Sort {
			f.Add("cursor", "invalid_cursor", "the cursor belongs to another sort order")
		}
		q.After = c
	}
	// A smaller default page than other lists (20, not 50): each search also counts its facets.
	if q.Limit <= 0 {
		q.Limit = 20
	}
	if q.Limit > 100 {
		f.Add("limit", "out_of_range", "limit is 1 to 100")
	}
	if err := f.Err(); err != nil {
		return SearchResult{}, err
	}
	if in.Q != "" && q.Terms == "" { // only separators: nothing can match
		return SearchResult{Data: []Entry{}, Facets: map[string]map[string]int{}}, nil
	}
	return s.Store.Search(ctx, q)
}
