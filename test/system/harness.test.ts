/** The harness launcher itself: what it starts can be signalled, restarted, and never outlives it. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import { isAlive } from "../support/processes.js";
import { execa } from "execa";
import { packageRoot } from "../../system/paths.js";
import { waitFor } from "../../harness/wait.js";
import { http, useCluster } from "../support/cluster.js";

describe("harness launcher", () => {
  const fx = useCluster({ executors: 1 });

  it("restarts Redis on the same port, and pauses and resumes a component", async () => {
    const redisUrl = fx.cluster.redisUrl;
    await fx.cluster.restart("redis");
    expect(fx.cluster.redisUrl).toBe(redisUrl);
    await waitFor(async () => (await http(fx.url, "GET", "/healthz")).status === 200, { what: "the API to reach the restarted Redis" });

    fx.cluster.pause("dispatcher");
    expect(fx.cluster.process("dispatcher")?.isPaused).toBe(true);
    const functionId = await fx.client.register(() => "after pause");
    const taskId = await fx.client.execute(functionId);
    expect(await fx.client.status(taskId)).toBe("QUEUED");
    fx.cluster.resume("dispatcher");
    expect(await fx.client.valueOf(taskId)).toBe("after pause");
  });

  it("nothing it started outlives a harness killed with -9", async () => {
    // A harness killed with -9 cannot remove its cluster's directory: this test gives it one and removes it.
    const dir = mkdtempSync(join(tmpdir(), "faaslab-killed-harness-"));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const script = `
      const { Cluster } = await import(${JSON.stringify(`${packageRoot}/dist/harness/cluster/cluster.js`)});
      const cluster = await Cluster.start({ executors: 1, dir: ${JSON.stringify(dir)} });
      console.log(JSON.stringify(["redis", "api", "dispatcher"].map((c) => cluster.process(c).pid)));
      setInterval(() => {}, 1000);
    `;
    const harness = execa(process.execPath, ["--input-type=module", "-e", script], { reject: false, buffer: false });
    let output = "";
    harness.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const pids = await waitFor(() => (output.includes("]") ? (JSON.parse(output.trim().split("\n").pop()!) as number[]) : undefined), {
      what: "the child harness to start its cluster",
      timeoutMs: 20_000,
    });
    expect(pids.every(isAlive)).toBe(true);
    harness.kill("SIGKILL");
    await harness;
    await waitFor(() => pids.every((pid) => !isAlive(pid)), { what: `processes ${pids.join(", ")} to exit after their harness was killed`, timeoutMs: 10_000 });
  });
});

describe("a cluster with fault proxies", () => {
  const fx = useCluster({ mode: "push", workers: { count: 3, executors: 1 }, faultProxies: true });

  it("starts each worker on its own index and link, and a cut link stops only that worker's traffic", async () => {
    expect(fx.cluster.workers).toEqual(["worker-0", "worker-1", "worker-2"]);
    expect(new Set(fx.cluster.workers.map((worker) => fx.cluster.process(worker)!.pid)).size).toBe(3);
    expect([...fx.cluster.links.keys()].sort()).toEqual(["redis-api", "redis-dispatcher", "worker-0", "worker-1", "worker-2"]);
    for (const worker of fx.cluster.workers) fx.cluster.link(worker)!.cut();
    const functionId = await fx.client.register(() => "through");
    const taskId = await fx.client.execute(functionId);
    // Every worker link is cut: the task waits.
    expect((await fx.client.result(taskId, { wait: 1 })).status).toBe("QUEUED");
    for (const worker of fx.cluster.workers) fx.cluster.link(worker)!.heal();
    expect(await fx.client.valueOf(taskId)).toBe("through");
  });
});
