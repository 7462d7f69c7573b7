package api

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/gofiber/fiber/v2"
)

// OpenAPISpec is the contract of the API as served, OpenAPI 3.1.
//
//go:embed openapi.yaml
var OpenAPISpec []byte

// LoadSpec parses and validates the embedded contract.
func LoadSpec() (*openapi3.T, error) {
	doc, err := openapi3.NewLoader().LoadFromData(OpenAPISpec)
	if err != nil {
		return nil, fmt.Errorf("load openapi.yaml: %w", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("validate openapi.yaml: %w", err)
	}
	return doc, nil
}

// serveSpec serves the contract as YAML and as JSON, without a token.
func serveSpec(app *fiber.App) error {
	doc, err := LoadSpec()
	if err != nil {
		return err
	}
	asJSON, err := json.Marshal(doc)
	if err != nil {
		return fmt.Errorf("encode openapi as json: %w", err)
	}
	app.Get(Root+"/openapi.yaml", func(c *fiber.Ctx) error {
		c.Set(fiber.HeaderContentType, "application/yaml")
		return c.Send(OpenAPISpec)
	})
	app.Get(Root+"/openapi.json", func(c *fiber.Ctx) error {
		c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
		return c.Send(asJSON)
	})
	return nil
}
