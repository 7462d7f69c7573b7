package api

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/gofiber/fiber/v2"
	"go.uber.org/zap"

	"github.com/bank/caseservice/internal/platform/auth"
)

const principalKey = "principal"

// authenticate requires a valid bearer token, in the Authorization header
// only, with the scope the method needs.
func authenticate(verifier *auth.Verifier, logger *zap.Logger) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if c.Context().QueryArgs().Has("access_token") {
			return &authError{status: http.StatusUnauthorized, detail: "Bearer tokens are accepted in the Authorization header only.",
				header: `Bearer realm="case-api", error="invalid_request"`}
		}
		scheme, token, ok := strings.Cut(c.Get(fiber.HeaderAuthorization), " ")
		if !ok || !strings.EqualFold(scheme, "bearer") || strings.TrimSpace(token) == "" {
			return &authError{status: http.StatusUnauthorized, detail: "A bearer token is required.", header: `Bearer realm="case-api"`}
		}
		p, err := verifier.Verify(c.UserContext(), strings.TrimSpace(token))
		if err != nil {
			logger.Info("Token refused", zap.String("request-id", requestID(c)), zap.Error(err))
			return &authError{
				status: http.StatusUnauthorized,
				detail: "The bearer token is not valid.",
				header: `Bearer realm="case-api", error="invalid_token"`,
			}
		}
		need := auth.ScopeWrite
		if c.Method() == fiber.MethodGet || c.Method() == fiber.MethodHead {
			need = auth.ScopeRead
		}
		if !p.HasScope(need) {
			return &authError{
				status: http.StatusForbidden,
				detail: fmt.Sprintf("The token lacks the %s scope.", need),
				header: fmt.Sprintf(`Bearer realm="case-api", error="insufficient_scope", scope=%q`, need),
			}
		}
		c.Locals(principalKey, p)
		return c.Next()
	}
}

func principalOf(c *fiber.Ctx) auth.Principal {
	p, _ := c.Locals(principalKey).(auth.Principal)
	return p
}
