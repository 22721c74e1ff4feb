package webhooks_test

import (
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/certificates"
	"github.com/datavenue/datavenue/civil"
	"github.com/datavenue/datavenue/settlement"
	"github.com/datavenue/datavenue/webhooks"
)

const (
	buyer, seller, holder, holder2 = datavenue.OrgID("org_buyer"), datavenue.OrgID("org_seller"), datavenue.OrgID("org_holder"), datavenue.OrgID("org_holder2")
	loser, unit, other             = datavenue.OrgID("org_loser"), datavenue.OrgID("org_unit"), datavenue.OrgID("org_other")
)

// Who is a party to each event: everyone the rule names, and nobody else, whatever else the
// facts carry.
func TestRecipients(t *testing.T) {
	all := webhooks.Parties{Buyer: buyer, Seller: seller, Operator: seller, Holders: []datavenue.OrgID{holder, holder2, holder},
		Winner: buyer, Bidders: []datavenue.OrgID{loser, buyer}, Obligated: unit, Operators: []datavenue.OrgID{seller}, Subscriber: other}
	tests := []struct {
		typ  string
		want []datavenue.OrgID
	}{
		{webhooks.AuctionClosed, []datavenue.OrgID{buyer, holder, holder2, loser, seller}},
		{webhooks.OrderCreated, []datavenue.OrgID{buyer, seller}},
		{webhooks.PaymentRecorded, []datavenue.OrgID{buyer, seller}},
		{webhooks.VoucherIssued, []datavenue.OrgID{buyer, seller}},
		{webhooks.ObligationDue, []datavenue.OrgID{unit}},
		{webhooks.ObligationOverdue, []datavenue.OrgID{unit}},
		{webhooks.ObligationRemitted, []datavenue.OrgID{unit}},
		{webhooks.ProductSuspended, []datavenue.OrgID{holder, holder2, seller}},
		{certificates.EventCertificateCancelled, []datavenue.OrgID{holder, holder2, seller}},
		{certificates.EventAuthorisationRevoked, []datavenue.OrgID{holder, holder2, seller}},
		{certificates.EventApprovalLapsed, []datavenue.OrgID{holder, holder2}},
		{webhooks.RevisionPublished, []datavenue.OrgID{buyer}},
		{webhooks.Ping, []datavenue.OrgID{other}},
		{"something.else", nil},
	}
	for _, tt := range tests {
		if got := webhooks.Recipients(tt.typ, all); !slices.Equal(got, tt.want) {
			t.Errorf("Recipients(%s) = %v, want %v", tt.typ, got, tt.want)
		}
	}
	// An auction with no winner and no bids concerns its operator and holders only.
	if got := webhooks.Recipients(webhooks.AuctionClosed, webhooks.Parties{Operator: seller, Holders: []datavenue.OrgID{holder}}); !slices.Equal(got, []datavenue.OrgID{holder, seller}) {
		t.Errorf("no-sale auction: %v", got)
	}
	for _, typ := range webhooks.Types {
		if len(webhooks.Recipients(typ, all)) == 0 {
			t.Errorf("%s concerns nobody", typ)
		}
	}
}

func TestRetrySchedule(t *testing.T) {
	start := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	now := start
	var waits []time.Duration
	attempts := 0
	for {
		attempts++
		next, dead := webhooks.NextAttempt(attempts, start, now, 0)
		if dead {
			break
		}
		waits = append(waits, next.Sub(now))
		now = next
	}
	want := []time.Duration{10 * time.Second, 30 * time.Second, 2 * time.Minute, 10 * time.Minute, time.Hour, 2 * time.Hour, 4 * time.Hour,
		8 * time.Hour, 8 * time.Hour, 8 * time.Hour, 8 * time.Hour, 8 * time.Hour, 8 * time.Hour, 8 * time.Hour}
	if !slices.Equal(waits, want) || attempts != webhooks.MaxAttempts {
		t.Fatalf("waits %v (%d attempts), want %v (%d)", waits, attempts, want, webhooks.MaxAttempts)
	}
	if total := now.Sub(start); total > webhooks.GiveUpAfter {
		t.Fatalf("the last attempt is %v after the first, past the give-up window", total)
	}
	// A receiver's Retry-After is honoured when longer, up to the cap.
	if next, _ := webhooks.NextAttempt(1, start, start, time.Minute); next.Sub(start) != time.Minute {
		t.Errorf("Retry-After 60 s: next in %v", next.Sub(start))
	}
	if next, _ := webhooks.NextAttempt(1, start, start, 48*time.Hour); next.Sub(start) != webhooks.MaxDelay {
		t.Errorf("Retry-After 48 h: next in %v, want the cap", next.Sub(start))
	}
	// Past the give-up window: dead, whatever the attempt count.
	if _, dead := webhooks.NextAttempt(2, start, start.Add(71*time.Hour+59*time.Minute+45*time.Second), 0); !dead {
		t.Error("a retry past 72 hours is not given up")
	}
}

