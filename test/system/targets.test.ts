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
import { loadScenario } from "../../harness/scenario/load.js";
import { runScenario } from "../../harness/scenario/runner.js";
import { readFileSync } from "node:fs";
import { execFileSync } from "node:child_process";

/** What the MPCSFaaS fixture runs on: the OS's CPython with FastAPI, pyzmq, redis-py and dill, and uvicorn. CI installs them, and fails without them. */
function fixturePrerequisites(): string | undefined {
  try {
    execFileSync("/usr/bin/python3", ["-c", "import fastapi, zmq, redis, dill, uvicorn"], { stdio: "ignore" });
  } catch {
    const why = "/usr/bin/python3 lacks fastapi, zmq, redis, dill or uvicorn (apt-get install python3-fastapi uvicorn python3-zmq python3-redis python3-dill)";
    if (process.env.CI) throw new Error(`CI runs the MPCSFaaS fixture, and this machine cannot: ${why}`);
    return why;
  }
  return undefined;
}
const fixtureMissing = fixturePrerequisites();

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

  it.skipIf(fixtureMissing !== undefined)(`a scenario naming faaslab, the MPCSFaaS fixture and a target without push mode: side by side, the fixture's lost tasks caught, the third not applicable${fixtureMissing ? ` (skipped: ${fixtureMissing})` : ""}`, async () => {
    const { scenario, file } = loadScenario(join(packageRoot, "test/fixtures/scenarios/targets-side-by-side.yaml"));
    const reportsDir = join(scratch, "side-by-side");
    const outcome = await runScenario(scenario, file, { seed: 11, reportsDir, targetDir: join(packageRoot, "test/fixtures/mpcsfaas") });
    const [faaslab, mpcsfaas, localOnly] = outcome.report.runs;
    const verdicts = (run: typeof faaslab) => Object.fromEntries(run.checks.map((check) => [check.name, check.verdict]));
    expect([faaslab.target, mpcsfaas.target, localOnly.target]).toEqual(["faaslab", "mpcsfaas", "mpcsfaas-local-only"]);
    expect(faaslab.aborted).toBeUndefined();
    expect(verdicts(faaslab)).toEqual({ "no-lost-tasks": "pass", "results-correct": "pass", "no-duplicate-results": "pass", "monotonic-status": "pass", nemesis: "pass" });
    // The fixture never reassigns a dead worker's tasks (its README's defect 2): they stay RUNNING, and the same check says so.
    expect(mpcsfaas.aborted).toBeUndefined();
    expect(mpcsfaas.summary.accepted).toBeGreaterThan(20);
    const lost = mpcsfaas.checks.find((check) => check.name === "no-lost-tasks")!;
    expect(lost.verdict).toBe("fail");
    expect(lost.details.join("\n")).toMatch(/last seen (RUNNING|QUEUED)/);
    // What it did finish, it finished right: Python results unpickled and compared as for faaslab.
    expect(verdicts(mpcsfaas)["results-correct"]).toBe("pass");
    expect(mpcsfaas.summary.completed).toBeGreaterThan(10);
    expect(localOnly.notApplicable).toBe("mpcsfaas-local-only has no push mode (it supports local)");
    expect(localOnly.checks).toEqual([]);
    expect(outcome.passed).toBe(false);
    const report = readFileSync(outcome.reportFile, "utf8");
    expect(report).toContain("| check | faaslab push | mpcsfaas push | mpcsfaas-local-only push |");
    expect(report).toMatch(/\| no-lost-tasks \| ✅ pass: [^|]+ \| ❌ fail: [^|]+ \| n\/a \(not run\) \|/);
    expect(report).toContain("Not applicable (not run, so not passed): mpcsfaas-local-only push");
    expect(report).toContain("(runtime python: the target runs Python functions only)");
    expect(report).toMatch(/replay with `npm run scenario test\/fixtures\/scenarios\/targets-side-by-side.yaml -- --seed 11 --target-dir \S+mpcsfaas`/);
    expect(readFileSync(join(reportsDir, "targets-side-by-side", "logs", "mpcsfaas-push", "api.log"), "utf8")).toMatch(/Uvicorn running|Application startup complete/);
  }, 180_000);

  it.skipIf(fixtureMissing !== undefined)(`the capacity check: faaslab never shows more tasks RUNNING than its executors; the fixture's push dispatcher, which marks tasks RUNNING as it sends them, does${fixtureMissing ? ` (skipped: ${fixtureMissing})` : ""}`, async () => {
    const { scenario, file } = loadScenario(join(packageRoot, "test/fixtures/scenarios/capacity-push.yaml"));
    const outcome = await runScenario(scenario, file, { seed: 5, reportsDir: join(scratch, "capacity"), targetDir: join(packageRoot, "test/fixtures/mpcsfaas") });
    const [faaslab, mpcsfaas] = outcome.report.runs;
    const capacity = (run: typeof faaslab) => run.checks.find((check) => check.name === "capacity")!;
    expect(capacity(faaslab)).toMatchObject({ verdict: "pass", figure: expect.stringMatching(/^at most [1-4] tasks certainly RUNNING at once, on 4 executors/) });
    // Its README's defect 3: round-robin sends with no bound on a worker's share, each task RUNNING as it is sent.
    expect(capacity(mpcsfaas).verdict).toBe("fail");
    const most = Number(/^at most (\d+) tasks certainly RUNNING at once, on 4 executors/.exec(capacity(mpcsfaas).figure)?.[1]);
    expect(most).toBeGreaterThan(4);
    expect(mpcsfaas.checks.find((check) => check.name === "results-correct")!.verdict).toBe("pass");
  }, 180_000);

  it("faults a cluster cannot take make its run not applicable, before anything starts: packet faults on the built-in launcher, proxy faults on a target, links between components on one host", async () => {
    const scenarioWith = (name: string, lines: string[]) => {
      const file = join(scratch, `${name}.yaml`);
      writeFileSync(file, [`name: ${name}`, "description: n/a", "cluster: { mode: push, workers: { count: 1, executors: 1 } }", "workload: { phases: [{ clients: 1, duration: 2s, mix: [{ kind: noop }] }] }", "checks: [{ check: no-lost-tasks }]", ...lines, ""].join("\n"));
      return loadScenario(file);
    };
    const cases: [string, string[], string][] = [
      ["packet-on-builtin", ["nemesis: [{ action: partition, link: { workerLink: 0 }, at: 1s, for: 1s }]"], "packet faults (partition) act on the links of a cluster in network namespaces, which only a target run has"],
      ["proxy-on-target", ["targets: [faaslab]", "nemesis: [{ action: latency, link: { workerLink: 0 }, ms: 10, at: 1s, for: 1s }]"], "latency act through TCP fault proxies, which only faaslab's built-in launcher puts on its links"],
      ["link-on-one-host", ["targets: [faaslab]", "nemesis: [{ action: random, every: 1s, among: [{ action: loss, link: { redisLink: api }, percent: 10, for: 1s }] }]"], "packet faults on links between components need cluster.hosts: separate"],
    ];
    for (const [name, lines, why] of cases) {
      const { scenario, file } = scenarioWith(name, lines);
      const started = performance.now();
      const outcome = await runScenario(scenario, file, { seed: 3, reportsDir: join(scratch, "na") });
      expect(outcome.report.runs.map((run) => run.notApplicable), name).toEqual([expect.stringContaining(why)]);
      expect(outcome.passed, name).toBe(false);
      expect(performance.now() - started, `${name}: nothing was started`).toBeLessThan(5_000);
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
