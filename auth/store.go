package auth

import (
	"context"
	"regexp"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/ecommerce-go/ecommerce/pkg/errs"
	"github.com/ecommerce-go/ecommerce/pkg/mongox"
	"github.com/ecommerce-go/ecommerce/pkg/tokens"
)

// Store keeps users, their list (userlist.go) and token records in MongoDB. The collections stay
// lean (point lookups on a MongoDB-wire server may scan).
type Store struct {
	users  *mongo.Collection
	tokens *mongo.Collection
	list   *userList // the users, newest first (userlist.go)
}

// userDoc is a user as stored. LoginKey is the lowercased login under a unique index, which
// makes logins unique regardless of letter case, even under concurrent sign-ups.
type userDoc struct {
	ID          bson.ObjectID `bson:"_id"`
	Name        string        `bson:"name"`
	Login       string        `bson:"login"`
	LoginKey    string        `bson:"loginKey"`
	Password    []byte        `bson:"password"`
	Permissions []string      `bson:"permissions"`
	Enabled     bool          `bson:"enabled"`
}

func (d userDoc) user() User {
	perms := d.Permissions
	if perms == nil {
		perms = []string{}
	}
	return User{User: tokens.User{ID: d.ID.Hex(), Name: d.Name, Login: d.Login, Permissions: perms,
		Enabled: d.Enabled}, PasswordHash: d.Password}
}

// tokenDoc is the record that makes a token valid, a session: the token's tokenID claim is its
// _id, and the token works only while Enabled is true and LastUsed is recent enough
// (sessions.go). Client and Address are what the sign-in came from, for its owner to recognise.
type tokenDoc struct {
	ID       bson.ObjectID `bson:"_id"`
	UserID   bson.ObjectID `bson:"userId"`
	Enabled  bool          `bson:"enabled"`
	Created  time.Time     `bson:"created"`
	LastUsed time.Time     `bson:"lastUsed"`
	Client   string        `bson:"client"`
	Address  string        `bson:"address"`
}

func (d tokenDoc) session() Session {
	return Session{ID: d.ID.Hex(), Created: d.Created.UTC(), LastUsed: d.LastUsed.UTC(), Client: d.Client, Address: d.Address}
}

