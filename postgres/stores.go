package postgres

import (
	"github.com/datavenue/datavenue/assets"
	"github.com/datavenue/datavenue/audit"
	"github.com/datavenue/datavenue/certificates"
	"github.com/datavenue/datavenue/idempotency"
	"github.com/datavenue/datavenue/listing"
	"github.com/datavenue/datavenue/matching"
	"github.com/datavenue/datavenue/parties"
	"github.com/datavenue/datavenue/settlement"
	"github.com/datavenue/datavenue/subscriptions"
	"github.com/datavenue/datavenue/webhooks"
)

// One store per domain. Each is the database as one domain package sees it: the methods its store
// interfaces declare and nothing else, over the pool every store shares (conn). A domain's store
// is the only one that writes its tables; where one domain's change must write another's rows in
// the same transaction (a trade's order, an event announced to webhooks), the store calls a
// package-level function that takes the pgx.Tx, never another store's method, so the transaction
// stays one.
//
// They hold storage, locking and retries only: the rules are the domain packages'. Paging and
// not-found are shared (store.go).

// PartyStore keeps organisations and the roles they hold (parties.Store, parties.RoleStore).
type PartyStore struct{ conn }

// AssetStore keeps asset cards and their versions (assets.Store).
type AssetStore struct{ conn }

// CertificateStore keeps registration applications, certificates, scenario authorisations,
// approvals, appraisals and the certificate event outbox (certificates.Store, GrantStore).
type CertificateStore struct{ conn }

// ListingStore keeps products, their prices, caps and the catalogue's search (listing.Store,
// CapStore, CatalogueStore).
type ListingStore struct{ conn }

// MatchingStore keeps auctions, negotiations, deposits and the projection of the engine's events
// (matching.Store, Applier, ParkedStore).
type MatchingStore struct{ conn }

// SettlementStore keeps orders, payments, the ledger, obligations, vouchers, reconciliation,
// reports and the operators' allowed revenue (the settlement package's stores).
type SettlementStore struct{ conn }

// SubscriptionStore keeps subscriptions, their metered use and their bills (subscriptions.Store,
// BillStore).
type SubscriptionStore struct{ conn }

// WebhookStore keeps integrators' subscriptions and the delivery queue (webhooks.Store, Queue).
type WebhookStore struct{ conn }

// IdempotencyStore keeps idempotency keys and the responses they replay (idempotency.Store).
type IdempotencyStore struct{ conn }

// AuditStore reads the audit trail every store appends to in its own transactions (audit.Reader).
type AuditStore struct{ conn }

// Parties is the organisations' store.
func (db *DB) Parties() PartyStore { return PartyStore{db.conn} }

// Assets is the asset cards' store.
func (db *DB) Assets() AssetStore { return AssetStore{db.conn} }

// Certificates is the registry's store.
func (db *DB) Certificates() CertificateStore { return CertificateStore{db.conn} }

// Listing is the products' and catalogue's store.
func (db *DB) Listing() ListingStore { return ListingStore{db.conn} }

// Matching is the auctions' and the engine projection's store.
func (db *DB) Matching() MatchingStore { return MatchingStore{db.conn} }

// Settlement is the orders', ledger's and vouchers' store.
func (db *DB) Settlement() SettlementStore { return SettlementStore{db.conn} }

// Subscriptions is the subscriptions' and metered use's store.
func (db *DB) Subscriptions() SubscriptionStore { return SubscriptionStore{db.conn} }

// Webhooks is the integrators' webhooks store.
func (db *DB) Webhooks() WebhookStore { return WebhookStore{db.conn} }

// Idempotency is the idempotency keys' store.
func (db *DB) Idempotency() IdempotencyStore { return IdempotencyStore{db.conn} }

// Audit reads the audit trail.
func (db *DB) Audit() AuditStore { return AuditStore{db.conn} }

var (
	_ parties.Store                  = PartyStore{}
	_ parties.RoleStore              = PartyStore{}
	_ assets.Store                   = AssetStore{}
	_ certificates.Store             = CertificateStore{}
	_ certificates.GrantStore        = CertificateStore{}
	_ listing.Store                  = ListingStore{}
	_ listing.CapStore               = ListingStore{}
	_ listing.CatalogueStore         = ListingStore{}
	_ matching.Store                 = MatchingStore{}
	_ matching.Applier               = MatchingStore{}
	_ matching.ParkedStore           = MatchingStore{}
	_ matching.GuidanceStore         = MatchingStore{}
	_ matching.RestoreStore          = MatchingStore{}
	_ matching.CapLookup             = ListingStore{}
	_ settlement.Store               = SettlementStore{}
	_ settlement.VoucherStore        = SettlementStore{}
	_ settlement.ReconcileStore      = SettlementStore{}
	_ settlement.ReportStore         = SettlementStore{}
	_ settlement.AllowedRevenueStore = SettlementStore{}
	_ settlement.FreeUseStore        = SettlementStore{}
	_ settlement.CalendarStore       = SettlementStore{}
	_ subscriptions.Store            = SubscriptionStore{}
	_ subscriptions.BillStore        = SubscriptionStore{}
	_ webhooks.Store                 = WebhookStore{}
	_ webhooks.Queue                 = WebhookStore{}
	_ idempotency.Store              = IdempotencyStore{}
	_ audit.Reader                   = AuditStore{}
)
