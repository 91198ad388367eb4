// The API reference at /v1/docs: Swagger UI, bundled from the npm package
// (nothing from a CDN), over the merged OpenAPI document the edge serves.
import SwaggerUIBundle from 'swagger-ui-dist/swagger-ui-es-bundle.js'
import 'swagger-ui-dist/swagger-ui.css'
import './docs.css'

SwaggerUIBundle({
  url: '/v1/openapi.json',
  dom_id: '#api-docs',
  // No call to the public validator service: the network may be closed, and the
  // document is checked by the repository's tests.
  validatorUrl: null,
  deepLinking: true,
  // "Try it out" sends the pasted bearer token to this origin only; never kept on disk.
  persistAuthorization: false,
  tryItOutEnabled: false,
})
