package subscriptions

import (
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/civil"
	"github.com/datavenue/datavenue/listing"
)

// MaxBatch is the most records one usage batch carries: about a megabyte of JSON, which one
// transaction stores in tens of milliseconds (see README "Subscriptions and metered use").
const MaxBatch = 5000

// GraceDays is how long after a period's last day (China Standard Time) a late record still
// counts in that period: a gateway that was down over a weekend can still report. After it the
// period is closed (its bill is made from what was reported) and the record is refused.
const GraceDays = 3

// ClockSkew is how far in the future a record's time may lie (the gateway's clock against the
// venue's); anything later is refused: use cannot be reported before it happens.
const ClockSkew = 5 * time.Minute

// A record's outcome.
const (
	Accepted  = "accepted"
	Duplicate = "duplicate"
	Refused   = "refused"
)

// Reasons a record is refused, stable codes the gateway can act on.
const (
	ReasonInvalid          = "invalid_record"
	ReasonUnknown          = "subscription_not_found"
	ReasonUnitMismatch     = "unit_mismatch"
	ReasonInFuture         = "in_future"
	ReasonBeforeTerm       = "before_term"
	ReasonCancelled        = "subscription_cancelled"
	ReasonExpired          = "subscription_expired"
	ReasonSuspended        = "product_suspended"
	ReasonRevoked          = "authorisation_revoked"
	ReasonDelisted         = "product_delisted"
	ReasonPeriodClosed     = "period_closed"
	ReasonQuotaExceeded    = "quota_exceeded"
	ReasonDuplicateInBatch = "duplicate_in_batch"
)

// RecordInput is one usage record as the gateway sends it.
type RecordInput struct {
	RecordID       string `json:"record_id" jsonschema:"minLength=1,maxLength=100,description=the gateway's id of the record: a record is counted once however often it is sent"`
	SubscriptionID string `json:"subscription_id"`
	Unit           string `json:"unit" jsonschema:"enum=per_call,enum=per_time_unit,enum=per_volume,description=the subscription's charging unit"`
	Quantity       string `json:"quantity" jsonschema:"description=units used (calls, service time, volume) as a positive decimal string with at most six places,example=120,pattern=^[0-9]{1\\,12}(\\.[0-9]{1\\,6})?$"`
	UsedAt         string `json:"used_at" jsonschema:"format=date-time,description=when the use happened (RFC 3339 with offset)"`
}

// BatchInput is a batch of usage records.
type BatchInput struct {
	Records []RecordInput `json:"records" jsonschema:"minItems=1,maxItems=5000"`
}

// Record is a usage record the venue keeps: accepted, in its period.
type Record struct {
	RecordID       string
	SubscriptionID string
	Unit           string
	Quantity       decimal.Decimal
	UsedAt         time.Time
	PeriodStart    civil.Date
}

// Verdict is a record's outcome in the answer.
type Verdict struct {
	RecordID string `json:"record_id"`
	Status   string `json:"status" jsonschema:"enum=accepted,enum=duplicate,enum=refused"`
	Reason   string `json:"reason,omitempty"`
}

// BatchResult answers a batch: counts and every record's verdict, in the batch's order.
type BatchResult struct {
	Accepted  int       `json:"accepted"`
	Duplicate int       `json:"duplicate"`
	Refused   int       `json:"refused"`
	Records   []Verdict `json:"records"`
}

// Standing is what ingestion needs to know about one subscription at the batch's time: the
// subscription, its product's state, and (free use) the units already counted per period.
type Standing struct {
	Sub           Subscription
	ProductStatus string
	Suspension    *listing.Suspension
	// Spans are the product's suspensions, past and current: use inside one is refused even
	// when it is reported after the product was reinstated.
	Spans []listing.SuspensionSpan
	Used  map[civil.Date]decimal.Decimal // free use: per period start
}

// Judgement is a batch judged: every record's verdict and the records to store.
type Judgement struct {
	Verdicts []Verdict
	Accept   []Record
}

// Validate checks a batch's shape (its size); every record's content is judged on its own.
func (in BatchInput) Validate() error {
	if len(in.Records) == 0 || len(in.Records) > MaxBatch {
		return datavenue.Invalid("invalid_batch", "a batch has 1 to "+strconv.Itoa(MaxBatch)+" records",
			datavenue.FieldError{Field: "records", Code: "invalid_length", Message: "1 to 5000 records"})
	}
	return nil
}

// Judge decides every record of an operator's batch at an instant. seen holds the record ids
// stored before (duplicates: counted once already); standings are by subscription id (absent:
// unknown). Records of a free subscription count against its quota in the batch's order.
func Judge(operator datavenue.OrgID, records []RecordInput, standings map[string]*Standing, seen map[string]bool, now time.Time) Judgement {
	j := Judgement{Verdicts: make([]Verdict, len(records)), Accept: make([]Record, 0, len(records))}
	inBatch := make(map[string]bool, len(records))
	for i, in := range records {
		j.Verdicts[i] = Verdict{RecordID: in.RecordID, Status: Refused}
		switch {
		case seen[in.RecordID]:
			j.Verdicts[i].Status = Duplicate
			continue
		case inBatch[in.RecordID]:
			j.Verdicts[i].Reason = ReasonDuplicateInBatch
			continue
		}
		r, reason := judgeOne(operator, in, standings, now)
		if reason != "" {
			j.Verdicts[i].Reason = reason
			continue
		}
		inBatch[in.RecordID] = true
		j.Verdicts[i].Status = Accepted
		j.Accept = append(j.Accept, r)
	}
	return j
}

