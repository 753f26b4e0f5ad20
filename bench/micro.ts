/**
 * Micro-benchmarks of the hot path's pieces, for the performance report: each row times one
 * piece in isolation with tinybench, so the end-to-end numbers of bench/roundtrip.ts can be
 * broken down.
 *
 *  - codec: serialize / deserialize of typical payloads
 *  - redis: one task-state transition per iteration (submitTask, claimTask, finishTask) and
 *    the read behind GET /result, against the given Redis under a key prefix unique to the run
 *  - executor: a no-op through the executor pool (1 thread), and a sandbox call, cold and warm
 *  - transport: protocol encode+decode, and one DEALER -> ROUTER -> DEALER hop over loopback TCP
 *
 * The module runs from dist/ (the pool starts dist/system/executor/host.js, whose threads load thread.js; "pool.run" includes that hop), so its imports are
 * relative to dist/bench/. Call `microBenchmarks` from a script; it prints nothing itself
 * except through `log`.
 */
import { randomUUID } from "node:crypto";
import type { Redis } from "ioredis";
import { Bench, type Task } from "tinybench";
import { Dealer, Router } from "zeromq";
import { deserialize, serialize } from "../system/codec/index.js";
import { workerLostError } from "../system/dispatcher/lifecycle.js";
import { DISPATCHER_DEFAULTS } from "../system/dispatcher/options.js";
import { ExecutorPool } from "../system/executor/pool.js";
import { Sandbox } from "../system/executor/sandbox.js";
import { decodeDispatcherMessage, decodeWorkerMessage, encode, type DispatcherMessage, type WorkerMessage } from "../system/protocol/messages.js";
import { TaskQueue } from "../system/store/queue.js";
import type { QueueEntry } from "../system/store/replies.js";
import { connectRedis } from "../system/store/redis.js";
import { TaskStore } from "../system/store/store.js";

export interface MicroResult {
  name: string;
  group: "codec" | "redis" | "executor" | "transport";
  opsPerSecond: number;
  meanUs: number;
  p99Us: number;
  samples: number;
}

export interface MicroOptions {
  redisUrl: string;
  /** About 100 ms per bench instead of 500 ms: a smoke run, not numbers for a report. */
  quick: boolean;
  log?: (line: string) => void;
}

type Group = MicroResult["group"];

interface Timing {
  time: number;
  warmupTime: number;
}

/** Runs every group in turn, each on its own Bench so its resources live only as long as it runs. */
export async function microBenchmarks(options: MicroOptions): Promise<MicroResult[]> {
  const timing: Timing = options.quick ? { time: 100, warmupTime: 50 } : { time: 500, warmupTime: 200 };
  const log = options.log ?? (() => {});
  return [
    ...(await codecBenchmarks(timing, log)),
    ...(await redisBenchmarks(options.redisUrl, timing, log)),
    ...(await executorBenchmarks(timing, log)),
    ...(await transportBenchmarks(timing, log)),
  ];
}

// --- tinybench plumbing -----------------------------------------------------------------

function newBench(group: Group, timing: Timing, log: (line: string) => void): Bench {
  const bench = new Bench({
    name: group,
    ...timing,
    // Codec calls take around a microsecond: use the nanosecond clock and take its own cost out.
    timestampProvider: "hrtimeNow",
    subtractTimerOverhead: true,
    // A bench that fails must fail the run, not leave a row without numbers.
    throws: true,
  });
  bench.addEventListener("cycle", (event) => {
    const result = toResult(group, event.task);
    log(`  ${result.name}: ${result.meanUs.toFixed(2)} µs mean, ${result.p99Us.toFixed(2)} µs p99, ${result.samples} samples`);
  });
  return bench;
}

async function runBench(bench: Bench, group: Group, log: (line: string) => void): Promise<MicroResult[]> {
  log(`${group}:`);
  const tasks = await bench.run();
  return tasks.map((task) => toResult(group, task));
}

function toResult(group: Group, task: Task): MicroResult {
  const result = task.result;
  if (result.state === "errored") throw new Error(`${task.name} failed: ${result.error.message}`, { cause: result.error });
  if (result.state !== "completed") throw new Error(`${task.name} did not complete (${result.state})`);
  const { mean, p99, samplesCount } = result.latency; // milliseconds
  return {
    name: task.name,
    group,
    // One call at a time, so ops/s is the inverse of the mean latency (tinybench's
    // throughput.mean averages per-sample rates, which overweights the fastest samples).
    opsPerSecond: mean > 0 ? 1000 / mean : Number.POSITIVE_INFINITY,
    meanUs: mean * 1000,
    p99Us: p99 * 1000,
    samples: samplesCount,
  };
}

// --- codec ------------------------------------------------------------------------------

