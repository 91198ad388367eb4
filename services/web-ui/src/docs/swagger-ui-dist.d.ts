// swagger-ui-dist ships no types; only what src/docs/main.ts calls.
declare module 'swagger-ui-dist/swagger-ui-es-bundle.js' {
  interface SwaggerUIOptions {
    url: string
    dom_id: string
    validatorUrl: string | null
    deepLinking?: boolean
    persistAuthorization?: boolean
    tryItOutEnabled?: boolean
  }
  export default function SwaggerUIBundle(options: SwaggerUIOptions): unknown
}
