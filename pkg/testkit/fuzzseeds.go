package testkit

import "strings"

// Body is a valid body of one shape that the fuzz targets take (a request body or a message).
// Seeds gives the seed list of every target fed bodies of that shape: the valid body, the
// shape's own hostile variations, and the bodies every JSON decoder must survive. A fuzz target
// adds these seeds (FuzzBody, FuzzHandler); testdata/fuzz/<Target>/ keeps only what the fuzzer
// found there and the code had to be fixed for.
type Body struct {
	valid   string
	hostile []string
}

// Seeds returns the body's seed list: valid first.
func (b Body) Seeds() []string {
	seeds := append([]string{b.valid}, b.hostile...)
	return append(seeds, AnyJSON()...)
}

// The body shapes of the services' requests and messages.
var (
	// BodySignUp is POST /users/signup.
	BodySignUp = Body{`{"name":"Ana","login":"ana-fuzz","password":"ana-password"}`, credentialAttacks()}
	// BodySignIn is POST /users/signin.
	BodySignIn = Body{`{"login":"fuzz-user","password":"fuzz-password"}`, credentialAttacks()}
	// BodyPassword is POST /users/password.
	BodyPassword = Body{`{"currentPassword":"fuzz-password","newPassword":"fuzz-password"}`, credentialAttacks()}
	// BodyPermissions is POST /users/{id}/grant and /revoke.
	BodyPermissions = Body{`{"permissions":["admin"]}`, []string{
		`{"permissions":["admin","ADMIN","admin\u0000","` + strings.Repeat("p", 60) + `"]}`,
		`{"permissions":[` + strings.TrimSuffix(strings.Repeat(`"x",`, 1000), ",") + `]}`,
		`{"permissions":"admin"}`,
	}}
	// BodyArticle is POST /articles and POST /articles/{id}.
	BodyArticle = Body{`{"name":"Lamp","description":"A desk lamp","image":"","price":12.5,"stock":3}`, articleAttacks()}
	// BodyCartLine is POST /cart/article.
	BodyCartLine = Body{`{"articleId":"5f1d7a3e9b1e8a2c3d4e5f60","quantity":2}`, lineAttacks()}
	// BodyPayment is POST /orders/{id}/payment.
	BodyPayment = Body{`{"method":"CASH","amount":10}`, []string{
		`{"method":"BITCOIN","amount":10}`,
		`{"method":"cash","amount":"NaN"}`,
		`{"method":"CASH","amount":-0.001}`,
		`{"method":"CASH","amount":1e309}`,
		`{"method":"CASH","amount":"10"}`,
	}}
	// BodyArticleRequest is catalog's article-valid and article-data requests.
	BodyArticleRequest = Body{`{"referenceId":"r1","articleId":"5f1d7a3e9b1e8a2c3d4e5f60"}`, messageAttacks()}
	// BodyArticleAnswer is catalog's article-valid and article-data answers.
	BodyArticleAnswer = Body{`{"referenceId":"o1","articleId":"a1","valid":true,"price":12.5,"stock":3}`, messageAttacks()}
	// BodyOrder is place_order and order_placed: a cart's lines.
	BodyOrder = Body{`{"orderId":"o1","cartId":"u1:1","userId":"u1","articles":[{"articleId":"a1","quantity":1}]}`,
		append(messageAttacks(), lineAttacks()...)}
	// BodyStatusJob is the orders status jobs' message.
	BodyStatusJob = Body{`{"status":"placed"}`, []string{`{"status":"placed\u0000"}`, `{"status":{"$ne":1}}`, `{"status":""}`}}
)

// AnyJSON are the bodies every decoder of outside JSON must refuse or survive: not JSON, not an
// object, truncated, trailing data, nesting deeper than a decoder allows, a byte-order mark.
func AnyJSON() []string {
	return []string{
		``, `0`, `[]`, `"text"`, `null`, `true`, `{`, `{}`,
		`{"a":`, `{"a":1,}`, `{"a":1} x`, `{"a":1}{"a":2}`,
		"\xef\xbb\xbf" + `{"name":"bom"}`,
		strings.Repeat("[", 3000) + strings.Repeat("]", 3000),
		strings.Repeat(`{"a":`, 2700) + "1" + strings.Repeat("}", 2700),
		`{"__proto__":{"admin":true},"constructor":{"prototype":{}}}`,
		`{"name":{},"login":[],"password":null,"permissions":"admin","articles":{}}`,
		`{"name":1,"login":2,"password":3,"price":"x","stock":"y","quantity":"z","amount":"w"}`,
	}
}

// credentialAttacks are hostile names, logins and passwords.
func credentialAttacks() []string {
	return []string{
		`{"login":"` + strings.Repeat("\uff41", 50) + `","password":"` + strings.Repeat("x", 80) + `"}`,
		`{"name":"\ud800","login":"\udfff\ud800","password":"\uffff"}`,
		`{"name":"` + "\xff\xfe\xfd" + `","login":"` + "a\xc3" + `","password":"` + "\xed\xa0\x80" + `"}`,
		`{"name":"a\u0000b","login":"nul\u0000","password":"\u001b[2J"}`,
		`{"name":"` + strings.Repeat("A", 20000) + `"}`,
		`{"name":` + strings.Repeat("[", 3000) + strings.Repeat("]", 3000) + `}`,
	}
}

// articleAttacks are hostile article fields.
func articleAttacks() []string {
	return []string{
		`{"name":"a\u0000b","description":"\u001b[2J","image":"../../etc/passwd"}`,
		`{"name":"` + "\xff\xfe\xfd" + `","description":"` + "\xed\xa0\x80" + `"}`,
		`{"name":"` + strings.Repeat("A", 20000) + `","price":1,"stock":1}`,
		`{"name":"Lamp","price":-0.001,"stock":-1}`,
		`{"name":"Lamp","price":1e309,"stock":1e400}`,
		`{"name":"Lamp","price":"12.5","stock":"3"}`,
		`{"name":{"$ne":null},"image":{"$gt":""}}`,
	}
}

// lineAttacks are hostile article ids and quantities.
func lineAttacks() []string {
	return []string{
		`{"articleId":"\u0000","quantity":1}`,
		`{"articleId":"../../admin","quantity":1}`,
		`{"articleId":{"$gt":""},"quantity":1}`,
		`{"articleId":"a1","quantity":-2147483649}`,
		`{"articleId":"a1","quantity":99999999999999999999999}`,
		`{"articleId":"a1","quantity":"1"}`,
	}
}

// messageAttacks are hostile message fields: operators for ids, path tricks, too many lines.
func messageAttacks() []string {
	return []string{
		`{"articleId":{"$gt":""},"userId":{"$regex":".*"},"referenceId":["a","b"]}`,
		`{"image":"../../etc/passwd","articleId":"../../admin","orderId":"$where","cartId":{"$ne":null}}`,
		`{"articles":[` + strings.TrimSuffix(strings.Repeat(`{"articleId":"a","quantity":1},`, 600), ",") + `]}`,
		`{"referenceId":"r1","articleId":"a1","valid":"yes","price":"x","stock":1e400}`,
	}
}
