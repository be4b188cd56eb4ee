package catalog

import (
	"bytes"
	"cmp"
	"context"
	"slices"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"go.mongodb.org/mongo-driver/v2/bson"
	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"
)

// articleView is the catalog's in-memory read model: every article with its stock, and the word
// search over them; GET, list and search read only it. Stock decisions never read it.
// Current: own writes at once (the store's observer), other instances' by the catalog_changes
// broadcast (changes.go), a full reload when that subscription (re)starts and every reload
// interval (1 min), which bounds the staleness a lost broadcast leaves (docs/design.md).
// Changes carry the article version and ledger seq, so a late one never overwrites a newer.
type articleView struct {
	mu       sync.RWMutex
	articles map[bson.ObjectID]*viewEntry
	byName   []*viewEntry // the enabled articles by name, then id; nil when it must be rebuilt
}

// viewEntry is one article of the view. An entry can know the stock before the article
// (broadcasts may arrive in any order); it is served only once doc is known.
type viewEntry struct {
	doc      articleDoc
	hasDoc   bool
	stock    stockLevel
	name     string // doc.Name, normalized for search
	describe string // doc.Description, normalized for search
}

func newArticleView() *articleView {
	return &articleView{articles: map[bson.ObjectID]*viewEntry{}}
}

// apply records c, unless the view knows a newer state already.
func (v *articleView) apply(c change) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.applyLocked(c)
}

func (v *articleView) applyLocked(c change) {
	e := v.articles[c.ArticleID]
	if e == nil {
		e = &viewEntry{}
		v.articles[c.ArticleID] = e
	}
	if a := c.Article; a != nil && (!e.hasDoc || a.Version >= e.doc.Version) {
		if !e.hasDoc || a.Name != e.doc.Name || a.Enabled != e.doc.Enabled {
			v.byName = nil
		}
		e.doc, e.hasDoc = *a, true
		e.name, e.describe = normalize(a.Name), normalize(a.Description)
	}
	if st := c.Stock; st != nil && st.Seq > e.stock.Seq {
		e.stock = *st
	}
}

// load records every article and stock head read from the store; newer states the view holds
// already (applied while the store was being read) are kept.
func (v *articleView) load(docs []articleDoc, heads []stockHead) {
	v.mu.Lock()
	defer v.mu.Unlock()
	for i := range docs {
		v.applyLocked(change{ArticleID: docs[i].ID, Article: &docs[i]})
	}
	for _, h := range heads {
		if id, err := bson.ObjectIDFromHex(h.ArticleID); err == nil {
			level := h.move(id).level()
			v.applyLocked(change{ArticleID: id, Stock: &level})
		}
	}
}

// get returns the article with id, if the view knows it.
func (v *articleView) get(id bson.ObjectID) (Article, bool) {
	v.mu.RLock()
	defer v.mu.RUnlock()
	e := v.articles[id]
	if e == nil || !e.hasDoc {
		return Article{}, false
	}
	return e.article(), true
}

func (e *viewEntry) article() Article { return e.doc.article(e.stock.Balance) }