// The signature is the payment callback's scheme, and a receiver verifies it as documented.
func TestSignature(t *testing.T) {
	secret, body := []byte("whsec_0123456789abcdef0123456789"), []byte(`{"id":"evt_1","type":"order.created"}`)
	at := time.Unix(1796083200, 0)
	header := webhooks.Sign(secret, body, at)
	if header != settlement.CallbackSignature(secret, body, at) {
		t.Fatalf("webhook signature %q differs from the payment callback's scheme", header)
	}
	if err := webhooks.Verify(secret, body, header, at.Add(time.Minute), webhooks.Tolerance); err != nil {
		t.Fatalf("verify: %v", err)
	}
	for name, tc := range map[string]struct {
		secret, body []byte
		header       string
		now          time.Time
		want         error
	}{
		"another body":      {secret, []byte(`{"id":"evt_2"}`), header, at, webhooks.ErrSignatureMismatch},
		"another secret":    {[]byte("another-secret-of-enough-length"), body, header, at, webhooks.ErrSignatureMismatch},
		"replayed later":    {secret, body, header, at.Add(6 * time.Minute), webhooks.ErrSignatureExpired},
		"no v1":             {secret, body, "t=1796083200", at, webhooks.ErrSignatureMalformed},
		"rolled secret too": {secret, body, "t=1796083200,v1=00," + header[len("t=1796083200,"):], at, nil},
	} {
		if err := webhooks.Verify(tc.secret, tc.body, tc.header, tc.now, webhooks.Tolerance); err != tc.want {
			t.Errorf("%s: %v, want %v", name, err, tc.want)
		}
	}
}

func TestSubscriptionInput(t *testing.T) {
	ok := webhooks.SubscriptionInput{URL: "https://erp.example.cn/hooks/datavenue", Events: []string{webhooks.OrderCreated, webhooks.PaymentRecorded}}
	if err := ok.Validate(false); err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		in        webhooks.SubscriptionInput
		allowHTTP bool
		code      string
	}{
		"http in production": {webhooks.SubscriptionInput{URL: "http://erp.example.cn/h", Events: ok.Events}, false, "https_required"},
		"ftp":                {webhooks.SubscriptionInput{URL: "ftp://erp.example.cn/h", Events: ok.Events}, true, "scheme_not_allowed"},
		"relative":           {webhooks.SubscriptionInput{URL: "/hooks", Events: ok.Events}, true, "invalid_url"},
		"credentials":        {webhooks.SubscriptionInput{URL: "https://u:p@erp.example.cn/h", Events: ok.Events}, false, "invalid_url"},
		"unknown event":      {webhooks.SubscriptionInput{URL: ok.URL, Events: []string{"order.eaten"}}, false, "unknown_event"},
		"no events":          {webhooks.SubscriptionInput{URL: ok.URL}, false, "required"},
		"short secret":       {webhooks.SubscriptionInput{URL: ok.URL, Events: ok.Events, Secret: "short"}, false, "invalid_secret"},
	} {
		err := tc.in.Validate(tc.allowHTTP)
		e := datavenue.AsError(err)
		if err == nil || len(e.Fields) == 0 || e.Fields[0].Code != tc.code {
			t.Errorf("%s: %v, want field code %s", name, err, tc.code)
		}
	}
	if err := (webhooks.SubscriptionInput{URL: "http://127.0.0.1:8080/h", Events: ok.Events}).Validate(true); err != nil {
		t.Errorf("http where allowed: %v", err)
	}
	s := webhooks.NewSubscription(buyer, ok, time.Now())
	if len(s.Secret) != len("whsec_")+64 || s.Org != buyer || s.Status != webhooks.StatusActive || !datavenue.HasPrefix(s.ID, "whs") {
		t.Errorf("new subscription %+v", s)
	}
}

func TestWhoMayManageWebhooks(t *testing.T) {
	as := func(role datavenue.Role, org datavenue.OrgID) datavenue.Caller {
		return datavenue.Caller{Role: role, Org: org}
	}
	tests := []struct {
		caller                 datavenue.Caller
		read, manage, mayReply bool
	}{
		{as(datavenue.RoleBuyer, buyer), true, true, true},
		{as(datavenue.RoleOperator, buyer), true, true, true},
		{as(datavenue.RoleAuditor, buyer), true, false, false},
		{as(datavenue.RoleBuyer, other), false, false, false},
		{as(datavenue.RoleDataBureau, other), false, false, false},
		{as(datavenue.RoleClerk, other), true, false, true},
		{as(datavenue.RoleAuditor, other), true, false, false},
	}
	for _, tt := range tests {
		if got := webhooks.MayRead(tt.caller, buyer); got != tt.read {
			t.Errorf("MayRead(%v) = %v", tt.caller, got)
		}
		if got := webhooks.MayManage(tt.caller, buyer); got != tt.manage {
			t.Errorf("MayManage(%v) = %v", tt.caller, got)
		}
		if got := webhooks.MayReplay(tt.caller, buyer); got != tt.mayReply {
			t.Errorf("MayReplay(%v) = %v", tt.caller, got)
		}
	}
}

func TestObligationThresholds(t *testing.T) {
	dueBy, overdueBefore := webhooks.ObligationThresholds(civil.MustParse("2026-12-07"))
	if dueBy.String() != "2026-12-10" || overdueBefore.String() != "2026-12-07" {
		t.Errorf("thresholds %s, %s", dueBy, overdueBefore)
	}
}

// The venue posts only to public addresses: not to private, loopback, link-local, carrier-grade
// NAT (cloud metadata services), benchmark or reserved ranges, nor to an IPv6 address carrying one
// of those (mapped, NAT64, 6to4).
func TestPublicAddress(t *testing.T) {
	for addr, want := range map[string]bool{
		"8.8.8.8": true, "2400:3200::1": true, "64:ff9b::808:808": true, "2002:808:808::1": true,
		"10.1.2.3": false, "127.0.0.1": false, "169.254.169.254": false, "100.100.100.200": false, "198.18.0.1": false,
		"192.0.0.8": false, "240.0.0.1": false, "0.1.2.3": false, "::1": false, "fe80::1": false, "fd00::1": false,
		"::ffff:127.0.0.1": false, "64:ff9b::a9fe:a9fe": false, "2002:a00:1::1": false, "64:ff9b:1::1": false,
	} {
		if got := webhooks.PublicAddress(netip.MustParseAddr(addr)); got != want {
			t.Errorf("%s: public %v, want %v", addr, got, want)
		}
	}
}
