package api

import (
	"testing"

	"github.com/gofiber/fiber/v2"
)

// A Fiber status the problem table does not name is answered 500 internal, once: it recursed
// forever before (the internal wrapper unwraps to the same Fiber error).
func TestUnnamedFiberStatusIsInternal(t *testing.T) {
	for _, code := range []int{fiber.StatusTeapot, fiber.StatusBadGateway} {
		if p := problemFor(fiber.NewError(code, "x")); p.Status != 500 || p.Code != "internal" || p.Detail != "internal error" {
			t.Errorf("Fiber %d: %+v, want 500 internal", code, p)
		}
	}
	if p := problemFor(fiber.NewError(fiber.StatusNotAcceptable, "only json")); p.Status != 406 || p.Code != "not_acceptable" {
		t.Errorf("406: %+v", p)
	}
}
