/**
 * GET /openapi.json and GET /docs on a real API process. The document must be valid OpenAPI
 * and list exactly the routes the app serves, with the schemas fastify validates and
 * serializes with: the expected list is collected from the app itself (buildApp, as the API
 * process runs it, with an onRoute hook), so a route added later is expected without this
 * file changing. The page must load everything from the same server; with a token, both
 * answer 401 without it like every route but /healthz.
 */
import { readFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { Validator } from "@seriousme/openapi-schema-validator";
import type { FastifySchema } from "fastify";
import { Redis } from "ioredis";
import { pino } from "pino";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildApp } from "../../system/api/app.js";
import { FinishedTasks } from "../../system/api/finished-tasks.js";
import * as schemas from "../../system/api/schemas.js";
import { newRegistry } from "../../system/metrics.js";
import { TaskStore } from "../../system/store/store.js";
import { browserOrReason } from "../support/chromium.js";
import { http, useCluster, type ClusterFixture } from "../support/cluster.js";

const TOKEN = "openapi-test-token";
const HTTP_METHODS = new Set(["get", "put", "post", "delete", "options", "head", "patch", "trace"]);
/** What the document leaves out on purpose (README, REST API): the dashboard's page and files, and the docs' own routes. */
const UNDOCUMENTED = /^\/(openapi\.json|docs|dashboard)(\/|$)/;
/** The routes every test here must find, at least: the MPCSFaaS contract and faaslab's own. */
const REQUIRED = [
  "POST /register_function", "POST /execute_function", "POST /execute_batch", "GET /status/{task_id}", "GET /result/{task_id}",
  "POST /results", "GET /tasks/{task_id}", "GET /cluster", "GET /healthz",
];

interface AppRoute {
  method: string;
  url: string;
  schema?: FastifySchema & Record<string, any>;
}

/**
 * The routes buildApp adds, as fastify adds them, without HEAD (fastify adds one to every
 * GET; the document lists GET). The app is built and made ready, never listens, and sends
 * Redis nothing.
 */
async function routesOfTheApp(options: { apiToken?: string } = {}): Promise<AppRoute[]> {
  const redis = new Redis({ lazyConnect: true, port: 1 });
  const store = new TaskStore(redis);
  const app = buildApp({ store, finished: new FinishedTasks(redis, store.keys.finishedChannel), logger: pino({ level: "silent" }), registry: newRegistry(false), ...options });
  const routes: AppRoute[] = [];
  app.addHook("onRoute", (route) => {
    for (const method of [route.method].flat()) if (method !== "HEAD") routes.push({ method, url: route.url, schema: route.schema as AppRoute["schema"] });
  });
  await app.ready();
  await app.close();
  redis.disconnect();
  return routes;
}

/** fastify's /status/:task_id is OpenAPI's /status/{task_id}. */
const openApiPath = (url: string) => url.replace(/:([A-Za-z_]+)/g, "{$1}");

/** "METHOD /path" for every operation in the document. */
function operationsOf(doc: any): string[] {
  return Object.entries(doc.paths as Record<string, Record<string, unknown>>)
    .flatMap(([path, item]) => Object.keys(item).filter((key) => HTTP_METHODS.has(key)).map((method) => `${method.toUpperCase()} ${path}`))
    .sort();
}

async function getDocument(fx: ClusterFixture, token?: string): Promise<any> {
  const response = await fetch(`${fx.url}/openapi.json`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  expect(response.status).toBe(200);
  expect(response.headers.get("content-type")).toMatch(/^application\/json/);
  return response.json();
}

/** A GET sent with its path exactly as written (fetch would resolve the dot segments first). */
function rawGet(baseUrl: string, path: string): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const { hostname, port } = new URL(baseUrl);
    const request = httpRequest({ host: hostname, port, path, method: "GET" }, (response) => {
      let text = "";
      response.on("data", (chunk: Buffer) => (text += chunk.toString()));
      response.on("end", () => resolve({ status: response.statusCode ?? 0, body: JSON.parse(text) }));
    });
    request.on("error", reject);
    request.end();
  });
}