// NewStore opens the store in db and makes sure its indexes exist.
func NewStore(ctx context.Context, db *mongo.Database) (*Store, error) {
	s := &Store{users: db.Collection("users"), tokens: db.Collection("tokens"), list: newUserList(db)}
	err := mongox.EnsureIndexes(ctx, s.users, mongo.IndexModel{
		Keys: bson.D{{Key: "loginKey", Value: 1}}, Options: options.Index().SetUnique(true),
	})
	if err != nil {
		return nil, mongox.Unavailable(err)
	}
	err = mongox.EnsureIndexes(ctx, s.tokens, mongo.IndexModel{Keys: bson.D{{Key: "userId", Value: 1}}})
	if err != nil {
		return nil, mongox.Unavailable(err)
	}
	if err := s.list.ensure(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// parseID turns a user id from a URL into an ObjectID; a malformed one is Invalid.
func parseID(id string) (bson.ObjectID, error) {
	oid, err := bson.ObjectIDFromHex(id)
	if err != nil {
		return oid, errs.Newf(errs.Invalid, "malformed user id %q: want 24 hex digits", id).WithCode(errs.CodeMalformedID)
	}
	return oid, nil
}

// CreateUser stores u as a new user, lists it (userlist.go) and returns it with its id. A
// login already taken, in any letter case, is Conflict. Should listing fail, the user exists
// without an entry: a search by login still finds it, the plain list does not.
func (s *Store) CreateUser(ctx context.Context, u User) (User, error) {
	doc := userDoc{ID: bson.NewObjectID(), Name: u.Name, Login: u.Login, LoginKey: loginKey(u.Login),
		Password: u.PasswordHash, Permissions: u.Permissions, Enabled: u.Enabled}
	if _, err := s.users.InsertOne(ctx, doc); err != nil {
		if mongox.IsDuplicate(err) {
			return User{}, errs.Newf(errs.Conflict, "login %q is already taken", u.Login).WithCode(errs.CodeLoginTaken)
		}
		return User{}, mongox.Unavailable(err)
	}
	if err := s.list.add(ctx, doc.ID); err != nil {
		return User{}, err
	}
	return doc.user(), nil
}

// UserByLogin finds the user of login, in any letter case.
func (s *Store) UserByLogin(ctx context.Context, login string) (User, error) {
	var doc userDoc
	err := s.users.FindOne(ctx, bson.D{{Key: "loginKey", Value: loginKey(login)}}).Decode(&doc)
	if err != nil {
		return User{}, mongox.NotFound(err, "user "+login)
	}
	return doc.user(), nil
}

// UserByID finds the user of id.
func (s *Store) UserByID(ctx context.Context, id string) (User, error) {
	oid, err := parseID(id)
	if err != nil {
		return User{}, err
	}
	var doc userDoc
	if err := s.users.FindOne(ctx, bson.D{{Key: "_id", Value: oid}}).Decode(&doc); err != nil {
		return User{}, mongox.NotFound(err, "user "+id)
	}
	return doc.user(), nil
}

// Users lists every user, newest first, reading them all (for tests; the API pages: UsersPage).
func (s *Store) Users(ctx context.Context) ([]User, error) {
	return s.findUsers(ctx, bson.D{}, options.Find().SetSort(bson.D{{Key: "_id", Value: -1}}))
}

// UsersPage returns page (from 1) of size of the users whose login contains q in any letter case
// (all users when q is empty), newest first, and how many match in all.
//
// All users are a page of the users list (userlist.go): entries and users read by _id, whatever
// the number of users. A search cannot be answered so, as no index serves "contains": it is a
// regular expression on loginKey, the folded login, with q folded the same way and quoted, so it
// matches what uniqueness sees and cannot inject an operator or a pattern; newest first is by
// _id, an ObjectID that starts with its creation time. Each search page reads every user twice
// (the count and the page): on MongoDB a scan of the loginKey index; on a MongoDB-wire server
// that pushes neither down (FerretDB), of the users themselves, about 1.5 s at 10,000 users
// (BenchmarkListUsers). It is an admin's tool; shoppers cannot reach it.
func (s *Store) UsersPage(ctx context.Context, q string, page, size int) ([]User, int64, error) {
	if q == "" {
		return s.list.page(ctx, s.users, page, size)
	}
	filter := bson.D{{Key: "loginKey", Value: bson.Regex{Pattern: regexp.QuoteMeta(loginKey(q))}}}
	total, err := s.users.CountDocuments(ctx, filter)
	if err != nil {
		return nil, 0, mongox.Unavailable(err)
	}
	if int64((page-1)*size) >= total {
		return []User{}, total, nil // past the end: no need to read
	}
	users, err := s.findUsers(ctx, filter, options.Find().
		SetSort(bson.D{{Key: "_id", Value: -1}}).
		SetSkip(int64((page-1)*size)).SetLimit(int64(size)).
		SetProjection(bson.D{{Key: "password", Value: 0}}))
	return users, total, err
}

func (s *Store) findUsers(ctx context.Context, filter bson.D, opts *options.FindOptionsBuilder) ([]User, error) {
	cur, err := s.users.Find(ctx, filter, opts)
	if err != nil {
		return nil, mongox.Unavailable(err)
	}
	var docs []userDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, mongox.Unavailable(err)
	}
	users := make([]User, 0, len(docs))
	for _, d := range docs {
		users = append(users, d.user())
	}
	return users, nil
}

// updateUser applies update to the user of id; an unknown id is NotFound.
func (s *Store) updateUser(ctx context.Context, id string, update bson.D) error {
	oid, err := parseID(id)
	if err != nil {
		return err
	}
	res, err := s.users.UpdateOne(ctx, bson.D{{Key: "_id", Value: oid}}, update)
	if err != nil {
		return mongox.Unavailable(err)
	}
	if res.MatchedCount == 0 {
		return errs.Newf(errs.NotFound, "user %s not found", id)
	}
	return nil
}

// SetPassword replaces the password hash of the user of id.
func (s *Store) SetPassword(ctx context.Context, id string, hash []byte) error {
	return s.updateUser(ctx, id, bson.D{{Key: "$set", Value: bson.D{{Key: "password", Value: hash}}}})
}

// SetEnabled enables or disables the user of id.
func (s *Store) SetEnabled(ctx context.Context, id string, enabled bool) error {
	return s.updateUser(ctx, id, bson.D{{Key: "$set", Value: bson.D{{Key: "enabled", Value: enabled}}}})
}

// Grant adds permissions to the user of id (those it holds already are kept once).
func (s *Store) Grant(ctx context.Context, id string, permissions []string) error {
	return s.updateUser(ctx, id, bson.D{{Key: "$addToSet", Value: bson.D{
		{Key: "permissions", Value: bson.D{{Key: "$each", Value: permissions}}},
	}}})
}

// Revoke removes permissions from the user of id.
func (s *Store) Revoke(ctx context.Context, id string, permissions []string) error {
	return s.updateUser(ctx, id, bson.D{{Key: "$pullAll", Value: bson.D{{Key: "permissions", Value: permissions}}}})
}

// CreateToken stores an enabled token record for the session of userID that s describes (its
// ID is ignored) and returns its id.
func (s *Store) CreateToken(ctx context.Context, userID string, sess Session) (string, error) {
	uid, err := parseID(userID)
	if err != nil {
		return "", err
	}
	doc := tokenDoc{ID: bson.NewObjectID(), UserID: uid, Enabled: true, Created: sess.Created,
		LastUsed: sess.Created, Client: sess.Client, Address: sess.Address}
	if _, err := s.tokens.InsertOne(ctx, doc); err != nil {
		return "", mongox.Unavailable(err)
	}
	return doc.ID.Hex(), nil
}

// Token returns the record tokenID if it exists, belongs to userID and is enabled; anything
// else is NotFound. It is one read by _id: the token check's first round trip.
func (s *Store) Token(ctx context.Context, tokenID, userID string) (Session, error) {
	tid, err1 := bson.ObjectIDFromHex(tokenID)
	uid, err2 := bson.ObjectIDFromHex(userID)
	if err1 != nil || err2 != nil {
		return Session{}, errs.Newf(errs.NotFound, "session not found")
	}
	var doc tokenDoc
	err := s.tokens.FindOne(ctx, bson.D{{Key: "_id", Value: tid}}).Decode(&doc)
	if err != nil {
		return Session{}, mongox.NotFound(err, "session "+tokenID)
	}
	if !doc.Enabled || doc.UserID != uid {
		return Session{}, errs.Newf(errs.NotFound, "session %s not found", tokenID)
	}
	return doc.session(), nil
}

// TouchToken records that the record tokenID was used at.
func (s *Store) TouchToken(ctx context.Context, tokenID string, at time.Time) error {
	tid, err := bson.ObjectIDFromHex(tokenID)
	if err != nil {
		return errs.Newf(errs.Invalid, "malformed token id").WithCode(errs.CodeMalformedID)
	}
	_, err = s.tokens.UpdateOne(ctx, bson.D{{Key: "_id", Value: tid}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "lastUsed", Value: at}}}})
	return mongox.Unavailable(err)
}

