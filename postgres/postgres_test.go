package postgres_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/audit"
	"github.com/datavenue/datavenue/idempotency"
	"github.com/datavenue/datavenue/internal/testenv"
	"github.com/datavenue/datavenue/parties"
)

var bureau = datavenue.Caller{Subject: "reviewer-1", Issuer: "test", Role: datavenue.RoleDataBureau, Org: "org_01JDATABUREAU0000000000000"}

func callerCtx() context.Context {
	return datavenue.WithRequestID(datavenue.WithCaller(context.Background(), bureau), "req-1")
}

func registration() parties.Registration {
	return parties.Registration{
		ID: datavenue.OrgID(datavenue.NewID("org")), USCC: "91350100M000100Y43", Name: "数据运营有限公司", Kind: parties.KindOperator,
	}
}

func TestCreateOrganisationWritesAuditInSameTransaction(t *testing.T) {
	db := testenv.NewDB(t)
	ctx := callerCtx()
	org, err := db.Parties().CreateOrganisation(ctx, registration())
	if err != nil {
		t.Fatal(err)
	}
	got, err := db.Parties().Organisation(ctx, org.ID)
	if err != nil || got.Name != "数据运营有限公司" {
		t.Fatalf("Organisation = %+v, %v", got, err)
	}
	events, err := db.Audit().Events(ctx, audit.Filter{ResourceID: string(org.ID)})
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 1 || events[0].Action != "organisation.registered" || events[0].RequestID != "req-1" ||
		events[0].ActorOrg != bureau.Org || events[0].ActorSubject != "reviewer-1" {
		t.Fatalf("audit events = %+v, want one organisation.registered by reviewer-1 in req-1", events)
	}

	// A second registration with the same code fails and leaves no audit record behind.
	_, err = db.Parties().CreateOrganisation(ctx, registration())
	if code := datavenue.CodeOf(err); code != "organisation_uscc_taken" {
		t.Fatalf("duplicate USCC: code %s (%v), want organisation_uscc_taken", code, err)
	}
	all, _ := db.Audit().Events(ctx, audit.Filter{})
	if len(all) != 1 {
		t.Fatalf("audit has %d events after a failed insert, want 1", len(all))
	}
}

func TestDatabaseRefusesWhatValidationShouldHaveCaught(t *testing.T) {
	db := testenv.NewDB(t)
	ctx := callerCtx()
	tests := []struct {
		name string
		mod  func(*parties.Registration)
		code string
	}{
		{"bad check character", func(r *parties.Registration) { r.USCC = "91350100M000100Y44" }, "invalid_uscc"},
		{"government unit without treasury", func(r *parties.Registration) { r.Kind = parties.KindGovernmentUnit }, "government_unit_needs_treasury"},
		{"operator with a treasury", func(r *parties.Registration) {
			r.FiscalLevel, r.Treasury = parties.LevelMunicipal, "市国库"
		}, "government_unit_needs_treasury"},
		{"supervisor on a buyer", func(r *parties.Registration) { r.Supervisor = "国资委" }, "supervisor_not_applicable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := registration()
			tt.mod(&reg)
			_, err := db.Parties().CreateOrganisation(ctx, reg)
			if datavenue.KindOf(err) != datavenue.KindInvalid || datavenue.CodeOf(err) != tt.code {
				t.Fatalf("got %v (code %s), want invalid %s", err, datavenue.CodeOf(err), tt.code)
			}
		})
	}
}

func TestAuditTrailIsAppendOnly(t *testing.T) {
	db := testenv.NewDB(t)
	ctx := callerCtx()
	if _, err := db.Parties().CreateOrganisation(ctx, registration()); err != nil {
		t.Fatal(err)
	}
	for _, stmt := range []string{
		`UPDATE audit_events SET action = 'x.y'`,
		`DELETE FROM audit_events`,
		`TRUNCATE audit_events`,
	} {
		if _, err := db.Pool.Exec(ctx, stmt); err == nil {
			t.Errorf("%s succeeded, want it refused", stmt)
		}
	}
	events, _ := db.Audit().Events(ctx, audit.Filter{})
	if len(events) != 1 || events[0].Action != "organisation.registered" {
		t.Fatalf("audit events after tampering = %+v", events)
	}
}

