package api

import (
	"errors"
	"net/http"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/requestid"
	"go.uber.org/zap"

	"github.com/bank/caseservice/casefile"
)

// problem is an RFC 9457 problem details document.
type problem struct {
	Type          string         `json:"type"`
	Title         string         `json:"title"`
	Status        int            `json:"status"`
	Detail        string         `json:"detail,omitempty"`
	Instance      string         `json:"instance,omitempty"`
	RequestID     string         `json:"request-id,omitempty"`
	InvalidParams []invalidParam `json:"invalid-params,omitempty"`
}

// invalidParam names one offending field, as in RFC 9457's example.
type invalidParam struct {
	Name   string `json:"name"`
	Reason string `json:"reason"`
}

// validationError lists every invalid field of a request.
type validationError struct{ params []invalidParam }

func (e *validationError) Error() string { return "request has invalid fields" }

// authError is a refused credential; header is the WWW-Authenticate challenge.
type authError struct {
	status int
	detail string
	header string
}

func (e *authError) Error() string { return e.detail }

// clientError is a 4xx whose detail is safe to show as is.
type clientError struct {
	status int
	detail string
}

func (e *clientError) Error() string { return e.detail }

func badRequest(detail string) error {
	return &clientError{status: fiber.StatusBadRequest, detail: detail}
}

// errorHandler is the one place that turns errors into responses. Only errors
// made for clients pass their text on; anything else is a logged 500.
func errorHandler(logger *zap.Logger) fiber.ErrorHandler {
	return func(c *fiber.Ctx, err error) error {
		p := problem{Instance: c.Path(), RequestID: requestID(c)}
		var (
			validation *validationError
			auth       *authError
			client     *clientError
			rejection  *casefile.Rejection
			fiberErr   *fiber.Error
		)
		switch {
		case errors.As(err, &validation):
			p.Status, p.Detail, p.InvalidParams = http.StatusBadRequest, "The request has invalid fields.", validation.params
		case errors.As(err, &auth):
			p.Status, p.Detail = auth.status, auth.detail
			c.Set(fiber.HeaderWWWAuthenticate, auth.header)
		case errors.As(err, &client):
			p.Status, p.Detail = client.status, client.detail
		case errors.As(err, &rejection) && rejection.Field != "":
			// As a field refused before the workflow was asked, such as case-id.
			p.Status, p.Detail = rejectionStatus(rejection.Kind), "The request has invalid fields."
			p.InvalidParams = []invalidParam{{Name: rejection.Field, Reason: rejection.Detail}}
		case errors.As(err, &rejection):
			p.Status, p.Detail = rejectionStatus(rejection.Kind), rejection.Detail
		case errors.As(err, &fiberErr):
			p.Status = fiberErr.Code
			if p.Status < 500 {
				p.Detail = fiberErr.Message
			}
		default:
			p.Status = http.StatusInternalServerError
		}
		if p.Status >= 500 {
			logger.Error("Request failed", zap.Error(err), zap.String("request-id", p.RequestID),
				zap.String("method", c.Method()), zap.String("path", c.Path()))
			p.Detail = "The service could not complete the request; it has been logged under the request id."
		}
		p.Title = http.StatusText(p.Status)
		p.Type = "about:blank"
		c.Status(p.Status)
		return c.JSON(p, "application/problem+json")
	}
}

func rejectionStatus(kind error) int {
	switch kind {
	case casefile.ErrNotFound:
		return http.StatusNotFound
	case casefile.ErrConflict:
		return http.StatusConflict
	case casefile.ErrStale:
		return http.StatusPreconditionFailed
	default:
		return http.StatusBadRequest
	}
}

func requestID(c *fiber.Ctx) string {
	id, _ := c.Locals(requestid.ConfigDefault.ContextKey).(string)
	return id
}
