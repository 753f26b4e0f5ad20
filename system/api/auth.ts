/**
 * The API token: with one set, every request but /healthz and the routes marked
 * `config.public` (the dashboard's static files, which hold no data) must carry
 * `Authorization: Bearer <token>`, or is answered 401.
 */
import { timingSafeEqual } from "node:crypto";
import type { FastifyInstance } from "fastify";
import type { ErrorBody } from "./errors.js";

declare module "fastify" {
  interface FastifyContextConfig {
    /** Served without the API token, when one is set. */
    public?: boolean;
  }
}

/** Routes with `config.public` are served without the API token. */
export function isPublicRoute(config: unknown): boolean {
  return (config as { public?: boolean } | undefined)?.public === true;
}

export function requireToken(app: FastifyInstance, token: string): void {
  const expected = Buffer.from(`Bearer ${token}`);
  app.addHook("onRequest", async (request, reply) => {
    // The matched route, not the raw URL: /healthz?probe=1 is /healthz too.
    if (request.routeOptions.url === "/healthz" || isPublicRoute(request.routeOptions.config)) return;
    const given = Buffer.from(request.headers.authorization ?? "");
    // Constant time: the comparison takes as long whatever the prefix that matches.
    if (given.length === expected.length && timingSafeEqual(given, expected)) return;
    return reply.code(401).header("www-authenticate", "Bearer").send({ error: "this API requires Authorization: Bearer <token>", code: "UNAUTHORIZED" } satisfies ErrorBody);
  });
}
