package web

import (
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"github.com/ecommerce-go/ecommerce/pkg/tokens"
	pkgweb "github.com/ecommerce-go/ecommerce/pkg/web"
	"github.com/ecommerce-go/ecommerce/web/api"
)

// Deps is what the storefront's HTTP server needs.
type Deps struct {
	pkgweb.Basics
	Tokens *tokens.Checker
	Client *api.Client      // the five services' REST APIs
	Now    func() time.Time // the clock of the caches; time.Now when nil
}

// NewServer returns the storefront and admin console (SPEC §3.6): HTML pages rendered on the
// server from the five services' REST APIs.
func NewServer(d Deps) http.Handler {
	now := d.Now
	if now == nil {
		now = time.Now
	}
	p := mustParsePages(d.Log, d.Tokens)
	g := &guard{pages: p, checker: d.Tokens, log: d.Log}
	r := d.Basics.NewSiteRouter() // no CORS: no other origin reads these pages
	r.NotFound(p.notFound)
	r.MethodNotAllowed(p.notFound)
	r.Handle("/static/*", p.static)
	r.Get("/img/{id}", handleImage(d.Client))
	r.Group(func(r chi.Router) {
		// Pages are gzipped for browsers that accept it (a catalog page shrinks about sixfold).
		r.Use(middleware.Compress(5, "text/html"), securityHeaders, language, g.csrf, g.session)
		addRoutes(r, p, g, d.Client, d.Tokens, newListingCache(d.Client, now), newUserNames(d.Client, now))
	})
	return r
}

// addRoutes lists every page. POSTs carry the form's CSRF token (checked by g.csrf).
func addRoutes(r chi.Router, p *pages, g *guard, c *api.Client, checker *tokens.Checker, listing *listingCache, names *userNames) {
	r.Get("/lang/{lang}", handleLanguage(p))

	// Shopper: anyone may browse.
	r.Get("/", handleCatalog(p, listing))
	r.Get("/articles/{id}", handleArticle(p, c))
	r.Get("/signup", handleSignUpForm(p))
	r.Post("/signup", handleSignUp(p, c))
	r.Get("/signin", handleSignInForm(p))
	r.Post("/signin", handleSignIn(p, c))

	// Shopper: signed in.
	r.Group(func(r chi.Router) {
		r.Use(g.requireUser)
		r.Post("/signout", handleSignOut(p, c, checker))
		r.Get("/account/password", handlePasswordForm(p))
		r.Post("/account/password", handlePasswordChange(p, c))
		r.Get("/account/sessions", handleSessions(p, c))
		r.Post("/account/sessions/others/end", handleOtherSessionsEnd(p, c))
		r.Post("/account/sessions/{id}/end", handleSessionEnd(p, c))
		r.Get("/cart", handleCart(p, c))
		r.Post("/cart/add", handleCartAdd(p, c))
		r.Post("/cart/lines/{articleId}", handleCartLine(p, c))
		r.Post("/cart/checkout", handleCheckout(p, c))
		r.Get("/orders", handleOrders(p, c))
		r.Get("/orders/{id}", handleOrder(p, c))
		r.Get("/orders/{id}/live", handleOrderLive(p, c))
		r.Post("/orders/{id}/payment", handlePayment(p, c))
		r.Get("/orders/{id}/cancel", handleCancelForm(p, c))
		r.Post("/orders/{id}/cancel", handleCancel(p, c))
	})

	// Admin console: users with the "admin" permission; others get a 403 page.
	r.Route("/admin", func(r chi.Router) {
		r.Use(g.requireUser, g.requireAdmin)
		r.Get("/", http.RedirectHandler("/admin/articles", http.StatusSeeOther).ServeHTTP)
		r.Get("/articles", handleAdminArticles(p, c))
		r.Get("/articles/new", handleArticleForm(p, c))
		r.Post("/articles/new", handleArticleSave(p, c))
		r.Get("/articles/{id}", handleArticleForm(p, c))
		r.Post("/articles/{id}", handleArticleSave(p, c))
		r.Get("/articles/{id}/disable", handleArticleDisableConfirm(p, c))
		r.Post("/articles/{id}/disable", handleArticleDisable(p, c))
		r.Post("/articles/{id}/restore", handleArticleRestore(p, c))
		r.Get("/users", handleAdminUsers(p, c))
		r.Get("/users/{id}/disable", handleUserDisableConfirm(p))
		r.Post("/users/{id}/{action}", handleUserChange(p, c))
		r.Get("/orders", handleAdminOrders(p, c, names))
		r.Post("/orders/{id}/ship", handleShip(p, c))
		r.Post("/orders/{id}/deliver", handleDeliver(p, c))
	})
}
