/**
 * `GET /dashboard`: a page that polls `GET /cluster`. The page and its scripts are static
 * files and hold no data, so they are served without the token (`config.public`); the page
 * asks for the token when `/cluster` answers 401. They are for a browser, not operations of
 * the API: the OpenAPI document leaves them out (`schema.hide`).
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { FastifyPluginAsync } from "fastify";
import type { ErrorBody } from "../errors.js";

interface Asset {
  path: string;
  type: string;
}

/** The dashboard's files: its own, next to this module, and Chart.js's browser build from node_modules. */
const ASSETS: Record<string, Asset> = {
  "app.js": { path: fileURLToPathOf("../dashboard/app.js"), type: "text/javascript; charset=utf-8" },
  "style.css": { path: fileURLToPathOf("../dashboard/style.css"), type: "text/css; charset=utf-8" },
  "chart.js": { path: join(dirname(createRequire(import.meta.url).resolve("chart.js")), "chart.umd.min.js"), type: "text/javascript; charset=utf-8" },
};
const PAGE = fileURLToPathOf("../dashboard/index.html");

function fileURLToPathOf(relative: string): string {
  return fileURLToPath(new URL(relative, import.meta.url));
}

/** Files are read once, on first request (the API starts no slower for the dashboard). */
const cache = new Map<string, Buffer>();
function read(path: string): Buffer {
  let content = cache.get(path);
  if (content === undefined) {
    content = readFileSync(path);
    cache.set(path, content);
  }
  return content;
}

/**
 * The page may load only its own files and talk only to this API; it cannot be framed. (What
 * users put in names and errors is set as text, so this is the second wall, not the first.)
 */
const DASHBOARD_HEADERS = {
  "content-security-policy": "default-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "cache-control": "no-cache",
};

export const dashboardRoutes: FastifyPluginAsync = async (app) => {
  app.get("/dashboard", { config: { public: true }, schema: { hide: true } }, async (_request, reply) =>
    reply.type("text/html; charset=utf-8").headers(DASHBOARD_HEADERS).send(read(PAGE)));
  // The page's links are relative to /dashboard: from /dashboard/ they would miss.
  app.get("/dashboard/", { config: { public: true }, schema: { hide: true } }, async (_request, reply) => reply.redirect("/dashboard"));

  app.get<{ Params: { file: string } }>("/dashboard/:file", { config: { public: true }, schema: { hide: true } }, async (request, reply) => {
    const asset = Object.hasOwn(ASSETS, request.params.file) ? ASSETS[request.params.file] : undefined;
    if (!asset) {
      return reply.code(404).send({ error: `the dashboard has no file ${request.params.file}`, code: "ROUTE_NOT_FOUND" } satisfies ErrorBody);
    }
    return reply.type(asset.type).headers(DASHBOARD_HEADERS).send(read(asset.path));
  });
};
