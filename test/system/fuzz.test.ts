/**
 * Property-based fuzzing of the live API (fast-check): random and malformed bodies, wrong
 * types, huge and deeply nested payloads, invalid UUIDs, non-function payloads, broken UTF-8,
 * wrong content types, methods and paths. Every answer must be a 2xx–4xx (a 4xx with a JSON
 * error that says what was wrong), never a 5xx or a hang, and the server stays healthy.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { Pool } from "undici";
import { serialize, FunctionSource } from "../../system/client/index.js";
import { http, useCluster } from "../support/cluster.js";

const RUNS = Number(process.env.FAAS_FUZZ_RUNS ?? 3000);

describe("fuzzing the API", () => {
  const fx = useCluster({ executors: 2 });

  it(`answers ${RUNS} random requests with 2xx–4xx and JSON errors, and stays healthy`, async () => {
    const functionId = await fx.client.register((...args: unknown[]) => args.length);
    const taskId = await fx.client.execute(functionId, 1);
    const pool = new Pool(fx.url, { connections: 8 });

    const uuidish = fc.oneof(fc.uuid(), fc.constant(functionId), fc.constant(taskId), fc.string({ maxLength: 40 }), fc.constant(""), fc.constant("../../etc/passwd"), fc.integer().map(String));
    // devalue refuses a "__proto__" key (fast-check's JSON values include some): the codec's values are those it can carry.
    const codable = fc.jsonValue().filter((value) => !JSON.stringify(value).includes('"__proto__"'));
    const codecish = fc.oneof(
      codable.map((value) => serialize(value)),
      fc.array(codable, { maxLength: 5 }).map((args) => serialize(args)),
      fc.constantFrom(serialize(new FunctionSource("x => x")), serialize(new FunctionSource("1 +")), serialize(new FunctionSource("class A {}")), '[["Function",1],"async () => import(\'fs\')"]', '[["BigInt",1],"nope"]', '[["Date",1],"not a date"]', '[["Error",1],5]', "[-7]", "[1,2,3]", "[]", '[{"a":99}]'),
      fc.integer({ min: 10, max: 2000 }).map((depth) => `${"[".repeat(depth)}${"]".repeat(depth)}`),
      fc.string({ maxLength: 60 }),
      fc.string({ unit: "grapheme", maxLength: 30 }),
    );
    const anyValue = fc.oneof(fc.jsonValue(), codecish, uuidish, fc.double(), fc.boolean(), fc.constant(null));
    const bodyObject = fc.oneof(
      fc.record({ name: anyValue, payload: fc.oneof(codecish, anyValue) }, { requiredKeys: [] }),
      fc.record({ function_id: uuidish, payload: fc.oneof(codecish, anyValue), deadline_ms: fc.oneof(fc.integer(), fc.double(), fc.string(), fc.constant(null)) }, { requiredKeys: [] }),
      fc.record({ function_id: uuidish, payloads: fc.oneof(fc.array(codecish, { maxLength: 20 }), anyValue) }, { requiredKeys: [] }),
      fc.record({ task_ids: fc.oneof(fc.array(uuidish, { maxLength: 20 }), anyValue), wait: fc.oneof(fc.double({ min: -2, max: 0.2, noNaN: false }), fc.string(), fc.constant(null)) }, { requiredKeys: [] }),
      fc.jsonValue(),
    );
    const body = fc.oneof(
      { weight: 6, arbitrary: bodyObject.map((value) => Buffer.from(JSON.stringify(value) ?? "null")) },
      { weight: 1, arbitrary: fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes)) }, // broken UTF-8, garbage
      { weight: 1, arbitrary: fc.string({ maxLength: 100 }).map((text) => Buffer.from(text)) },
      { weight: 1, arbitrary: fc.integer({ min: 100, max: 20_000 }).map((depth) => Buffer.from(`${'{"a":'.repeat(depth)}1${"}".repeat(depth)}`)) }, // deeply nested JSON
      { weight: 1, arbitrary: fc.integer({ min: 1, max: 4 }).map((mib) => Buffer.from(JSON.stringify({ name: "huge", payload: serialize(["x".repeat(mib * 1024 * 1024)]) }))) },
      { weight: 1, arbitrary: fc.constant(Buffer.alloc(0)) },
    );
    const contentType = fc.constantFrom("application/json", "application/json; charset=utf-8", "text/plain", "application/x-www-form-urlencoded", "application/octet-stream", "multipart/form-data; boundary=x", "", "application/json; charset=latin1");
    const target = fc.oneof(
      fc.constantFrom("/register_function", "/execute_function", "/execute_batch", "/results").map((path) => ({ method: "POST" as const, path })),
      fc.tuple(fc.constantFrom("/status/", "/result/", "/tasks/"), uuidish).map(([prefix, id]) => ({ method: "GET" as const, path: `${prefix}${encodeURIComponent(id)}` })),
      fc.tuple(uuidish, fc.oneof(fc.double({ min: -1, max: 0.3 }).map(String), fc.string({ maxLength: 10 }))).map(([id, wait]) => ({ method: "GET" as const, path: `/result/${encodeURIComponent(id)}?wait=${encodeURIComponent(wait)}` })),
      fc.tuple(fc.constantFrom("PUT", "DELETE", "PATCH", "GET", "POST", "OPTIONS") as fc.Arbitrary<"PUT" | "DELETE" | "PATCH" | "GET" | "POST" | "OPTIONS">, fc.webPath()).map(([method, path]) => ({ method, path: path.startsWith("/") ? path : `/${path}` })),
    );

    const problems: string[] = [];
    await fc.assert(
      fc.asyncProperty(target, body, contentType, async ({ method, path }, payload, type) => {
        const withBody = method !== "GET" && method !== "OPTIONS";
        const response = await pool.request({
          method, path,
          headers: withBody && type ? { "content-type": type } : {},
          body: withBody ? payload : undefined,
          headersTimeout: 15_000, bodyTimeout: 15_000,
        });
        const text = await response.body.text();
        const status = response.statusCode;
        if (status >= 500 || status < 200) problems.push(`${method} ${path} (${type}, ${payload.length} bytes) answered ${status}: ${text.slice(0, 200)}`);
        if (status >= 400) {
          let error: unknown;
          try {
            error = (JSON.parse(text) as { error?: unknown }).error;
          } catch {
            error = undefined;
          }
          if (typeof error !== "string" || error.length === 0) problems.push(`${method} ${path} answered ${status} without a JSON error: ${text.slice(0, 200)}`);
        }
        return problems.length === 0;
      }),
      { numRuns: RUNS, seed: Number(process.env.FAAS_SEED) || undefined },
    );
    await pool.close();
    expect(problems).toEqual([]);
    expect(await http(fx.url, "GET", "/healthz")).toMatchObject({ status: 200 });
    expect(await fx.client.run((x: number) => x * 2, 21)).toBe(42);
    expect(fx.cluster.process("api")!.running).toBe(true);
  }, 240_000);
});
