package web

import (
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/go-chi/chi/v5"

	"github.com/ecommerce-go/ecommerce/web/api"
)

const adminPageSize = 20

// handleAdminArticles lists the articles for sale, or with ?deleted=1 the deleted ones, each
// with a Restore button.
func handleAdminArticles(p *pages, c *api.Client) http.HandlerFunc {
	type data struct {
		Query    string
		Deleted  bool
		Articles []api.Article
		Pager    pager
	}
	return func(w http.ResponseWriter, r *http.Request) {
		q := strings.TrimSpace(r.URL.Query().Get("q"))
		page, ok := pageParam(r)
		if !ok {
			p.badPage(w, r)
			return
		}
		deleted := r.URL.Query().Get("deleted") == "1"
		var list api.ArticlePage
		var err error
		if deleted {
			list, err = c.DeletedArticles(r.Context(), visitFrom(r.Context()).token, q, page, adminPageSize)
		} else {
			list, err = c.Articles(r.Context(), q, page, adminPageSize)
		}
		if err != nil {
			p.fail(w, r, err)
			return
		}
		link := func(n int) string { return fmt.Sprintf("/admin/articles?page=%d&q=%s", n, url.QueryEscape(q)) }
		if deleted {
			link = func(n int) string {
				return fmt.Sprintf("/admin/articles?deleted=1&page=%d&q=%s", n, url.QueryEscape(q))
			}
		}
		v := &view{Title: "admin.articles.title", Data: data{Query: q, Deleted: deleted, Articles: list.Items,
			Pager: newPager(page, list.Total, adminPageSize, link)}}
		p.render(w, r, http.StatusOK, "admin_articles", v)
	}
}

// confirmData is what the confirm page asks: the question (already translated), where its
// button posts, the button's label and where Cancel goes back to. It works without scripts.
type confirmData struct {
	Question string
	Action   string
	Button   string
	Back     string
}

// handleArticleDisableConfirm asks before an article is deleted (it can be restored, but it
// leaves the shop at once).
func handleArticleDisableConfirm(p *pages, c *api.Client) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id := chi.URLParam(r, "id")
		a, err := c.Article(r.Context(), id)
		if err != nil {
			p.fail(w, r, err)
			return
		}
		v := &view{Title: "confirm.title"}
		v.Data = confirmData{Question: translate(visitFrom(r.Context()).lang, "confirm.article", a.Name),
			Action: "/admin/articles/" + url.PathEscape(a.ID) + "/disable", Button: "admin.disable", Back: "/admin/articles"}
		p.render(w, r, http.StatusOK, "confirm", v)
	}
}

func handleArticleRestore(p *pages, c *api.Client) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := c.RestoreArticle(r.Context(), visitFrom(r.Context()).token, chi.URLParam(r, "id")); err != nil {
			p.fail(w, r, err)
			return
		}
		redirect(w, r, "/admin/articles?deleted=1", "restored")
	}
}

// handleArticleForm shows the form of a new article, or of the article to edit.
func handleArticleForm(p *pages, c *api.Client) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id := chi.URLParam(r, "id")
		if id == "" {
			v := &view{Title: "admin.article.new", Form: url.Values{}, Data: api.Article{}}
			refused(w, r, v)
			p.render(w, r, http.StatusOK, "admin_article", v)
			return
		}
		a, err := c.Article(r.Context(), id)
		if err != nil {
			p.fail(w, r, err)
			return
		}
		lang := visitFrom(r.Context()).lang
		v := &view{Title: "admin.article.edit", TitleText: translate(lang, "admin.article.editing", a.Name), Data: a}
		if !refused(w, r, v) {
			v.Form = url.Values{"name": {a.Name}, "description": {a.Description},
				"price": {notationOf(lang).FormatPlain(a.Price)}, "stock": {strconv.FormatInt(a.Stock, 10)}}
		}
		p.render(w, r, http.StatusOK, "admin_article", v)
	}
}

// articleFields reads the article form; problems found here (not numbers) go in v.Fields.
func articleFields(r *http.Request, v *view) api.ArticleFields {
	name, desc := r.PostFormValue("name"), r.PostFormValue("description")
	f := api.ArticleFields{Name: &name, Description: &desc}
	if price, ok := readAmount(r, v, "price"); ok {
		f.Price = &price
	}
	if stock, err := strconv.ParseInt(strings.TrimSpace(r.PostFormValue("stock")), 10, 64); err != nil {
		v.Fields["stock"] = "form.not_whole"
	} else {
		f.Stock = &stock
	}
	return f
}

