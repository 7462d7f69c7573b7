package auth

import (
	"crypto/sha256"
	"sync"
	"time"
)

// verifiedTokens remembers the principals of tokens whose signature and
// claims were checked, so that an agent's next request with the same token
// skips the signature check (it was ~40% of the API's CPU on reads). An entry
// lasts until the token's own expiry or maxAge, whichever comes first:
// maxAge bounds how long a key removed from the identity provider's JWKS
// still admits tokens it signed.
type verifiedTokens struct {
	mu      sync.Mutex
	entries map[[sha256.Size]byte]verifiedToken
	size    int
	maxAge  time.Duration
}

type verifiedToken struct {
	principal Principal
	// usable from notBefore up to, not including, until.
	notBefore, until time.Time
}

func newVerifiedTokens(size int, maxAge time.Duration) *verifiedTokens {
	if size <= 0 || maxAge <= 0 {
		return nil
	}
	return &verifiedTokens{entries: map[[sha256.Size]byte]verifiedToken{}, size: size, maxAge: maxAge}
}

func (c *verifiedTokens) get(key [sha256.Size]byte, now time.Time) (Principal, bool) {
	if c == nil {
		return Principal{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok {
		return Principal{}, false
	}
	if now.Before(e.notBefore) || !now.Before(e.until) {
		delete(c.entries, key)
		return Principal{}, false
	}
	return e.principal, true
}

func (c *verifiedTokens) put(key [sha256.Size]byte, p Principal, notBefore, expires, now time.Time) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= c.size {
		// Full: drop expired entries, and if that frees nothing, an
		// arbitrary tenth (map order is random).
		for k, e := range c.entries {
			if !now.Before(e.until) {
				delete(c.entries, k)
			}
		}
		for k := range c.entries {
			if len(c.entries) < c.size*9/10 {
				break
			}
			delete(c.entries, k)
		}
	}
	c.entries[key] = verifiedToken{principal: p, notBefore: notBefore, until: earlier(expires, now.Add(c.maxAge))}
}

func earlier(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// Remembered says how many verified tokens the verifier holds.
func (v *Verifier) Remembered() int {
	if v.verified == nil {
		return 0
	}
	v.verified.mu.Lock()
	defer v.verified.mu.Unlock()
	return len(v.verified.entries)
}
