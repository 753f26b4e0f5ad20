/**
 * The report's charts: the pure helpers against small literal inputs, then all four charts
 * drawn from a realistic small history and from one of 500,000 operations (in a temporary
 * directory, removed afterwards whatever happens).
 */
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { analyse, maximum, type Analysis, type TaskView } from "../../harness/history/analysis.js";
import { percentile, percentileOfSorted } from "../../harness/percentile.js";
import type { Expected, HistoryEvent } from "../../harness/history/history.js";
import {
  countInSecond, countStates, formatCount, latencyChart, ordinal, outcomeOf, percentilesChart,
  scatterSteps, staggerRows, statesChart, thin, thinningStep, throughputChart,
} from "../../harness/report/charts.js";
import { Random } from "../../harness/random.js";

const ok: Expected = { ok: true, value: "null" };
const failure: Expected = { ok: false, name: "RangeError", message: "expected failure" };

interface FaultSpec {
  start: number;
  end?: number;
  description: string;
  /** Requests during it are refused or time out. */
  api?: boolean;
  /** Nothing starts during it: the queue grows until it ends. */
  pause?: boolean;
  /** Some tasks finishing during it fail unexpectedly. */
  kill?: boolean;
  /** It could not happen (its target was gone): recorded with why, and no end. */
  skipped?: string;
}

/**
 * A synthetic history of `operations` execute requests spread evenly over `seconds`, one in ten
 * of the `throw` kind (expected to fail), two probes before the workload (t < 0), and the faults
 * given. A few tasks fail unexpectedly outside faults too, one in 500 of the `throw` kind completes.
 */
function syntheticHistory(options: { operations: number; seconds: number; faults: FaultSpec[]; seed: number }): HistoryEvent[] {
  const { operations, seconds, faults } = options;
  const random = new Random(options.seed);
  const events: HistoryEvent[] = [];
  const during = (t: number, what: (fault: FaultSpec) => boolean | undefined) =>
    faults.find((fault) => what(fault) && t >= fault.start && t < (fault.end ?? Number.POSITIVE_INFINITY));
  events.push({ t: -3000, type: "phase", phase: "start", name: "probe" }, { t: 0, type: "phase", phase: "start", name: "workload" });
  faults.forEach((fault, index) => {
    // (Cast: `skipped` is recorded only by the harness of this version.)
    events.push({ t: fault.start, type: "fault", phase: "start", fault: index, description: fault.description, ...(fault.skipped && { skipped: fault.skipped }) } as HistoryEvent);
    if (fault.end !== undefined && !fault.skipped) events.push({ t: fault.end, type: "fault", phase: "end", fault: index, description: fault.description });
  });
  let op = 0;
  const submit = (t: number) => {
    const id = op++;
    const throws = random.next() < 0.1;
    events.push({ t, type: "invoke", op: id, process: "c0", kind: throws ? "throw" : "sleep", args: "[]", expected: throws ? failure : ok });
    if (during(t, (fault) => fault.api)) {
      const refused = random.next() < 0.7;
      events.push({ t: refused ? t + 2 : t + 2000, type: "complete", op: id, outcome: refused ? "fail" : "info", error: refused ? "ECONNREFUSED" : "timeout" });
      return;
    }
    const acceptedAt = t + 3 + random.next() * 10;
    const taskId = `t${id}`;
    events.push({ t: acceptedAt, type: "complete", op: id, outcome: "ok", taskId });
    let startedAt = acceptedAt + 20 + random.next() * 150;
    const pause = during(startedAt, (fault) => fault.pause);
    if (pause) startedAt = (pause.end ?? startedAt) + random.next() * 800;
    const doneAt = startedAt + 50 + random.next() * 250 + (random.next() < 0.01 ? 2000 : 0);
    events.push({ t: startedAt, type: "status", taskId, status: "RUNNING", result: null, invokedAt: startedAt - 5, by: "client" });
    const unexpected = (during(doneAt, (fault) => fault.kill) !== undefined && random.next() < 0.2) || random.next() < 0.002;
    const failed = unexpected ? !throws : throws;
    events.push({ t: doneAt, type: "status", taskId, status: failed ? "FAILED" : "COMPLETED", result: failed ? "error" : "null", invokedAt: doneAt - 5, by: "client", attempts: 1 });
  };
  submit(-2500);
  submit(-2000);
  for (let i = 0; i < operations; i++) submit((i * seconds * 1000) / operations + random.next() * 5);
  events.push({ t: seconds * 1000, type: "phase", phase: "end", name: "workload" });
  return events;
}

/** Faults like a chaos run's: pauses, kills, an API outage, three close together, one of zero length, one skipped, one never healed. */
const FAULTS: FaultSpec[] = [
  { start: 6000, end: 9000, description: "pause every worker", pause: true },
  { start: 10000, end: 13000, description: "kill -9 worker-1", kill: true },
  { start: 12500, end: 14000, description: "latency on worker-0's link" },
  { start: 13000, end: 13000, description: "restart the dispatcher" },
  { start: 13200, end: 13400, description: "cut worker-2's link" },
  { start: 22000, end: 25000, description: "kill -9 the API", api: true },
  { start: 30000, end: 33000, description: "pause every worker", pause: true },
  { start: 40000, description: "kill -9 worker-3", skipped: "worker-3 is still down" },
  { start: 45000, end: 46000, description: "kill -9 worker-0", kill: true },
  { start: 57000, description: "blackhole, never healed" },
];

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

