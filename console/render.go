package console

import (
	"bytes"
	"html/template"
	"net/url"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/datavenue/datavenue"
)

// view is what every page template gets: the language, the session (nil before sign-in), the
// navigation the role may use, and the page's own data.
type view struct {
	L       Lang
	Title   string
	Session *Session
	Nav     []navItem
	Path    string // the page's path and query, for the language switch
	Data    any
}

type navItem struct {
	Href, Label string
	Current     bool
}

// nav is what the role may open, in the order the menu shows it.
func nav(l Lang, s *Session, path string) []navItem {
	if s == nil || !s.SignedIn() {
		return nil
	}
	var items []navItem
	for _, m := range menu {
		if m.shown(s.Caller.Role) {
			items = append(items, navItem{Prefix + m.path, l.T("nav." + m.page), path == Prefix+m.path})
		}
	}
	return items
}

// menu is the navigation's pages, in its order: each shown to the roles that may open it (and,
// with work set, do the work it is for: everyone may list products, only operators publish).
var menu = []menuItem{
	{page: "products", path: "/manage/products", work: "publish"}, {page: "reviews", path: "/reviews", work: "decide"},
	{page: "certs", path: "/certificates", work: "correctcert"},
	{page: "concurrences", path: "/concurrences", work: "concur"}, {page: "approvals", path: "/approvals", work: "decideApproval"},
	{page: "grants", path: "/grants", work: "assess"}, {page: "caps", path: "/caps", work: "fileCap"},
	{page: "obligations", path: "/obligations"}, {page: "payments", path: "/payments"}, {page: "import", path: "/imports/new"}, {page: "exceptions", path: "/exceptions"},
	{page: "ledger", path: "/ledger"}, {page: "integrity", path: "/integrity"}, {page: "audit", path: "/audit", work: "integrity"},
	{page: "catalogue", path: "/catalogue"},
	// The buyer's (work: pages only buyers act on, so clerks who also read orders do not get them).
	{page: "myorders", path: "/orders", work: "confirm"}, {page: "deposits", path: "/deposits", work: "bid"},
	{page: "mynegotiations", path: "/negotiations", work: "negotiate"},
}

type menuItem struct{ page, path, work string }

func (m menuItem) shown(role datavenue.Role) bool {
	return allowed(m.page, role) && (m.work == "" || allowed(m.work, role))
}

// home is where a role lands after signing in: its first page of work (the catalogue for buyers,
// whose work starts there, and for roles with no page of their own).
func home(role datavenue.Role) string {
	// An auditor reads the books too (obligations come first on the menu) but starts from the
	// audit trail.
	if role == datavenue.RoleAuditor {
		return Prefix + "/audit"
	}
	// A buyer's day starts at the catalogue, its own pages (orders, deposits) being later ones.
	if role == datavenue.RoleBuyer {
		return Prefix + "/catalogue"
	}
	for _, m := range menu {
		if m.page != "catalogue" && m.shown(role) {
			return Prefix + m.path
		}
	}
	return Prefix + "/catalogue"
}

// funcs are the templates' helpers: list makes a list of literal values (a filter's choices).
var funcs = template.FuncMap{"list": func(v ...string) []string { return v }, "cst": cstMinute, "cstDate": cstDate}

// cstMinute shows an instant as people at the venue read it: China Standard Time, to the minute
// (a time read from PostgreSQL is in the process's zone, often UTC on a server). It takes
// time.Time, *time.Time (nil: nothing) or an RFC 3339 string.
func cstMinute(t any) string { return cstFormat(t, "2006-01-02 15:04") }

// cstDate is cstMinute's day.
func cstDate(t any) string { return cstFormat(t, "2006-01-02") }

func cstFormat(t any, layout string) string {
	switch v := t.(type) {
	case time.Time:
		return v.In(cst).Format(layout)
	case *time.Time:
		if v != nil {
			return v.In(cst).Format(layout)
		}
	case string: // an instant as a signed document carries it (RFC 3339, UTC); shown as is if it is not one
		if at, err := time.Parse(time.RFC3339, v); err == nil {
			return at.In(cst).Format(layout)
		}
		return v
	}
	return ""
}

// pageNames are the page templates (each parsed with the layout); other files add theirs.
var pageNames = []string{"signin", "catalogue", "product", "auction", "error",
	"obligations", "import", "imports", "exceptions", "ledger", "products", "gate", "reviews", "review", "audit", "integrity", "payments",
	"buyer-orders", "buyer-order", "buyer-voucher", "buyer-deposits", "buyer-negotiations", "buyer-negotiate", "buyer-negotiation"}

// parsePages parses each page with the layout, once.
func parsePages() map[string]*template.Template {
	out := map[string]*template.Template{}
	for _, name := range pageNames {
		out[name] = template.Must(template.New(name).Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html"))
	}
	parseBureauPages(out)
	return out
}

var buffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// render writes a page. The page is rendered to a buffer first, so a template error is an error
// page rather than half a page.
func (c *Console) render(ctx *fiber.Ctx, page, title string, data any) error {
	l := lang(ctx)
	s := sessionOf(ctx)
	v := view{L: l, Title: title, Session: s, Nav: nav(l, s, ctx.Path()), Path: pathWithLang(ctx, l.Other()), Data: data}
	buf := buffers.Get().(*bytes.Buffer)
	buf.Reset()
	defer buffers.Put(buf)
	if err := c.pages[page].ExecuteTemplate(buf, "layout", v); err != nil {
		return err
	}
	ctx.Type("html", "utf-8")
	return ctx.Send(buf.Bytes())
}

// pathWithLang is the current page in the other language (the switch's link).
func pathWithLang(ctx *fiber.Ctx, l Lang) string {
	q, _ := url.ParseQuery(string(ctx.Request().URI().QueryString()))
	q.Set("lang", string(l))
	return ctx.Path() + "?" + q.Encode()
}

// lang is the request's language: ?lang= (remembered in a cookie), else the cookie, else Chinese.
func lang(ctx *fiber.Ctx) Lang {
	if l, ok := ctx.Locals("console.lang").(Lang); ok {
		return l
	}
	l := parseLang(ctx.Query("lang"))
	if l != "" {
		ctx.Cookie(&fiber.Cookie{Name: langCookie, Value: string(l), Path: Prefix, MaxAge: 365 * 24 * 3600, SameSite: fiber.CookieSameSiteLaxMode})
	} else if l = parseLang(ctx.Cookies(langCookie)); l == "" {
		l = Chinese
	}
	ctx.Locals("console.lang", l)
	return l
}
