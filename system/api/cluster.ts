/**
 * What the API shows of the cluster: `GET /cluster`, the snapshot (read from Redis, where the
 * dispatchers publish it), and `GET /dashboard`, a page that polls it. The page and its
 * scripts are static files and hold no data, so they are served without the token; the page
 * asks for the token when `/cluster` answers 401.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { FastifyInstance } from "fastify";
import { readClusterSnapshot } from "../cluster/read.js";
import type { TaskStore } from "../store/store.js";

interface Asset {
  path: string;
  type: string;
}

/** The dashboard's files: its own, next to this module, and Chart.js's browser build from node_modules. */
const ASSETS: Record<string, Asset> = {
  "app.js": { path: fileURLToPathOf("./dashboard/app.js"), type: "text/javascript; charset=utf-8" },
  "style.css": { path: fileURLToPathOf("./dashboard/style.css"), type: "text/css; charset=utf-8" },
  "chart.js": { path: join(dirname(createRequire(import.meta.url).resolve("chart.js")), "chart.umd.min.js"), type: "text/javascript; charset=utf-8" },
};
const PAGE = fileURLToPathOf("./dashboard/index.html");

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

/** Routes with `config.public` are served without the API token. */
export function isPublicRoute(config: unknown): boolean {
  return (config as { public?: boolean } | undefined)?.public === true;
}

export function registerClusterRoutes(app: FastifyInstance, store: TaskStore): void {
  app.get("/cluster", async () => readClusterSnapshot(store.redis, store.keys));

  app.get("/dashboard", { config: { public: true } }, async (_request, reply) =>
    reply.type("text/html; charset=utf-8").header("cache-control", "no-cache").send(read(PAGE)));

  app.get<{ Params: { file: string } }>("/dashboard/:file", { config: { public: true } }, async (request, reply) => {
    const asset = Object.hasOwn(ASSETS, request.params.file) ? ASSETS[request.params.file] : undefined;
    if (!asset) {
      return reply.code(404).send({ error: `the dashboard has no file ${request.params.file}`, code: "ROUTE_NOT_FOUND" });
    }
    return reply.type(asset.type).header("cache-control", "no-cache").send(read(asset.path));
  });
}
