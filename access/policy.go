// Package access is the venue's access policy: for every API operation, which roles may reach it,
// acting for the organisation the resource belongs to and acting for another one. The API refuses
// to start with a route the policy does not know or disagrees with on whether it takes a token;
// the domain services check who may act on a given resource (its holder, its buyer, …) with the
// policy's named role groups, each refusal with the reason that fits; and the authorisation matrix
// test sends every operation as every role and compares what got through with this table. One
// table, so that the three cannot drift apart.
package access

import (
	"github.com/datavenue/datavenue"
)

// Named role groups. "Supervisor" meant two different sets before they were named: those who
// oversee the registry and the catalogue, and those who read the settlement books.
var (
	// Everyone is every role.
	Everyone = datavenue.Roles
	// Regulators are the two bureaus: they suspend, reinstate and delist products and set guided
	// prices.
	Regulators = []datavenue.Role{datavenue.RoleDataBureau, datavenue.RoleFinanceBureau}
	// Overseers read any holder's asset cards, applications, grants and products: the bureaus and
	// the auditors.
	Overseers = []datavenue.Role{datavenue.RoleDataBureau, datavenue.RoleFinanceBureau, datavenue.RoleAuditor}
	// BookKeepers read the settlement books (obligations, exceptions, reports, the trial balance):
	// the venue's clerks, the auditors and the bureaus.
	BookKeepers = []datavenue.Role{datavenue.RoleDataBureau, datavenue.RoleFinanceBureau, datavenue.RoleClerk, datavenue.RoleAuditor}
	// Venue staff handle the venue's own operations (metrics, parked engine events, webhook
	// deliveries): clerks act, auditors read.
	VenueStaff = []datavenue.Role{datavenue.RoleClerk, datavenue.RoleAuditor}
	// WebhookManagers are the roles of an organisation that manage its webhook subscriptions:
	// every role but the auditor's, who reads and changes nothing.
	WebhookManagers = []datavenue.Role{datavenue.RoleOperator, datavenue.RoleBuyer, datavenue.RoleDataBureau, datavenue.RoleFinanceBureau,
		datavenue.RoleClerk, datavenue.RoleAppraiser}
)

// Rule is who may reach an operation. Own lists the roles that may when acting for the
// organisation the resource belongs to (its holder, operator, buyer, appraiser…), Other those that
// may when acting for an unrelated organisation. Public operations need no token at all. Anything
// not listed is refused: 401 without a token, 403 (or 404: a resource that is not yours is not
// there) with one. A request that gets through may still be refused for its content (422) or the
// resource's state (409); the policy guards who gets that far. A Signed operation takes no token
// either: the caller (the payment provider) signs the request, and nobody gets through without
// that signature.
type Rule struct {
	Public bool
	Signed bool
	Own    []datavenue.Role
	Other  []datavenue.Role
}

// Token says whether the operation needs a bearer token.
func (r Rule) Token() bool { return !r.Public && !r.Signed }

func public() Rule                        { return Rule{Public: true, Own: Everyone, Other: Everyone} }
func anyone(roles ...datavenue.Role) Rule { return Rule{Own: roles, Other: roles} }
func ownOnly(roles ...datavenue.Role) Rule {
	return Rule{Own: roles}
}
func ownOr(own []datavenue.Role, other ...datavenue.Role) Rule { return Rule{Own: own, Other: other} }
func roles(rs ...datavenue.Role) []datavenue.Role              { return rs }

const (
	operator      = datavenue.RoleOperator
	buyer         = datavenue.RoleBuyer
	dataBureau    = datavenue.RoleDataBureau
	financeBureau = datavenue.RoleFinanceBureau
	clerk         = datavenue.RoleClerk
	auditor       = datavenue.RoleAuditor
	appraiser     = datavenue.RoleAppraiser
)

