/**
 * Peers: what faaslab's numbers should be read against, measured on this machine and this redis.
 *
 *  - BullMQ, the job queue a user would most likely pick instead of faaslab (also Node + Redis):
 *    bulk throughput (addBulk, one Worker with concurrency 50), closed-loop throughput (50 clients,
 *    each adding a job and waiting for its completion, like faaslab's execute + result?wait) and the
 *    sequential round-trip latency of one client.
 *  - redis-benchmark SET/GET/LPUSH, unpipelined and 16-deep pipelined: the ceiling any design that
 *    goes through this redis is under (every faaslab task costs several commands).
 *  - fastify + autocannon: the ceiling of the HTTP layer alone (a bare route), and of a route doing the
 *    two writes a faaslab submit does (HSET + XADD). The server runs in a child process so that, as
 *    with faaslab, client and server do not share an event loop.
 *
 * Everything talks to the redis at `redisUrl` (a harness-started one), never to a default redis.
 */
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";
import { Queue, QueueEvents, Worker } from "bullmq";
import { execa, type ResultPromise } from "execa";
import { Redis } from "ioredis";
import { findExecutable } from "../system/launcher/process.js";
import { mapConcurrent } from "../harness/concurrent.js";
// Nearest rank, as faaslab's own figures are reported; in milliseconds.
import { percentiles, type Percentiles } from "../harness/percentile.js";


export interface PeerResults {
  bullmq: {
    version: string;
    /** addBulk of N no-op jobs, processed by one Worker with concurrency 50; jobs/s from first add to last completion */
    bulk: { jobs: number; seconds: number; jobsPerSecond: number };
    /** 50 concurrent clients, each: queue.add a no-op job, then job.waitUntilFinished(queueEvents); N jobs in all */
    closedLoop: { clients: number; jobs: number; seconds: number; jobsPerSecond: number };
    /** one client, sequential: add then waitUntilFinished, N times (after a warm-up) */
    sequential: { jobs: number; latency: Percentiles };
  };
  /** redis-benchmark -q -t set,get,lpush -n N -P 1 and -P 16 against the same redis; null if the binary is missing */
  redis: { commands: Record<string, number>; pipelined: Record<string, number> } | null;
  /** autocannon against a bare fastify route returning {"ok":true}, run in a child process (so client and server are separate processes like faaslab's): requests/s; and a route doing one HSET and one XADD on the same redis */
  fastify: { bare: number; hsetXadd: number; connections: number; seconds: number };
}

export interface PeerOptions {
  redisUrl: string;
  quick: boolean;
  log?: (line: string) => void;
}

/** What BullMQ's measurement needs of the sizes. */
export type BullmqSizes = Pick<Sizes, "bulk" | "closedLoop" | "sequential">;

export interface Sizes {
  bulk: number;
  closedLoop: number;
  sequential: number;
  redisRequests: number;
  httpSeconds: number;
}

const FULL: Sizes = { bulk: 20_000, closedLoop: 5_000, sequential: 1_000, redisRequests: 100_000, httpSeconds: 5 };
const QUICK: Sizes = { bulk: 2_000, closedLoop: 1_000, sequential: 200, redisRequests: 20_000, httpSeconds: 2 };

const CLIENTS = 50;
const WORKER_CONCURRENCY = 50;
const BULK_CHUNK = 1_000;
const WARM_UP_JOBS = 300;
const HTTP_CONNECTIONS = 50;
/** Generous: a stuck phase should fail the run, not hang it. */
const PHASE_TIMEOUT_MS = 60_000;

const require = createRequire(import.meta.url);

export async function measurePeers(options: PeerOptions): Promise<PeerResults> {
  const log = options.log ?? (() => {});
  const sizes = options.quick ? QUICK : FULL;
  const bullmq = await measureBullmq(options.redisUrl, sizes, log);
  const redis = await measureRedis(options.redisUrl, sizes, log);
  const fastify = await measureFastify(options.redisUrl, sizes, log);
  return { bullmq, redis, fastify };
}

// ---------------------------------------------------------------- BullMQ

type NoopQueue = Queue<Record<string, never>, null>;

