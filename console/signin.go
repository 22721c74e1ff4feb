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
		return c.refused(ctx, "dev", datavenue.Caller{Subject: ctx.FormValue("identity"), Issuer: c.o.DevIssuer},
			datavenue.Invalid("validation_failed", "choose one of the listed identities"))
	}
	id := c.o.Dev[i]
	caller := datavenue.Caller{Subject: id.Subject, Issuer: c.o.DevIssuer, Role: id.Role, Org: id.Org}
	if err := c.signIn(ctx, caller, "dev", ""); err != nil {
		return c.refused(ctx, "dev", caller, err)
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
	unknown := datavenue.Caller{Subject: "anonymous", Issuer: c.oidc.cfg.Issuer}
	if p == nil || ctx.Query("state") == "" || ctx.Query("state") != p.State || c.now().Sub(p.Started) > pendingLimit {
		return c.refused(ctx, "oidc", unknown, datavenue.Unauthorized("oidc_state_mismatch", "this sign-in was not started here, or took too long: start again"))
	}
	// The pending sign-in is used once, whatever happens next.
	s.Pending = nil
	if err := c.o.Sessions.Put(ctx.UserContext(), ctx.Locals(localSID).(string), *s, anonymousTTL); err != nil {
		return err
	}
	if e := ctx.Query("error"); e != "" {
		return c.refused(ctx, "oidc", unknown, datavenue.Unauthorized("oidc_refused", "the identity provider refused the sign-in: "+e))
	}
	id, err := c.oidc.exchange(ctx.UserContext(), ctx.Query("code"), *p, c.now)
	if err != nil {
		if id.Subject != "" {
			unknown.Subject, unknown.Org = id.Subject, id.Org
		}
		return c.refused(ctx, "oidc", unknown, err)
	}
	caller := c.pickRole(ctx, id)
	if err := c.signIn(ctx, caller, "oidc", id.IDToken); err != nil {
		return c.refused(ctx, "oidc", caller, err)
	}
	return ctx.Redirect(home(caller.Role), fiber.StatusSeeOther)
}

// signOut ends the venue's session and, for a person who signed in at a provider that offers
// RP-initiated logout (end_session_endpoint), sends the browser there to end the provider's
// session too (with the ID token as id_token_hint, and the sign-in page to come back to);
// otherwise back to the sign-in page. The sign-out is audited first: a sign-out that cannot be
// recorded does not happen.
func (c *Console) signOut(ctx *fiber.Ctx) error {
	s, sid := sessionOf(ctx), ctx.Locals(localSID).(string)
	to := Prefix + "/signin"
	if c.oidc != nil && s.IDToken != "" {
		if u := c.oidc.logoutURL(ctx.UserContext(), s.IDToken); u != "" {
			to = u
		}
	}
	if err := c.audit(ctx, s.Caller, "console.signout", sid, map[string]any{"at_provider": to != Prefix+"/signin"}); err != nil {
		return err
	}
	if err := c.o.Sessions.Delete(ctx.UserContext(), sid); err != nil {
		return err
	}
	c.clearCookie(ctx)
	return ctx.Redirect(to, fiber.StatusSeeOther)
}

// pickRole is the caller an OIDC identity signs in as: its first role (in the claim's order) that
// the role gate finds the organisation holding, or its first role when none is (the gate then
// refuses it at sign-in, with its reason).
func (c *Console) pickRole(ctx *fiber.Ctx, id oidcIdentity) datavenue.Caller {
	caller := datavenue.Caller{Subject: id.Subject, Issuer: id.Issuer, Org: id.Org, Role: id.Roles[0]}
	for _, r := range id.Roles {
		try := caller
		try.Role = r
		if c.d.Roles.Check(ctx.UserContext(), try) == nil {
			return try
		}
	}
	return caller
}
