/**
 * A task's stored error shows nothing of the host (issue 14, defect 6): no path, no stack, no
 * module name, and a name only from the documented set (faaslab's own errors, `Error` for a
 * thrown non-Error, or what the function threw). Run over real tasks on a local cluster with
 * one executor, reading the task records the API serves.
 */
import { describe, expect, it } from "vitest";
import { deserialize } from "../../system/client/index.js";
import { packageRoot } from "../../system/paths.js";
import { TaskErrors } from "../../system/task.js";
import { http, useCluster } from "../support/cluster.js";

/** What must never appear in a stored error: where the host's code is, and how it is built. */
const HOST_INTERNALS = ["dist/", "node_modules", "piscina", "thread.js", "realm.js", "sandbox.js", "/work", packageRoot, "    at "];
/** The names faaslab gives a FAILED task (README, "Errors faaslab itself gives"), and Error for a thrown non-Error. */
const DOCUMENTED_NAMES = [...Object.keys(TaskErrors), "Error"];

const DEEP = "let o = {}; for (let i = 0; i < 200000; i++) o = { o };";
/** Growing a WebAssembly.Memory detaches the ArrayBuffer it had. */
const DETACHED = "const memory = new WebAssembly.Memory({ initial: 1 }); const buffer = memory.buffer; memory.grow(1);";

describe("the errors of failed tasks carry no host internals", () => {
  const fx = useCluster({ mode: "local", executors: 1 });

  it.each([
    ["a thrown non-Error ({ a: 1n })", "Error", "() => { throw { a: 1n } }", /^the function threw a value that is not an Error: an object$/],
    ["a result nested 200,000 deep", "SerializationError", `() => { ${DEEP} return o }`, /^the result is nested too deeply to be copied$/],
    ["a thrown value nested 200,000 deep", "SerializationError", `() => { ${DEEP} throw o }`, /^the thrown value is nested too deeply to be copied$/],
    ["a detached ArrayBuffer returned", "SerializationError", `() => { ${DETACHED} return buffer }`, /^result is a detached ArrayBuffer, which cannot be serialized$/],
    ["a typed array over a detached ArrayBuffer returned", "SerializationError", "() => { const memory = new WebAssembly.Memory({ initial: 1 }); const view = new Uint8Array(memory.buffer); memory.grow(1); return [view] }", /^result\[0\] is a detached ArrayBuffer, which cannot be serialized$/],
  ])("%s: FAILED with %s, no stack, nothing of the host in the stored record", async (what, name, source, message) => {
    const functionId = await fx.client.registerSource(source, what);
    const taskId = await fx.client.executeWith(functionId, []);
    expect((await fx.client.result(taskId, { wait: 30 })).status).toBe("FAILED");
    const reply = await http(fx.url, "GET", `/tasks/${taskId}`);
    expect(reply.status).toBe(200);
    const stored = JSON.stringify(reply.body);
    for (const internal of HOST_INTERNALS) expect(stored, `the stored record shows ${JSON.stringify(internal)}`).not.toContain(internal);
    const error = deserialize(reply.body.result) as Error;
    expect(error).toBeInstanceOf(Error);
    expect(DOCUMENTED_NAMES).toContain(error.name);
    expect([error.name, error.stack]).toEqual([name, undefined]);
    expect(error.message).toMatch(message);
    if (name === "Error") expect(error.cause).toEqual({ a: 1n });
    else expect("cause" in error).toBe(false);
  });

  it("the executor still serves after them", async () => {
    const functionId = await fx.client.registerSource("(n) => n + 1", "serving");
    expect((await fx.client.result(await fx.client.executeWith(functionId, [41]), { wait: 30 })).value).toBe(42);
  });
});