export async function measureBullmq(redisUrl: string, sizes: BullmqSizes, log: (line: string) => void): Promise<PeerResults["bullmq"]> {
  const version = (require("bullmq/package.json") as { version: string }).version;
  const connection = connectionFor(redisUrl);
  // A fresh name per run: nothing left over from an earlier run is counted, and obliterate touches only ours.
  const name = `peer-${Date.now()}-${process.pid}`;
  const queue: NoopQueue = new Queue(name, { connection });
  const queueEvents = new QueueEvents(name, { connection });
  const worker = new Worker(name, async () => null, { connection, concurrency: WORKER_CONCURRENCY });
  worker.on("error", (error) => log(`bullmq worker error: ${error.message}`));
  const completed = completionCounter(worker);
  // Every pending waitUntilFinished listens on both: 50 at once is by design, not a leak.
  queue.setMaxListeners(CLIENTS + 10);
  queueEvents.setMaxListeners(CLIENTS + 10);
  try {
    await Promise.all([queue.waitUntilReady(), queueEvents.waitUntilReady(), worker.waitUntilReady()]);
    log(`bullmq ${version}: warming up (${WARM_UP_JOBS} bulk jobs, ${WARM_UP_JOBS / 3} waited)`);
    await runBulk(queue, completed, WARM_UP_JOBS);
    for (let i = 0; i < WARM_UP_JOBS / 3; i++) await roundTrip(queue, queueEvents);

    const bulkSeconds = await runBulk(queue, completed, sizes.bulk);
    const bulk = { jobs: sizes.bulk, seconds: bulkSeconds, jobsPerSecond: sizes.bulk / bulkSeconds };
    log(`bullmq bulk: ${bulk.jobs} jobs in ${bulk.seconds.toFixed(2)} s = ${bulk.jobsPerSecond.toFixed(0)} jobs/s`);

    const started = performance.now();
    await mapConcurrent(Array.from({ length: sizes.closedLoop }), CLIENTS, () => roundTrip(queue, queueEvents));
    const loopSeconds = (performance.now() - started) / 1000;
    const closedLoop = { clients: CLIENTS, jobs: sizes.closedLoop, seconds: loopSeconds, jobsPerSecond: sizes.closedLoop / loopSeconds };
    log(`bullmq closed loop: ${closedLoop.jobs} jobs from ${CLIENTS} clients in ${loopSeconds.toFixed(2)} s = ${closedLoop.jobsPerSecond.toFixed(0)} jobs/s`);

    const latencies: number[] = [];
    for (let i = 0; i < sizes.sequential; i++) latencies.push(await roundTrip(queue, queueEvents));
    const sequential = { jobs: sizes.sequential, latency: percentiles(latencies) };
    const { p50, p95, p99 } = sequential.latency;
    log(`bullmq sequential: ${sequential.jobs} round trips, p50 ${p50.toFixed(2)} ms, p95 ${p95.toFixed(2)} ms, p99 ${p99.toFixed(2)} ms`);

    return { version, bulk, closedLoop, sequential };
  } finally {
    // The worker first, so no job is active when the queue is obliterated.
    await worker.close().catch((error: Error) => log(`bullmq: closing the worker failed: ${error.message}`));
    await queueEvents.close().catch((error: Error) => log(`bullmq: closing queue events failed: ${error.message}`));
    await queue.obliterate({ force: true }).catch((error: Error) => log(`bullmq: obliterate failed: ${error.message}`));
    await queue.close().catch((error: Error) => log(`bullmq: closing the queue failed: ${error.message}`));
  }
}

/** Adds `jobs` no-op jobs in chunks and waits for the worker to complete them all; returns seconds. */
async function runBulk(queue: NoopQueue, completed: CompletionCounter, jobs: number): Promise<number> {
  const target = completed.count() + jobs;
  const started = performance.now();
  for (let offset = 0; offset < jobs; offset += BULK_CHUNK) {
    const size = Math.min(BULK_CHUNK, jobs - offset);
    // Nobody waits on these jobs, so they can go as soon as they complete.
    await queue.addBulk(Array.from({ length: size }, () => ({ name: "noop", data: {}, opts: { removeOnComplete: true } })));
  }
  await completed.reach(target, PHASE_TIMEOUT_MS);
  return (performance.now() - started) / 1000;
}

/** One client's add + waitUntilFinished; returns milliseconds. */
async function roundTrip(queue: NoopQueue, queueEvents: QueueEvents): Promise<number> {
  const started = performance.now();
  // Not removeOnComplete: true. waitUntilFinished checks the job's state once after subscribing, and a
  // job already completed *and removed* reads as "Missing key", a failure. An age bound keeps it long
  // enough to be read and still bounds redis memory.
  const job = await queue.add("noop", {}, { removeOnComplete: { age: 60 } });
  await job.waitUntilFinished(queueEvents, PHASE_TIMEOUT_MS);
  return performance.now() - started;
}

