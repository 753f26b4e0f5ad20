/**
 * Targets: clusters started from a target file, in real network namespaces (root, `ip` and
 * nftables: CI has them, and fails rather than skips without them). faaslab through
 * targets/faaslab.yaml on one host and on separate hosts, a partition acting on exactly one
 * link of a running cluster, and the harness killed with -9 in the middle of a target run.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { execa } from "execa";
import { FaaSClient } from "../../system/client/index.js";
import { packageRoot } from "../../system/paths.js";
import { partition } from "../../harness/cluster/link-faults.js";
import { listNamespaces, namespacesAvailable, ownerOf } from "../../harness/cluster/netns.js";
import { TargetCluster } from "../../harness/cluster/target-cluster.js";
import { loadTarget } from "../../harness/target/load.js";
import { waitFor } from "../../harness/wait.js";
import { FaaslabApi } from "../../harness/workload/api.js";
import { templatesFor, type TaskTemplate } from "../../harness/workload/kinds.js";
import { isAlive } from "../support/processes.js";

const available = namespacesAvailable();
if (!available.available && process.env.CI) throw new Error(`CI runs the target tests in network namespaces, and this machine cannot: ${available.reason}`);

const scratch = mkdtempSync(join(tmpdir(), "faaslab-targets-test-"));
afterAll(() => {
  rmSync(scratch, { recursive: true, force: true });
  expect(listNamespaces().filter((name) => ownerOf(name) === process.pid)).toEqual([]);
});

/** The namespace a process is in, as `ip netns identify` says ("" for the root). */
async function namespaceOfPid(pid: number): Promise<string> {
  return (await execa("ip", ["netns", "identify", String(pid)])).stdout.trim();
}

async function noop(): Promise<TaskTemplate> {
  const [template] = await templatesFor([{ kind: "noop", weight: 1 }], join(packageRoot, "scenarios", "x.yaml"), { runtime: "javascript" });
  return template;
}

/** Runs one no-op task through the cluster's API and returns its final status. */
async function runNoop(apiUrl: string): Promise<string> {
  const api = new FaaslabApi(apiUrl, 10_000);
  try {
    const template = await noop();
    const functionId = await api.register(template);
    const taskId = await api.execute(template, functionId, []);
    return (await api.result(taskId, 20)).status;
  } finally {
    await api.close();
  }
}

