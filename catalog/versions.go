package catalog

import (
	"context"
	"fmt"
	"strconv"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/ecommerce-go/ecommerce/pkg/mongox"
)

// Article versions. An article's version orders its writes for the read models and the ledger,
// so two writes must never share one. `$inc` cannot promise that on FerretDB, whose updates are
// not atomic (docs/design.md), so a version is claimed like a ledger seq: by inserting the new
// state under "<articleId>/<version>" in article_versions, where only one writer can win it.
// The articles document is a copy of the latest version, written after the claim.

// versionDoc is one claimed version of an article: the article as that write left it.
type versionDoc struct {
	ID      string     `bson:"_id"` // "<articleId>/<version>"
	Article articleDoc `bson:"article"`
}

// versionID is the _id of the article's version.
func versionID(articleID bson.ObjectID, version int64) string {
	return articleID.Hex() + "/" + strconv.FormatInt(version, 10)
}

// writeArticle stores the article with edit applied as its next version, and returns it: the
// version is claimed, then copied to articles, then told to the observer.
func (s *Store) writeArticle(ctx context.Context, id bson.ObjectID, edit func(*articleDoc)) (articleDoc, error) {
	cur, err := s.articleDoc(ctx, id)
	if err != nil {
		return cur, err
	}
	next, err := s.claimNextVersion(ctx, cur, edit)
	if err != nil {
		return next, err
	}
	if err := s.copyLatest(ctx, next); err != nil {
		return next, err
	}
	s.notify(change{ArticleID: next.ID, Article: &next})
	return next, nil
}

// claimNextVersion inserts edit applied to cur as version cur.Version+1. When another writer
// has that version, the edit is applied again on top of theirs: both writes keep their fields.
func (s *Store) claimNextVersion(ctx context.Context, cur articleDoc, edit func(*articleDoc)) (articleDoc, error) {
	return mongox.RetryOnConflict(ctx, func() (articleDoc, error) {
		next := cur
		edit(&next)
		next.Version, next.Updated = cur.Version+1, s.now()
		_, err := s.versions.InsertOne(ctx, versionDoc{ID: versionID(next.ID, next.Version), Article: next})
		switch {
		case err == nil:
			return next, nil
		case !mongox.IsDuplicate(err):
			return articleDoc{}, mongox.Unavailable(fmt.Errorf("claim article version: %w", err))
		}
		taken, _, err := s.version(ctx, next.ID, next.Version)
		if err != nil {
			return articleDoc{}, err
		}
		cur = taken
		return articleDoc{}, fmt.Errorf("article %s: %w", next.ID.Hex(), mongox.ErrLostRace)
	})
}

// copyLatest writes doc to articles, then each version claimed after it: two writers' copies may
// land out of order, and the one written last then copies the newer version again.
func (s *Store) copyLatest(ctx context.Context, doc articleDoc) error {
	for {
		if _, err := s.articles.ReplaceOne(ctx, bson.M{"_id": doc.ID}, doc); err != nil {
			return mongox.Unavailable(fmt.Errorf("write article %s: %w", doc.ID.Hex(), err))
		}
		newer, found, err := s.version(ctx, doc.ID, doc.Version+1)
		if err != nil || !found {
			return err
		}
		doc = newer
	}
}

// version returns the article's claimed version, if it exists.
func (s *Store) version(ctx context.Context, id bson.ObjectID, version int64) (articleDoc, bool, error) {
	var v versionDoc
	err := s.versions.FindOne(ctx, bson.M{"_id": versionID(id, version)}).Decode(&v)
	if isNoDocuments(err) {
		return articleDoc{}, false, nil
	}
	if err != nil {
		return articleDoc{}, false, mongox.Unavailable(fmt.Errorf("read article version: %w", err))
	}
	return v.Article, true, nil
}
