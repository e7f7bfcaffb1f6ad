// Starts Swagger UI at /api/docs (templates/swagger_ui.html) from its JSON config block.
const block = document.getElementById('swagger-ui-config');
const config = JSON.parse(block.textContent || '{}');
config.url = block.dataset.specUrl;
config.dom_id = '#swagger-ui-container';
if (!('validatorUrl' in config)) config.validatorUrl = null;  // no badge fetched from outside
window.ui = SwaggerUIBundle(config);