const CODEC_PAYLOADS: [label: string, value: unknown][] = [
  ["empty args []", []],
  ["small args [1, \"two\", {three: 3}]", [1, "two", { three: 3 }]],
  ["result Map+Set+Date+BigInt", {
    counts: new Map<string, number>([["a", 1], ["b", 2], ["c", 3]]),
    seen: new Set([1, 2, 3, 5, 8]),
    at: new Date(Date.UTC(2024, 0, 1)),
    total: 12_345_678_901_234_567_890n,
  }],
  ["10 KiB string", "x".repeat(10 * 1024)],
];

async function codecBenchmarks(timing: Timing, log: (line: string) => void): Promise<MicroResult[]> {
  const bench = newBench("codec", timing, log);
  for (const [label, value] of CODEC_PAYLOADS) {
    const text = serialize(value);
    bench.add(`serialize ${label}`, () => serialize(value), { async: false });
    bench.add(`deserialize ${label}`, () => deserialize(text), { async: false });
  }
  return runBench(bench, "codec", log);
}

// --- redis ------------------------------------------------------------------------------

const NOOP_SOURCE = "() => null";
const EMPTY_ARGS = serialize([]);
const NULL_RESULT = serialize(null);
const CONSUMER = "micro-bench";
const LOST_ERROR = workerLostError(DISPATCHER_DEFAULTS.maxAttempts);

/** One bench's own store and queue: a separate prefix, so each reads only the entries it queued. */
interface Fixture {
  store: TaskStore;
  queue: TaskQueue;
  functionId: string;
}

async function fixture(commands: Redis, blocking: Redis, prefix: string): Promise<Fixture> {
  // The production TTL, since finishTask sets it and that is part of its cost.
  const store = new TaskStore(commands, { prefix, resultTtlSeconds: DISPATCHER_DEFAULTS.resultTtlSeconds });
  const queue = new TaskQueue(store.keys, blocking, commands, CONSUMER);
  await queue.ensureGroup();
  const functionId = await store.registerFunction("noop", NOOP_SOURCE);
  return { store, queue, functionId };
}

async function submit(f: Fixture): Promise<string> {
  const taskId = await f.store.submitTask(f.functionId, EMPTY_ARGS);
  if (taskId === null) throw new Error("submitTask: the function is unknown");
  return taskId;
}

/** The entry just submitted: the fixture's queue holds nothing older that is undelivered. */
async function readOne(f: Fixture): Promise<QueueEntry> {
  const [entry] = await f.queue.take({ total: 1, byRuntime: { javascript: 1 } }, 1000, false);
  if (!entry) throw new Error("TaskQueue.take returned no entry for a task just submitted");
  return entry;
}

async function claim(f: Fixture, entry: QueueEntry): Promise<void> {
  const claimed = await f.store.claimTask(entry.taskId, CONSUMER, DISPATCHER_DEFAULTS.maxAttempts, LOST_ERROR);
  if (!claimed.claimed) throw new Error(`claimTask did not claim: ${claimed.reason}`);
}

async function complete(f: Fixture, entry: QueueEntry): Promise<void> {
  const recorded = await f.store.finishTask({ taskId: entry.taskId, status: "COMPLETED", result: NULL_RESULT, executor: CONSUMER });
  if (!recorded) throw new Error("finishTask did not record the result");
}

async function redisBenchmarks(url: string, timing: Timing, log: (line: string) => void): Promise<MicroResult[]> {
  const prefix = `micro-${randomUUID().slice(0, 8)}:`;
  const commands = connectRedis(url, "working");
  // As the dispatchers do: blocking reads get their own connection, without auto-pipelining.
  const blocking = connectRedis(url, "working", { enableAutoPipelining: false });
  try {
    const bench = newBench("redis", timing, log);
    const submitting = await fixture(commands, blocking, `${prefix}submit:`);
    bench.add("submitTask", () => submit(submitting), { async: true });

    // Each iteration consumes one prepared task; the preparation runs in the untimed hook.
    const claiming = await fixture(commands, blocking, `${prefix}claim:`);
    let toClaim: QueueEntry | undefined;
    bench.add("claimTask", () => claim(claiming, toClaim!), {
      async: true,
      beforeEach: async () => {
        await submit(claiming);
        toClaim = await readOne(claiming);
      },
    });

    const finishing = await fixture(commands, blocking, `${prefix}finish:`);
    let toFinish: QueueEntry | undefined;
    bench.add("finishTask (complete)", () => complete(finishing, toFinish!), {
      async: true,
      beforeEach: async () => {
        await submit(finishing);
        toFinish = await readOne(finishing);
        await claim(finishing, toFinish);
      },
    });

    // A read does not change the state: one finished task serves every iteration.
    const reading = await fixture(commands, blocking, `${prefix}outcome:`);
    let finishedTaskId = "";
    bench.add("getOutcome", async () => {
      const outcome = await reading.store.getOutcome(finishedTaskId);
      if (outcome?.status !== "COMPLETED") throw new Error(`getOutcome: expected COMPLETED, got ${outcome?.status}`);
    }, {
      async: true,
      beforeAll: async () => {
        if (finishedTaskId) return; // the run phase reuses the warm-up's task
        await submit(reading);
        const entry = await readOne(reading);
        await claim(reading, entry);
        await complete(reading, entry);
        finishedTaskId = entry.taskId;
      },
    });

    return await runBench(bench, "redis", log);
  } finally {
    try {
      await deleteKeys(commands, prefix);
    } catch (error) {
      log(`redis: could not delete the keys under ${prefix}: ${(error as Error).message}`);
    }
    blocking.disconnect();
    commands.disconnect();
  }
}