interface CompletionCounter {
  count(): number;
  /** Resolves once `target` jobs in all have completed on the worker; rejects after `timeoutMs`. */
  reach(target: number, timeoutMs: number): Promise<void>;
}

/** Counts the worker's own "completed" events: exact, and cheaper than asking redis. */
function completionCounter(worker: Worker): CompletionCounter {
  let count = 0;
  const waiters = new Set<{ target: number; resolve: () => void }>();
  worker.on("completed", () => {
    count++;
    for (const waiter of waiters) if (count >= waiter.target) waiter.resolve();
  });
  return {
    count: () => count,
    reach: (target, timeoutMs) =>
      new Promise<void>((resolve, reject) => {
        if (count >= target) return resolve();
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          reject(new Error(`timed out after ${timeoutMs} ms waiting for ${target} completions (have ${count})`));
        }, timeoutMs);
        const waiter = {
          target,
          resolve: () => {
            clearTimeout(timer);
            waiters.delete(waiter);
            resolve();
          },
        };
        waiters.add(waiter);
      }),
  };
}

interface Connection {
  host: string;
  port: number;
  password?: string;
}

function connectionFor(redisUrl: string): Connection {
  const url = new URL(redisUrl);
  // No port means redis's default 6379, most likely someone's own redis: refuse rather than write there.
  if (!url.port) throw new Error(`redisUrl must name a port (got ${redisUrl})`);
  return { host: url.hostname, port: Number(url.port), ...(url.password ? { password: decodeURIComponent(url.password) } : {}) };
}

// ---------------------------------------------------------------- redis-benchmark

async function measureRedis(redisUrl: string, sizes: Sizes, log: (line: string) => void): Promise<PeerResults["redis"]> {
  const binary = findExecutable("redis-benchmark");
  if (!binary) {
    log("redis-benchmark not found: no redis figures");
    return null;
  }
  const connection = connectionFor(redisUrl);
  const run = async (pipeline: number) => {
    const args = ["-h", connection.host, "-p", String(connection.port), "-q", "-t", "set,get,lpush", "-n", String(sizes.redisRequests), "-P", String(pipeline)];
    if (connection.password) args.push("-a", connection.password, "--no-auth-warning");
    const { stdout } = await execa(binary, args, { timeout: PHASE_TIMEOUT_MS });
    const rates = parseRedisBenchmark(stdout);
    log(`redis-benchmark -P ${pipeline}: ${Object.entries(rates).map(([command, rate]) => `${command} ${rate.toFixed(0)}/s`).join(", ")}`);
    return rates;
  };
  try {
    const commands = await run(1);
    const pipelined = await run(16);
    return { commands, pipelined };
  } finally {
    await deleteKeys(redisUrl, REDIS_BENCHMARK_KEYS);
  }
}

/** The keys `-t set,get,lpush` writes (without -r); redis-benchmark leaves them behind. */
const REDIS_BENCHMARK_KEYS = ["key:__rand_int__", "mylist"];

async function deleteKeys(redisUrl: string, keys: string[]): Promise<void> {
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    await redis.del(...keys);
  } finally {
    redis.disconnect();
  }
}

/** `-q` prints one `SET: 123456.79 requests per second, p50=0.143 msec` per test, after \r-separated progress lines. */
export function parseRedisBenchmark(output: string): Record<string, number> {
  const rates: Record<string, number> = {};
  for (const line of output.split(/[\r\n]+/)) {
    const match = /^\s*([A-Z][A-Z0-9_ ()]*?):\s+([\d.]+) requests per second/.exec(line);
    if (match) rates[match[1]] = Number(match[2]);
  }
  if (Object.keys(rates).length === 0) throw new Error(`no rates in redis-benchmark output:\n${output}`);
  return rates;
}

// ---------------------------------------------------------------- fastify + autocannon

interface AutocannonResult {
  requests: { average: number };
  errors: number;
  timeouts: number;
  non2xx: number;
}
type Autocannon = (options: { url: string; method: "GET" | "POST"; connections: number; duration: number; pipelining: number }) => Promise<AutocannonResult>;

/**
 * The server, run as `node --input-type=module -e`. Module paths, redis URL, keys and the parent's pid
 * come in through the environment, so the script itself is a constant.
 */