// RevokeToken disables the record tokenID.
func (s *Store) RevokeToken(ctx context.Context, tokenID string) error {
	tid, err := bson.ObjectIDFromHex(tokenID)
	if err != nil {
		return errs.Newf(errs.Invalid, "malformed token id").WithCode(errs.CodeMalformedID)
	}
	_, err = s.tokens.UpdateOne(ctx, bson.D{{Key: "_id", Value: tid}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "enabled", Value: false}}}})
	return mongox.Unavailable(err)
}

// EnabledTokens returns the enabled token records of userID, expired or not.
func (s *Store) EnabledTokens(ctx context.Context, userID string) ([]Session, error) {
	uid, err := parseID(userID)
	if err != nil {
		return nil, err
	}
	cur, err := s.tokens.Find(ctx, bson.D{{Key: "userId", Value: uid}, {Key: "enabled", Value: true}})
	if err != nil {
		return nil, mongox.Unavailable(err)
	}
	var docs []tokenDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, mongox.Unavailable(err)
	}
	sessions := make([]Session, len(docs))
	for i, d := range docs {
		sessions[i] = d.session()
	}
	return sessions, nil
}

// RevokeTokens disables every token record of userID.
func (s *Store) RevokeTokens(ctx context.Context, userID string) error {
	uid, err := parseID(userID)
	if err != nil {
		return err
	}
	_, err = s.tokens.UpdateMany(ctx, bson.D{{Key: "userId", Value: uid}, {Key: "enabled", Value: true}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "enabled", Value: false}}}})
	return mongox.Unavailable(err)
}
