package matching

import (
	"context"
	"errors"

	"github.com/redis/go-redis/v9"
)

// CodeOf returns the refusal code of a bid error, or "" (the tests' way to read one; the API reads
// the venue error a BidError converts to).
func CodeOf(err error) string {
	var be *BidError
	if errors.As(err, &be) {
		return be.Code
	}
	return ""
}

// SetEngineCap writes an auction's cap in the engine directly, as cap.lua leaves it before its
// caller stops the auction: the test of the window between the two.
func SetEngineCap(t interface{ Fatal(...any) }, e Engine, auctionID string, capFen int64) {
	h, ok := e.Redis.(interface {
		HSet(ctx context.Context, key string, values ...any) *redis.IntCmd
	})
	if !ok {
		t.Fatal("the engine's Redis has no HSet")
	}
	if err := h.HSet(context.Background(), e.Keys.auction(auctionID, "meta"), "cap", capFen).Err(); err != nil {
		t.Fatal(err)
	}
}
