package catalog

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"golang.org/x/sync/errgroup"

	"github.com/ecommerce-go/ecommerce/pkg/app"
	"github.com/ecommerce-go/ecommerce/pkg/bus"
	"github.com/ecommerce-go/ecommerce/pkg/mongox"
)

// Keeping the read models of every catalog instance current (see articleView): each instance
// broadcasts the changes it stores on the catalog_changes fanout exchange, and every instance
// (itself included, harmlessly) applies what it hears.

// typeArticleChanged is the type of the broadcasts on contract.ExchangeCatalogChanges.
const typeArticleChanged = "article-changed"

// articleChanged is the body of an article-changed broadcast: the article's fields after a
// write (Article), or its stock after a move of its ledger (Stock).
type articleChanged struct {
	ArticleID string      `json:"articleId"`
	Article   *articleDoc `json:"article,omitempty"`
	Stock     *stockLevel `json:"stock,omitempty"`
}

// broadcast queues c for the other instances (see bus.Feed).
func broadcast(feed *bus.Feed, c change) {
	feed.Add(articleChanged{ArticleID: c.ArticleID.Hex(), Article: c.Article, Stock: c.Stock})
}

// handleArticleChanged applies a broadcast change to the view, and tells the store of the
// stock moves it announces (where its appends start, see knownMoves).
func handleArticleChanged(view *articleView, store *Store) bus.Handler {
	return bus.Receive(typeArticleChanged, func(msg articleChanged) error {
		id, err := bson.ObjectIDFromHex(msg.ArticleID)
		if err != nil || (msg.Article != nil && msg.Article.ID != id) {
			return bus.Permanent(fmt.Errorf("article-changed: bad article id %q", msg.ArticleID))
		}
		view.apply(change{ArticleID: id, Article: msg.Article, Stock: msg.Stock})
		if msg.Stock != nil {
			store.learn(id, *msg.Stock)
		}
		return nil
	})
}

// keepViewCurrent reloads the view from the store each time reload receives (the broadcast
// subscription (re)started) and every interval, until ctx is done. A reload that fails is
// logged and tried again a second later; one that was to look past the heads (broadcasts may
// have been missed) keeps that duty until it succeeds, since the periodic reload does not.
func keepViewCurrent(ctx context.Context, log *slog.Logger, store *Store, view *articleView, reload <-chan struct{}, interval time.Duration) error {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	lookPastHeads := false
	var retry <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-reload:
			lookPastHeads = true
		case <-tick.C:
		case <-retry:
		}
		retry = nil
		err := app.RunJob(ctx, func(ctx context.Context) error { return loadView(ctx, store, view, lookPastHeads) })
		switch {
		case err == nil:
			lookPastHeads = false
		case ctx.Err() == nil:
			log.Warn("article read model not reloaded, trying again", "err", err)
			retry = time.After(time.Second)
		}
	}
}

// loadView fills view with every article of the store. A head can lag behind its ledger (see
// ledger.go), so with lookPastHeads the move after each head is looked for too (one _id lookup
// per article, a few at a time): at start-up and when broadcasts may have been missed. The
// periodic reload skips it; the broadcasts of moves carry their seq. Then the ledger is brought
// up to each article's sale state (Store.reconcile).
func loadView(ctx context.Context, store *Store, view *articleView, lookPastHeads bool) error {
	docs, heads, err := store.allArticles(ctx)
	if err != nil {
		return err
	}
	view.load(docs, heads)
	if !lookPastHeads {
		return store.reconcile(ctx, docs)
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(mongox.MaxParallel)
	for _, h := range heads {
		id, err := bson.ObjectIDFromHex(h.ArticleID)
		if err != nil {
			continue
		}
		g.Go(func() error {
			m, err := store.latestFrom(gctx, h.move(id))
			if err == nil && m.Seq > h.Seq {
				level := m.level()
				view.apply(change{ArticleID: id, Stock: &level})
			}
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	return store.reconcile(ctx, docs)
}
