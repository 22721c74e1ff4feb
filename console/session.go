package console

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/datavenue/datavenue"
	"github.com/datavenue/datavenue/api"
)

// Session is a browser's session, kept on the server (Sessions): the browser holds only an
// opaque random id in an HttpOnly cookie, never a token. A session without a caller is anonymous:
// it exists to carry the CSRF token of the sign-in form and a sign-in in progress.
type Session struct {
	Caller datavenue.Caller `json:"caller"`
	// OrgName is the organisation's name, shown beside the role.
	OrgName string `json:"org_name,omitempty"`
	// CSRF is the synchroniser token every form of this session carries and every POST is
	// checked against.
	CSRF string `json:"csrf"`
	// Pending is an OpenID Connect sign-in under way (state, nonce, PKCE verifier).
	Pending *Pending `json:"pending,omitempty"`
	// IDToken is the provider's ID token of an OIDC sign-in: the id_token_hint of the logout at
	// the provider. It stays on the server with the rest of the session.
	IDToken string    `json:"id_token,omitempty"`
	Created time.Time `json:"created"`
}

// Pending is an authorization code flow in progress: what the callback must find again.
type Pending struct {
	State    string    `json:"state"`
	Nonce    string    `json:"nonce"`
	Verifier string    `json:"verifier"`
	Started  time.Time `json:"started"`
}

// SignedIn reports whether the session acts for someone.
func (s Session) SignedIn() bool { return s.Caller.Role != "" }

// Sessions keeps sessions by id until they expire. Ids are secrets: a store keeps them hashed.
type Sessions interface {
	Get(ctx context.Context, id string) (Session, bool, error)
	Put(ctx context.Context, id string, s Session, ttl time.Duration) error
	Delete(ctx context.Context, id string) error
}

// How long sessions live: a signed-in one for a working day (absolute, not sliding: a stolen
// cookie is not kept alive by use), an anonymous one for as long as a sign-in may take.
const (
	signedInTTL  = 8 * time.Hour
	anonymousTTL = 30 * time.Minute
	cookieName   = "dv_console"
	langCookie   = "dv_lang"
	localSession = "console.session"
	localSID     = "console.sid"
)

// randomToken is 32 random bytes, base64url: session ids, CSRF tokens, OIDC state and nonce.
func randomToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// setCookie sends the session cookie: HttpOnly, SameSite=Lax (sent on top-level navigation back
// from the identity provider, never on cross-site POSTs), Secure when the venue is behind TLS.
func (c *Console) setCookie(ctx *fiber.Ctx, id string, ttl time.Duration) {
	ctx.Cookie(&fiber.Cookie{Name: cookieName, Value: id, Path: Prefix, HTTPOnly: true, Secure: c.o.Secure,
		SameSite: fiber.CookieSameSiteLaxMode, MaxAge: int(ttl.Seconds())})
}

// clearCookie tells the browser to forget the session id (the same path, or it would not).
func (c *Console) clearCookie(ctx *fiber.Ctx) {
	ctx.Cookie(&fiber.Cookie{Name: cookieName, Value: "", Path: Prefix, HTTPOnly: true, Secure: c.o.Secure,
		SameSite: fiber.CookieSameSiteLaxMode, MaxAge: -1})
}

// session loads the browser's session, or starts an anonymous one. With signedIn, a browser
// without a signed-in session is sent to the sign-in page, and a signed-in caller is held to the
// same role gate as a bearer token (its organisation must still hold its role), on every request.
func (c *Console) session(signedIn bool) fiber.Handler {
	return func(ctx *fiber.Ctx) error {
		id := ctx.Cookies(cookieName)
		var s Session
		found := false
		if id != "" {
			var err error
			if s, found, err = c.o.Sessions.Get(ctx.UserContext(), id); err != nil {
				return err
			}
		}
		if signedIn && (!found || !s.SignedIn()) {
			return ctx.Redirect(Prefix+"/signin", fiber.StatusSeeOther)
		}
		if err := c.spend(ctx, s, found); err != nil {
			return err
		}
		if !found {
			id, s = randomToken(), Session{CSRF: randomToken(), Created: c.now()}
			if err := c.o.Sessions.Put(ctx.UserContext(), id, s, anonymousTTL); err != nil {
				return err
			}
			c.setCookie(ctx, id, anonymousTTL)
		}
		if s.SignedIn() {
			if err := c.d.Roles.Check(ctx.UserContext(), s.Caller); err != nil {
				if datavenue.KindOf(err) == datavenue.KindForbidden {
					_ = c.o.Sessions.Delete(ctx.UserContext(), id)
					c.clearCookie(ctx)
				}
				return err
			}
			ctx.SetUserContext(datavenue.WithCaller(ctx.UserContext(), s.Caller))
		}
		ctx.Locals(localSession, &s)
		ctx.Locals(localSID, id)
		return ctx.Next()
	}
}

