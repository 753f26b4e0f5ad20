/**
 * The executor host: the process that holds the executor threads, the second wall around
 * user code. ExecutorPool (pool.ts, through host-process.ts) forks it under Node's permission
 * model (permissions.ts): it may read only its own code, may not write files, start processes
 * or load addons, and has an empty environment, so even code that escaped a sandbox finds no
 * secrets and nothing to change.
 *
 * Its main thread keeps one executor thread (host-thread.ts) per slot: each with a V8 heap
 * limit, so an out-of-memory function ends its own thread only; terminated when the pool says
 * its task passed its deadline (this stops an infinite loop as well); replaced whenever it
 * ends, which it reports over IPC with why (host-protocol.ts). The tasks themselves go
 * between the threads and the pool over the executor channel, not through this thread.
 *
 * It exits when the IPC channel closes (the parent closed the pool or died), and reports, for
 * the parent to act on, when its resident memory passes its budget: array buffers live
 * outside the threads' V8 heap limits, so only the process as a whole can catch them.
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { threadKey, type FromHost, type HostOptions, type ThreadChannel, type ThreadEnd, type ToHost } from "./host-protocol.js";
import type { ThreadSettings } from "./thread.js";

const MEMORY_CHECK_MS = 50;
const THREAD_FILE = join(dirname(fileURLToPath(import.meta.url)), "host-thread.js");

if (!process.send) {
  process.stderr.write("host.js is the executor host: ExecutorPool starts it with an IPC channel\n");
  process.exit(2);
}

const options = JSON.parse(process.argv[2] ?? "") as HostOptions;
const settings: ThreadSettings = { maxResultBytes: options.maxResultBytes, name: options.name };
const threads: { worker: Worker; generation: number; stopping: boolean }[] = [];
let channel: { address: string; secret: string } | undefined;

function send(message: FromHost): void {
  // A send after the parent left fails; the 'disconnect' handler is already ending the process.
  process.send!(message, undefined, undefined, () => {});
}

function startThread(slot: number, generation: number): void {
  const { address, secret } = channel!;
  const thread: ThreadChannel = { address, slot, generation, key: threadKey(secret, slot, generation) };
  const worker = new Worker(THREAD_FILE, {
    workerData: { ...settings, channel: thread },
    resourceLimits: {
      maxOldGenerationSizeMb: options.memoryMb,
      maxYoungGenerationSizeMb: Math.max(4, Math.min(64, Math.floor(options.memoryMb / 8))),
    },
  });
  const state = { worker, generation, stopping: false };
  threads[slot] = state;
  let failure: (Error & { code?: string }) | undefined;
  worker.on("error", (error) => (failure ??= error));
  worker.on("exit", () => {
    const reason: ThreadEnd = failure?.code === "ERR_WORKER_OUT_OF_MEMORY" ? "out-of-memory" : state.stopping ? "stopped" : "crashed";
    send({ type: "thread-ended", slot, generation, reason, message: failure?.message ?? "the thread exited" });
    if (process.connected) startThread(slot, generation + 1);
  });
}

process.on("message", (message: ToHost) => {
  if (message.type === "open" && channel === undefined) {
    channel = { address: message.address, secret: message.secret };
    for (let slot = 0; slot < options.executors; slot++) startThread(slot, 0);
  } else if (message.type === "stop") {
    const thread = threads[message.slot];
    if (!thread || thread.generation !== message.generation || thread.stopping) return;
    thread.stopping = true;
    void thread.worker.terminate();
  }
});

// The parent closed the pool or died: nothing is left to serve, and the threads end with the process.
process.on("disconnect", () => process.exit(0));
// A channel that closed while this module was loading emitted its 'disconnect' to no one.
if (!process.connected) process.exit(0);

const budgetBytes = options.memoryBudgetMb * 1024 * 1024;
const memoryCheck = setInterval(() => {
  const rss = process.memoryUsage.rss();
  if (rss <= budgetBytes) return;
  clearInterval(memoryCheck); // once: the parent replaces this process
  send({ type: "over-budget", rssMb: Math.round(rss / (1024 * 1024)) });
}, MEMORY_CHECK_MS);