function expectPng(file: string): void {
  expect(statSync(file).size).toBeGreaterThan(1000);
  const bytes = readFileSync(file);
  expect(bytes.subarray(0, 8).equals(PNG_SIGNATURE)).toBe(true);
  // IHDR: width and height, big-endian, at bytes 16 and 20.
  expect(bytes.readUInt32BE(16)).toBeGreaterThan(0);
  expect(bytes.readUInt32BE(20)).toBeGreaterThan(0);
}

const lastT = (history: readonly HistoryEvent[]) => history.reduce((max, event) => Math.max(max, event.t), 1);

function renderAll(dir: string, prefix: string, analysis: Analysis, history: readonly HistoryEvent[]): string[] {
  const end = lastT(history);
  const files = ["latency", "throughput", "states", "percentiles"].map((chart) => join(dir, `${prefix}-${chart}.png`));
  latencyChart(files[0], analysis, history, end, `${prefix}: latency of every task, by outcome`);
  throughputChart(files[1], analysis, end, `${prefix}: throughput`);
  statesChart(files[2], analysis, end, `${prefix}: tasks by state`);
  percentilesChart(files[3], analysis, end, `${prefix}: latency percentiles over time`);
  return files;
}

describe("chart helpers", () => {
  it("formats counts with thousands separators and ordinals in English", () => {
    expect(formatCount(0)).toBe("0");
    expect(formatCount(1234)).toBe("1,234");
    expect(formatCount(480000)).toBe("480,000");
    expect([1, 2, 3, 4, 10, 11, 12, 13, 21, 22, 23, 101, 111, 112].map(ordinal)).toEqual(
      ["1st", "2nd", "3rd", "4th", "10th", "11th", "12th", "13th", "21st", "22nd", "23rd", "101st", "111th", "112th"],
    );
  });

  it("thins to every k-th point, deterministically, to at most the limit", () => {
    expect(thinningStep(0, 100)).toBe(1);
    expect(thinningStep(100, 100)).toBe(1);
    expect(thinningStep(101, 100)).toBe(2);
    expect(thinningStep(480000, 20000)).toBe(24);
    const xs = Array.from({ length: 10 }, (_, i) => i);
    const ys = xs.map((x) => x * 10);
    expect(thin(xs, ys, 1)).toHaveLength(10);
    expect(thin(xs, ys, 3)).toEqual([{ x: 0, y: 0 }, { x: 3, y: 30 }, { x: 6, y: 60 }, { x: 9, y: 90 }]);
    for (const n of [1, 999, 1000, 1001, 480000]) {
      const every = thinningStep(n, 1000);
      expect(Math.ceil(n / every)).toBeLessThanOrEqual(1000);
    }
  });

  it("thins the scatter's series by one shared step, keeping small series whole", () => {
    expect(scatterSteps([100, 10, 0], 20000, 2000)).toEqual([1, 1, 1]);
    // 480,000 + 40,000 thinned together into what 20,000 minus the 500 kept whole leaves.
    const steps = scatterSteps([480000, 40000, 500, 0], 20000, 2000);
    expect(steps).toEqual([27, 27, 1, 1]);
    expect(Math.ceil(480000 / 27) + Math.ceil(40000 / 27) + 500).toBeLessThanOrEqual(20000);
  });

  it("takes the largest of a long array without spreading it", () => {
    const long = Array.from({ length: 300_000 }, (_, i) => i % 1000);
    expect(maximum(long)).toBe(999);
    expect(maximum([])).toBeUndefined();
    expect(maximum([-5, -2])).toBe(-2);
  });

  it("takes nearest-rank percentiles of sorted values as analysis.percentile does", () => {
    const random = new Random(3);
    for (const n of [1, 2, 7, 100, 1001]) {
      const values = Array.from({ length: n }, () => Math.round(random.next() * 1000));
      const sorted = Float64Array.from(values).sort();
      for (const p of [0, 1, 50, 95, 99, 100]) expect(percentileOfSorted(sorted, p)).toBe(percentile(values, p));
    }
    expect(percentileOfSorted([], 50)).toBeNaN();
  });

  it("staggers fault labels so that neighbours do not overlap", () => {
    const spans = [{ left: 0, right: 20 }, { left: 10, right: 30 }, { left: 25, right: 45 }, { left: 50, right: 70 }];
    expect(staggerRows(spans, 4)).toEqual([0, 1, 0, 0]);
    // Three on top of each other need three rows…
    expect(staggerRows([{ left: 0, right: 20 }, { left: 2, right: 22 }, { left: 4, right: 24 }], 4)).toEqual([0, 1, 2]);
    // …and past the limit the row that frees up first is reused.
    expect(staggerRows([{ left: 0, right: 20 }, { left: 2, right: 22 }, { left: 4, right: 24 }], 2)).toEqual([0, 1, 0]);
    expect(staggerRows([], 3)).toEqual([]);
  });

  it("counts a time in its second, and a time before the workload nowhere", () => {
    const counts = [0, 0, 0];
    for (const t of [-0.5, -1500, 0, 999, 1000, 2999.9, 3000, Number.NaN]) countInSecond(counts, t);
    expect(counts).toEqual([2, 1, 1]);
    expect(Object.keys(counts)).toEqual(["0", "1", "2"]);
  });

  it("names outcomes against what was expected", () => {
    const task = (status: "COMPLETED" | "FAILED" | undefined, expected: Expected) =>
      ({ expected, terminal: status && { t: 1, type: "status", taskId: "x", status, invokedAt: 0, by: "client" }, statuses: [] }) as unknown as TaskView;
    expect(outcomeOf(task("COMPLETED", ok))).toBe("completed");
    expect(outcomeOf(task("FAILED", failure))).toBe("failed as expected");
    expect(outcomeOf(task("FAILED", ok))).toBe("failed unexpectedly");
    expect(outcomeOf(task("COMPLETED", failure))).toBe("failed unexpectedly");
    expect(outcomeOf(task(undefined, ok))).toBeUndefined();
  });

  it("counts the tasks in each state at each sample, exactly", () => {
    const status = (taskId: string, s: string, t: number): HistoryEvent => ({ t, type: "status", taskId, status: s, result: null, invokedAt: t - 1, by: "client" }) as HistoryEvent;
    const accepted = (op: number, taskId: string, t: number): HistoryEvent[] => [
      { t: t - 5, type: "invoke", op, process: "c", kind: "noop", args: "[]", expected: ok },
      { t, type: "complete", op, outcome: "ok", taskId },
    ];
    const analysis = analyse([
      ...accepted(1, "b", -25), // before the workload: already queued at t = 0
      ...accepted(2, "a", 5),
      status("b", "QUEUED", 8),
      status("b", "RUNNING", 12),
      ...accepted(3, "c", 15), // never seen to start
      status("a", "RUNNING", 20),
      ...accepted(4, "d", 22),
      status("d", "COMPLETED", 28), // finished before anyone saw it run
      status("b", "FAILED", 33),
      status("a", "COMPLETED", 40),
      status("a", "COMPLETED", 45), // a second observation changes nothing
    ]);
    const counts = countStates(analysis.tasks.values(), 10, 6);
    expect(counts.times).toEqual([0, 10, 20, 30, 40, 50]);
    expect(counts.queued).toEqual([1, 2, 1, 1, 1, 1]);
    expect(counts.running).toEqual([0, 0, 2, 2, 0, 0]);
    expect(counts.done).toEqual([0, 0, 0, 1, 3, 3]);
  });

  it("counts states as the per-sample definition does, over a random history", () => {
    const history = syntheticHistory({ operations: 2000, seconds: 20, faults: FAULTS.slice(0, 3), seed: 11 });
    const tasks = [...analyse(history).tasks.values()];
    const step = 250;
    const samples = 90;
    const counts = countStates(tasks, step, samples);
    for (let i = 0; i < samples; i += 7) {
      const t = i * step;
      let queued = 0;
      let running = 0;
      let done = 0;
      for (const task of tasks) {
        if (t < task.acceptedAt) continue;
        const startedAt = task.statuses.find((s) => s.status !== "QUEUED" && s.status !== "MISSING")?.t;
        if (task.terminal && t >= task.terminal.t) done++;
        else if (startedAt !== undefined && t >= startedAt) running++;
        else queued++;
      }
      expect([counts.queued[i], counts.running[i], counts.done[i]]).toEqual([queued, running, done]);
    }
  });
});