// enabledByName returns the enabled articles by name, rebuilding the order after a change.
func (v *articleView) enabledByName() []*viewEntry {
	v.mu.RLock()
	sorted := v.byName
	v.mu.RUnlock()
	if sorted != nil {
		return sorted
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.byName == nil {
		sorted = make([]*viewEntry, 0, len(v.articles))
		for _, e := range v.articles {
			if e.hasDoc && e.doc.Enabled {
				sorted = append(sorted, e)
			}
		}
		slices.SortFunc(sorted, func(a, b *viewEntry) int {
			return cmp.Or(cmp.Compare(a.doc.Name, b.doc.Name), bytes.Compare(a.doc.ID[:], b.doc.ID[:]))
		})
		v.byName = sorted
	}
	return v.byName
}

// search returns up to limit enabled articles whose name or description contains every word,
// ignoring case and accents: those with more of the words in their name first, then by name.
func (v *articleView) search(words []string, limit int) []Article {
	type hit struct {
		e      *viewEntry
		inName int
	}
	terms := normalizeWords(words)
	var hits []hit
	sorted := v.enabledByName()
	v.mu.RLock()
	defer v.mu.RUnlock()
	for _, e := range sorted {
		if inName, ok := e.matches(terms); ok && e.doc.Enabled {
			hits = append(hits, hit{e, inName})
		}
	}
	slices.SortStableFunc(hits, func(a, b hit) int { return cmp.Compare(b.inName, a.inName) })
	out := make([]Article, 0, min(len(hits), limit))
	for _, h := range hits[:min(len(hits), limit)] {
		out = append(out, h.e.article())
	}
	return out
}

// list returns page (from 1) of size enabled articles by name that contain every word (all
// when there are none), and how many match in all.
func (v *articleView) list(words []string, page, size int) ([]Article, int) {
	terms := normalizeWords(words)
	sorted := v.enabledByName()
	v.mu.RLock()
	defer v.mu.RUnlock()
	skip := (page - 1) * size
	total := 0
	var out []Article
	for _, e := range sorted {
		if _, ok := e.matches(terms); !ok || !e.doc.Enabled {
			continue
		}
		if total >= skip && len(out) < size {
			out = append(out, e.article())
		}
		total++
	}
	return out, total
}

// listDeleted returns page (from 1) of size deleted (disabled) articles by name that contain
// every word, and how many match in all: the admin console's filter. Deleted articles are few and
// seldom listed, so it walks every article rather than keeping an order of its own.
func (v *articleView) listDeleted(words []string, page, size int) ([]Article, int) {
	terms := normalizeWords(words)
	v.mu.RLock()
	var matched []*viewEntry
	for _, e := range v.articles {
		if _, ok := e.matches(terms); ok && e.hasDoc && !e.doc.Enabled {
			matched = append(matched, e)
		}
	}
	v.mu.RUnlock()
	slices.SortFunc(matched, func(a, b *viewEntry) int {
		return cmp.Or(cmp.Compare(a.doc.Name, b.doc.Name), bytes.Compare(a.doc.ID[:], b.doc.ID[:]))
	})
	skip := min((page-1)*size, len(matched))
	out := make([]Article, 0, min(size, len(matched)-skip))
	v.mu.RLock()
	defer v.mu.RUnlock()
	for _, e := range matched[skip:min(skip+size, len(matched))] {
		out = append(out, e.article())
	}
	return out, len(matched)
}

// matches tells whether every term is in the entry's name or description, and how many are in
// its name.
func (e *viewEntry) matches(terms []string) (inName int, ok bool) {
	for _, t := range terms {
		switch {
		case strings.Contains(e.name, t):
			inName++
		case !strings.Contains(e.describe, t):
			return 0, false
		}
	}
	return inName, true
}

// normalizeWords normalizes each word of a search.
func normalizeWords(words []string) []string {
	out := make([]string, len(words))
	for i, w := range words {
		out[i] = normalize(w)
	}
	return out
}

// normalize folds s for search: lower case, accents removed ("Canción" → "cancion"). Words are
// compared as plain text, so nothing in them is ever interpreted as a pattern.
func normalize(s string) string {
	if isASCII(s) { // no accents to remove: decomposing and recomposing would change nothing
		return strings.ToLower(s)
	}
	t := transform.Chain(norm.NFD, runes.Remove(runes.In(unicode.Mn)), norm.NFC)
	folded, _, err := transform.String(t, s)
	if err != nil {
		folded = s
	}
	return strings.ToLower(folded)
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// article returns the article with id: from the view, or from the store when the view does not
// know it (created on another instance a moment ago; or unknown, then errs.NotFound), recording
// what the store says.
func (v *articleView) article(ctx context.Context, store *Store, id string) (Article, error) {
	oid, err := parseArticleID(id)
	if err != nil {
		return Article{}, err
	}
	if a, ok := v.get(oid); ok {
		return a, nil
	}
	doc, err := store.findArticleDoc(ctx, id)
	if err != nil {
		return Article{}, err
	}
	m, err := store.latestMove(ctx, doc.ID)
	if err != nil {
		return Article{}, err
	}
	level := m.level()
	v.apply(change{ArticleID: doc.ID, Article: &doc, Stock: &level})
	return doc.article(m.Balance), nil
}