// Policy is the rule of every operation, by its OpenAPI operationId.
var Policy = map[string]Rule{
	// The venue itself: health, keys, the document; metrics for its staff.
	"health": public(), "ready": public(), "jwks": public(), "openapi": public(), "docs": public(),
	"metrics": anyone(VenueStaff...),
	"me":      anyone(Everyone...),

	// Organisations and the audit trail: every role reads what its own organisation did, auditors
	// everything; the bureaus register organisations.
	"registerOrganisation": anyone(Regulators...),
	"listOrganisations":    anyone(Everyone...), "getOrganisation": anyone(Everyone...), "listAuditEvents": anyone(Everyone...),

	// Asset cards: the holder (operator role) registers and changes its own; the holder, the
	// overseers and the appraisers read.
	"registerAsset": anyone(operator), "listAssets": anyone(Everyone...),
	"getAsset":      ownOr(Everyone, append(roles(appraiser), Overseers...)...),
	"assetVersions": ownOr(Everyone, append(roles(appraiser), Overseers...)...),
	"changeAsset":   ownOnly(operator), "ledgerCSV": anyone(Everyone...), "ledgerXLSX": anyone(Everyone...),

	// Registration: the holder applies; the data bureau reviews resource applications (the finance
	// bureau asset ones, with the data bureau concurring); certificates are public documents.
	"applyForCertificate": anyone(operator), "listApplications": anyone(Everyone...),
	"getApplication":   ownOr(Everyone, Overseers...),
	"amendApplication": ownOnly(operator),
	"concur":           anyone(dataBureau),
	// The bureau that issues the application's kind reviews it, corrects and cancels its
	// certificates (the data bureau resource certificates, the finance bureau asset ones): the
	// rule names both, the service checks the kind.
	"reviewApplication": anyone(Regulators...),
	"listCertificates":  anyone(Everyone...), "getCertificate": anyone(Everyone...), "certificateDocument": anyone(Everyone...),
	"correctCertificate": anyone(Regulators...),
	"cancelCertificate":  ownOr(append(roles(operator), Regulators...), Regulators...),
	"certificateStatus":  public(),

	// Scenario authorisations (data bureau), paid-use approvals (finance bureau), appraisals
	// (appraisers).
	"grantAuthorisation": anyone(dataBureau), "listAuthorisations": anyone(Everyone...),
	"getAuthorisation":    ownOr(Everyone, Overseers...),
	"narrowAuthorisation": anyone(dataBureau), "revokeAuthorisation": anyone(dataBureau),
	"assessAuthorisation": anyone(dataBureau),
	"submitApproval":      anyone(operator), "listApprovals": anyone(Everyone...),
	"getApproval":     ownOr(Everyone, Overseers...),
	"decideApproval":  anyone(financeBureau),
	"recordAppraisal": anyone(appraiser), "listAppraisals": anyone(Everyone...),
	"getAppraisal": ownOr(Everyone, Overseers...),

	// Listing: the operator manages its products; the regulators suspend, reinstate, delist and
	// set guided prices; the catalogue is public.
	"createProduct": anyone(operator), "listProducts": anyone(Everyone...), "getProduct": anyone(Everyone...),
	"editProduct": ownOnly(operator), "submitProduct": ownOnly(operator), "publishProduct": ownOnly(operator),
	"suspendProduct":   ownOr(append(roles(operator), Regulators...), Regulators...),
	"reinstateProduct": ownOr(append(roles(operator), Regulators...), Regulators...),
	"delistProduct":    ownOr(append(roles(operator), Regulators...), Regulators...),
	"changePrice":      ownOr(append(roles(operator), Regulators...), Regulators...),
	"priceHistory":     anyone(Everyone...),
	// Price caps (N4) are filed by the authorising body, a data bureau; everyone with a token reads them.
	"fileCap": anyone(dataBureau), "listCaps": anyone(Everyone...),
	"searchCatalogue": public(), "catalogueProduct": public(), "catalogueProductDCAT": public(),
	"catalogueDCAT": public(), "pricingGuidance": public(),

	// Matching: the operator opens its auctions; buyers bid and negotiate; clerks record deposits;
	// a negotiation is seen by its parties' organisations and auditors.
	"openAuction": ownOnly(operator), "getAuction": anyone(Everyone...), "listAuctions": anyone(Everyone...),
	"placeBid": anyone(buyer), "bidHistory": anyone(Everyone...), "recordDeposit": anyone(clerk),
	// A bid is seen as the auction's history shows it (its bidder: always); a deposit by its buyer
	// and the book keepers.
	"getBid":           anyone(Everyone...),
	"getDeposit":       ownOr(append(roles(buyer), BookKeepers...), BookKeepers...),
	"auctionFeed":      anyone(Everyone...),
	"startNegotiation": anyone(buyer), "moveNegotiation": ownOnly(buyer, operator), "getNegotiation": ownOr(Everyone, auditor),
	"listNegotiations": anyone(buyer, operator, auditor),

	// Settlement: orders are seen by the buyer's and the seller's organisations and the book
	// keepers; clerks record payments and reconcile; the operator delivers, the buyer confirms.
	"setAgreement": ownOnly(operator), "getAgreement": ownOr(Everyone, BookKeepers...), "listOrders": anyone(Everyone...),
	"getOrder":      ownOr(Everyone, BookKeepers...),
	"recordPayment": anyone(clerk),
	// A registered buyer obtains a free-use product (N1); the service checks the product's lists.
	"obtainFreeUse":   anyone(buyer),
	"paymentCallback": {Signed: true}, // the provider's HMAC signature
	"listObligations": anyone(BookKeepers...),
	// The operator's maximum allowed revenue (N4/N5): a finance bureau sets it; the operator reads
	// its own standing, the bureaus and auditors every operator's.
	"setAllowedRevenue": anyone(financeBureau), "getAllowedRevenue": ownOr(append(roles(operator), Overseers...), Overseers...),
	// Public disclosure (N6): anyone, no token. The operator's annual report and its costs: the
	// operator records its own costs; it, the bureaus and the auditors read them and the report.
	"disclosedCaps": public(), "disclosedAuthorisations": public(), "disclosedFees": public(),
	"recordCost": ownOnly(operator), "listCosts": ownOr(append(roles(operator), Overseers...), Overseers...),
	"annualReport":   ownOr(append(roles(operator), Overseers...), Overseers...),
	"recordDelivery": ownOnly(operator), "confirmDelivery": ownOnly(buyer),
	"getVoucher":       ownOr(Everyone, BookKeepers...),
	"voucherDocument":  ownOr(Everyone, BookKeepers...),
	"importStatement":  anyone(clerk),
	"getImport":        anyone(BookKeepers...),
	"listExceptions":   anyone(BookKeepers...),
	"resolveException": anyone(clerk),
	"settlementReport": anyone(BookKeepers...),
	"trialBalance":     anyone(BookKeepers...),

	// Subscriptions (issue 15): seen by their buyer's and operator's organisations and the book
	// keepers; either party cancels; the operator's gateway reports usage (signed as well).
	"listSubscriptions": anyone(Everyone...), "getSubscription": ownOr(Everyone, BookKeepers...),
	"cancelSubscription": ownOnly(buyer, operator), "reportUsage": anyone(operator),
	// A file product's operator publishes its revisions to the subscribers.
	"publishRevision": ownOnly(operator),
	// Its revisions are read by the product's operator and subscribers (organisations, any of
	// their roles, as a subscription is) and the book keepers; a subscription's deliveries by
	// whoever reads the subscription.
	"listProductRevisions": ownOr(Everyone, BookKeepers...), "listRevisionDeliveries": ownOr(Everyone, BookKeepers...),
	// Usage reports: each party its own use (the service filters), the book keepers everyone's.
	"usageReport": anyone(append(roles(operator, buyer), BookKeepers...)...),

	// The projection's parked engine events: the venue's clerks handle them, auditors read.
	"listParkedEntries": anyone(VenueStaff...), "getParkedEntry": anyone(VenueStaff...),
	"retryParkedEntry": anyone(clerk),

	// Webhooks: an organisation's own people manage its subscriptions (auditors only read); the
	// venue's staff read every organisation's, and its clerks replay deliveries.
	"createWebhookSubscription": anyone(WebhookManagers...),
	"listWebhookSubscriptions":  anyone(Everyone...),
	"getWebhookSubscription":    ownOr(Everyone, VenueStaff...),
	"listWebhookDeliveries":     ownOr(Everyone, VenueStaff...),
	"getWebhookDelivery":        ownOr(Everyone, VenueStaff...),
	"deleteWebhookSubscription": ownOnly(WebhookManagers...),
	"pingWebhookSubscription":   ownOnly(WebhookManagers...),
	"replayWebhookDelivery":     ownOr(WebhookManagers, clerk),
}

// Of is an operation's rule; ok is false for an operation the policy does not know (the API
// refuses to start with such a route).
func Of(operationID string) (Rule, bool) {
	r, ok := Policy[operationID]
	return r, ok
}
