// OrderHub's Swagger UI start-up: a file, not an inline script, so that /v1/docs runs under a
// Content-Security-Policy without 'unsafe-inline' scripts.
window.addEventListener("DOMContentLoaded", function () {
  window.ui = SwaggerUIBundle({
    url: "/v1/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
  });
});