// uploadPicture stores the form's picture, if one was chosen, and returns its id.
func uploadPicture(r *http.Request, c *api.Client, v *view) (string, error) {
	file, header, err := r.FormFile("picture")
	if errors.Is(err, http.ErrMissingFile) || errors.Is(err, http.ErrNotMultipart) {
		return "", nil
	}
	if err != nil {
		v.Fields["picture"] = "form.picture_unreadable"
		return "", nil
	}
	defer file.Close()
	raw, err := io.ReadAll(io.LimitReader(file, maxFormBytes))
	if err != nil || header.Size == 0 {
		v.Fields["picture"] = "form.picture_unreadable"
		return "", nil
	}
	kind := http.DetectContentType(raw)
	if kind != "image/jpeg" && kind != "image/png" {
		v.Fields["picture"] = "form.picture_kind"
		return "", nil
	}
	id, err := c.UploadImage(r.Context(), visitFrom(r.Context()).token, "data:"+kind+";base64,"+base64.StdEncoding.EncodeToString(raw))
	if e, ok := api.AsError(err); ok && e.Status < 500 && e.Status != http.StatusUnauthorized {
		summary, fields := apiProblem(visitFrom(r.Context()).lang, e)
		v.Fields["picture"] = summary
		if m := fields["image"]; m != "" {
			v.Fields["picture"] = m
		}
		return "", nil
	}
	return id, err
}

// handleArticleSave creates (on /admin/articles/new, which has no id) or updates an article
// from the posted form, with its new picture. A refused form goes back to the article's form
// page with its problems (Post/Redirect/Get).
func handleArticleSave(p *pages, c *api.Client) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx, token, id := r.Context(), visitFrom(r.Context()).token, chi.URLParam(r, "id")
		back := "/admin/articles/new"
		if id != "" {
			back = "/admin/articles/" + url.PathEscape(id)
		}
		v := &view{Form: formWithout(r), Fields: map[string]string{}}
		f := articleFields(r, v)
		picture, err := uploadPicture(r, c, v)
		if err != nil {
			p.fail(w, r, err)
			return
		}
		if picture != "" {
			f.Image = &picture
		}
		if len(v.Fields) > 0 {
			v.ErrorKey = "form.fix"
			refuse(w, r, back, v)
			return
		}
		var saved api.Article
		if id == "" {
			saved, err = c.CreateArticle(ctx, token, f)
		} else {
			saved, err = c.UpdateArticle(ctx, token, id, f)
		}
		if err != nil {
			if !formProblem(r, v, err) {
				p.fail(w, r, err)
				return
			}
			if m := v.Fields["image"]; m != "" {
				v.Fields["picture"] = m
			}
			refuse(w, r, back, v)
			return
		}
		redirect(w, r, "/admin/articles/"+url.PathEscape(saved.ID), "saved")
	}
}

func handleArticleDisable(p *pages, c *api.Client) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := c.DisableArticle(r.Context(), visitFrom(r.Context()).token, chi.URLParam(r, "id")); err != nil {
			p.fail(w, r, err)
			return
		}
		redirect(w, r, "/admin/articles", "disabled")
	}
}

// knownPermissions are offered as checkboxes on the users page; auth accepts any name.
var knownPermissions = []string{"user", "admin"}

// handleAdminUsers shows a page of the users, newest first, those whose login contains ?q= when
// set.
func handleAdminUsers(p *pages, c *api.Client) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		v := &view{Title: "admin.users.title"}
		refused(w, r, v) // a refused change
		q, page, ok := usersQuery(r)
		if !ok {
			p.badPage(w, r)
			return
		}
		list, err := c.Users(r.Context(), visitFrom(r.Context()).token, q, page, adminPageSize)
		if err != nil {
			p.fail(w, r, err)
			return
		}
		link := func(n int) string { return "/admin/users?" + usersBack(q, n) }
		v.Data = usersData{Query: q, Users: list.Users, Total: list.Total,
			Pager: newPager(page, list.Total, adminPageSize, link), Permissions: knownPermissions}
		p.render(w, r, http.StatusOK, "admin_users", v)
	}
}

type usersData struct {
	Query       string // the login search
	Users       []api.User
	Total       int64
	Pager       pager
	Permissions []string
}

// usersQuery reads the login search and the page of the users page. A search auth would refuse
// (too long, control characters) is trimmed to one it takes: it comes from a box a person typed in.
func usersQuery(r *http.Request) (q string, page int, ok bool) {
	q = strings.TrimSpace(strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || !utf8.ValidRune(r) || r == utf8.RuneError {
			return -1
		}
		return r
	}, r.URL.Query().Get("q")))
	if utf8.RuneCountInString(q) > maxUserSearch {
		q = string([]rune(q)[:maxUserSearch])
	}
	page, ok = pageParam(r)
	return q, page, ok
}

