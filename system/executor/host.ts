/**
 * The executor host: the process that holds the executor threads, the second wall around
 * user code. ExecutorPool (pool.ts) forks it under Node's permission model (permissions.ts):
 * it may read only its own code, may not write files, start processes or load addons, and has
 * an empty environment, so even code that escaped a sandbox finds no secrets and nothing to
 * change. It talks to its parent only over the IPC channel (host-protocol.ts).
 *
 * It exits when that channel closes (the parent closed the pool or died), and reports, for
 * the parent to act on, when its resident memory passes its budget: array buffers live
 * outside the threads' V8 heap limits, so only the process as a whole can catch them.
 */
import type { FromHost, HostOptions, ToHost } from "./host-protocol.js";
import { ThreadPool } from "./threads.js";

const MEMORY_CHECK_MS = 50;

if (!process.send) {
  process.stderr.write("host.js is the executor host: ExecutorPool starts it with an IPC channel\n");
  process.exit(2);
}

const options = JSON.parse(process.argv[2] ?? "") as HostOptions;
const threads = new ThreadPool(options);

function send(message: FromHost): void {
  // A send after the parent left fails; the 'disconnect' handler is already ending the process.
  process.send!(message, undefined, undefined, () => {});
}

process.on("message", (message: ToHost) => {
  if (message.type !== "run") return;
  void threads.run(message.task, message.deadlineMs).then((outcome) => send({ type: "outcome", id: message.id, ...outcome }));
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

send({ type: "ready" });
