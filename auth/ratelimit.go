package auth

import (
	"context"
	"github.com/ecommerce-go/ecommerce/pkg/quota"
	"net/http"
	"net/netip"
	"strings"
	"time"
)

// Limits are the rate limits of sign-in and sign-up. Every count is kept in auth's store
// (see limitStore), so several auth instances allow together exactly what one allows. Counts
// are per client address, where an IPv6 address counts for its whole /64 (one customer's
// network: changing the last 64 bits is free), and per login. Zero fields take the defaults.
//
//   - PerAddress: sign-in attempts from one address, on any logins, per Window.
//   - PerLogin: failed sign-ins from one address on one login, per Window. Only that pair is
//     refused past it.
//   - LoginFailures: failed sign-ins on one login from all its unfamiliar addresses together,
//     per LoginWindow. Past it, the login refuses sign-in from every address that is not
//     familiar: however many addresses an attacker has, it gets LoginFailures guesses per
//     LoginWindow.
//   - KnownFor: how long a sign-in (or the sign-up) makes its address familiar to that login.
//     Familiar addresses are never held to LoginFailures (only to PerAddress and PerLogin):
//     that is how the owner keeps signing in while strangers guess (see startSignIn).
//   - TakenLogins: sign-ups from one address refused because the login was taken, per Window.
//     Past it, every sign-up from that address is refused (not only those of taken logins,
//     which would still tell them apart), so logins cannot be enumerated through sign-up.
//   - SignUps: successful sign-ups from one address per SignUpWindow (SPEC §2's
//     AUTH_SIGNUPS_PER_HOUR); Unlimited turns it off.
type Limits struct {
	PerAddress    int
	PerLogin      int
	LoginFailures int
	TakenLogins   int
	SignUps       int
	Window        time.Duration
	LoginWindow   time.Duration
	SignUpWindow  time.Duration
	KnownFor      time.Duration
}

// Unlimited, as a count of Limits, turns that limit off.
const Unlimited = -1

// DefaultLimits let a person mistype and a household share an address, while guessing one
// password gets at most 20 tries an hour from all the addresses in the world.
var DefaultLimits = Limits{
	PerAddress: 30, PerLogin: 10, LoginFailures: 20, TakenLogins: 10, SignUps: 30,
	Window: time.Minute, LoginWindow: time.Hour, SignUpWindow: time.Hour, KnownFor: 30 * 24 * time.Hour,
}

func (l Limits) withDefaults() Limits {
	def := DefaultLimits
	for _, f := range []struct{ v, d *int }{
		{&l.PerAddress, &def.PerAddress}, {&l.PerLogin, &def.PerLogin}, {&l.LoginFailures, &def.LoginFailures},
		{&l.TakenLogins, &def.TakenLogins}, {&l.SignUps, &def.SignUps},
	} {
		if *f.v == 0 {
			*f.v = *f.d
		}
	}
	for _, f := range []struct{ v, d *time.Duration }{
		{&l.Window, &def.Window}, {&l.LoginWindow, &def.LoginWindow}, {&l.SignUpWindow, &def.SignUpWindow},
		{&l.KnownFor, &def.KnownFor},
	} {
		if *f.v <= 0 {
			*f.v = *f.d
		}
	}
	return l
}

// The counters of the limits: a name (the first part of their slots' ids), a limit and a window.
func (l Limits) counters() (byAddress, byPair, byLogin, takenLogins, signUps quota.Limit) {
	counter := func(name string, limit int, window time.Duration) quota.Limit {
		return quota.Limit{Name: name, Max: int64(limit), Per: window}
	}
	return counter("in-addr", l.PerAddress, l.Window),
		counter("in-pair", l.PerLogin, l.Window),
		counter("in-login", l.LoginFailures, l.LoginWindow),
		counter("up-taken", l.TakenLogins, l.Window),
		counter("up-new", l.SignUps, l.SignUpWindow)
}

// rateLimits holds the rate limits of a server.
type rateLimits struct {
	store    *limitStore
	trusted  []netip.Prefix
	now      func() time.Time
	knownFor time.Duration

	byAddress   quota.Limit // sign-in attempts per address
	byPair      quota.Limit // failed sign-ins per address and login
	byLogin     quota.Limit // failed sign-ins per login from unfamiliar addresses
	takenLogins quota.Limit // sign-ups refused for a taken login, per address
	signUps     quota.Limit // successful sign-ups per address
}

func newRateLimits(l Limits, trustedProxies []netip.Prefix, store *limitStore, now func() time.Time) *rateLimits {
	l = l.withDefaults()
	if now == nil {
		now = time.Now
	}
	rl := &rateLimits{store: store, trusted: trustedProxies, now: now, knownFor: l.KnownFor}
	rl.byAddress, rl.byPair, rl.byLogin, rl.takenLogins, rl.signUps = l.counters()
	return rl
}

// refusal is a request refused by a limit: why, and when to try again (Retry-After).
type refusal struct {
	why        string
	retryAfter time.Duration
}

// signIn is one sign-in attempt as the rate limits see it: the slots it holds until it is
// judged.
type signIn struct {
	limits  *rateLimits
	login   string // login key
	address string // address key
	slots   []string
}