// maxUserSearch is the longest login search (logins are at most 100 characters).
const maxUserSearch = 100

// usersBack is the query of the users page of q and page: pager links, and where a change
// (whose form carries the page's q and page) comes back to.
func usersBack(q string, page int) string {
	v := url.Values{"page": {strconv.Itoa(page)}}
	if q != "" {
		v.Set("q", q)
	}
	return v.Encode()
}

// handleUserDisableConfirm asks before a user is disabled (every session of theirs ends). The
// login shown comes from the link; it only names the user in the question.
func handleUserDisableConfirm(p *pages) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		q, page, _ := usersQuery(r)
		back := usersBack(q, page)
		login := r.URL.Query().Get("login")
		if utf8.RuneCountInString(login) > maxUserSearch || !utf8.ValidString(login) {
			login = ""
		}
		v := &view{Title: "confirm.title"}
		v.Data = confirmData{Question: translate(visitFrom(r.Context()).lang, "confirm.user", login),
			Action: "/admin/users/" + url.PathEscape(chi.URLParam(r, "id")) + "/disable?" + back,
			Button: "admin.disable", Back: "/admin/users?" + back}
		p.render(w, r, http.StatusOK, "confirm", v)
	}
}

// handleUserChange enables, disables, grants, revokes or signs out, as the button pressed says.
func handleUserChange(p *pages, c *api.Client) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx, token, id := r.Context(), visitFrom(r.Context()).token, chi.URLParam(r, "id")
		var err error
		switch chi.URLParam(r, "action") {
		case "enable":
			err = c.SetUserEnabled(ctx, token, id, true)
		case "disable":
			err = c.SetUserEnabled(ctx, token, id, false)
		case "grant":
			err = c.SetPermission(ctx, token, id, strings.TrimSpace(r.PostFormValue("permission")), true)
		case "revoke":
			err = c.SetPermission(ctx, token, id, strings.TrimSpace(r.PostFormValue("permission")), false)
		case "signout":
			err = c.SignOutUser(ctx, token, id)
		default:
			p.notFound(w, r)
			return
		}
		if err != nil {
			v := &view{Title: "admin.users.title"}
			if !formProblem(r, v, err) {
				p.fail(w, r, err)
				return
			}
			for _, f := range v.Fields { // no inputs here to put them next to
				v.ErrorText += " — " + f
			}
			v.ErrorKey = ""
			q, page, _ := usersQuery(r)
			refuse(w, r, "/admin/users?"+usersBack(q, page), v)
			return
		}
		q, page, _ := usersQuery(r)
		redirect(w, r, "/admin/users?"+usersBack(q, page), "user_changed")
	}
}

// orderStatuses are the statuses the overview filters on.
var orderStatuses = []string{"placed", "validated", "invalid", "payment_defined", "shipped", "delivered", "cancelled"}

// orderStatusRow is a row of the order overview with its user's name.
type orderStatusRow struct {
	api.OrderStatus
	UserName string // "" when auth did not say
}

func handleAdminOrders(p *pages, c *api.Client, names *userNames) http.HandlerFunc {
	type data struct {
		Status   string
		Statuses []string
		Items    []orderStatusRow
		Total    int64
		Pager    pager
	}
	return func(w http.ResponseWriter, r *http.Request) {
		status := r.URL.Query().Get("status")
		page, ok := pageParam(r)
		if !ok {
			p.badPage(w, r)
			return
		}
		if !slices.Contains(orderStatuses, status) {
			status = ""
		}
		ctx, token := r.Context(), visitFrom(r.Context()).token
		list, err := c.OrderStatuses(ctx, token, status, page, adminPageSize)
		if err != nil {
			p.fail(w, r, err)
			return
		}
		ids := make([]string, len(list.Items))
		for i, it := range list.Items {
			ids[i] = it.UserID
		}
		names := names.Names(ctx, token, ids) // ids stand in for names auth cannot give now
		rows := make([]orderStatusRow, len(list.Items))
		for i, it := range list.Items {
			rows[i] = orderStatusRow{OrderStatus: it, UserName: names[it.UserID]}
		}
		link := func(n int) string {
			return "/admin/orders?" + url.Values{"page": {strconv.Itoa(n)}, "status": {status}}.Encode()
		}
		v := &view{Title: "admin.orders.title", Data: data{Status: status, Statuses: orderStatuses,
			Items: rows, Total: list.Total, Pager: newPager(page, list.Total, adminPageSize, link)}}
		p.render(w, r, http.StatusOK, "admin_orders", v)
	}
}
