/**
 * Time from killing a worker (kill -9) to its tasks running elsewhere, per mode, with the
 * default heartbeat settings (500 ms × 3). In local mode the dispatcher is the worker: it is
 * killed and a new one started at once, so the figure includes a dispatcher's start-up.
 *
 *   npm run bench:recovery -- [--mode local|pull|push] [--runs 3]
 */
import { parseArgs } from "node:util";
import { DISPATCHER_MODES, type DispatcherMode } from "../system/modes.js";
import { percentile } from "../harness/percentile.js";
import { recoveryTime } from "./study/study.js";

const { values } = parseArgs({ options: { mode: { type: "string", multiple: true }, runs: { type: "string", default: "3" }, help: { type: "boolean", short: "h" } } });
if (values.help) {
  console.log("usage: npm run bench:recovery -- [--mode local|pull|push ...] [--runs 3]");
  process.exit(0);
}
const modes = (values.mode ?? DISPATCHER_MODES) as DispatcherMode[];
const runs = Number(values.runs);

console.log("time from kill -9 of a worker to its tasks RUNNING elsewhere (default heartbeats 500 ms x 3)");
for (const mode of modes) {
  const times: number[] = [];
  for (let run = 0; run < runs; run++) times.push(await recoveryTime(mode));
  times.sort((a, b) => a - b);
  console.log(`${mode}: ${times.map((t) => `${t.toFixed(2)} s`).join(", ")} (median ${percentile(times, 50).toFixed(2)} s)`);
}
