package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/audit"
	"github.com/datavenue/datavenue/auth"
	"github.com/datavenue/datavenue/certificates"
	"github.com/datavenue/datavenue/config"
	"github.com/datavenue/datavenue/postgres"
	"github.com/datavenue/datavenue/settlement"
	"github.com/datavenue/datavenue/subscriptions"
	"github.com/datavenue/datavenue/workdays"
)

// certCommand verifies a certificate file. Offline by default: the trusted keys come from a JWKS
// file (downloaded once from /.well-known/jwks.json) or, on the venue's own machine, from its key
// folder. --online adds the venue's current answer (cancelled? superseded?), which no offline check
// can know.
func certCommand(ctx context.Context, cfg config.Config, args []string, stdout io.Writer) error {
	if len(args) < 1 || args[0] != "verify" {
		return errors.New("usage: datavenue cert verify FILE [--jwks JWKS.json] [--online BASE_URL]")
	}
	fs := flag.NewFlagSet("cert verify", flag.ContinueOnError)
	jwksPath := fs.String("jwks", "", "JWKS file with the venue's public keys (default: the keys in DATAVENUE_KEY_DIR)")
	online := fs.String("online", "", "venue base URL, e.g. http://127.0.0.1:8080, to check revocation status")
	file, rest := splitFileArg(args[1:])
	if err := fs.Parse(rest); err != nil {
		return err
	}
	// The file may also come after the flags (`cert verify --jwks k.json FILE`), as users type both.
	if file == "" && fs.NArg() == 1 {
		file = fs.Arg(0)
	}
	if file == "" {
		return errors.New("usage: datavenue cert verify FILE [--jwks JWKS.json] [--online BASE_URL]")
	}
	// The file holds the compact JWS as downloaded; surrounding whitespace (an editor's newline) is
	// not part of it and is trimmed before verifying.
	raw, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	keys, err := trustedKeys(cfg, *jwksPath)
	if err != nil {
		return err
	}
	// Validity dates are judged against now, converted by the document's own nbf and exp (CST day
	// boundaries), so the check agrees with the venue wherever it runs.
	doc, err := certificates.Verify(strings.TrimSpace(string(raw)), keys, time.Now())
	if err != nil {
		return fmt.Errorf("%s: NOT VALID: %w", file, err)
	}
	// The report prints what the signed document says, not what the venue's database holds now: an
	// offline reader sees exactly what was certified.
	fmt.Fprintf(stdout, "%s: signature valid\n  %s version %d (%s certificate, %s)\n  asset %s %q, version %d\n  holder %s %s\n  issuer %s %s\n  scope: scenarios %s; product types %s\n  valid %s to %s\n",
		file, doc.Number, doc.Version, doc.Kind, doc.Amendment, doc.AssetID, doc.AssetName, doc.AssetVersion,
		doc.HolderID, doc.HolderName, doc.IssuerOrg, doc.IssuerName, strings.Join(doc.Scope.Scenarios, "; "),
		strings.Join(doc.Scope.ProductTypes, ", "), doc.ValidFrom, doc.ValidUntil)
	// Offline success exits 0 but says plainly that cancellation and supersession were not checked:
	// a signature proves what was issued, not that it still stands.
	if *online == "" {
		fmt.Fprintln(stdout, "  status at the venue: not checked (offline); add --online BASE_URL")
		return nil
	}
	report, err := fetchStatus(ctx, *online, doc.Number, doc.Version)
	if err != nil {
		return fmt.Errorf("%s: online status check failed: %w", file, err)
	}
	fmt.Fprintf(stdout, "  status at the venue on %s: %s (latest version %d)\n", report.CheckedOn, report.Status, report.LatestVersion)
	// Any status but valid is a failure (exit 1), so scripts can rely on the exit status alone.
	if report.Status != certificates.StatusValid {
		reason := ""
		if report.Reason != "" {
			reason = ": " + report.Reason
		}
		return fmt.Errorf("%s: NOT VALID: the venue reports it %s%s", file, report.Status, reason)
	}
	return nil
}