describe("charts", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "faaslab-charts-"));
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("draws all four from a realistic small history, from one without faults, and from an empty one", () => {
    const history = syntheticHistory({ operations: 3600, seconds: 60, faults: FAULTS, seed: 7 });
    for (const file of renderAll(dir, "small", analyse(history), history)) expectPng(file);
    const calm = syntheticHistory({ operations: 500, seconds: 10, faults: [], seed: 8 });
    for (const file of renderAll(dir, "calm", analyse(calm), calm)) expectPng(file);
    for (const file of renderAll(dir, "empty", analyse([]), [])) expectPng(file);
  });

  it("draws all four from 500,000 operations in reasonable time", () => {
    const history = syntheticHistory({ operations: 500_000, seconds: 300, faults: FAULTS.map((f) => ({ ...f, start: f.start * 5, end: f.end && f.end * 5 })), seed: 42 });
    const analysis = analyse(history);
    expect(analysis.invoked).toBe(500_002);
    const started = performance.now();
    const files = renderAll(dir, "large", analysis, history);
    const seconds = (performance.now() - started) / 1000;
    console.log(`charts: four charts of ${formatCount(analysis.invoked)} operations (${formatCount(history.length)} events) drawn in ${seconds.toFixed(1)} s (bound 60 s)`);
    for (const file of files) expectPng(file);
    expect(seconds).toBeLessThan(60);
  }, 180_000);
});
