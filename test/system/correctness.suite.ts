/**
 * The correctness suite: the REST contract, the task lifecycle and results, against a real
 * cluster (redis-server, API and dispatcher as processes). It takes the cluster's mode so
 * that every dispatcher mode runs the same suite.
 */
import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { Redis } from "ioredis";
import type { ClusterOptions } from "../../harness/cluster/cluster.js";
import { mapConcurrent } from "../../harness/concurrent.js";
import { Random, seedFromEnv } from "../../harness/random.js";
import { waitFor } from "../../harness/wait.js";
import { deserialize, FaaSError, FunctionSource, serialize, TaskFailedError, type TaskStatus } from "../../system/client/index.js";
import { executeBody, http, postLarge, registerBody, useCluster, waitForStatus } from "../support/cluster.js";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function correctnessSuite(name: string, options: ClusterOptions): void {
  describe(`correctness: ${name}`, () => {
    const fx = useCluster({ executors: 4, ...options, dispatcher: { executorMemoryMb: 128, ...options.dispatcher } });

    async function register(fn: (...args: any[]) => unknown): Promise<string> {
      return fx.client.register(fn);
    }

    /** The error a FAILED task carries. */
    async function failure(taskId: string): Promise<Error> {
      const outcome = await fx.client.result(taskId, { wait: 30 });
      expect(outcome.status).toBe("FAILED");
      expect(outcome.value).toBeInstanceOf(Error);
      return outcome.value as Error;
    }

    describe("registration", () => {
      it("a valid function is registered with 201 and a UUID", async () => {
        const reply = await http(fx.url, "POST", "/register_function", registerBody((a: number, b: number) => a + b, "add"));
        expect(reply.status).toBe(201);
        expect(reply.body.function_id).toMatch(UUID);
      });

      it.each([
        ["a payload that is not codec text", { name: "f", payload: "function () {}" }, "INVALID_FUNCTION"],
        ["a serialized non-function", { name: "f", payload: serialize(42) }, "INVALID_FUNCTION"],
        ["a function that does not compile", { name: "f", payload: serialize(new FunctionSource("function (a, { return a }")) }, "INVALID_FUNCTION"],
        ["a class", { name: "f", payload: serialize(new FunctionSource("class A {}")) }, "INVALID_FUNCTION"],
        ["a missing name", { payload: serialize((x: number) => x) }, "BAD_REQUEST"],
        ["a missing payload", { name: "f" }, "BAD_REQUEST"],
        ["a name that is not a string", { name: 5, payload: serialize((x: number) => x) }, "BAD_REQUEST"],
        ["an empty object", {}, "BAD_REQUEST"],
        ["an array body", [1, 2], "BAD_REQUEST"],
      ])("refuses %s with 400 and a JSON error", async (_case, body, code) => {
        const reply = await http(fx.url, "POST", "/register_function", body);
        expect(reply.status).toBe(400);
        expect(reply.body).toMatchObject({ code, error: expect.any(String) });
      });

      it("refuses malformed JSON with 400 and a non-JSON content type with 415", async () => {
        const malformed = await http(fx.url, "POST", "/register_function", '{"name": "f", "payload": ');
        expect(malformed.status).toBe(400);
        expect(malformed.body.code).toBe("INVALID_JSON");
        const wrongType = await http(fx.url, "POST", "/register_function", "name=f", "text/plain");
        expect(wrongType.status).toBe(415);
        expect(wrongType.body.code).toBe("UNSUPPORTED_MEDIA_TYPE");
      });

      it("refuses a body over the 16 MiB default limit with 413", async () => {
        const reply = await postLarge(fx.url, "/register_function", JSON.stringify({ name: "f", payload: "x".repeat(16 * 1024 * 1024 + 1) }));
        expect(reply.status).toBe(413);
        expect(reply.body.code).toBe("BODY_TOO_LARGE");
      });

      it("many registrations get unique ids", async () => {
        const ids = await Promise.all(Array.from({ length: 100 }, (_, i) => fx.client.register(new Function("x", `return x + ${i}`) as (x: number) => number)));
        expect(new Set(ids).size).toBe(100);
      });
    });

    describe("execution", () => {
      it("a valid execution is accepted with 201 and a UUID, and runs", async () => {
        const functionId = await register((a: number, b: number) => a * b);
        const reply = await http(fx.url, "POST", "/execute_function", executeBody(functionId, [6, 7]));
        expect(reply.status).toBe(201);
        expect(reply.body.task_id).toMatch(UUID);
        expect(await fx.client.valueOf(reply.body.task_id)).toBe(42);
      });

      it("an unknown function id is 404", async () => {
        const reply = await http(fx.url, "POST", "/execute_function", executeBody(randomUUID(), []));
        expect(reply.status).toBe(404);
        expect(reply.body.code).toBe("FUNCTION_NOT_FOUND");
      });

      it.each([
        ["a malformed function id", { function_id: "not-a-uuid", payload: serialize([]) }, "BAD_REQUEST"],
        ["a missing payload", { function_id: randomUUID() }, "BAD_REQUEST"],
        ["an arguments payload that is not codec text", { function_id: randomUUID(), payload: "[1, 2" }, "INVALID_ARGUMENTS"],
        ["an arguments payload that is not an array", { function_id: randomUUID(), payload: serialize({ a: 1 }) }, "INVALID_ARGUMENTS"],
        ["a deadline of 0", { function_id: randomUUID(), payload: serialize([]), deadline_ms: 0 }, "BAD_REQUEST"],
        ["a deadline that is not a number", { function_id: randomUUID(), payload: serialize([]), deadline_ms: "soon" }, "BAD_REQUEST"],
      ])("refuses %s with 400", async (_case, body, code) => {
        const reply = await http(fx.url, "POST", "/execute_function", body);
        expect(reply.status).toBe(400);
        expect(reply.body.code).toBe(code);
      });

      it("the SDK surfaces API errors as FaaSError with the status", async () => {
        const error = await fx.client.execute(randomUUID()).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(FaaSError);
        expect(error).toMatchObject({ status: 404, code: "FUNCTION_NOT_FOUND" });
      });

      it("many concurrent executions all complete with their own results", async () => {
        const functionId = await register((n: number) => n * n);
        const taskIds = await Promise.all(Array.from({ length: 200 }, (_, n) => fx.client.execute(functionId, n)));
        expect(new Set(taskIds).size).toBe(200);
        const values = await Promise.all(taskIds.map((taskId) => fx.client.valueOf(taskId)));
        expect(values).toEqual(Array.from({ length: 200 }, (_, n) => n * n));
      });
    });

    describe("batches", () => {
      it("execute_batch accepts a batch and results waits for all of it in one request", async () => {
        const functionId = await register((n: number) => n * 3);
        const taskIds = await fx.client.executeMany(functionId, Array.from({ length: 300 }, (_, n) => [n]));
        expect(taskIds).toHaveLength(300);
        expect(new Set(taskIds).size).toBe(300);
        const results = await fx.client.results(taskIds, { wait: 30 });
        expect(results.map((r) => r.status)).toEqual(Array(300).fill("COMPLETED"));
        expect(results.map((r) => r.value)).toEqual(Array.from({ length: 300 }, (_, n) => n * 3));
      });

      it("a batch is accepted whole or not at all, within a bound, with the same errors as one task", async () => {
        const functionId = await register((n: number) => n);
        const bad = await http(fx.url, "POST", "/execute_batch", { function_id: functionId, payloads: [serialize([1]), serialize([2]), "not codec", serialize([4])] });
        expect(bad.status).toBe(400);
        expect(bad.body).toMatchObject({ code: "INVALID_ARGUMENTS", error: expect.stringContaining("payloads[2]") });
        const unknown = await http(fx.url, "POST", "/execute_batch", { function_id: randomUUID(), payloads: [serialize([1])] });
        expect(unknown.status).toBe(404);
        const tooMany = await http(fx.url, "POST", "/execute_batch", { function_id: functionId, payloads: Array(10_001).fill(serialize([1])) });
        expect(tooMany.status).toBe(400);
        expect((await http(fx.url, "POST", "/execute_batch", { function_id: functionId, payloads: [] })).status).toBe(400);
      });

      it("many requests waiting on results do not hold up new ones (the SDK does not cap its connections)", async () => {
        const slow = await register(async () => new Promise((resolve) => setTimeout(() => resolve("slow"), 1500)));
        const slowIds = await fx.client.executeMany(slow, [[], [], [], []]);
        let waitsEnded = false;
        const waits = Promise.all(Array.from({ length: 200 }, (_, i) => fx.client.result(slowIds[i % 4], { wait: 30 }))).then((results) => {
          waitsEnded = true;
          return results;
        });
        // 200 requests are held by the API; another one is answered before any of them ends.
        expect(await fx.client.status(slowIds[0])).toMatch(/QUEUED|RUNNING/);
        expect(waitsEnded).toBe(false);
        expect((await waits).every((r) => r.status === "COMPLETED")).toBe(true);
      });

      it("results answers 404 for an unknown task and 400 for a malformed id; without wait it answers at once", async () => {
        expect((await http(fx.url, "POST", "/results", { task_ids: [randomUUID()] })).status).toBe(404);
        expect((await http(fx.url, "POST", "/results", { task_ids: ["nope"] })).status).toBe(400);
        const functionId = await register(async () => new Promise((resolve) => setTimeout(resolve, 2000)));
        const [taskId] = await fx.client.executeMany(functionId, [[]]);
        const now = await http(fx.url, "POST", "/results", { task_ids: [taskId] });
        expect(now.status).toBe(200);
        expect(["QUEUED", "RUNNING"]).toContain(now.body.results[0].status);
        expect(now.body.results[0].result).toBeNull();
      });
    });

    describe("status and result in each state", () => {
      it("unknown and malformed task ids: 404 and 400", async () => {
        expect((await http(fx.url, "GET", `/status/${randomUUID()}`)).status).toBe(404);
        expect((await http(fx.url, "GET", `/result/${randomUUID()}`)).body.code).toBe("TASK_NOT_FOUND");
        expect((await http(fx.url, "GET", "/status/123")).status).toBe(400);
        expect((await http(fx.url, "GET", `/result/${randomUUID()}?wait=31`)).status).toBe(400);
        expect((await http(fx.url, "GET", "/no/such/route")).status).toBe(404);
      });

      it("QUEUED while no dispatcher runs, then executed once one starts", async () => {
        const functionId = await register((x: string) => x.toUpperCase());
        await fx.cluster.kill("dispatcher", "SIGTERM");
        try {
          const taskId = await fx.client.execute(functionId, "queued");
          expect(await http(fx.url, "GET", `/status/${taskId}`)).toMatchObject({ status: 200, body: { task_id: taskId, status: "QUEUED" } });
          expect((await http(fx.url, "GET", `/result/${taskId}`)).body).toEqual({ task_id: taskId, status: "QUEUED", result: null });
          const held = await http(fx.url, "GET", `/result/${taskId}?wait=0.2`);
          expect(held.body.status).toBe("QUEUED");
          await fx.cluster.startDispatcher();
          expect(await fx.client.valueOf(taskId)).toBe("QUEUED");
        } finally {
          if (!fx.cluster.process("dispatcher")?.running) await fx.cluster.startDispatcher();
        }
      });

      it("RUNNING while the function waits on a sleep, with no result yet; then COMPLETED", async () => {
        const functionId = await register(async (ms: number) => {
          await new Promise((resolve) => setTimeout(resolve, ms));
          return "woke";
        });
        const taskId = await fx.client.execute(functionId, 3000);
        await waitForStatus(fx.client, taskId, "RUNNING");
        expect((await http(fx.url, "GET", `/result/${taskId}`)).body).toEqual({ task_id: taskId, status: "RUNNING", result: null });
        const done = await http(fx.url, "GET", `/result/${taskId}?wait=20`);
        expect(done.body).toEqual({ task_id: taskId, status: "COMPLETED", result: serialize("woke") });
      });

      it("COMPLETED with the serialized return value", async () => {
        const functionId = await register((a: number) => ({ doubled: a * 2, when: new Date(0) }));
        const taskId = await fx.client.execute(functionId, 21);
        const outcome = await fx.client.result(taskId, { wait: 20 });
        expect(outcome.status).toBe("COMPLETED");
        expect(deserialize(outcome.result!)).toEqual({ doubled: 42, when: new Date(0) });
        expect(await fx.client.status(taskId)).toBe("COMPLETED");
      });

      it("FAILED with the serialized error the function threw", async () => {
        const functionId = await register((x: number) => {
          if (x < 0) throw new RangeError(`negative: ${x}`);
          return x;
        });
        const taskId = await fx.client.execute(functionId, -1);
        const error = await failure(taskId);
        expect([error.name, error.message]).toEqual(["RangeError", "negative: -1"]);
        expect(await fx.client.status(taskId)).toBe("FAILED");
        const sdkError = await fx.client.valueOf(taskId).catch((e: unknown) => e);
        expect(sdkError).toBeInstanceOf(TaskFailedError);
      });

      it("a task records its timestamps, attempts and executor", async () => {
        const functionId = await register(() => "ok");
        const taskId = await fx.client.execute(functionId);
        await fx.client.valueOf(taskId);
        const task = await fx.client.task(taskId);
        expect(task).toMatchObject({ task_id: taskId, function_id: functionId, status: "COMPLETED", attempts: 1 });
        expect(task.created_at).toBeLessThanOrEqual(task.started_at!);
        expect(task.started_at).toBeLessThanOrEqual(task.finished_at!);
        expect(task.worker).toEqual(expect.any(String));
        expect(task.executor).toEqual(expect.stringContaining("thread-"));
      });
    });

    describe("failures are contained", () => {
      it("a throwing function, a deadline overrun, an out-of-memory function and an unserializable result each fail with the right error while other tasks complete", async () => {
        const square = await register((n: number) => n * n);
        const throws = await register(() => {
          throw new TypeError("thrown on purpose");
        });
        const spins = await register(() => {
          for (;;) {
            /* never returns */
          }
        });
        const hogs = await register(() => {
          const hoard: number[][] = [];
          for (;;) hoard.push(new Array(100_000).fill(1.5));
        });
        const unserializable = await register(() => () => "a function");

        const good = await Promise.all(Array.from({ length: 40 }, (_, n) => fx.client.execute(square, n)));
        const [thrownId, spinId, hogId, unserializableId] = await Promise.all([
          fx.client.execute(throws),
          fx.client.executeWith(spins, [], { deadlineMs: 500 }),
          fx.client.execute(hogs),
          fx.client.execute(unserializable),
        ]);
        const more = await Promise.all(Array.from({ length: 40 }, (_, n) => fx.client.execute(square, n + 40)));

        expect((await failure(thrownId)).name).toBe("TypeError");
        const deadline = await failure(spinId);
        expect(deadline.name).toBe("DeadlineExceeded");
        expect(deadline.message).toMatch(/500 ms/);
        expect((await failure(hogId)).name).toBe("ResourceLimitExceeded");
        const serialization = await failure(unserializableId);
        expect(serialization.name).toBe("SerializationError");
        expect(serialization.message).toMatch(/function/);
        const values = await Promise.all([...good, ...more].map((taskId) => fx.client.valueOf(taskId)));
        expect(values).toEqual(Array.from({ length: 80 }, (_, n) => n * n));
      });

      it("a deadline of more than a thousand seconds is carried to the executor", async () => {
        const functionId = await register(() => "patient");
        expect(await fx.client.valueOf(await fx.client.executeWith(functionId, [], { deadlineMs: 2 * 3600 * 1000 }))).toBe("patient");
      });

      it("an async function past its deadline fails with DeadlineExceeded", async () => {
        const sleeps = await register(async () => new Promise((resolve) => setTimeout(resolve, 60_000)));
        const taskId = await fx.client.executeWith(sleeps, [], { deadlineMs: 300 });
        expect((await failure(taskId)).name).toBe("DeadlineExceeded");
      });
    });

    describe("isolation", () => {
      it("a function reaches neither require, process, globalThis.process, import() nor the host through constructors", async () => {
        const probe = await register(() => {
          const attempt = (get: () => unknown) => {
            try {
              const value = get();
              return value === undefined ? "undefined" : `REACHED ${typeof value}`;
            } catch (error) {
              return (error as Error).name;
            }
          };
          const g = globalThis as any;
          return {
            require: attempt(() => g.require),
            process: attempt(() => g.process),
            module: attempt(() => g.module),
            constructor: attempt(function (this: any) {
              return this.constructor.constructor("return process")();
            }),
            objectConstructor: attempt(() => ({}).constructor.constructor("return process")()),
          };
        });
        expect(await fx.client.valueOf(await fx.client.execute(probe))).toEqual({
          require: "undefined",
          process: "undefined",
          module: "undefined",
          constructor: expect.stringMatching(/^(TypeError|EvalError)$/),
          objectConstructor: "EvalError",
        });
        const importer = await http(fx.url, "POST", "/register_function", { name: "i", payload: serialize(new FunctionSource("async () => (await import('node:fs')).readFileSync('/etc/passwd', 'utf8')")) });
        expect(importer.status).toBe(400);
        expect(importer.body.error).toMatch(/import\(\) is not available/);
      });
    });

    describe("end to end", () => {
      it("the full lifecycle, observed as QUEUED -> RUNNING -> COMPLETED", async () => {
        const functionId = await register(async (x: number) => {
          await new Promise((resolve) => setTimeout(resolve, 1500));
          return x + 1;
        });
        await fx.cluster.kill("dispatcher", "SIGTERM");
        const seen: TaskStatus[] = [];
        let taskId = "";
        try {
          taskId = await fx.client.execute(functionId, 41);
          const observe = async () => {
            const status = await fx.client.status(taskId);
            if (seen[seen.length - 1] !== status) seen.push(status);
            return status === "COMPLETED" || status === "FAILED";
          };
          await observe();
          await fx.cluster.startDispatcher();
          await waitFor(observe, { what: `task ${taskId} to finish`, timeoutMs: 20_000, intervalMs: 20 });
        } finally {
          if (!fx.cluster.process("dispatcher")?.running) await fx.cluster.startDispatcher();
        }
        expect(seen).toEqual(["QUEUED", "RUNNING", "COMPLETED"]);
        expect(await fx.client.valueOf(taskId)).toBe(42);
      });

      it("run() registers, executes and returns the value", async () => {
        expect(await fx.client.run((a: bigint, b: bigint) => a ** b, 2n, 100n)).toBe(2n ** 100n);
      });
    });

    describe("randomized", () => {
      // Self-contained functions: each is also called here, in the test, for the expected value.
      const functions = {
        noop: () => null,
        arithmetic: (a: number, b: number, c: number) => a * b + c - a / (Math.abs(c) + 1),
        factorial: function factorial(n: bigint): bigint {
          return n <= 1n ? 1n : n * factorial(n - 1n);
        },
        fibonacci: function fibonacci(n: number): number {
          return n < 2 ? n : fibonacci(n - 1) + fibonacci(n - 2);
        },
        strings: (s: string) => ({ reversed: [...s].reverse().join(""), upper: s.toUpperCase(), length: s.length }),
        collections: (n: number, s: string) => ({
          map: new Map(Array.from({ length: n % 5 }, (_, i) => [`${s}${i}`, BigInt(i) ** 20n])),
          set: new Set(s.split("")),
          date: new Date(Date.UTC(2000, 0, 1 + n)),
          bytes: new Uint8Array([n % 256, 255 - (n % 256)]),
        }),
        throwsSometimes: (n: number) => {
          if (n % 7 === 0) throw new RangeError(`${n} is a multiple of 7`);
          return n % 7;
        },
      };
      type Name = keyof typeof functions;

      it("a few hundred random tasks over several functions, all results as computed locally", async () => {
        const seed = seedFromEnv();
        const random = new Random(seed);
        const ids = Object.fromEntries(
          await Promise.all(Object.entries(functions).map(async ([name, fn]) => [name, await register(fn as (...args: any[]) => unknown)])),
        ) as Record<Name, string>;
        const argumentsFor: Record<Name, () => unknown[]> = {
          noop: () => [],
          arithmetic: () => [random.int(-1000, 1000), random.int(-1000, 1000), random.int(-1000, 1000)],
          factorial: () => [BigInt(random.int(0, 60))],
          fibonacci: () => [random.int(0, 20)],
          strings: () => [random.string(random.int(0, 30))],
          collections: () => [random.int(0, 1000), random.string(random.int(1, 6))],
          throwsSometimes: () => [random.int(0, 100)],
        };
        const names = Object.keys(functions) as Name[];
        const tasks = Array.from({ length: 300 }, () => {
          const name = random.pick(names);
          return { name, args: argumentsFor[name]() };
        });
        const outcomes = await mapConcurrent(tasks, 50, async ({ name, args }) => {
          const taskId = await fx.client.execute(ids[name], ...args);
          return fx.client.result(taskId, { wait: 60 });
        });
        tasks.forEach(({ name, args }, i) => {
          const context = `task ${i} (${name}(${serialize(args)}), seed ${seed})`;
          let expected: { ok: true; value: unknown } | { ok: false; error: Error };
          try {
            expected = { ok: true, value: (functions[name] as (...a: unknown[]) => unknown)(...args) };
          } catch (error) {
            expected = { ok: false, error: error as Error };
          }
          const outcome = outcomes[i];
          if (expected.ok) {
            expect(outcome.status, context).toBe("COMPLETED");
            expect(outcome.value, context).toEqual(deserialize(serialize(expected.value)));
          } else {
            expect(outcome.status, context).toBe("FAILED");
            const error = outcome.value as Error;
            expect([error.name, error.message], context).toEqual([expected.error.name, expected.error.message]);
          }
        });
      });
    });

    it("result?wait holds many requests without polling Redis", async () => {
      const functionId = await register(async () => new Promise((resolve) => setTimeout(() => resolve("late"), 1500)));
      const taskId = await fx.client.execute(functionId);
      const redis = new Redis(fx.cluster.redisUrl);
      try {
        const reads = async () => Number(/cmdstat_hmget:calls=(\d+)/.exec(await redis.info("commandstats"))?.[1] ?? 0);
        const before = await reads();
        const waiters = Array.from({ length: 50 }, () => http(fx.url, "GET", `/result/${taskId}?wait=20`));
        const replies = await Promise.all(waiters);
        expect(replies.every((reply) => reply.body.status === "COMPLETED")).toBe(true);
        // Each waiting request reads the task when it arrives and once when woken: ~100 reads, not one per millisecond.
        expect(await reads() - before).toBeLessThanOrEqual(50 * 2 + 10);
      } finally {
        redis.disconnect();
      }
    });

    it("/healthz answers 200 while Redis answers", async () => {
      expect(await http(fx.url, "GET", "/healthz")).toMatchObject({ status: 200, body: { status: "ok" } });
    });
  });
}
