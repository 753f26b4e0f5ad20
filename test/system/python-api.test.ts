/**
 * The API's side of Python functions, on a cluster whose executors run JavaScript only: it
 * tells a dill pickle from faaslab's codec by framing alone (it never unpickles), records the
 * runtime, checks arguments for it, and a Python task it accepts waits QUEUED while no
 * executor runs Python, with /cluster saying why.
 */
import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { waitFor } from "../../harness/wait.js";
import { serialize } from "../../system/codec/index.js";
import { cliPath } from "../../system/paths.js";
import { http, useCluster } from "../support/cluster.js";
import { findLogged } from "../support/logs.js";

/** `serialize(obj)` as an MPCSFaaS client writes it, for a Python expression, by the OS's CPython with dill. */
function mpcsSerialize(expression: string): string {
  return execFileSync("/usr/bin/python3", ["-c", `import codecs, dill\ndef double(x):\n    return x * 2\nprint(codecs.encode(dill.dumps(${expression}), "base64").decode(), end="")`], { encoding: "utf8" });
}

describe("Python payloads at the API (JavaScript-only executors)", () => {
  const fx = useCluster({ executors: 1, python: false });

  it("registers a dill-pickled function (newlines every 76 characters and all), refuses what is neither codec nor pickle, and checks arguments for the runtime", async () => {
    const payload = mpcsSerialize("double");
    expect(payload).toContain("\n");
    const registered = await http(fx.url, "POST", "/register_function", { name: "double", payload });
    expect(registered.status).toBe(201);
    const functionId = (registered.body as { function_id: string }).function_id;

    for (const bad of ["payload", "aGVsbG8gd29ybGQ=", "function () {}"]) {
      const refused = await http(fx.url, "POST", "/register_function", { name: "bad", payload: bad });
      expect(refused.status, bad).toBe(400);
      expect(refused.body).toMatchObject({ code: "INVALID_FUNCTION", error: expect.stringMatching(/neither faaslab's codec .* nor base64 of a pickle/) });
    }
    // A pickle cut short (no STOP opcode) is not one.
    const cut = Buffer.from(payload.replace(/\s+/g, ""), "base64").subarray(0, 20).toString("base64");
    expect((await http(fx.url, "POST", "/register_function", { name: "cut", payload: cut })).status).toBe(400);
    // Python source, with the runtime said; without a def it is refused.
    expect((await http(fx.url, "POST", "/register_function", { name: "src", payload: "def double(x):\n    return x * 2\n", runtime: "python" })).status).toBe(201);
    const noDef = await http(fx.url, "POST", "/register_function", { name: "src", payload: "x = 1", runtime: "python" });
    expect(noDef).toMatchObject({ status: 400, body: { code: "INVALID_FUNCTION" } });
    // The runtime said wins: a pickle registered as JavaScript is not JavaScript source.
    expect((await http(fx.url, "POST", "/register_function", { name: "js", payload, runtime: "javascript" })).status).toBe(400);
    expect((await http(fx.url, "POST", "/register_function", { name: "js", payload, runtime: "ruby" })).status).toBe(400);

    const codecArgs = await http(fx.url, "POST", "/execute_function", { function_id: functionId, payload: serialize([2]) });
    expect(codecArgs).toMatchObject({ status: 400, body: { code: "INVALID_ARGUMENTS", error: expect.stringContaining("is a Python function") } });
    expect(await http(fx.url, "POST", "/execute_function", { function_id: functionId, payload: "payload" })).toMatchObject({ status: 400, body: { code: "INVALID_ARGUMENTS" } });
    const jsFunction = await fx.client.registerSource("(x) => x", "identity");
    const pickledArgs = mpcsSerialize("((2,), {})");
    expect(await http(fx.url, "POST", "/execute_function", { function_id: jsFunction, payload: pickledArgs })).toMatchObject({
      status: 400, body: { code: "INVALID_ARGUMENTS", error: expect.stringContaining("is a JavaScript function") },
    });

    // Accepted, then QUEUED while no executor runs Python; JavaScript tasks are not held up.
    const accepted = await http(fx.url, "POST", "/execute_function", { function_id: functionId, payload: pickledArgs });
    expect(accepted.status).toBe(201);
    const taskId = (accepted.body as { task_id: string }).task_id;
    const batch = await http(fx.url, "POST", "/execute_batch", { function_id: functionId, payloads: [pickledArgs, pickledArgs] });
    expect(batch.status).toBe(201);
    expect(await fx.client.run((x: number) => x + 1, 41)).toBe(42);
    const snapshot = await waitFor(async () => {
      const cluster = await fx.client.cluster();
      return cluster.waiting.python === 3 && cluster.stalled.length === 1 ? cluster : undefined;
    }, { what: "GET /cluster to count the 3 Python tasks waiting and say why" });
    expect(snapshot.stalled[0]).toMatch(/^3 Python task\(s\) wait: no live executor runs python/);
    expect(snapshot.workers.every((worker) => JSON.stringify(worker.runtimes) === '["javascript"]')).toBe(true);
    expect(await fx.client.status(taskId)).toBe("QUEUED");
    const status = execFileSync(process.execPath, [cliPath, "status", "--api", fx.url], { encoding: "utf8" });
    expect(status).toContain("waiting: 3 Python task(s) wait: no live executor runs python");
    expect(status).toMatch(/RUNTIMES[\s\S]*javascript/);
  });
});

describe("a machine whose Python cannot run functions", () => {
  const fx = useCluster({ executors: 1, python: { interpreter: "/nonexistent/python3" } });

  it("runs JavaScript only and says so once at start, with the reason", async () => {
    expect(await fx.client.run((x: number) => x * 2, 21)).toBe(42);
    const warnings = findLogged(fx.cluster.logFile("dispatcher"), "Python functions are not run here (JavaScript only): it needs python3 with dill and bubblewrap (Debian: apt-get install python3 python3-dill bubblewrap)");
    expect(warnings).toHaveLength(1);
    expect(String(warnings[0].why)).toContain("/nonexistent/python3");
    expect((await fx.client.cluster()).workers.map((worker) => worker.runtimes)).toEqual([["javascript"]]);
  });
});
