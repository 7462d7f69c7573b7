// Swagger UI over the served contract; no CDN, no inline script (the page's CSP forbids both).
window.ui = SwaggerUIBundle({
  url: "../openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  tryItOutEnabled: false,
});
