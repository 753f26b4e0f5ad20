/**
 * GET /openapi.json, the OpenAPI document (openapi.ts), and GET /docs, Swagger UI over it:
 * FastAPI's two paths. The page and its scripts come from @fastify/swagger-ui's own files in
 * node_modules (no CDN); the page loads the document from /docs/json, the same one. Behind
 * the token like every route but /healthz and the dashboard's files: none says
 * `config.public`.
 */
import swaggerUi from "@fastify/swagger-ui";
import type { FastifyError, FastifyPluginAsync } from "fastify";

/**
 * The page may load only this server's files and call only this API (Swagger UI's "Try it
 * out"); it cannot be framed. Swagger UI in its base layout needs no inline script or style
 * (its icons are data: images); the browser test checks that the policy blocks nothing.
 */
const DOCS_CSP = "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

export const docsRoutes: FastifyPluginAsync = async (app) => {
  // @fastify/static refuses a path with dot segments (/docs/static/../x) with a 403: to a client
  // it is a file that is not there, 404 ROUTE_NOT_FOUND, as on the dashboard. Anything else is
  // the app's error handler's.
  app.setErrorHandler(async (error: FastifyError, _request, reply) => {
    if (error.statusCode === 403) return reply.callNotFound();
    throw error;
  });
  app.get("/openapi.json", { schema: { hide: true } }, async () => app.swagger());

  await app.register(swaggerUi, {
    routePrefix: "/docs",
    staticCSP: DOCS_CSP,
    theme: { title: "faaslab API" },
    // The document and nothing else: no bar to explore other documents' URLs (FastAPI's layout).
    uiConfig: { layout: "BaseLayout", deepLinking: true },
  });
};
