package settlement

import (
	"context"
	"time"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/auth"
)

// Vouchers delivers, confirms and issues vouchers: the seller records a delivery, the buyer
// confirms it (or the confirmation period passes), and the venue signs a voucher binding
// registration, transaction and delivery (D15) and appends it to the hash-chained log.
type Vouchers struct {
	Store  VoucherStore
	Keys   *auth.Keyring
	Issuer string
	Clock  datavenue.Clock
	// ConfirmAfter is how long a buyer has to confirm (or dispute) a delivery before the venue
	// confirms it.
	ConfirmAfter time.Duration
}

// Deliver records what the seller delivered for a paid order.
func (s Vouchers) Deliver(ctx context.Context, caller datavenue.Caller, orderID string, d Delivery) (Order, error) {
	if !caller.Is(datavenue.RoleOperator) {
		return Order{}, datavenue.Forbidden("role_not_allowed", "the seller records the delivery")
	}
	// Who may comes before what is sent: a caller who is not the order's seller learns nothing
	// of the delivery's faults. A valid delivery goes straight to the store, which checks the
	// seller in its transaction (with the same answer); an invalid one is checked here first.
	if err := d.Validate(); err != nil {
		o, herr := s.Store.OrderHead(ctx, orderID)
		if herr != nil {
			return Order{}, herr
		}
		if o.SellerID != caller.Org {
			return Order{}, datavenue.NotFound("order_not_found", "no order of yours has this id")
		}
		return Order{}, datavenue.Invalid("validation_failed", "invalid delivery",
			datavenue.FieldError{Field: "delivery", Code: "invalid_delivery", Message: err.Error()})
	}
	return s.Store.RecordDelivery(ctx, orderID, caller.Org, d)
}

// Confirm is the buyer's confirmation of a delivery: it issues the signed voucher and appends it
// to the hash-chained log.
func (s Vouchers) Confirm(ctx context.Context, caller datavenue.Caller, orderID string) (Voucher, error) {
	if !caller.Is(datavenue.RoleBuyer) {
		return Voucher{}, datavenue.Forbidden("role_not_allowed", "the buyer confirms the delivery")
	}
	// Signing happens inside the store's transaction, which numbers the voucher and takes the
	// previous hash: the content signed and its place in the chain cannot diverge.
	return s.Store.Confirm(ctx, orderID, caller.Org, func(v VoucherContent) (string, error) {
		return SignVoucher(s.Keys, s.Issuer, v)
	})
}

// AutoConfirm confirms the deliveries their buyers left unconfirmed for the confirmation period
// (the sweeper runs it); the vouchers say they were confirmed automatically. It returns their ids.
func (s Vouchers) AutoConfirm(ctx context.Context) ([]string, error) {
	return s.Store.AutoConfirm(ctx, s.Clock.Now().Add(-s.ConfirmAfter), func(v VoucherContent) (string, error) {
		return SignVoucher(s.Keys, s.Issuer, v)
	})
}

// Voucher returns a voucher (its document is served separately, for offline verification).
func (s Vouchers) Voucher(ctx context.Context, caller datavenue.Caller, id string) (Voucher, error) {
	v, err := s.Store.Voucher(ctx, id)
	if err != nil {
		return Voucher{}, err
	}
	// A voucher names the parties and the price: it is the buyer's, the seller's and the
	// supervisors' to read (an accountant books from it), nobody else's.
	if !isBookKeeper(caller) {
		o, err := s.Store.OrderHead(ctx, v.OrderID)
		if err != nil {
			return Voucher{}, err
		}
		if caller.Org != o.BuyerID && caller.Org != o.SellerID {
			return Voucher{}, datavenue.NotFound("voucher_not_found", "no voucher of yours has this id")
		}
	}
	return v, nil
}