// startSignIn counts an attempt on login from r's client address and tells whether it may go
// on (refused is nil) or why not. It takes a slot of each counter before the password is
// checked, so the attempt counts as a failure until succeeded says otherwise: parallel
// guesses cannot slip in before the first ones are judged, and no more passwords are checked
// than the limits allow, on one instance or on many.
//
// Nobody can lock the owner out of their account (issue 14, finding 4): a stranger's failures
// count against the stranger's address (byAddress, byPair), and against the login only for
// unfamiliar addresses (byLogin). An address where the owner signed in (or signed up) within
// KnownFor is familiar and never meets byLogin, so from their usual devices the owner signs
// in through any attack. The price: from a brand-new address, the owner meets byLogin like a
// stranger while an attack on their login keeps it full (Retry-After says for how long); and
// an attacker behind one of the owner's familiar addresses (the same household, the same
// carrier NAT) is familiar too, held to byPair only.
func (l *rateLimits) startSignIn(ctx context.Context, r *http.Request, login string) (signIn, *refusal, error) {
	now := l.now()
	a := signIn{limits: l, login: loginKey(login), address: addressKey(clientAddress(r, l.trusted))}
	if _, ref, err := l.store.take(ctx, l.byAddress, a.address); ref != nil || err != nil {
		return a, ref.because("too many sign-in attempts from your address, try again later"), err
	}
	pair, ref, err := l.store.take(ctx, l.byPair, a.address+" "+a.login)
	if ref != nil || err != nil {
		return a, ref.because("too many failed sign-ins on this login from your address, try again later"), err
	}
	a.slots = append(a.slots, pair)
	familiar, err := l.store.familiar(ctx, a.login, a.address, now)
	if err != nil || familiar {
		return a, nil, err
	}
	slot, ref, err := l.store.take(ctx, l.byLogin, a.login)
	if ref != nil || err != nil {
		_ = a.release(ctx) // not checked, so no failure
		return a, ref.because("too many failed sign-ins on this login, try again later"), err
	}
	a.slots = append(a.slots, slot)
	return a, nil, nil
}

// succeeded forgives the attempt (a success is no failure) and makes its address familiar.
func (a signIn) succeeded(ctx context.Context) error {
	if err := a.release(ctx); err != nil {
		return err
	}
	return a.limits.store.remember(ctx, a.login, a.address, a.limits.now(), a.limits.knownFor)
}

func (a signIn) release(ctx context.Context) error {
	for _, s := range a.slots {
		if err := a.limits.store.release(ctx, s); err != nil {
			return err
		}
	}
	return nil
}

// signUp is one sign-up as the rate limits see it.
type signUp struct {
	limits  *rateLimits
	address string
	created string // the slot of signUps it holds ("" when they are unlimited)
}

// startSignUp tells whether a sign-up from r's address may go on. It takes a slot of signUps
// first, like startSignIn: the sign-up counts as successful until finished says it was not,
// so parallel sign-ups cannot pass the quota.
//
// Sign-ups refused for a taken login are counted when they happen, not before: a slot taken
// ahead would, while in flight, refuse a parallel sign-up of a free login. So this limit is
// exact for one attempt after another, and parallel attempts can pass it by as many as are in
// flight at once, each behind a bcrypt hash.
func (l *rateLimits) startSignUp(ctx context.Context, r *http.Request) (signUp, *refusal, error) {
	s := signUp{limits: l, address: addressKey(clientAddress(r, l.trusted))}
	if ref, err := l.store.full(ctx, l.takenLogins, s.address); ref != nil || err != nil {
		return s, ref.because("too many sign-ups with logins already taken"), err
	}
	var ref *refusal
	var err error
	s.created, ref, err = l.store.take(ctx, l.signUps, s.address) // none when Unlimited
	return s, ref.because("too many sign-ups from your address, try again later"), err
}

// finished records how the sign-up ended: a user created (with its login), the login taken,
// or neither (any other error).
func (s signUp) finished(ctx context.Context, createdLogin string, loginTaken bool) error {
	if createdLogin != "" {
		return s.limits.store.remember(ctx, loginKey(createdLogin), s.address, s.limits.now(), s.limits.knownFor)
	}
	if err := s.limits.store.release(ctx, s.created); err != nil {
		return err
	}
	if loginTaken {
		_, _, err := s.limits.store.take(ctx, s.limits.takenLogins, s.address)
		return err
	}
	return nil
}

// because returns the refusal with its reason, or nil for no refusal.
func (r *refusal) because(why string) *refusal {
	if r == nil {
		return nil
	}
	return &refusal{why: why, retryAfter: r.retryAfter}
}

// clientAddress is the address a request came from. X-Forwarded-For is believed only as far as
// it was written by trusted proxies (such as the web storefront, which signs people in from its
// own address): anyone else could write it and pick a fresh address for every attempt.
func clientAddress(r *http.Request, trusted []netip.Prefix) netip.Addr {
	peer, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	client := peer.Addr().Unmap()
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	// Walk back from the nearest hop while each one was added by a trusted proxy.
	for i := len(hops) - 1; i >= 0 && isTrusted(client, trusted); i-- {
		hop, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break
		}
		client = hop.Unmap()
	}
	return client
}

// addressKey is what the limits count a client address as: an IPv4 address alone, an IPv6
// address with its whole /64, the smallest network a provider gives a customer (a customer
// picks any of its 2^64 addresses at will, so counting them apart would count nothing).
func addressKey(addr netip.Addr) string {
	switch {
	case !addr.IsValid():
		return "unknown" // a peer that is no address (a test, a Unix socket): all one
	case addr.Is4():
		return addr.String()
	default:
		p, _ := addr.Prefix(64)
		return p.String()
	}
}

func isTrusted(ip netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}
