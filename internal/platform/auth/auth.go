// Package auth verifies the Case API's bearer tokens and what each may do.
package auth

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws"
	"github.com/lestrrat-go/jwx/v3/jwt"
)

// Scopes a token carries: reads need ScopeRead, changes ScopeWrite, and the
// codec server's decoding of Temporal payloads ScopeDecode.
const (
	ScopeRead   = "case:read"
	ScopeWrite  = "case:write"
	ScopeDecode = "case:decode"
)

// CustomerClaim names the claim that makes a token a customer token: it may
// see and change only that customer's cases.
const CustomerClaim = "customer_id"

// Principal is who a verified token speaks for.
type Principal struct {
	Subject string
	Name    string
	Scopes  []string
	// CustomerID is set for customer tokens.
	CustomerID string
}

// HasScope reports whether the token grants scope.
func (p Principal) HasScope(scope string) bool { return slices.Contains(p.Scopes, scope) }

// DisplayName is the name to record for the principal.
func (p Principal) DisplayName() string {
	if p.Name != "" {
		return p.Name
	}
	return p.Subject
}

// Keys supplies the keys tokens are checked against.
type Keys interface {
	Set() jwk.Set
	// Refresh fetches the keys again, if the source can and may (it is rate
	// limited); it reports whether the set may have changed.
	Refresh(ctx context.Context) bool
}

// Options configure a Verifier.
type Options struct {
	Keys     Keys
	Issuer   string
	Audience string
	// Algorithms allowed in token headers; others are refused before any key is tried.
	Algorithms []string
	// Leeway tolerated on exp, nbf and iat.
	Leeway time.Duration
	// CacheSize is how many verified tokens are remembered, for at most
	// CacheMaxAge each and never past their expiry; 0 remembers none.
	CacheSize   int
	CacheMaxAge time.Duration
	// Now is the clock; nil: time.Now.
	Now func() time.Time
}

// Verifier checks bearer tokens.
type Verifier struct {
	opts     Options
	verified *verifiedTokens
}

// NewVerifier returns a verifier.
func NewVerifier(opts Options) *Verifier {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Verifier{opts: opts, verified: newVerifiedTokens(opts.CacheSize, opts.CacheMaxAge)}
}

// ErrInvalidToken is the cause of every refusal; the detail stays in the log.
var ErrInvalidToken = errors.New("invalid token")

// Verify checks a token and returns its principal.
func (v *Verifier) Verify(ctx context.Context, raw string) (Principal, error) {
	now := v.opts.Now()
	key := sha256.Sum256([]byte(raw))
	if p, ok := v.verified.get(key, now); ok {
		return p, nil
	}
	p, tok, err := v.verify(ctx, raw)
	if err != nil {
		return Principal{}, err
	}
	expires, _ := tok.Expiration() // required by parse
	notBefore, hasNotBefore := tok.NotBefore()
	if !hasNotBefore {
		notBefore = now
	}
	v.verified.put(key, p, notBefore.Add(-v.opts.Leeway), expires.Add(v.opts.Leeway), now)
	return p, nil
}

func (v *Verifier) verify(ctx context.Context, raw string) (Principal, jwt.Token, error) {
	msg, err := jws.ParseString(raw)
	if err != nil || len(msg.Signatures()) != 1 {
		return Principal{}, nil, fmt.Errorf("%w: not a compact JWS", ErrInvalidToken)
	}
	header := msg.Signatures()[0].ProtectedHeaders()
	alg, ok := header.Algorithm()
	if !ok || !slices.Contains(v.opts.Algorithms, alg.String()) {
		return Principal{}, nil, fmt.Errorf("%w: algorithm %q is not allowed", ErrInvalidToken, alg)
	}
	kid, ok := header.KeyID()
	if !ok || kid == "" {
		return Principal{}, nil, fmt.Errorf("%w: no key id", ErrInvalidToken)
	}
	if _, found := v.opts.Keys.Set().LookupKeyID(kid); !found {
		// The provider may have rotated its keys since we fetched them.
		if !v.opts.Keys.Refresh(ctx) {
			return Principal{}, nil, fmt.Errorf("%w: unknown key id %q", ErrInvalidToken, kid)
		}
		if _, found := v.opts.Keys.Set().LookupKeyID(kid); !found {
			return Principal{}, nil, fmt.Errorf("%w: unknown key id %q", ErrInvalidToken, kid)
		}
	}
	tok, err := v.parse(raw)
	if err != nil {
		return Principal{}, nil, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	p := Principal{}
	if p.Subject, _ = tok.Subject(); p.Subject == "" {
		return Principal{}, nil, fmt.Errorf("%w: empty subject", ErrInvalidToken)
	}
	var scope, name, customer string
	if tok.Get("scope", &scope) == nil {
		p.Scopes = strings.Fields(scope)
	}
	if tok.Get("name", &name) == nil {
		p.Name = name
	}
	if tok.Has(CustomerClaim) {
		if err := tok.Get(CustomerClaim, &customer); err != nil || customer == "" {
			return Principal{}, nil, fmt.Errorf("%w: %s must be a non-empty string", ErrInvalidToken, CustomerClaim)
		}
		p.CustomerID = customer
	}
	return p, tok, nil
}

func (v *Verifier) parse(raw string) (jwt.Token, error) {
	return jwt.Parse([]byte(raw),
		// Keys without an "alg" are tried with the algorithms their type
		// allows; an RSA or EC key never verifies an HMAC token.
		jwt.WithKeySet(v.opts.Keys.Set(), jws.WithInferAlgorithmFromKey(true), jws.WithRequireKid(true)),
		jwt.WithValidate(true),
		jwt.WithIssuer(v.opts.Issuer),
		jwt.WithAudience(v.opts.Audience),
		jwt.WithRequiredClaim(jwt.ExpirationKey),
		jwt.WithRequiredClaim(jwt.SubjectKey),
		jwt.WithAcceptableSkew(v.opts.Leeway),
		jwt.WithClock(jwt.ClockFunc(v.opts.Now)),
	)
}

// DefaultAlgorithms are the asymmetric algorithms identity providers use.
var DefaultAlgorithms = []string{jwa.RS256().String(), jwa.ES256().String(), jwa.PS256().String()}
