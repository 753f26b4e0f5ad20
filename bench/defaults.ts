#!/usr/bin/env node
/**
 * `npm run bench:defaults -- [--quick] [--modes local,pull,push]`: faaslab as a new user gets it,
 * beside BullMQ in the same run. Each mode's cluster is `faas up -m <mode>` with no other flag
 * than a free port (its defaults: executors, log level, metrics, Python), driven by a plain
 * `fetch` client, as an MPCSFaaS user's first script would be:
 *
 *  - closed loop: 50 clients, each `POST /execute_function` then `GET /result/<id>?wait=30`
 *    (and, for comparison, the same with `POST /execute_function?wait=30` alone);
 *  - bulk: 20,000 no-ops through `/execute_batch` (chunks of 1,000), then `POST /results?wait`
 *    until every one has finished;
 *  - sequential round trip of one client: the two-request flow, and the one-request flow
 *    (`POST /execute_function?wait=30`).
 *
 * BullMQ: a Worker of concurrency 50 on a redis-server of its own, `add` then
 * `waitUntilFinished` (closed loop and sequential) and `addBulk` (bulk), as bench/peers.ts
 * measures it. Prints each ratio with the target of issue 17.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { execa, type ResultPromise } from "execa";
import getPort from "get-port";
import { FunctionSource, serialize } from "../system/codec/index.js";
import { RedisServer } from "../system/launcher/redis.js";
import { DISPATCHER_MODES, isDispatcherMode, type DispatcherMode } from "../system/modes.js";
import { cliPath } from "../system/paths.js";
import { mapConcurrent } from "../harness/concurrent.js";
import { percentiles } from "../harness/percentile.js";
import { measureBullmq } from "./peers.js";

const { values } = parseArgs({
  options: { quick: { type: "boolean", default: false }, modes: { type: "string", default: DISPATCHER_MODES.join(",") }, help: { type: "boolean", default: false } },
});
if (values.help) {
  console.log("usage: npm run bench:defaults -- [--quick] [--modes local,pull,push]");
  console.log("  faas up with its defaults and a plain fetch client, beside BullMQ in the same run; --quick: smaller sizes");
  process.exit(0);
}
const modes = values.modes.split(",").map((mode) => mode.trim());
const unknown = modes.filter((mode) => !isDispatcherMode(mode));
if (unknown.length > 0) {
  console.error(`--modes: ${unknown.join(", ")} is not a mode (local, pull, push)`);
  process.exit(2);
}
const SIZES = values.quick ? { bulk: 2_000, closedLoop: 1_000, sequential: 200 } : { bulk: 20_000, closedLoop: 5_000, sequential: 1_000 };
const CLIENTS = 50;
const WARM_UP = 300;
const CHUNK = 1_000;

/** One `faas up` with its defaults; resolves with the API's URL once it says it is up. */
async function faasUp(mode: DispatcherMode): Promise<{ apiUrl: string; stop: () => Promise<void> }> {
  const port = await getPort({ host: "127.0.0.1" });
  const child: ResultPromise = execa(process.execPath, [cliPath, "up", "-m", mode, "-p", String(port)], { reject: false, buffer: false, stdout: "pipe", stderr: "pipe" });
  const stop = async () => {
    child.kill("SIGTERM");
    await child;
  };
  const apiUrl = await new Promise<string>((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`faas up -m ${mode} did not say it was up within 60 s:\n${out}`));
    }, 60_000);
    child.stdout!.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      const match = /API:\s+(http:\/\/\S+)/.exec(out);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    child.stderr!.on("data", (chunk: Buffer) => (out += chunk.toString()));
    void child.then((result) => reject(new Error(`faas up -m ${mode} exited (${result.exitCode}):\n${out}`)));
  });
  return { apiUrl, stop };
}