// spend takes one request from a budget the API's limiter keeps (the same cells in Redis): a
// signed-in person's organisation's, shared with its API calls, so the console is no way around the
// organisation's limit; anyone else's address's (the sign-in pages: refused sign-ins are audited,
// and an anonymous session is written, so without a limit a client could grow both without end).
// It runs before an anonymous session is made. A limiter that is down lets the request through,
// as the API's does: refusing every page because the limiter is down would make a small outage a
// total one.
func (c *Console) spend(ctx *fiber.Ctx, s Session, found bool) error {
	rl := c.d.RateLimiter
	if rl == nil {
		return nil
	}
	key := "ip:" + ctx.IP()
	if found && s.SignedIn() {
		key = string(s.Caller.Org)
	}
	return api.Spend(ctx, rl, c.o.Logger, key, "requests from your organisation (or, before signing in, your address)")
}

// errCSRF is a form without this session's token.
var errCSRF = datavenue.Forbidden("csrf_token_invalid", "the form's CSRF token does not match the session's")

// csrf refuses a POST whose form does not carry the session's synchroniser token, compared in
// constant time. Forms are small: a larger body is refused before it is read.
func (c *Console) csrf(ctx *fiber.Ctx) error {
	if n := ctx.Request().Header.ContentLength(); n < 0 || n > formLimit {
		return fiber.NewError(fiber.StatusRequestEntityTooLarge, "a console form is at most 64 KiB")
	}
	if err := checkCSRF(sessionOf(ctx), ctx.FormValue("_csrf")); err != nil {
		return err
	}
	return ctx.Next()
}

// checkCSRF compares a form's token with the session's, in constant time.
func checkCSRF(s *Session, got string) error {
	if s == nil || s.CSRF == "" || subtle.ConstantTimeCompare([]byte(got), []byte(s.CSRF)) != 1 {
		return errCSRF
	}
	return nil
}

const formLimit = 64 << 10

func sessionOf(ctx *fiber.Ctx) *Session {
	s, _ := ctx.Locals(localSession).(*Session)
	return s
}

// signIn replaces the browser's session by a new one for caller: a new id (so an id planted
// before sign-in is worth nothing after it) and a new CSRF token.
func (c *Console) signIn(ctx *fiber.Ctx, caller datavenue.Caller, method, idToken string) error {
	if err := c.d.Roles.Check(ctx.UserContext(), caller); err != nil {
		return err
	}
	name := string(caller.Org)
	if org, err := c.d.Organisations.Get(ctx.UserContext(), caller.Org); err == nil {
		name = org.Name
		if lang(ctx) == English && org.NameEN != "" {
			name = org.NameEN
		}
	}
	if old, _ := ctx.Locals(localSID).(string); old != "" {
		if err := c.o.Sessions.Delete(ctx.UserContext(), old); err != nil {
			return err
		}
	}
	id := randomToken()
	s := Session{Caller: caller, OrgName: name, CSRF: randomToken(), Created: c.now(), IDToken: idToken}
	// Recorded before the session exists: a sign-in the trail does not show must not happen.
	if err := c.audit(ctx, caller, "console.signin", id, map[string]any{"method": method}); err != nil {
		return err
	}
	if err := c.o.Sessions.Put(ctx.UserContext(), id, s, signedInTTL); err != nil {
		return err
	}
	c.setCookie(ctx, id, signedInTTL)
	// Who signed in, how and when, for the operators' logs (the audit trail records what each
	// caller then changes, with the same caller).
	c.o.Logger.InfoContext(ctx.UserContext(), "console sign-in", "subject", caller.Subject, "issuer", caller.Issuer,
		"role", string(caller.Role), "org", string(caller.Org))
	return nil
}