describe.skipIf(!available.available)(`targets${available.available ? "" : ` (skipped: ${available.reason})`}`, () => {
  it("faaslab from its target file runs in a network namespace of its own, reached through its uplink; kill and restart act on the processes inside", async () => {
    const cluster = await TargetCluster.start({ target: loadTarget("faaslab"), mode: "push", workers: { count: 2, executors: 1 } });
    const ns = cluster.namespaceOf("api")!;
    const pids: number[] = [];
    try {
      expect(cluster.apiUrl).toBe(`http://${ns.address}:${new URL(cluster.apiUrl).port}`);
      for (const component of ["redis", "api", "dispatcher", "worker-0", "worker-1"] as const) {
        const pid = cluster.process(component)!.pid!;
        pids.push(pid);
        expect(await namespaceOfPid(pid), component).toBe(ns.name);
      }
      expect(await runNoop(cluster.apiUrl)).toBe("COMPLETED");
      const before = cluster.process("worker-0")!.pid!;
      await cluster.kill("worker-0");
      expect(isAlive(before)).toBe(false);
      await cluster.restart("worker-0");
      expect(cluster.process("worker-0")!.pid).not.toBe(before);
      expect(await namespaceOfPid(cluster.process("worker-0")!.pid!)).toBe(ns.name);
      pids.push(cluster.process("worker-0")!.pid!);
      expect(await runNoop(cluster.apiUrl)).toBe("COMPLETED");
      // One host: the links between components are its loopback, which packet faults cannot single out.
      expect(cluster.networkLink("redis-api")).toEqual({ why: expect.stringContaining("cluster.hosts: separate") });
      expect("link" in cluster.networkLink("client-api")).toBe(true);
    } finally {
      await cluster.stop();
    }
    expect(listNamespaces()).not.toContain(ns.name);
    expect(pids.filter(isAlive)).toEqual([]);
  });

  it("on separate hosts each component has a namespace of its own, and a partition of one worker's link cuts off that worker only, until healed", async () => {
    const cluster = await TargetCluster.start({ target: loadTarget("faaslab"), mode: "push", workers: { count: 2, executors: 1 }, hosts: "separate" });
    const client = new FaaSClient({ baseUrl: cluster.apiUrl, timeoutMs: 10_000 });
    try {
      const names = await Promise.all((["redis", "api", "dispatcher", "worker-0", "worker-1"] as const).map((c) => namespaceOfPid(cluster.process(c)!.pid!)));
      expect(new Set(names).size).toBe(5);
      const liveWorkers = async () => (await client.cluster()).workers.length;
      await waitFor(async () => (await liveWorkers()) === 2, { what: "both workers to register with the dispatcher", timeoutMs: 15_000 });

      const link = cluster.networkLink("worker-0");
      if (!("link" in link)) throw new Error(link.why);
      const fault = partition(link.link);
      try {
        // The dispatcher stops hearing worker 0 (its heartbeats are dropped) and presumes it lost; worker 1 still runs tasks.
        await waitFor(async () => (await liveWorkers()) === 1, { what: "the dispatcher to presume the partitioned worker lost", timeoutMs: 15_000 });
        expect(await runNoop(cluster.apiUrl)).toBe("COMPLETED");
      } finally {
        fault.heal();
      }
      await waitFor(async () => (await liveWorkers()) === 2, { what: "the partitioned worker to come back once the link healed", timeoutMs: 20_000 });
      expect(cluster.process("worker-0")!.running).toBe(true);
    } finally {
      await client.close();
      await cluster.stop();
    }
  });

  it("a harness killed with -9 in the middle of a target run leaves no namespace, veth or process behind", async () => {
    const scenarioFile = join(scratch, "long.yaml");
    writeFileSync(
      scenarioFile,
      [
        "name: long", "description: runs until killed", "targets: [faaslab]",
        "cluster: { mode: push, hosts: separate, workers: { count: 1, executors: 1 } }",
        "workload: { phases: [{ clients: 2, duration: 120s, mix: [{ kind: noop }] }] }",
        "checks: [{ check: no-lost-tasks }]", "",
      ].join("\n"),
    );
    const harness = execa(process.execPath, [join(packageRoot, "dist/harness/scenario/main.js"), scenarioFile, "--reports", join(scratch, "reports")], { reject: false, buffer: false, stderr: "pipe" });
    let stderr = "";
    harness.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const ours = () => listNamespaces().filter((name) => ownerOf(name) === harness.pid);
    let inside: number[] = [];
    try {
      await waitFor(() => stderr.includes("workload and nemesis"), { what: "the harness to start its workload", timeoutMs: 60_000 });
      expect(ours().length).toBe(4); // redis, api, dispatcher, worker-0
      inside = (await Promise.all(ours().map(async (name) => (await execa("ip", ["netns", "pids", name])).stdout.split(/\s+/).filter(Boolean).map(Number)))).flat();
      expect(inside.length).toBeGreaterThanOrEqual(4);
      const rootDevices = async () => (await execa("ip", ["-o", "link", "show"])).stdout.split("\n").map((line) => /^\d+: ([^@:]+)/.exec(line)?.[1]).filter(Boolean);
      const uplinks = (await execa("ip", ["-o", "link", "show"])).stdout.split("\n").filter((line) => ours().some((name) => line.includes(`link-netns ${name}`))).map((line) => /^\d+: ([^@:]+)/.exec(line)![1]);
      expect(uplinks.length).toBe(4);
      harness.kill("SIGKILL");
      await harness;
      await waitFor(() => ours().length === 0, { what: "the watchdog to remove the killed harness's namespaces", timeoutMs: 20_000 });
      await waitFor(() => inside.every((pid) => !isAlive(pid)), { what: "every process of the killed harness's cluster to be gone", timeoutMs: 10_000 });
      const left = await rootDevices();
      expect(uplinks.filter((device) => left.includes(device))).toEqual([]);
    } finally {
      harness.kill("SIGKILL");
      for (const name of ours()) await execa("ip", ["netns", "del", name], { reject: false });
    }
  }, 120_000);
});
