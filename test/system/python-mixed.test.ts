/**
 * JavaScript and Python functions on one cluster, with a worker that has no Python beside one
 * that has it: a Python task waits QUEUED (and /cluster says why) until a worker with Python
 * is live, then goes only to such a worker; JavaScript tasks run on both meanwhile.
 */
import { describe, expect, it } from "vitest";
import { waitFor } from "../../harness/wait.js";
import { PythonException } from "../../system/client/index.js";
import { useCluster } from "../support/cluster.js";

describe.each(["pull", "push"] as const)("%s: a worker without Python beside one with it", (mode) => {
  // The cluster's own worker runs JavaScript only.
  const fx = useCluster({ mode, workers: { count: 1, executors: 2 }, python: false });

  it("sends Python tasks only to the worker with Python, JavaScript tasks to both, and every result is the function's", async () => {
    const square = await fx.client.registerPython("def square(x, offset=0):\n    return x * x + offset\n", "square");
    const fails = await fx.client.registerPython("def fails(message):\n    raise ValueError(message)\n", "fails");
    const triple = await fx.client.registerSource("(x) => x * 3", "triple");

    const early = await fx.client.executePython(square, [3]);
    expect(await fx.client.run((x: number) => x + 1, 1)).toBe(2);
    const stalled = await waitFor(async () => {
      const cluster = await fx.client.cluster();
      return cluster.stalled.length > 0 ? cluster.stalled : undefined;
    }, { what: "GET /cluster to say why the Python task waits" });
    expect(stalled[0]).toMatch(/Python task\(s\) wait: no live executor runs python/);
    expect(await fx.client.status(early)).toBe("QUEUED");

    const pythonWorker = await fx.cluster.startWorker({ python: {} });
    const pythonPid = fx.cluster.process(pythonWorker)!.pid;
    expect((await fx.client.result(early, { wait: 30 })).value).toBe(9);

    const pythonTasks = await Promise.all(Array.from({ length: 20 }, (_, i) => fx.client.executePython(square, [i], { offset: 1 })));
    const jsTasks = await fx.client.executeMany(triple, Array.from({ length: 20 }, (_, i) => [i]));
    const failing = await fx.client.executePython(fails, ["no good"]);
    const pythonResults = await fx.client.results(pythonTasks, { wait: 60 });
    expect(pythonResults.map((result) => result.value)).toEqual(Array.from({ length: 20 }, (_, i) => i * i + 1));
    expect((await fx.client.results(jsTasks, { wait: 60 })).map((result) => result.value)).toEqual(Array.from({ length: 20 }, (_, i) => i * 3));
    const failed = await fx.client.result(failing, { wait: 30 });
    expect(failed.status).toBe("FAILED");
    expect(failed.value).toBeInstanceOf(PythonException);
    expect(failed.value).toMatchObject({ name: "ValueError", message: "no good" });

    const records = await Promise.all([early, ...pythonTasks, failing].map((taskId) => fx.client.task(taskId)));
    expect(records.every((record) => record.worker?.includes(`-${pythonPid}-`)), "every Python task ran on the worker with Python").toBe(true);
    // Both workers are in the snapshot with their runtimes. Waited for: on a machine loaded by the
    // whole suite a worker can miss its heartbeat timeout (1.5 s), be presumed lost for a moment
    // and rejoin, and a single read could fall in between.
    const runtimes = await waitFor(async () => {
      const cluster = await fx.client.cluster();
      const listed = cluster.workers.map((worker) => (worker.runtimes ?? []).join(",")).sort();
      return cluster.stalled.length === 0 && listed.length === 2 ? listed : undefined;
    }, { what: "GET /cluster to list both workers and no stalled runtime" });
    expect(runtimes).toEqual(["javascript", "javascript,python"]);
  });
});