async function call<T>(url: string, method: "GET" | "POST", body?: unknown): Promise<T> {
  const response = await fetch(url, { method, headers: body === undefined ? undefined : { "content-type": "application/json" }, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${url}: ${response.status} ${text.slice(0, 200)}`);
  return JSON.parse(text) as T;
}

const NOOP_ARGS = serialize([]);

/** The MPCSFaaS flow: execute, then wait for the result. */
async function twoRequests(api: string, functionId: string): Promise<void> {
  const { task_id } = await call<{ task_id: string }>(`${api}/execute_function`, "POST", { function_id: functionId, payload: NOOP_ARGS });
  const { status } = await call<{ status: string }>(`${api}/result/${task_id}?wait=30`, "GET");
  if (status !== "COMPLETED") throw new Error(`a no-op ended ${status}`);
}

/** The one-request flow: execute and wait in one. */
async function oneRequest(api: string, functionId: string): Promise<void> {
  const { status } = await call<{ status: string }>(`${api}/execute_function?wait=30`, "POST", { function_id: functionId, payload: NOOP_ARGS });
  if (status !== "COMPLETED") throw new Error(`a no-op ended ${status}`);
}

async function timed(count: number, run: () => Promise<void>): Promise<number[]> {
  const latencies: number[] = [];
  for (let i = 0; i < count; i++) {
    const start = performance.now();
    await run();
    latencies.push(performance.now() - start);
  }
  return latencies;
}

async function bulk(api: string, functionId: string, tasks: number): Promise<number> {
  const started = performance.now();
  const ids: string[] = [];
  for (let offset = 0; offset < tasks; offset += CHUNK) {
    const payloads = Array.from({ length: Math.min(CHUNK, tasks - offset) }, () => NOOP_ARGS);
    ids.push(...(await call<{ task_ids: string[] }>(`${api}/execute_batch`, "POST", { function_id: functionId, payloads })).task_ids);
  }
  let pending = ids;
  while (pending.length > 0) {
    const chunks = Array.from({ length: Math.ceil(pending.length / CHUNK) }, (_, i) => pending.slice(i * CHUNK, (i + 1) * CHUNK));
    const answers = await Promise.all(chunks.map((task_ids) => call<{ results: { task_id: string; status: string }[] }>(`${api}/results`, "POST", { task_ids, wait: 30 })));
    pending = answers.flatMap((answer) => answer.results.filter((r) => r.status !== "COMPLETED" && r.status !== "FAILED").map((r) => r.task_id));
  }
  return tasks / ((performance.now() - started) / 1000);
}

interface ModeFigures {
  closedLoop: number;
  /** The same closed loop, each client with the one-request flow. */
  closedLoopOneRequest: number;
  bulk: number;
  twoRequestP50: number;
  oneRequestP50: number;
}

async function measureMode(mode: DispatcherMode): Promise<ModeFigures> {
  const cluster = await faasUp(mode);
  try {
    const api = cluster.apiUrl;
    const { function_id: functionId } = await call<{ function_id: string }>(`${api}/register_function`, "POST", { name: "noop", payload: serialize(new FunctionSource("() => null")) });
    await mapConcurrent(Array.from({ length: WARM_UP }), CLIENTS, () => twoRequests(api, functionId));
    const started = performance.now();
    await mapConcurrent(Array.from({ length: SIZES.closedLoop }), CLIENTS, () => twoRequests(api, functionId));
    const closedLoop = SIZES.closedLoop / ((performance.now() - started) / 1000);
    const startedOne = performance.now();
    await mapConcurrent(Array.from({ length: SIZES.closedLoop }), CLIENTS, () => oneRequest(api, functionId));
    const closedLoopOneRequest = SIZES.closedLoop / ((performance.now() - startedOne) / 1000);
    const bulkRate = await bulk(api, functionId, SIZES.bulk);
    const two = percentiles(await timed(SIZES.sequential, () => twoRequests(api, functionId)));
    const one = percentiles(await timed(SIZES.sequential, () => oneRequest(api, functionId)));
    return { closedLoop, closedLoopOneRequest, bulk: bulkRate, twoRequestP50: two.p50, oneRequestP50: one.p50 };
  } finally {
    await cluster.stop();
  }
}

const dir = mkdtempSync(join(tmpdir(), "faaslab-bench-defaults-"));
const redis = new RedisServer({ dir });
const log = (line: string) => console.error(line);
try {
  await redis.start();
  console.error(`BullMQ on its own redis-server (${redis.url})…`);
  const bull = await measureBullmq(redis.url, SIZES, log);
  await redis.managed?.stop();
  const rows: string[] = [];
  const ratio = (x: number, y: number) => `${(x / y).toFixed(2)}×`;
  const verdict = (ok: boolean) => (ok ? "✅" : "❌");
  for (const mode of modes as DispatcherMode[]) {
    console.error(`faas up -m ${mode} (its defaults), a plain fetch client…`);
    const figures = await measureMode(mode);
    const seqBound = mode === "local" ? 2 : 2.5;
    rows.push(
      `| ${mode} | closed loop, 50 clients | ${figures.closedLoop.toFixed(0)} tasks/s | ${bull.closedLoop.jobsPerSecond.toFixed(0)} jobs/s | ${ratio(figures.closedLoop, bull.closedLoop.jobsPerSecond)} | ≥ 1.0× | ${verdict(figures.closedLoop >= bull.closedLoop.jobsPerSecond)} |`,
      `| ${mode} | closed loop, 50 clients, one request (?wait) | ${figures.closedLoopOneRequest.toFixed(0)} tasks/s | ${bull.closedLoop.jobsPerSecond.toFixed(0)} jobs/s | ${ratio(figures.closedLoopOneRequest, bull.closedLoop.jobsPerSecond)} | (not a target) | – |`,
      `| ${mode} | bulk, ${SIZES.bulk} no-ops | ${figures.bulk.toFixed(0)} tasks/s | ${bull.bulk.jobsPerSecond.toFixed(0)} jobs/s | ${ratio(figures.bulk, bull.bulk.jobsPerSecond)} | ≥ 1.0× | ${verdict(figures.bulk >= bull.bulk.jobsPerSecond)} |`,
      `| ${mode} | sequential p50, two requests | ${figures.twoRequestP50.toFixed(2)} ms | ${bull.sequential.latency.p50.toFixed(2)} ms | ${ratio(figures.twoRequestP50, bull.sequential.latency.p50)} | ≤ ${seqBound}× | ${verdict(figures.twoRequestP50 <= seqBound * bull.sequential.latency.p50)} |`,
      `| ${mode} | sequential p50, one request (?wait) | ${figures.oneRequestP50.toFixed(2)} ms | ${bull.sequential.latency.p50.toFixed(2)} ms | ${ratio(figures.oneRequestP50, bull.sequential.latency.p50)} | ≤ 1.3× | ${verdict(figures.oneRequestP50 <= 1.3 * bull.sequential.latency.p50)} |`,
    );
  }
  console.log(`faaslab with the CLI's defaults (faas up, plain fetch) beside BullMQ ${bull.version}, in one run on this machine`);
  console.log("");
  console.log("| mode | measure | faaslab | BullMQ | ratio | target | met |");
  console.log("|---|---|---|---|---|---|---|");
  for (const row of rows) console.log(row);
} finally {
  await redis.managed?.stop();
  rmSync(dir, { recursive: true, force: true });
}