describe("GET /openapi.json and GET /docs, without a token", () => {
  const fx = useCluster({ startDispatcher: false });
  let doc: any;
  let routes: AppRoute[];

  beforeAll(async () => {
    [doc, routes] = await Promise.all([getDocument(fx), routesOfTheApp()]);
  });

  it("is a valid OpenAPI 3.1 document with faaslab's name and version", async () => {
    const validator = new Validator();
    const validation = await validator.validate(structuredClone(doc));
    expect(validation.errors ?? []).toEqual([]);
    expect(validation.valid).toBe(true);
    expect(validator.version).toBe("3.1");
    const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { name: string; version: string };
    expect(doc.info).toMatchObject({ title: pkg.name, version: pkg.version, description: expect.stringContaining("MPCSFaaS") });
    // No token: nothing asks for one.
    expect(doc.security).toBeUndefined();
    expect(doc.components?.securitySchemes).toBeUndefined();
  });

  it("lists every route the app serves, each with its methods, but the dashboard's and the docs' own", () => {
    const documented = routes.filter((route) => !UNDOCUMENTED.test(route.url));
    const expected = documented.map((route) => `${route.method} ${openApiPath(route.url)}`).sort();
    expect(operationsOf(doc)).toEqual(expected);
    expect(expected).toEqual(expect.arrayContaining(REQUIRED));
    // What is left out is there to be left out: the app does serve it.
    const left = routes.filter((route) => UNDOCUMENTED.test(route.url)).map((route) => route.url);
    expect(left).toEqual(expect.arrayContaining(["/openapi.json", "/docs", "/docs/json", "/dashboard", "/dashboard/:file"]));
    // Every operation is named, tagged and summarized, and answers are described.
    for (const operation of expected) {
      const [method, path] = operation.split(" ");
      const described = doc.paths[path][method.toLowerCase()];
      expect(described, operation).toMatchObject({ operationId: expect.any(String), tags: [expect.any(String)], summary: expect.any(String) });
      expect(Object.keys(described.responses).length, operation).toBeGreaterThan(0);
    }
    expect(new Set(expected.map((operation) => { const [m, p] = operation.split(" "); return doc.paths[p][m.toLowerCase()].operationId; })).size).toBe(expected.length);
  });

  it("gives each route's request body, parameters and answers the schemas fastify validates and serializes with", () => {
    const withBody = routes.filter((route) => route.schema?.body).map((route) => `${route.method} ${route.url}`).sort();
    expect(withBody).toEqual(["POST /execute_batch", "POST /execute_function", "POST /register_function", "POST /results"]);
    for (const route of routes.filter((r) => !UNDOCUMENTED.test(r.url))) {
      const operation = doc.paths[openApiPath(route.url)][route.method.toLowerCase()];
      const where = `${route.method} ${route.url}`;
      if (route.schema?.body) {
        expect(operation.requestBody, where).toEqual({ required: true, content: { "application/json": { schema: route.schema.body } } });
      } else {
        expect(operation.requestBody, where).toBeUndefined();
      }
      const parameters: any[] = operation.parameters ?? [];
      for (const [container, place] of [["params", "path"], ["querystring", "query"]] as const) {
        const declared = route.schema?.[container] as { properties: Record<string, any>; required?: string[] } | undefined;
        const found = parameters.filter((parameter) => parameter.in === place);
        expect(found.map((parameter) => parameter.name).sort(), `${where} ${place}`).toEqual(Object.keys(declared?.properties ?? {}).sort());
        for (const parameter of found) {
          const { description, ...schema } = declared!.properties[parameter.name];
          expect(parameter, `${where} ${parameter.name}`).toEqual({ in: place, name: parameter.name, required: place === "path" || (declared!.required ?? []).includes(parameter.name), schema, description });
        }
      }
      for (const [status, schema] of Object.entries((route.schema?.response ?? {}) as Record<string, any>)) {
        expect(operation.responses[status.toUpperCase()]?.content?.["application/json"]?.schema, `${where} ${status}`).toEqual(schema);
      }
    }
    // The named ones, as schemas.ts has them.
    const body = (path: string) => doc.paths[path].post.requestBody.content["application/json"].schema;
    expect(body("/register_function")).toEqual(schemas.registerFunction.body);
    expect(body("/execute_function")).toEqual(schemas.executeFunction.body);
    expect(body("/execute_batch")).toEqual(schemas.executeBatch.body);
    expect(body("/results")).toEqual(schemas.getResults.body);
    for (const path of ["/status/{task_id}", "/result/{task_id}", "/tasks/{task_id}"]) {
      expect(doc.paths[path].get.parameters.find((p: any) => p.in === "path"), path).toMatchObject({ name: "task_id", required: true, schema: { type: "string", pattern: schemas.UUID_PATTERN } });
    }
    // The routes answered without a response schema are described for the document only.
    expect(doc.paths["/healthz"].get.responses["200"].content["application/json"].schema.properties.status.enum).toEqual(["ok"]);
    expect(Object.keys(doc.paths["/metrics"].get.responses["200"].content)).toEqual(["text/plain"]);
    expect(doc.paths["/cluster"].get.responses["200"].content["application/json"].schema.properties).toHaveProperty("queueDepth");
  });

  it("GET /docs is Swagger UI, whose every file comes from this server, from @fastify/swagger-ui's own copy", async () => {
    const page = await fetch(`${fx.url}/docs`);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toMatch(/^text\/html/);
    expect(page.headers.get("content-security-policy")).toContain("default-src 'self'");
    const html = await page.text();
    const references = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((match) => match[1]);
    expect(references).toEqual(expect.arrayContaining(["/docs/static/swagger-ui-bundle.js", "/docs/static/swagger-ui.css", "/docs/static/swagger-initializer.js"]));
    for (const reference of references) {
      // A path on this server: no scheme, no other host.
      expect(reference, reference).toMatch(/^\/docs\/static\/[^/]/);
      const asset = await fetch(new URL(reference, fx.url));
      expect(asset.status, reference).toBe(200);
      expect((await asset.arrayBuffer()).byteLength, reference).toBeGreaterThan(0);
    }
    // The bundle is the installed package's file, byte for byte.
    const packaged = readFileSync(join(dirname(createRequire(import.meta.url).resolve("@fastify/swagger-ui")), "static", "swagger-ui-bundle.js"));
    const served = Buffer.from(await (await fetch(`${fx.url}/docs/static/swagger-ui-bundle.js`)).arrayBuffer());
    expect(served.equals(packaged)).toBe(true);
    // The page reads ./json: the same document as /openapi.json.
    expect(await (await fetch(`${fx.url}/docs/static/swagger-initializer.js`)).text()).toContain("resolveUrl('./json')");
    expect((await http(fx.url, "GET", "/docs/json")).body).toEqual(doc);
  });

  it("the docs' files are only @fastify/swagger-ui's: anything else under /docs is a 404 ROUTE_NOT_FOUND, dot segments included", async () => {
    for (const path of ["/docs/static/nothing.js", "/docs/nothing", "/docs/static/..%2F..%2Fpackage.json"]) {
      const reply = await http(fx.url, "GET", path);
      expect([reply.status, reply.body.code], path).toEqual([404, "ROUTE_NOT_FOUND"]);
    }
    for (const path of ["/docs/static/../../package.json", "/docs/static/../../../../package.json"]) {
      const reply = await rawGet(fx.url, path);
      expect([reply.status, reply.body.code], path).toEqual([404, "ROUTE_NOT_FOUND"]);
    }
  });
});