func TestIdempotencyClaim(t *testing.T) {
	db := testenv.NewDB(t)
	ctx := context.Background()
	fp := idempotency.Fingerprinter{Key: []byte("test key")}
	hash := fp.Request("POST", "/v1/x", []byte(`{"a":1}`))
	other := fp.Request("POST", "/v1/x", []byte(`{"a":2}`))

	claim, err := db.Idempotency().Claim(ctx, "s", "k1", hash, time.Minute)
	if err != nil || claim.State != idempotency.Claimed {
		t.Fatalf("first claim = %+v, %v; want Claimed", claim, err)
	}
	if claim, _ := db.Idempotency().Claim(ctx, "s", "k1", hash, time.Minute); claim.State != idempotency.InProgress {
		t.Fatalf("claim while running = %v, want InProgress", claim.State)
	}
	if claim, _ := db.Idempotency().Claim(ctx, "s", "k1", other, time.Minute); claim.State != idempotency.Mismatch {
		t.Fatalf("claim with another body = %v, want Mismatch", claim.State)
	}
	if claim, _ := db.Idempotency().Claim(ctx, "other-scope", "k1", other, time.Minute); claim.State != idempotency.Claimed {
		t.Fatalf("same key in another scope = %v, want Claimed", claim.State)
	}
	resp := idempotency.Response{Status: 201, ContentType: "application/json", Body: []byte(`{"id":"x"}`)}
	if err := db.Idempotency().Complete(ctx, "s", "k1", resp); err != nil {
		t.Fatal(err)
	}
	claim, _ = db.Idempotency().Claim(ctx, "s", "k1", hash, time.Minute)
	if claim.State != idempotency.Replay || claim.Response.Status != 201 || string(claim.Response.Body) != `{"id":"x"}` {
		t.Fatalf("claim after completion = %+v, want Replay of the 201", claim)
	}

	// A claim whose holder died (lease over) can be taken again; a released one too.
	if claim, _ := db.Idempotency().Claim(ctx, "s", "k2", hash, -time.Second); claim.State != idempotency.Claimed {
		t.Fatalf("claim k2 = %v", claim.State)
	}
	if claim, _ := db.Idempotency().Claim(ctx, "s", "k2", hash, time.Minute); claim.State != idempotency.Claimed {
		t.Fatalf("claim of an expired lease = %v, want Claimed", claim.State)
	}
	if err := db.Idempotency().Release(ctx, "s", "k2"); err != nil {
		t.Fatal(err)
	}
	if claim, _ := db.Idempotency().Claim(ctx, "s", "k2", other, time.Minute); claim.State != idempotency.Claimed {
		t.Fatalf("claim after release = %v, want Claimed", claim.State)
	}
}

func TestIdempotencyClaimRaceHasOneWinner(t *testing.T) {
	db := testenv.NewDB(t)
	hash := idempotency.Fingerprinter{Key: []byte("test key")}.Request("POST", "/v1/x", nil)
	const n = 16
	states := make(chan idempotency.State, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			claim, err := db.Idempotency().Claim(context.Background(), "s", "race", hash, time.Minute)
			if err != nil {
				t.Error(err)
				return
			}
			states <- claim.State
		}()
	}
	close(start)
	wg.Wait()
	close(states)
	claimed := 0
	for s := range states {
		if s == idempotency.Claimed {
			claimed++
		} else if s != idempotency.InProgress {
			t.Errorf("state %v, want Claimed or InProgress", s)
		}
	}
	if claimed != 1 {
		t.Fatalf("%d concurrent requests claimed the key, want exactly 1", claimed)
	}
}
