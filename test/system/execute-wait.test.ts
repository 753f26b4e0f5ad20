/**
 * POST /execute_function?wait=<s>: the whole round trip in one request (issue 17), a compatible
 * extension: answered with {task_id, status, result} once the task has finished, or when the
 * wait ends with the status so far; without `wait` the answer is {task_id} as before.
 */
import { describe, expect, it } from "vitest";
import { FaaSClient, serialize } from "../../system/client/index.js";
import { http, useCluster } from "../support/cluster.js";

const fx = useCluster({ mode: "local", executors: 1 });

async function registered(source: string, name: string): Promise<string> {
  const client = new FaaSClient({ baseUrl: fx.cluster.apiUrl });
  try {
    return await client.registerSource(source, name);
  } finally {
    await client.close();
  }
}

describe("POST /execute_function?wait", () => {
  it("answers once the task is finished, with its status and result, as /result then says too", async () => {
    const functionId = await registered("(x) => x * 2", "double");
    const reply = await http(fx.cluster.apiUrl, "POST", "/execute_function?wait=10", { function_id: functionId, payload: serialize([21]) });
    expect(reply.status).toBe(201);
    expect(reply.body).toEqual({ task_id: expect.any(String), status: "COMPLETED", result: serialize(42) });
    const read = await http(fx.cluster.apiUrl, "GET", `/result/${reply.body.task_id}`);
    expect(read.body).toEqual({ task_id: reply.body.task_id, status: "COMPLETED", result: serialize(42) });
  });

  it("a function that throws: FAILED with its error, in the same answer", async () => {
    const functionId = await registered("() => { throw new RangeError('no') }", "thrower");
    const reply = await http(fx.cluster.apiUrl, "POST", "/execute_function?wait=10", { function_id: functionId, payload: serialize([]) });
    expect(reply.status).toBe(201);
    expect(reply.body.status).toBe("FAILED");
    expect(reply.body.result).toContain("RangeError");
  });

  it("a wait that ends first answers the status so far with no result; the task goes on and finishes", async () => {
    const functionId = await registered("async (ms) => { await new Promise((r) => setTimeout(r, ms)); return ms; }", "sleepy");
    const reply = await http(fx.cluster.apiUrl, "POST", "/execute_function?wait=0.2", { function_id: functionId, payload: serialize([1500]) });
    expect(reply.status).toBe(201);
    expect(reply.body).toEqual({ task_id: expect.any(String), status: expect.stringMatching(/^(QUEUED|RUNNING)$/), result: null });
    const later = await http(fx.cluster.apiUrl, "GET", `/result/${reply.body.task_id}?wait=10`);
    expect(later.body).toEqual({ task_id: reply.body.task_id, status: "COMPLETED", result: serialize(1500) });
  });

  it("without wait nothing changes: {task_id} at once", async () => {
    const functionId = await registered("() => 1", "one");
    const reply = await http(fx.cluster.apiUrl, "POST", "/execute_function", { function_id: functionId, payload: serialize([]) });
    expect(reply.status).toBe(201);
    expect(Object.keys(reply.body)).toEqual(["task_id"]);
  });

  it.each([["31", "wait must be at most 30 seconds"], ["soon", "querystring/wait must match pattern"]])("wait=%s is a 400 saying why, and submits nothing", async (wait, message) => {
    const functionId = await registered("() => 1", `bad-wait-${wait}`);
    // Totals, not per status: an earlier test's task may still move from RUNNING to COMPLETED meanwhile.
    const tasksKnown = async () => Object.values((await http(fx.cluster.apiUrl, "GET", "/cluster")).body.tasks as Record<string, number>).reduce((a, b) => a + b, 0);
    const before = await tasksKnown();
    const reply = await http(fx.cluster.apiUrl, "POST", `/execute_function?wait=${wait}`, { function_id: functionId, payload: serialize([]) });
    expect(reply.status).toBe(400);
    expect(reply.body.error).toContain(message);
    expect(await tasksKnown()).toBe(before);
  });

  it("the SDK's executeAndWait makes the round trip in one request", async () => {
    const client = new FaaSClient({ baseUrl: fx.cluster.apiUrl });
    try {
      const functionId = await client.registerSource("(a, b) => ({ sum: a + b })", "sum");
      const outcome = await client.executeAndWait(functionId, [2, 3], { wait: 10 });
      expect(outcome).toEqual({ taskId: expect.any(String), status: "COMPLETED", result: expect.any(String), value: { sum: 5 } });
    } finally {
      await client.close();
    }
  });
});