// judgeOne decides one record: the record it stores, or the reason it is refused.
func judgeOne(operator datavenue.OrgID, in RecordInput, standings map[string]*Standing, now time.Time) (Record, string) {
	r, ok := parse(in)
	if !ok {
		return r, ReasonInvalid
	}
	st := standings[r.SubscriptionID]
	if st == nil || st.Sub.SellerID != operator {
		return r, ReasonUnknown // another operator's subscription is not there for this one
	}
	s := st.Sub
	day := civil.Of(r.UsedAt)
	switch {
	case r.Unit != s.ChargingUnit:
		return r, ReasonUnitMismatch
	case r.UsedAt.After(now.Add(ClockSkew)):
		return r, ReasonInFuture
	case day.Before(s.StartsOn): // the term is in days: the whole first day is in it
		return r, ReasonBeforeTerm
	// Use before a cancellation or a suspension happened while delivery was allowed: it counts,
	// late or not; use from that instant on is refused (delivery had to stop).
	case s.CancelledAt != nil && !r.UsedAt.Before(*s.CancelledAt):
		return r, ReasonCancelled
	case !s.Renewal && day.After(s.TermEnd(s.StartsOn)):
		return r, ReasonExpired
	}
	if reason := productRefusal(st, r.UsedAt); reason != "" {
		return r, reason
	}
	p := s.PeriodAt(day)
	if civil.Of(now).After(p.End.AddDays(GraceDays)) {
		return r, ReasonPeriodClosed
	}
	r.PeriodStart = p.Start
	if s.Quota != nil {
		used := st.Used[p.Start].Add(r.Quantity)
		if used.GreaterThan(*s.Quota) {
			return r, ReasonQuotaExceeded
		}
		if st.Used == nil {
			st.Used = map[civil.Date]decimal.Decimal{}
		}
		st.Used[p.Start] = used
	}
	return r, ""
}

// productRefusal is the reason the product's state refuses use at an instant: delisted, or
// suspended at that instant (by a revoked or narrowed authorisation: authorisation_revoked) —
// now, or in a suspension since lifted (SuspensionRefusal).
func productRefusal(st *Standing, usedAt time.Time) string {
	switch st.ProductStatus {
	case listing.StatusDelisted:
		return ReasonDelisted
	case listing.StatusSuspended:
		// The current suspension decides even without its span (a store that predates the
		// history): use from its instant on is refused.
		if st.Suspension == nil || !usedAt.Before(st.Suspension.At) {
			if st.Suspension != nil && strings.HasPrefix(st.Suspension.Reason, "authorisation.") {
				return ReasonRevoked
			}
			return ReasonSuspended
		}
	}
	return SuspensionRefusal(st.Spans, usedAt)
}

// SuspensionRefusal is the reason use at an instant is refused by the product's suspension
// history: the use fell inside a suspension, current or lifted since (delivery had to stop for
// its whole length, so a late record dated in it is refused as one reported then would have
// been); empty when it fell outside every suspension.
func SuspensionRefusal(spans []listing.SuspensionSpan, usedAt time.Time) string {
	s, ok := listing.SuspendedAt(spans, usedAt)
	switch {
	case !ok:
		return ""
	case s.ByRevocation():
		return ReasonRevoked
	}
	return ReasonSuspended
}

// parse reads a record's fields; ok is false when any is malformed.
func parse(in RecordInput) (Record, bool) {
	r := Record{RecordID: in.RecordID, SubscriptionID: in.SubscriptionID, Unit: in.Unit}
	if in.RecordID == "" || len(in.RecordID) > 100 || in.SubscriptionID == "" || len(in.SubscriptionID) > 100 {
		return r, false
	}
	q, err := decimal.NewFromString(in.Quantity)
	if err != nil || !q.IsPositive() || q.Exponent() < -6 || q.GreaterThanOrEqual(decimal.New(1, 12)) {
		return r, false
	}
	t, err := time.Parse(time.RFC3339, in.UsedAt)
	if err != nil {
		return r, false
	}
	r.Quantity, r.UsedAt = q, t.UTC()
	return r, true
}

// Tally counts a judgement's verdicts into the batch's answer.
func Tally(verdicts []Verdict) BatchResult {
	res := BatchResult{Records: verdicts}
	for _, v := range verdicts {
		switch v.Status {
		case Accepted:
			res.Accepted++
		case Duplicate:
			res.Duplicate++
		default:
			res.Refused++
		}
	}
	return res
}