const SERVER_SCRIPT = `
const env = process.env;
const { default: Fastify } = await import(env.PEER_FASTIFY);
const { default: Redis } = await import(env.PEER_IOREDIS);
const parent = Number(env.PEER_PARENT_PID);
// Dies with the parent even if the parent is killed -9 and cannot kill us.
const watch = setInterval(() => { try { process.kill(parent, 0); } catch { process.exit(1); } }, 1000);
watch.unref();
const redis = new Redis(env.PEER_REDIS_URL, { enableAutoPipelining: true });
await redis.ping();
const app = Fastify({ logger: false });
app.get("/bare", async () => ({ ok: true }));
app.post("/write", async () => {
  await Promise.all([redis.hset(env.PEER_HASH, "field", "value"), redis.xadd(env.PEER_STREAM, "*", "f", "v")]);
  return { ok: true };
});
process.once("SIGTERM", async () => {
  await app.close();
  await redis.del(env.PEER_HASH, env.PEER_STREAM).catch(() => {});
  redis.disconnect();
  process.exit(0);
});
await app.listen({ host: "127.0.0.1", port: 0 });
console.log("PORT " + app.server.address().port);
`;

async function measureFastify(redisUrl: string, sizes: Sizes, log: (line: string) => void): Promise<PeerResults["fastify"]> {
  connectionFor(redisUrl); // the same refusal of a port-less URL as everywhere else
  // autocannon ships no types; a local signature of the part used here is enough.
  const autocannon = require("autocannon") as Autocannon;
  const run = Date.now();
  const server = execa(process.execPath, ["--input-type=module", "-e", SERVER_SCRIPT], {
    env: {
      PEER_FASTIFY: pathToFileURL(require.resolve("fastify")).href,
      PEER_IOREDIS: pathToFileURL(require.resolve("ioredis")).href,
      PEER_REDIS_URL: redisUrl,
      PEER_PARENT_PID: String(process.pid),
      PEER_HASH: `peer-fastify-${run}-hash`,
      PEER_STREAM: `peer-fastify-${run}-stream`,
    },
    reject: false,
    forceKillAfterDelay: 5_000,
  });
  try {
    const port = await portOf(server, 15_000);
    log(`fastify: server on port ${port}, ${HTTP_CONNECTIONS} connections, ${sizes.httpSeconds} s per route`);
    const load = async (method: "GET" | "POST", path: string, duration: number) => {
      const result = await autocannon({ url: `http://127.0.0.1:${port}${path}`, method, connections: HTTP_CONNECTIONS, duration, pipelining: 1 });
      if (result.non2xx > 0 || result.errors > 0) throw new Error(`${method} ${path}: ${result.non2xx} non-2xx responses, ${result.errors} errors`);
      return result.requests.average;
    };
    // One second each to let the JIT and the connections settle before measuring.
    await load("GET", "/bare", 1);
    await load("POST", "/write", 1);
    const bare = await load("GET", "/bare", sizes.httpSeconds);
    log(`fastify bare: ${bare.toFixed(0)} requests/s`);
    const hsetXadd = await load("POST", "/write", sizes.httpSeconds);
    log(`fastify HSET+XADD: ${hsetXadd.toFixed(0)} requests/s`);
    return { bare, hsetXadd, connections: HTTP_CONNECTIONS, seconds: sizes.httpSeconds };
  } finally {
    server.kill("SIGTERM");
    const ended = await server;
    if (ended.exitCode !== 0) log(`fastify server ended with ${ended.signal ?? `exit code ${ended.exitCode}`}: ${ended.stderr}`.trimEnd());
  }
}

/** The port the server prints once listening; rejects if it exits first or takes longer than `timeoutMs`. */
function portOf(server: ResultPromise, timeoutMs: number): Promise<number> {
  const stdout = server.stdout;
  if (!stdout) return Promise.reject(new Error("the fastify server has no stdout"));
  return new Promise<number>((resolve, reject) => {
    let seen = "";
    const done = (settle: () => void) => {
      clearTimeout(timer);
      stdout.off("data", onData);
      settle();
    };
    const onData = (chunk: Buffer) => {
      seen += chunk.toString();
      const match = /^PORT (\d+)$/m.exec(seen);
      if (match) done(() => resolve(Number(match[1])));
    };
    const timer = setTimeout(() => done(() => reject(new Error(`the fastify server did not print its port within ${timeoutMs} ms`))), timeoutMs);
    stdout.on("data", onData);
    void server.then((result) => done(() => reject(new Error(`the fastify server exited before listening: ${result.stderr}`))));
  });
}
