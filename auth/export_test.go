package auth

import "golang.org/x/crypto/bcrypt"

// The tests check behaviour, not hashing cost: they hash at bcrypt's minimum cost, or a run
// under the race detector would take minutes. Benchmarks put the real cost back.
func init() {
	bcryptCost = bcrypt.MinCost
	dummyHash, _ = bcrypt.GenerateFromPassword([]byte("dummy"), bcrypt.MinCost)
}

// SetPasswordCost sets the bcrypt cost of new hashes and of the unknown-login comparison, and
// returns a function that restores the previous ones.
func SetPasswordCost(cost int) (restore func()) {
	prevCost, prevDummy := bcryptCost, dummyHash
	bcryptCost = cost
	dummyHash, _ = bcrypt.GenerateFromPassword([]byte("dummy"), cost)
	return func() { bcryptCost, dummyHash = prevCost, prevDummy }
}