// splitFileArg lets the file come before the flags (Go's flag package stops at the first non-flag).
func splitFileArg(args []string) (string, []string) {
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		return args[0], args[1:]
	}
	return "", args
}

// trustedKeys prefers an explicit JWKS file (what a relying party away from the venue has);
// without one it reads the venue's own key folder, without creating a key, since a fresh key could
// verify nothing.
func trustedKeys(cfg config.Config, jwksPath string) (auth.KeySource, error) {
	if jwksPath == "" {
		return auth.LoadKeyring(cfg.KeyDir, false)
	}
	raw, err := os.ReadFile(jwksPath)
	if err != nil {
		return nil, err
	}
	var set auth.JWKSet
	if err := json.Unmarshal(raw, &set); err != nil {
		return nil, fmt.Errorf("%s is not a JWKS file: %w", jwksPath, err)
	}
	return auth.StaticSet(set)
}

// fetchStatus asks the venue's public status endpoint (no token) about one number and version.
// The 10 s timeout and the 1 MiB cap keep a slow or hostile URL from hanging or flooding the
// command; any answer but 200 is an error rather than a guess.
func fetchStatus(ctx context.Context, base, number string, version int) (certificates.StatusReport, error) {
	var report certificates.StatusReport
	u := strings.TrimRight(base, "/") + "/v1/public/certificates/" + url.PathEscape(number) + "/status?version=" + fmt.Sprint(version)
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return report, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return report, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return report, fmt.Errorf("the venue answered %s", resp.Status)
	}
	return report, json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&report)
}

// sweep runs, once and now, the clock-driven work the serving processes run on their tickers:
// expiries first (with their events), then the settlement sweep (unpaid orders cancelled after
// their payment days with the deposit forfeited, deliveries auto-confirmed after
// DATAVENUE_CONFIRM_AFTER_DAYS, due dates counted once a year's calendar is known), then
// subscription bills and the purge of idempotency keys past their retention. All are
// safe while venues run, which run the same steps themselves. It acts as the system caller, so
// the audit records say the sweep did it. Events are left for a serving process to deliver.
func sweep(ctx context.Context, cfg config.Config, stdout io.Writer) error {
	db, err := postgres.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer db.Close()
	n, err := db.Certificates().ExpireDue(datavenue.WithCaller(ctx, audit.SystemCaller), time.Now())
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "sweep: %d expiries recorded\n", n)
	// The key signs the vouchers of auto-confirmed deliveries.
	kr, err := auth.LoadKeyring(cfg.KeyDir, true) // as serve does: the first run makes the key
	if err != nil {
		return err
	}
	calendar, err := workdays.Load(cfg.CalendarFile)
	if err != nil {
		return err
	}
	clock := datavenue.SystemClock{}
	sweeper := settlement.Sweeper{Orders: settlement.Service{Store: db.Settlement(), Calendar: calendar, Clock: clock},
		Vouchers: settlement.Vouchers{Store: db.Settlement(), Keys: kr, Issuer: cfg.JWTIssuer, Clock: clock, ConfirmAfter: cfg.ConfirmAfter}}
	res, err := sweeper.Once(datavenue.WithCaller(ctx, audit.SystemCaller))
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "sweep: %d unpaid orders cancelled (deposits forfeited), %d deliveries confirmed automatically, %d due dates filled in (%d still pending)\n",
		res.Cancelled, res.AutoConfirmed, res.DueDatesFilled, res.DueDatesPending)
	bills, err := subscriptions.Biller{Store: db.Subscriptions(), Clock: clock}.Run(datavenue.WithCaller(ctx, audit.SystemCaller))
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "sweep: %d subscription bills made\n", bills)
	purged, err := db.Idempotency().Purge(datavenue.WithCaller(ctx, audit.SystemCaller), cfg.IdempotencyRetention)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "sweep: %d idempotency keys older than %s purged\n", purged, cfg.IdempotencyRetention)
	return nil
}
