package api

import (
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"path"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/gofiber/fiber/v2"
)

// OpenAPISpec is the contract of the API as served, OpenAPI 3.1.
//
//go:embed openapi.yaml
var OpenAPISpec []byte

// docs is Swagger UI (swagger-ui-dist from the npm registry, make swagger-ui)
// and the page that points it at the contract.
//
//go:embed docs/index.html docs/init.js docs/swagger-ui-bundle.js docs/swagger-ui.css
var docs embed.FS

// docsPolicy lets the docs page load its own script and styles (Swagger UI
// sets inline styles) and call the API; nothing from elsewhere.
const docsPolicy = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'"

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
	app.Get(Root+"/docs/:file?", func(c *fiber.Ctx) error {
		name := c.Params("file")
		if name == "" && !strings.HasSuffix(c.Path(), "/") {
			// The page's relative links need the trailing slash.
			return c.Redirect(Root+"/docs/", fiber.StatusMovedPermanently)
		}
		if name == "" {
			name = "index.html"
		}
		content, err := docs.ReadFile("docs/" + name)
		if err != nil {
			return fiber.ErrNotFound
		}
		c.Set(fiber.HeaderContentSecurityPolicy, docsPolicy)
		c.Set(fiber.HeaderContentType, docType(path.Ext(name)))
		return c.Send(content)
	})
	return nil
}

func docType(ext string) string {
	switch ext {
	case ".js":
		return fiber.MIMETextJavaScriptCharsetUTF8
	case ".css":
		return "text/css; charset=utf-8"
	default:
		return fiber.MIMETextHTMLCharsetUTF8
	}
}