describe("GET /openapi.json and GET /docs, with --api-token", () => {
  const fx = useCluster({ startDispatcher: false, apiToken: TOKEN });
  let browser: Browser | undefined;
  let unavailable: string | undefined;

  beforeAll(async () => {
    const launched = await browserOrReason("the /docs browser test");
    if (typeof launched === "string") unavailable = launched;
    else browser = launched;
  });
  afterAll(async () => {
    await browser?.close();
  });

  const paths = ["/openapi.json", "/docs", "/docs/", "/docs/json", "/docs/yaml", "/docs/static/swagger-ui-bundle.js", "/docs/static/swagger-initializer.js"];

  it.each([
    ["no Authorization header", undefined],
    ["a wrong token", "Bearer wrong"],
  ])("answers %s with 401 and the documented JSON error, on the document, the page and its files", async (_case, authorization) => {
    for (const path of paths) {
      const response = await fetch(`${fx.url}${path}`, { headers: authorization ? { authorization } : {} });
      expect(response.status, path).toBe(401);
      expect(response.headers.get("www-authenticate"), path).toBe("Bearer");
      expect(await response.json(), path).toEqual({ error: "this API requires Authorization: Bearer <token>", code: "UNAUTHORIZED" });
    }
  });

  it("asks for the token whatever the spelling of the path: dot segments, encoded or not, doubled slashes, /healthz in it", async () => {
    // The token is checked for every route, not per prefix: no guard is there for a path to go around.
    for (const path of [
      "/docs/static/../static/swagger-ui.css", "/docs/static/%2e%2e/static/swagger-ui.css", "/docs/static/./swagger-ui.css",
      "/docs/static/.%2fswagger-ui.css", "/docs/static//swagger-ui.css", "/docs/static/..%5cswagger-ui.css", "//docs/json",
      "/docs/static/..%2f..%2fhealthz", "/healthz/../docs/json", "/dashboard/../docs/json", "/openapi.json?healthz", "/docs/?x=/healthz",
    ]) {
      const reply = await rawGet(fx.url, path);
      expect([reply.status, reply.body.code], path).toEqual([401, "UNAUTHORIZED"]);
    }
    // The dashboard's public route serves its own files only.
    const reply = await rawGet(fx.url, "/dashboard/..%2Fopenapi.json");
    expect([reply.status, reply.body.code]).toEqual([404, "ROUTE_NOT_FOUND"]);
  });

  it("answers them with the token, and the document says which operations need it: all but /healthz", async () => {
    for (const path of paths) {
      const response = await fetch(`${fx.url}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } });
      expect(response.status, path).toBe(200);
    }
    const doc = await getDocument(fx, TOKEN);
    expect((await new Validator().validate(structuredClone(doc))).valid).toBe(true);
    expect(doc.components.securitySchemes).toEqual({ bearer: { type: "http", scheme: "bearer", description: expect.any(String) } });
    expect(doc.security).toEqual([{ bearer: [] }]);
    for (const operation of operationsOf(doc)) {
      const [method, path] = operation.split(" ");
      expect(doc.paths[path][method.toLowerCase()].security, operation).toEqual(path === "/healthz" ? [] : undefined);
    }
    // The same routes as without a token.
    expect(operationsOf(doc)).toEqual((await routesOfTheApp({ apiToken: TOKEN })).filter((r) => !UNDOCUMENTED.test(r.url)).map((r) => `${r.method} ${openApiPath(r.url)}`).sort());
  });

  it("in Chromium, with the token, /docs shows every operation of the document, its policy blocking nothing of its own", async (context) => {
    if (unavailable) return context.skip(`skipped: ${unavailable}`);
    const doc = await getDocument(fx, TOKEN);
    const page = await browser!.newPage({ extraHTTPHeaders: { authorization: `Bearer ${TOKEN}` } });
    const problems: string[] = [];
    page.on("pageerror", (error) => problems.push(error.message));
    page.on("console", (message) => {
      if (message.type() === "error") problems.push(message.text());
    });
    page.on("requestfailed", (request) => problems.push(`${request.url()}: ${request.failure()?.errorText}`));
    await page.goto(`${fx.url}/docs`);
    await page.locator(".opblock").first().waitFor({ timeout: 15_000 });
    const shown = await page.locator(".opblock-summary").evaluateAll((blocks) =>
      blocks.map((block) => `${block.querySelector(".opblock-summary-method")?.textContent} ${block.querySelector(".opblock-summary-path")?.textContent}`));
    expect(shown.sort()).toEqual(operationsOf(doc));
    // The Authorize button is there: the document declares the bearer scheme.
    expect(await page.locator(".auth-wrapper .authorize").count()).toBe(1);
    expect(problems).toEqual([]);
    await page.close();
  });
});
