package api

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jwt"
)

// Scopes a token must carry: reads need ScopeRead, changes ScopeWrite.
const (
	ScopeRead  = "case:read"
	ScopeWrite = "case:write"
)

// clockSkew tolerated on exp, nbf and iat between us and the issuer.
const clockSkew = 30 * time.Second

// principal is who a verified token speaks for.
type principal struct {
	Subject string
	Name    string
	Scopes  []string
}

// TokenVerifier checks bearer tokens against a key set and the expected issuer
// and audience. Keys must name their algorithm: the token's header is never
// trusted to choose one, so "none" and algorithm confusion cannot pass.
type TokenVerifier struct {
	keys     jwk.Set
	issuer   string
	audience string
}

// NewTokenVerifier returns a verifier; keys may be a cached, refreshing set.
func NewTokenVerifier(keys jwk.Set, issuer, audience string) *TokenVerifier {
	return &TokenVerifier{keys: keys, issuer: issuer, audience: audience}
}

func (v *TokenVerifier) verify(raw string) (principal, error) {
	tok, err := jwt.Parse([]byte(raw),
		jwt.WithKeySet(v.keys),
		jwt.WithValidate(true),
		jwt.WithIssuer(v.issuer),
		jwt.WithAudience(v.audience),
		jwt.WithRequiredClaim(jwt.ExpirationKey),
		jwt.WithRequiredClaim(jwt.SubjectKey),
		jwt.WithAcceptableSkew(clockSkew),
	)
	if err != nil {
		return principal{}, err
	}
	p := principal{}
	p.Subject, _ = tok.Subject()
	var scope, name string
	if err := tok.Get("scope", &scope); err == nil {
		p.Scopes = strings.Fields(scope)
	}
	if err := tok.Get("name", &name); err == nil {
		p.Name = name
	}
	return p, nil
}

const principalKey = "principal"

// authenticate requires a valid bearer token with the scope the method needs.
func (v *TokenVerifier) authenticate(c *fiber.Ctx) error {
	scheme, token, ok := strings.Cut(c.Get(fiber.HeaderAuthorization), " ")
	if !ok || !strings.EqualFold(scheme, "bearer") || token == "" {
		return &authError{status: http.StatusUnauthorized, detail: "A bearer token is required.", header: `Bearer realm="case-api"`}
	}
	p, err := v.verify(strings.TrimSpace(token))
	if err != nil {
		return &authError{
			status: http.StatusUnauthorized,
			detail: "The bearer token is not valid.",
			header: `Bearer realm="case-api", error="invalid_token"`,
		}
	}
	need := ScopeWrite
	if c.Method() == fiber.MethodGet || c.Method() == fiber.MethodHead {
		need = ScopeRead
	}
	if !slices.Contains(p.Scopes, need) {
		return &authError{
			status: http.StatusForbidden,
			detail: fmt.Sprintf("The token lacks the %s scope.", need),
			header: fmt.Sprintf(`Bearer realm="case-api", error="insufficient_scope", scope=%q`, need),
		}
	}
	c.Locals(principalKey, p)
	return c.Next()
}

func principalOf(c *fiber.Ctx) principal {
	p, _ := c.Locals(principalKey).(principal)
	return p
}
