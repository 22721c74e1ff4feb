package console

import (
	"context"
	"crypto/sha256"
	"encoding/hex"

	"github.com/gofiber/fiber/v2"

	"github.com/datavenue/datavenue"
)

// AuditLog records what happens at the console that no domain service records: a sign-in (by
// the development list or a provider), a refused sign-in and a sign-out. It writes to the same
// audit trail as every change (postgres.AuditStore.Record), with the caller taken from ctx.
type AuditLog interface {
	Record(ctx context.Context, action, resourceType, resourceID string, detail any) error
}

// sessionResource is the audit records' resource type: a console session, named by a prefix of
// its id's SHA-256 (the id is a secret; its hash links a sign-in to its sign-out, as the session
// store keys it).
const sessionResource = "console_session"

func sessionRef(id string) string {
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:8])
}

// audit records an action of caller on the session id (nil AuditLog: nothing, for a console
// built without a trail, which only tests do).
func (c *Console) audit(ctx *fiber.Ctx, caller datavenue.Caller, action, sid string, detail map[string]any) error {
	if c.o.Audit == nil {
		return nil
	}
	return c.o.Audit.Record(datavenue.WithCaller(ctx.UserContext(), caller), action, sessionResource, sessionRef(sid), detail)
}

// refused records a refused sign-in (who it claimed to be, how, and the refusal's code) and
// returns the refusal. A failure to record it is logged, not shown: the person is refused either
// way.
func (c *Console) refused(ctx *fiber.Ctx, method string, caller datavenue.Caller, refusal error) error {
	code := "internal"
	var de *datavenue.Error
	if asError(refusal, &de) {
		code = de.Code
	}
	sid, _ := ctx.Locals(localSID).(string)
	if err := c.audit(ctx, caller, "console.signin_refused", sid, map[string]any{"method": method, "code": code}); err != nil {
		c.o.Logger.ErrorContext(ctx.UserContext(), "console: audit a refused sign-in", "error", err.Error())
	}
	return refusal
}
