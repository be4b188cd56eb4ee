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
	s := newSite(d.Log, d.Tokens, d.Client, now)
	r := d.Basics.NewSiteRouter() // no CORS: no other origin reads these pages
	r.NotFound(s.notFound)
	r.MethodNotAllowed(s.notFound)
	r.Handle("/static/*", s.pages.static)
	r.Get("/img/{id}", handleImage(s))
	r.Group(func(r chi.Router) {
		// Pages are gzipped for browsers that accept it (a catalog page shrinks about sixfold).
		r.Use(middleware.Compress(5, "text/html"), s.securityHeaders, s.language, s.csrf, s.session)
		addRoutes(r, s)
	})
	return r
}

// addRoutes lists every page. POSTs carry the form's CSRF token (checked by s.csrf).
func addRoutes(r chi.Router, s *site) {
	r.Get("/lang/{lang}", handleLanguage(s))

	// Shopper: anyone may browse.
	r.Get("/", handleCatalog(s))
	r.Get("/articles/{id}", handleArticle(s))
	r.Get("/signup", handleSignUpForm(s))
	r.Post("/signup", handleSignUp(s))
	r.Get("/signin", handleSignInForm(s))
	r.Post("/signin", handleSignIn(s))

	// Shopper: signed in.
	r.Group(func(r chi.Router) {
		r.Use(s.requireUser)
		r.Post("/signout", handleSignOut(s))
		r.Get("/account/password", handlePasswordForm(s))
		r.Post("/account/password", handlePasswordChange(s))
		r.Get("/account/sessions", handleSessions(s))
		r.Post("/account/sessions/others/end", handleOtherSessionsEnd(s))
		r.Post("/account/sessions/{id}/end", handleSessionEnd(s))
		r.Get("/cart", handleCart(s))
		r.Post("/cart/add", handleCartAdd(s))
		r.Post("/cart/lines/{articleId}", handleCartLine(s))
		r.Post("/cart/checkout", handleCheckout(s))
		r.Get("/orders", handleOrders(s))
		r.Get("/orders/{id}", handleOrder(s))
		r.Get("/orders/{id}/live", handleOrderLive(s))
		r.Post("/orders/{id}/payment", handlePayment(s))
		r.Get("/orders/{id}/cancel", handleCancelForm(s))
		r.Post("/orders/{id}/cancel", handleCancel(s))
	})

	// Admin console: users with the "admin" permission; others get a 403 page.
	r.Route("/admin", func(r chi.Router) {
		r.Use(s.requireUser, s.requireAdmin)
		r.Get("/", http.RedirectHandler("/admin/articles", http.StatusSeeOther).ServeHTTP)
		r.Get("/articles", handleAdminArticles(s))
		r.Get("/articles/new", handleArticleForm(s))
		r.Post("/articles/new", handleArticleCreate(s))
		r.Get("/articles/{id}", handleArticleForm(s))
		r.Post("/articles/{id}", handleArticleUpdate(s))
		r.Get("/articles/{id}/disable", handleArticleDisableConfirm(s))
		r.Post("/articles/{id}/disable", handleArticleDisable(s))
		r.Post("/articles/{id}/restore", handleArticleRestore(s))
		r.Get("/users", handleAdminUsers(s))
		r.Get("/users/{id}/disable", handleUserDisableConfirm(s))
		r.Post("/users/{id}/{action}", handleUserChange(s))
		r.Get("/orders", handleAdminOrders(s))
		r.Post("/orders/{id}/ship", handleShip(s))
		r.Post("/orders/{id}/deliver", handleDeliver(s))
	})
}
