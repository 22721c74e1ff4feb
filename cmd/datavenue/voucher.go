package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/datavenue/datavenue/config"
	"github.com/datavenue/datavenue/postgres"
	"github.com/datavenue/datavenue/settlement"
)

// voucherCommand verifies one voucher file offline, or the whole voucher log in the database.
// A voucher (凭证, D15/G7) is the signed record of a trade's delivery; each is also an entry of a
// hash-chained log. verify checks one file offline, as a buyer's or an auditor's accountant would,
// with the published keys (--jwks) or the venue's key folder; it proves the content and its place
// (seq, previous hash) but not that the log around it is intact. verify-chain checks the whole log
// in the database: every signature, and every entry's hash over the one before, so a voucher
// edited, removed or inserted out of order is found.
func voucherCommand(ctx context.Context, cfg config.Config, args []string, stdout io.Writer) error {
	const usage = "usage: datavenue voucher verify FILE [--jwks JWKS.json] | datavenue voucher verify-chain [--jwks JWKS.json]"
	if len(args) < 1 {
		return errors.New(usage)
	}
	fs := flag.NewFlagSet("voucher", flag.ContinueOnError)
	jwksPath := fs.String("jwks", "", "JWKS file with the venue's public keys (default: the keys in DATAVENUE_KEY_DIR)")
	switch args[0] {
	case "verify":
		file, rest := splitFileArg(args[1:])
		if err := fs.Parse(rest); err != nil {
			return err
		}
		if file == "" {
			return errors.New(usage)
		}
		raw, err := os.ReadFile(file)
		if err != nil {
			return err
		}
		keys, err := trustedKeys(cfg, *jwksPath)
		if err != nil {
			return err
		}
		v, err := settlement.VerifyVoucher(strings.TrimSpace(string(raw)), keys)
		if err != nil {
			return fmt.Errorf("%s: NOT VALID: %w", file, err)
		}
		// As with certificates, the report is the voucher's signed content, readable without the venue.
		fmt.Fprintf(stdout, "%s: signature valid\n  voucher %s, entry %d of the log (previous hash %s…)\n  order %s, trade %s, product %s\n  %s CNY by %s pricing; buyer %s, seller %s, traded %s\n  certificates: %s\n  delivered %s (%s), confirmed %s\n",
			file, v.ID, v.Seq, v.PrevHash[:12], v.OrderID, v.TradeID, v.ProductID, v.Price, v.Method, v.Buyer, v.Seller, v.TradedAt,
			strings.Join(v.Certificates, ", "), v.DeliveredAt, v.Delivery.Method, v.ConfirmedAt)
		return nil
	case "verify-chain":
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		// The chain is checked with the same keys as single vouchers: a JWKS file lets an auditor check
		// a database copy without the venue's key folder.
		keys, err := trustedKeys(cfg, *jwksPath)
		if err != nil {
			return err
		}
		db, err := postgres.Open(ctx, cfg.DatabaseURL)
		if err != nil {
			return err
		}
		defer db.Close()
		log, err := db.Settlement().VoucherLog(ctx)
		if err != nil {
			return err
		}
		// The log is read whole, in order; verification stops at the first broken entry and names it.
		if err := settlement.VerifyChain(log, keys); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "voucher log intact: %d entries, every hash and signature verified\n", len(log))
		return nil
	}
	return errors.New(usage)
}