/** Removes what the run left in Redis (tasks, functions, the queues). */
async function deleteKeys(redis: Redis, prefix: string): Promise<void> {
  let cursor = "0";
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000);
    if (keys.length > 0) await redis.unlink(...keys);
    cursor = next;
  } while (cursor !== "0");
}

// --- executor ---------------------------------------------------------------------------

const ADD_SOURCE = "(a, b) => a + b";

async function executorBenchmarks(timing: Timing, log: (line: string) => void): Promise<MicroResult[]> {
  const pool = new ExecutorPool({ executors: 1, memoryMb: 256, name: "micro" });
  try {
    const noop = { functionId: "micro-noop", source: NOOP_SOURCE, args: EMPTY_ARGS };
    const runNoop = async () => {
      const outcome = await pool.run(noop, 60_000);
      if (outcome.status !== "COMPLETED") throw new Error(`pool.run: ${outcome.status} ${outcome.result}`);
    };
    // Starts the thread and compiles the function in it, so the first sample is not a cold start.
    for (let i = 0; i < 20; i++) await runNoop();

    const bench = newBench("executor", timing, log);
    bench.add("pool.run no-op (1 executor)", runNoop, { async: true });
    bench.add("Sandbox new + call (cold)", () => callAdd(new Sandbox(ADD_SOURCE, { filename: "x" })), { async: true });
    const warm = new Sandbox(ADD_SOURCE, { filename: "x" });
    bench.add("Sandbox call (warm)", () => callAdd(warm), { async: true });
    return await runBench(bench, "executor", log);
  } finally {
    await pool.close();
  }
}

async function callAdd(sandbox: Sandbox): Promise<void> {
  const outcome = await sandbox.call([1, 2]);
  if (!outcome.ok || outcome.value !== 3) throw new Error("the sandbox did not return 1 + 2");
}

// --- transport --------------------------------------------------------------------------

// Steady-state messages: a task without its source (a worker caches it after the first).
const TASK_MESSAGE: DispatcherMessage = {
  type: "task", taskId: randomUUID(), functionId: randomUUID(),
  args: serialize([1, "two", { three: 3 }]), deadlineMs: DISPATCHER_DEFAULTS.taskDeadlineMs,
};
const RESULT_MESSAGE: WorkerMessage = {
  type: "result", taskId: randomUUID(), status: "COMPLETED",
  result: serialize({ ok: true, value: 42 }), executor: "worker-1/thread-1",
};

async function transportBenchmarks(timing: Timing, log: (line: string) => void): Promise<MicroResult[]> {
  const bench = newBench("transport", timing, log);
  bench.add("encode+decode task", () => decodeDispatcherMessage(encode(TASK_MESSAGE)), { async: false });
  bench.add("encode+decode result", () => decodeWorkerMessage(encode(RESULT_MESSAGE)), { async: false });

  const router = new Router({ linger: 0 });
  const dealer = new Dealer({ linger: 0 });
  try {
    await router.bind("tcp://127.0.0.1:*");
    if (!router.lastEndpoint) throw new Error("the ROUTER has no endpoint after bind");
    dealer.connect(router.lastEndpoint);
    // Frames are encoded once: this row is the sockets' cost; the rows above are the codec's.
    const heartbeat = encode({ type: "heartbeat", running: [] });
    const ack = encode({ type: "ack", taskId: randomUUID() });
    const hop = async () => {
      await dealer.send(heartbeat);
      const [routingId] = await router.receive();
      await router.send([routingId, ack]);
      await dealer.receive();
    };
    // The first hop waits for the TCP connection; it must not be a sample.
    await hop();
    bench.add("zmq DEALER->ROUTER->DEALER round trip", hop, { async: true });
    return await runBench(bench, "transport", log);
  } finally {
    dealer.close();
    router.close();
  }
}
