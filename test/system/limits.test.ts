/**
 * The API's configurable limits, each with its own clear error: the size of a task's
 * arguments (413) and the bound on a function's unfinished tasks (429 with Retry-After,
 * lifted as its tasks finish). The request body limit has its own tests in the correctness
 * suite; the result size limit is the executor's (test/system/isolation.test.ts).
 */
import { describe, expect, it } from "vitest";
import { waitFor } from "../../harness/wait.js";
import { serialize } from "../../system/client/index.js";
import { http, useCluster } from "../support/cluster.js";

const BOUND = 5;

describe("limits of the API", () => {
  // No dispatcher at first, so submitted tasks stay unfinished until the test starts it.
  const fx = useCluster({
    executors: 2,
    startDispatcher: false,
    apiArgs: ["--max-args-bytes", "1000", "--max-unfinished-per-function", String(BOUND)],
  });
  const register = async () => fx.client.register((x: unknown) => (typeof x === "string" ? x.length : x));

  it("arguments over --max-args-bytes: 413 ARGUMENTS_TOO_LARGE saying the size and the limit; just under it is accepted", async () => {
    const functionId = await fx.client.register((x: string) => x.length);
    const tooLarge = serialize(["x".repeat(1000)]);
    const refused = await http(fx.url, "POST", "/execute_function", { function_id: functionId, payload: tooLarge });
    expect(refused.status).toBe(413);
    expect(refused.body).toEqual({
      code: "ARGUMENTS_TOO_LARGE",
      error: `payload is ${Buffer.byteLength(tooLarge)} bytes; the arguments of a task may take at most 1000 (--max-args-bytes)`,
    });
    const batch = await http(fx.url, "POST", "/execute_batch", { function_id: functionId, payloads: [serialize([1]), tooLarge] });
    expect(batch.status).toBe(413);
    expect(batch.body.error).toMatch(/^payloads\[1\] is \d+ bytes/);
    const fits = serialize(["x".repeat(900)]);
    expect(Buffer.byteLength(fits)).toBeLessThanOrEqual(1000);
    expect((await http(fx.url, "POST", "/execute_function", { function_id: functionId, payload: fits })).status).toBe(201);
  });

  it(`a function with ${BOUND} unfinished tasks: 429 FUNCTION_BUSY with Retry-After, other functions unaffected, accepted again once its tasks finish`, async () => {
    const busy = await register();
    const other = await register();
    const submit = (functionId: string, payload = serialize([1])) => http(fx.url, "POST", "/execute_function", { function_id: functionId, payload });
    for (let i = 0; i < BOUND; i++) expect((await submit(busy)).status).toBe(201);

    const refused = await submit(busy);
    expect(refused.status).toBe(429);
    expect(refused.headers.get("retry-after")).toBe("1");
    expect(refused.body).toMatchObject({ code: "FUNCTION_BUSY", error: expect.stringContaining(`already has ${BOUND} unfinished tasks`) });
    // A batch that would cross the bound is refused whole: none of it is stored.
    const batchOf = (count: number) => http(fx.url, "POST", "/execute_batch", { function_id: other, payloads: Array.from({ length: count }, () => serialize([2])) });
    expect((await batchOf(3)).status).toBe(201);
    expect((await batchOf(3)).status).toBe(429);
    expect((await submit(other)).status).toBe(201);
    expect((await submit(other)).status).toBe(201);
    expect((await submit(other)).status).toBe(429);
    // A batch larger than the bound could never be accepted: 400, not "try again".
    const never = await batchOf(BOUND + 1);
    expect(never.status).toBe(400);
    expect(never.body.error).toContain(`a batch of ${BOUND + 1} tasks is more than one function may have unfinished (${BOUND}`);

    // The dispatcher runs the queued tasks; as they finish, the bound lifts.
    await fx.cluster.startDispatcher();
    const accepted = await waitFor(async () => {
      const reply = await submit(busy);
      return reply.status === 201 ? reply : undefined;
    }, { timeoutMs: 20_000, what: "a submission accepted again after the busy function's tasks finished" });
    expect(accepted.body.task_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(await fx.client.valueOf(accepted.body.task_id, 10)).toBe(1);
  });
});
