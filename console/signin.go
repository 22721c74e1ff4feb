package console

import (
	"slices"
	"time"

	"github.com/gofiber/fiber/v2"
	"golang.org/x/oauth2"

	"github.com/datavenue/datavenue"
)

// devOn reports whether the development sign-in is offered: only while the venue trusts its own
// development issuer, which production turns off.
func (c *Console) devOn() bool { return c.o.DevIssuer != "" && len(c.o.Dev) > 0 }

type signinData struct {
	Dev  []Identity
	OIDC bool
	CSRF string
}

func (c *Console) signinPage(ctx *fiber.Ctx) error {
	s := sessionOf(ctx)
	if s.SignedIn() {
		return ctx.Redirect(home(s.Caller.Role), fiber.StatusSeeOther)
	}
	d := signinData{OIDC: c.oidc != nil, CSRF: s.CSRF}
	if c.devOn() {
		d.Dev = c.o.Dev
	}
	return c.render(ctx, "signin", lang(ctx).T("signin.title"), d)
}

// devSignIn signs in as one of the listed demo identities, as the venue's development issuer
// would mint a token for it; the role gate still applies.
func (c *Console) devSignIn(ctx *fiber.Ctx) error {
	if !c.devOn() {
		return fiber.ErrNotFound
	}
	i := slices.IndexFunc(c.o.Dev, func(id Identity) bool { return id.Subject == ctx.FormValue("identity") })
	if i < 0 {
		return datavenue.Invalid("validation_failed", "choose one of the listed identities")
	}
	id := c.o.Dev[i]
	if err := c.signIn(ctx, datavenue.Caller{Subject: id.Subject, Issuer: c.o.DevIssuer, Role: id.Role, Org: id.Org}); err != nil {
		return err
	}
	return ctx.Redirect(home(id.Role), fiber.StatusSeeOther)
}

// oidcStart begins the authorization code flow: a fresh state, nonce and PKCE verifier are kept in
// the (server-side) session and the browser is sent to the provider. It is a link, not a form:
// it changes nothing but the session's pending sign-in, and the state binds the callback to it.
func (c *Console) oidcStart(ctx *fiber.Ctx) error {
	if c.oidc == nil {
		return fiber.ErrNotFound
	}
	s := sessionOf(ctx)
	p := Pending{State: randomToken(), Nonce: randomToken(), Verifier: oauth2.GenerateVerifier(), Started: c.now()}
	to, err := c.oidc.authURL(ctx.UserContext(), p)
	if err != nil {
		return err
	}
	s.Pending = &p
	if err := c.o.Sessions.Put(ctx.UserContext(), ctx.Locals(localSID).(string), *s, anonymousTTL); err != nil {
		return err
	}
	return ctx.Redirect(to, fiber.StatusSeeOther)
}

// pendingLimit is how long a sign-in at the provider may take.
const pendingLimit = 10 * time.Minute

// oidcCallback finishes the flow: the state must be this session's, the code is exchanged with
// the verifier, and the ID token's caller is signed in under the role gate.
func (c *Console) oidcCallback(ctx *fiber.Ctx) error {
	if c.oidc == nil {
		return fiber.ErrNotFound
	}
	s := sessionOf(ctx)
	p := s.Pending
	if p == nil || ctx.Query("state") == "" || ctx.Query("state") != p.State || c.now().Sub(p.Started) > pendingLimit {
		return datavenue.Unauthorized("oidc_state_mismatch", "this sign-in was not started here, or took too long: start again")
	}
	// The pending sign-in is used once, whatever happens next.
	s.Pending = nil
	if err := c.o.Sessions.Put(ctx.UserContext(), ctx.Locals(localSID).(string), *s, anonymousTTL); err != nil {
		return err
	}
	if e := ctx.Query("error"); e != "" {
		return datavenue.Unauthorized("oidc_refused", "the identity provider refused the sign-in: "+e)
	}
	caller, err := c.oidc.exchange(ctx.UserContext(), ctx.Query("code"), *p, c.now)
	if err != nil {
		return err
	}
	if err := c.signIn(ctx, caller); err != nil {
		return err
	}
	return ctx.Redirect(home(caller.Role), fiber.StatusSeeOther)
}

func (c *Console) signOut(ctx *fiber.Ctx) error {
	if err := c.o.Sessions.Delete(ctx.UserContext(), ctx.Locals(localSID).(string)); err != nil {
		return err
	}
	c.clearCookie(ctx)
	return ctx.Redirect(Prefix+"/signin", fiber.StatusSeeOther)
}
