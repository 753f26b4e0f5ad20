/**
 * What a Python task costs against a JavaScript one, on the executor pools alone (no Redis, no
 * HTTP), in the same run:
 *
 *   npm run -s build && node dist/bench/python-fork.js [--tasks 500] [--python /usr/bin/python3]
 *
 *  - sequential no-op tasks, one executor each: PythonPool (a fork of the zygote per task, in
 *    its jail) and ExecutorPool (a worker thread in the executor host): p50/p99 latency;
 *  - the fork itself: inside a task, a fork of a process the size of the zygote's forker, to
 *    its exit and reaping (os.fork, os._exit, os.waitpid), p50/p99;
 *  - the jail's start: a new PythonPool to its first answer (bubblewrap, the zygote, dill).
 */
import { execFileSync } from "node:child_process";
import { parseArgs } from "node:util";
import { percentileOfSorted } from "../harness/percentile.js";
import { serialize } from "../system/codec/index.js";
import type { ExecutorOutcome } from "../system/executor/contract.js";
import { ExecutorPool } from "../system/executor/pool.js";
import { PythonPool } from "../system/executor/python-pool.js";
import { defaultPython } from "../system/executor/python-jail.js";

const { values } = parseArgs({ options: { tasks: { type: "string", default: "500" }, python: { type: "string" } } });
const tasks = Number(values.tasks);
const python = values.python ?? defaultPython();
/** `((), {})` pickled: no arguments. */
const NO_ARGS = Buffer.from([0x80, 2, 0x29, 0x7d, 0x86, 0x2e]).toString("base64");

const availability = await PythonPool.available(python);
if (!availability.ok) {
  console.error(`the Python executor cannot run here: ${availability.why}`);
  process.exit(1);
}

const ms = (sorted: number[], p: number) => percentileOfSorted(sorted, p).toFixed(2);
function check(outcome: ExecutorOutcome): void {
  if (outcome.status !== "COMPLETED") throw new Error(`a benchmark task failed: ${outcome.result}`);
}

async function sequential(run: () => Promise<ExecutorOutcome>): Promise<number[]> {
  for (let i = 0; i < 50; i++) check(await run()); // warm
  const latencies: number[] = [];
  for (let i = 0; i < tasks; i++) {
    const start = performance.now();
    check(await run());
    latencies.push(performance.now() - start);
  }
  return latencies.sort((a, b) => a - b);
}

const coldStart = performance.now();
const pythonPool = new PythonPool({ executors: 1, memoryMb: 256, name: "bench", pythonPath: [], python });
const js = new ExecutorPool({ executors: 1, memoryMb: 256, name: "bench" });
try {
  check(await pythonPool.run({ functionId: "noop", runtime: "python", source: "def noop():\n    return None\n", args: NO_ARGS }, 30_000));
  const jailStartMs = performance.now() - coldStart;

  const pickled = execFileSync(python, ["-c", "import base64, dill\ndef noop():\n    return None\nprint(base64.encodebytes(dill.dumps(noop)).decode(), end='')"]).toString();
  const fromSource = await sequential(() => pythonPool.run({ functionId: "noop", runtime: "python", source: "def noop():\n    return None\n", args: NO_ARGS }, 30_000));
  const byValue = await sequential(() => pythonPool.run({ functionId: "noop", runtime: "python", source: pickled, args: NO_ARGS }, 30_000));
  const javascript = await sequential(() => js.run({ functionId: "noop", source: "() => null", args: serialize([]) }, 30_000));

  const forks = await pythonPool.run({
    functionId: "fork",
    runtime: "python",
    source: [
      "import os, time",
      "def forks(n=300):",
      "    spans = []",
      "    for _ in range(n):",
      "        start = time.perf_counter()",
      "        pid = os.fork()",
      "        if pid == 0:",
      "            os._exit(0)",
      "        os.waitpid(pid, 0)",
      "        spans.append((time.perf_counter() - start) * 1000)",
      "    spans.sort()",
      "    rss = int(open('/proc/self/statm').read().split()[1]) * os.sysconf('SC_PAGE_SIZE') // 1024",
      "    return '%.3f %.3f %d' % (spans[len(spans) // 2], spans[int(len(spans) * 0.99)], rss)",
    ].join("\n"),
    args: NO_ARGS,
  }, 60_000);
  check(forks);
  const forkText = execFileSync(python, ["-c", "import base64, sys, dill\nprint(dill.loads(base64.b64decode(sys.stdin.read())))"], { input: forks.result }).toString().trim();
  const [forkP50, forkP99, rssKb] = forkText.split(" ");

  console.log(`${tasks} sequential no-op tasks each, one executor (${python}):`);
  console.log(`  Python, source text:          p50 ${ms(fromSource, 50)} ms, p99 ${ms(fromSource, 99)} ms`);
  console.log(`  Python, pickled by value:     p50 ${ms(byValue, 50)} ms, p99 ${ms(byValue, 99)} ms`);
  console.log(`  JavaScript (executor host):   p50 ${ms(javascript, 50)} ms, p99 ${ms(javascript, 99)} ms`);
  console.log(`fork of a task process (${(Number(rssKb) / 1024).toFixed(1)} MiB resident) to its reaping: p50 ${forkP50} ms, p99 ${forkP99} ms`);
  console.log(`jail start (new PythonPool to its first answer): ${jailStartMs.toFixed(0)} ms`);
} finally {
  await Promise.all([pythonPool.close(), js.close()]);
}
