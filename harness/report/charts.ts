/**
 * The report's charts, drawn with Chart.js on a server-side canvas (@napi-rs/canvas, which
 * installs prebuilt from the npm registry) and written as PNG. Every time axis is seconds
 * since the workload started (the history's t = 0): what happened before it (t < 0) is left
 * off. The faults are shaded behind the data, as Jepsen's performance checker draws them, and
 * labelled F1, F2… (as in the report's table) in a strip above the plot, where no data covers
 * them.
 *
 * Every chart is linear (or n log n) in the size of the history, and none hands Chart.js more
 * than a bounded number of points: past MAX_SCATTER_POINTS, the latency scatter keeps every
 * k-th point of its series (the same k for all, so their densities compare; a series of at most
 * SCATTER_SERIES_KEPT_WHOLE points, such as a handful of unexpected failures, is kept whole) and
 * says so in its legend.
 */
import { writeFileSync } from "node:fs";
import { createCanvas } from "@napi-rs/canvas";
import { Chart, layouts, registerables, type ChartArea, type ChartConfiguration, type LayoutItem, type Plugin } from "chart.js";
import { latencyOf, maximum, type Analysis, type TaskView } from "../history/analysis.js";
import { percentileOfSorted } from "../percentile.js";
import type { HistoryEvent } from "../history/history.js";

Chart.register(...registerables);

const WIDTH = 1000;
const HEIGHT = 440;

/** The most points the latency scatter draws (all series together); past it they are thinned to every k-th point. */
export const MAX_SCATTER_POINTS = 20_000;
/** A series of the scatter with at most this many points is never thinned. */
export const SCATTER_SERIES_KEPT_WHOLE = 2_000;
/** The states chart samples the history this many times at most… */
export const STATE_SAMPLES = 400;
/** …and never more often than every this many ms. */
export const MIN_STATE_STEP_MS = 250;
/** The percentiles chart cuts the time axis into this many buckets at most… */
export const PERCENTILE_BUCKETS = 60;
/** …of at least this many ms. */
export const MIN_PERCENTILE_BUCKET_MS = 1000;
/** Fault labels are staggered over at most this many rows (past it, neighbours may overlap). */
export const MAX_FAULT_LABEL_ROWS = 4;
/** A log-scale latency axis cannot show 0: shorter latencies are drawn at this many ms. */
const MIN_LATENCY_MS = 0.1;

const COLORS = {
  completed: "#1b9e77",
  expectedFailure: "#4c78a8",
  unexpected: "#d62728",
  unanswered: "#9467bd",
  queued: "#9ecae1",
  running: "#2171b5",
  done: "#238b45",
  submitted: "#555555",
  fault: "rgba(228, 26, 28, 0.13)",
  faultMark: "rgba(200, 20, 20, 0.55)",
  faultText: "#a01414",
  skipped: "#8c8c8c",
};

/** 1234567 → "1,234,567". */
export function formatCount(n: number): string {
  return n.toLocaleString("en-US");
}

/** 1 → "1st", 2 → "2nd", 11 → "11th", 22 → "22nd". */
export function ordinal(n: number): string {
  const tens = n % 100;
  const suffix = tens >= 11 && tens <= 13 ? "th" : n % 10 === 1 ? "st" : n % 10 === 2 ? "nd" : n % 10 === 3 ? "rd" : "th";
  return `${n}${suffix}`;
}

/** Keep every k-th of n points so that at most max remain: k (1 when nothing needs thinning). */
export function thinningStep(n: number, max: number): number {
  return n <= max ? 1 : Math.ceil(n / Math.max(1, max));
}

/**
 * The thinning step of each series of a scatter (series sizes `sizes`): those of at most
 * `keptWhole` points keep all (1), the others share the one step that brings the total to at
 * most `max`, so that their densities on the chart stay comparable.
 */
export function scatterSteps(sizes: readonly number[], max = MAX_SCATTER_POINTS, keptWhole = SCATTER_SERIES_KEPT_WHOLE): number[] {
  let whole = 0;
  let rest = 0;
  for (const n of sizes) {
    if (n <= keptWhole) whole += n;
    else rest += n;
  }
  const every = thinningStep(rest, Math.max(max - whole, 1));
  return sizes.map((n) => (n <= keptWhole ? 1 : every));
}

/** The points at indexes 0, k, 2k… of parallel arrays xs and ys, as Chart.js points. */
export function thin(xs: readonly number[], ys: readonly number[], every: number): { x: number; y: number }[] {
  const points: { x: number; y: number }[] = [];
  for (let i = 0; i < xs.length; i += every) points.push({ x: xs[i], y: ys[i] });
  return points;
}

/**
 * Assigns each label (a horizontal span in pixels, in order of position) a row so that labels
 * in the same row are at least `gap` apart: the first row where it fits, else a new row, and
 * once `maxRows` are in use the row whose last label ends first.
 */
export function staggerRows(spans: readonly { left: number; right: number }[], maxRows: number, gap = 4): number[] {
  const ends: number[] = [];
  return spans.map(({ left, right }) => {
    let row = ends.findIndex((end) => end + gap <= left);
    if (row === -1 && ends.length < maxRows) row = ends.push(Number.NEGATIVE_INFINITY) - 1;
    if (row === -1) row = ends.indexOf(Math.min(...ends));
    ends[row] = Math.max(ends[row], right);
    return row;
  });
}

export interface StateCounts {
  /** The time of each sample (ms), 0, step, 2 step… */
  times: number[];
  queued: number[];
  running: number[];
  done: number[];
}

/**
 * How many tasks were queued, running and done at each sample time, as far as anyone saw: a
 * task is queued from its acceptance until it is first seen running (or finished), running
 * until it is first seen terminal, and done from then on. One pass over the tasks with
 * difference arrays, then one over the samples: linear, whatever the number of either.
 */
export function countStates(tasks: Iterable<TaskView>, step: number, samples: number): StateCounts {
  const queued = new Array<number>(samples + 1).fill(0);
  const running = new Array<number>(samples + 1).fill(0);
  const done = new Array<number>(samples + 1).fill(0);
  // The first sample at or after t (samples when none is): a task in a state over [from, to)
  // is counted at samples index(from) … index(to) - 1.
  const index = (t: number) => (t === Number.POSITIVE_INFINITY ? samples : Math.min(samples, Math.max(0, Math.ceil(t / step))));
  const add = (counts: number[], from: number, to: number) => {
    const i = index(from);
    const j = index(to);
    if (j <= i) return;
    counts[i]++;
    counts[j]--;
  };
  for (const task of tasks) {
    const acceptedAt = task.acceptedAt;
    const doneAt = Math.max(acceptedAt, task.terminal?.t ?? Number.POSITIVE_INFINITY);
    const seenStarted = task.statuses.find((s) => s.status === "RUNNING" || s.status === "COMPLETED" || s.status === "FAILED")?.t;
    const startedAt = Math.min(doneAt, Math.max(acceptedAt, seenStarted ?? Number.POSITIVE_INFINITY));
    add(queued, acceptedAt, startedAt);
    add(running, startedAt, doneAt);
    add(done, doneAt, Number.POSITIVE_INFINITY);
  }
  const times: number[] = [];
  const sums = (diffs: number[]) => {
    const counts = new Array<number>(samples);
    let sum = 0;
    for (let i = 0; i < samples; i++) counts[i] = sum += diffs[i];
    return counts;
  };
  for (let i = 0; i < samples; i++) times.push(i * step);
  return { times, queued: sums(queued), running: sums(running), done: sums(done) };
}

/** How a finished task ended, against what the harness expected of it. */
export type Outcome = "completed" | "failed as expected" | "failed unexpectedly";

/**
 * COMPLETED as expected; FAILED as expected (the workload's `throw` kind fails on purpose);
 * anything else, FAILED when a result was expected or COMPLETED when a failure was, is unexpected.
 */
export function outcomeOf(task: TaskView): Outcome | undefined {
  if (!task.terminal) return undefined;
  const completed = task.terminal.status === "COMPLETED";
  if (completed === task.expected.ok) return completed ? "completed" : "failed as expected";
  return "failed unexpectedly";
}

// ---------------------------------------------------------------------------------------
// Faults: shaded behind the data, labelled in a strip above the plot.

const LABEL_FONT = "bold 11px sans-serif";
const LABEL_ROW_HEIGHT = 15;
/** The band at the strip's bottom that repeats every fault's interval where no data can cover it. */
const BAND_HEIGHT = 4;
const STRIP_PADDING = 4;

interface FaultMark {
  label: string;
  /** A fault of the schedule that did not happen: labelled (in grey) where it was due, never shaded. */
  skipped: boolean;
  /** Seconds since the workload started. */
  start: number;
  end: number;
}

function faultMarks(faults: Analysis["faults"], end: number): FaultMark[] {
  return faults.map((fault, index) => {
    // Read structurally: histories written before skipped faults were recorded have no such field.
    const skipped = (fault as { skipped?: unknown }).skipped !== undefined;
    return { label: skipped ? `F${index + 1} skipped` : `F${index + 1}`, skipped, start: fault.start / 1000, end: skipped ? fault.start / 1000 : (fault.end ?? end) / 1000 };
  });
}

/** The strip above the chart area where the fault labels go: a Chart.js layout box, so the plot makes room for it. */
class FaultStrip implements LayoutItem {
  readonly position = "top" as const;
  /** Nearer the chart area than the legend (1000) and the title (2000). */
  readonly weight = 0;
  readonly fullSize = false;
  /** Read by Chart.js's layout (stack options). */
  readonly options = {};
  width = 0;
  height = 0;
  left = 0;
  top = 0;
  right = 0;
  bottom = 0;
  private rows = 1;

  constructor(
    private readonly chart: Chart,
    private readonly marks: FaultMark[],
    private readonly axisMax: number,
  ) {}

  isHorizontal(): boolean {
    return true;
  }

  private spans(toPixel: (seconds: number) => number, areaLeft: number, areaRight: number) {
    const ctx = this.chart.ctx;
    ctx.save();
    ctx.font = LABEL_FONT;
    const spans = this.marks.map((mark) => {
      const width = ctx.measureText(mark.label).width + 6;
      const anchor = Math.min(Math.max(toPixel(mark.start), areaLeft), areaRight);
      const left = Math.min(Math.max(anchor - 3, areaLeft), areaRight - width);
      return { left, right: left + width, anchor };
    });
    ctx.restore();
    return spans;
  }

  /** Called during layout with the chart area's width: estimate the rows the labels need there. */
  update(width: number): void {
    this.width = width;
    const spans = this.spans((seconds) => (seconds / this.axisMax) * width, 0, width);
    this.rows = (maximum(staggerRows(spans, MAX_FAULT_LABEL_ROWS)) ?? 0) + 1;
    this.height = STRIP_PADDING + this.rows * LABEL_ROW_HEIGHT + BAND_HEIGHT + 2;
  }

  draw(): void {
    const { ctx, chartArea, scales } = this.chart;
    const toPixel = (seconds: number) => scales.x.getPixelForValue(seconds);
    const spans = this.spans(toPixel, chartArea.left, chartArea.right);
    const rows = staggerRows(spans, this.rows);
    const bandTop = this.bottom - BAND_HEIGHT - 1;
    // Row 0 is the one nearest the plot.
    const rowTop = (row: number) => bandTop - (row + 1) * LABEL_ROW_HEIGHT;
    ctx.save();
    // The band: every fault's interval, at least 2 px wide (a fault of zero length included).
    ctx.fillStyle = COLORS.faultMark;
    for (const mark of this.marks) {
      if (mark.skipped) continue;
      const x1 = Math.max(toPixel(mark.start), chartArea.left);
      const x2 = Math.min(Math.max(toPixel(mark.end), x1 + 2), chartArea.right);
      ctx.fillRect(x1, bandTop, Math.max(x2 - x1, 2), BAND_HEIGHT);
    }
    // Leaders from each label down to where its fault starts, then the labels over them.
    ctx.lineWidth = 1;
    spans.forEach((span, i) => {
      ctx.strokeStyle = this.marks[i].skipped ? COLORS.skipped : COLORS.faultMark;
      ctx.beginPath();
      ctx.moveTo(Math.round(span.anchor) + 0.5, rowTop(rows[i]) + LABEL_ROW_HEIGHT - 2);
      ctx.lineTo(Math.round(span.anchor) + 0.5, bandTop);
      ctx.stroke();
    });
    ctx.font = LABEL_FONT;
    ctx.textBaseline = "middle";
    spans.forEach((span, i) => {
      const top = rowTop(rows[i]);
      ctx.fillStyle = "white";
      ctx.fillRect(span.left, top + 1, span.right - span.left, LABEL_ROW_HEIGHT - 3);
      ctx.strokeStyle = this.marks[i].skipped ? COLORS.skipped : COLORS.faultMark;
      ctx.strokeRect(span.left + 0.5, top + 1.5, span.right - span.left - 1, LABEL_ROW_HEIGHT - 4);
      ctx.fillStyle = this.marks[i].skipped ? COLORS.skipped : COLORS.faultText;
      ctx.fillText(this.marks[i].label, span.left + 3, top + LABEL_ROW_HEIGHT / 2);
    });
    ctx.restore();
  }
}

/**
 * Shades each fault's interval behind the data (a fault of zero length as a 2 px line), and
 * labels them above the plot, numbered as in the report's table (skipped faults too, in grey and unshaded).
 */
function faultShading(faults: Analysis["faults"], end: number): Plugin {
  const marks = faultMarks(faults, end);
  let strip: FaultStrip | undefined;
  return {
    id: "faults",
    beforeInit(chart) {
      if (marks.length === 0) return;
      strip = new FaultStrip(chart, marks, axisEnd(end));
      layouts.addBox(chart, strip);
    },
    beforeDatasetsDraw(chart) {
      const { ctx, chartArea, scales } = chart;
      ctx.save();
      clip(ctx, chartArea);
      for (const mark of marks) {
        if (mark.skipped) continue;
        const x1 = scales.x.getPixelForValue(mark.start);
        const x2 = scales.x.getPixelForValue(mark.end);
        if (x2 - x1 >= 2) {
          ctx.fillStyle = COLORS.fault;
          ctx.fillRect(x1, chartArea.top, x2 - x1, chartArea.bottom - chartArea.top);
        } else {
          ctx.fillStyle = COLORS.faultMark;
          ctx.fillRect(x1 - 1, chartArea.top, 2, chartArea.bottom - chartArea.top);
        }
      }
      ctx.restore();
    },
    afterDestroy(chart) {
      if (strip) layouts.removeBox(chart, strip);
    },
  };
}

function clip(ctx: Chart["ctx"], area: ChartArea): void {
  ctx.beginPath();
  ctx.rect(area.left, area.top, area.right - area.left, area.bottom - area.top);
  ctx.clip();
}

const whiteBackground: Plugin = {
  id: "background",
  beforeDraw(chart) {
    chart.ctx.save();
    chart.ctx.fillStyle = "white";
    chart.ctx.fillRect(0, 0, chart.width, chart.height);
    chart.ctx.restore();
  },
};

/** Draws one Chart.js chart to a PNG file (white background, no animation). */
export function render(file: string, config: ChartConfiguration, plugins: Plugin[] = []): void {
  const canvas = createCanvas(WIDTH, HEIGHT);
  const chart = new Chart(canvas.getContext("2d") as unknown as ConstructorParameters<typeof Chart>[0], {
    ...config,
    options: { ...config.options, responsive: false, animation: false, events: [] },
    plugins: [whiteBackground, ...plugins],
  } as ChartConfiguration);
  writeFileSync(file, canvas.toBuffer("image/png"));
  chart.destroy();
}

/** The time axis's end: the whole second after the history's last event. */
const axisEnd = (end: number) => Math.max(1, Math.floor(end / 1000) + 1);

const timeAxis = (end: number) => ({
  type: "linear" as const,
  min: 0,
  max: axisEnd(end),
  title: { display: true, text: "time since the workload started (s)" },
});

/**
 * Legend entries in the order of the datasets, whatever order they are drawn in, each with a
 * sample in the dataset's own point style: `sampleWidth` wide, long enough for a line's dashes.
 */
const legendOf = (sampleWidth: number) => ({
  labels: {
    sort: (a: { datasetIndex?: number }, b: { datasetIndex?: number }) => (a.datasetIndex ?? 0) - (b.datasetIndex ?? 0),
    usePointStyle: true,
    boxHeight: 8,
    pointStyleWidth: sampleWidth,
  },
});
const legend = legendOf(10);
const lineLegend = legendOf(26);
/** The legend's sample of a line dataset is a stretch of line, of an area a square. */
const lineSample = { pointStyle: "line" as const };
const areaSample = { pointStyle: "rect" as const };

/** A scatter series: its points from t = 0 on, and how many came before. */
class Series {
  readonly xs: number[] = [];
  readonly ys: number[] = [];
  before = 0;

  add(tMs: number, latency: number): void {
    if (tMs < 0) {
      this.before++;
      return;
    }
    this.xs.push(tMs / 1000);
    this.ys.push(Math.max(latency, MIN_LATENCY_MS));
  }

  get size(): number {
    return this.xs.length;
  }

  /** The points to draw (every `every`-th) and a legend label that says how many there were and which are shown. */
  dataset(name: string, every: number): { label: string; data: { x: number; y: number }[] } {
    const n = this.xs.length;
    const shown = every === 1 ? formatCount(n) : `every ${ordinal(every)} of ${formatCount(n)} shown`;
    const before = this.before > 0 ? `; ${formatCount(this.before)} more before the workload` : "";
    return { label: `${name} (${shown}${before})`, data: thin(this.xs, this.ys, every) };
  }
}

/**
 * Every task's latency against when it was submitted, log scale, by outcome against what was
 * expected. `_history` is kept for callers: the analysis's client errors say the same.
 */
export function latencyChart(file: string, analysis: Analysis, _history: readonly HistoryEvent[], end: number, title: string): void {
  const series = { completed: new Series(), "failed as expected": new Series(), "failed unexpectedly": new Series() };
  for (const task of analysis.tasks.values()) {
    const outcome = outcomeOf(task);
    if (outcome) series[outcome].add(task.invokedAt, latencyOf(task)!);
  }
  // Execute requests that were refused or whose outcome is unknown, at the time they took.
  const unanswered = new Series();
  for (const error of analysis.clientErrors) unanswered.add(error.invokedAt, error.completedAt - error.invokedAt);
  const all = [series.completed, series["failed as expected"], series["failed unexpectedly"], unanswered];
  const [completed, expectedFailures, unexpected, refused] = scatterSteps(all.map((s) => s.size));
  const common = { parsing: false as const, borderWidth: 0 };
  render(file, {
    type: "scatter",
    data: {
      datasets: [
        // `order`: the lower is drawn the later, so the rare and worrying points are drawn over the many.
        { ...series.completed.dataset("completed", completed), ...common, backgroundColor: COLORS.completed, pointRadius: 1.5, pointStyle: "circle", order: 4 },
        { ...series["failed as expected"].dataset("failed as expected", expectedFailures), ...common, backgroundColor: COLORS.expectedFailure, pointRadius: 2.5, pointStyle: "rect", order: 3 },
        { ...series["failed unexpectedly"].dataset("failed unexpectedly", unexpected), ...common, borderColor: COLORS.unexpected, backgroundColor: COLORS.unexpected, borderWidth: 2, pointRadius: 4, pointStyle: "crossRot", order: 1 },
        { ...unanswered.dataset("not accepted or unknown", refused), ...common, backgroundColor: COLORS.unanswered, pointRadius: 3, pointStyle: "triangle", order: 2 },
      ],
    },
    options: {
      plugins: { title: { display: true, text: title }, legend },
      scales: { x: timeAxis(end), y: { type: "logarithmic", title: { display: true, text: "latency, submission to result (ms)" } } },
    },
  }, [faultShading(analysis.faults, end)]);
}

/** Counts time t (ms) in its second, if it is one of counts' seconds (a time before the workload, t < 0, is not). */
export function countInSecond(counts: number[], t: number): void {
  const second = Math.floor(t / 1000);
  if (second >= 0 && second < counts.length) counts[second]++;
}

/** Tasks submitted and finished per second. */
export function throughputChart(file: string, analysis: Analysis, end: number, title: string): void {
  const seconds = axisEnd(end);
  const accepted = new Array<number>(seconds).fill(0);
  const finished = new Array<number>(seconds).fill(0);
  for (const task of analysis.tasks.values()) {
    countInSecond(accepted, task.acceptedAt);
    if (task.terminal) countInSecond(finished, task.terminal.t);
  }
  const total = (counts: number[]) => counts.reduce((sum, n) => sum + n, 0);
  const points = (counts: number[]) => counts.map((y, x) => ({ x: x + 0.5, y }));
  render(file, {
    type: "line",
    data: {
      datasets: [
        { label: `finished per second (${formatCount(total(finished))} in all)`, data: points(finished), borderColor: COLORS.completed, backgroundColor: COLORS.completed, pointRadius: 0, borderWidth: 2, ...lineSample, order: 2 },
        { label: `accepted per second (${formatCount(total(accepted))} in all)`, data: points(accepted), borderColor: COLORS.submitted, backgroundColor: COLORS.submitted, pointRadius: 0, borderWidth: 1.5, borderDash: [5, 3], ...lineSample, order: 1 },
      ],
    },
    options: {
      plugins: { title: { display: true, text: title }, legend: lineLegend },
      scales: { x: timeAxis(end), y: { beginAtZero: true, title: { display: true, text: "tasks per second" } } },
    },
  }, [faultShading(analysis.faults, end)]);
}

/**
 * How many tasks were queued, running and done at each moment, as far as anyone saw. Done
 * climbs into the thousands while queued and running stay in the tens, so done is a line on its
 * own right-hand axis and queued and running are stacked on the left, on an axis scaled to them.
 */
export function statesChart(file: string, analysis: Analysis, end: number, title: string): void {
  const step = Math.max(MIN_STATE_STEP_MS, Math.ceil(end / STATE_SAMPLES));
  const samples = Math.max(1, Math.floor(end / step) + 1);
  const counts = countStates(analysis.tasks.values(), step, samples);
  const points = (values: number[]) => values.map((y, i) => ({ x: counts.times[i] / 1000, y }));
  const peak = (values: number[]) => formatCount(maximum(values) ?? 0);
  render(file, {
    type: "line",
    data: {
      datasets: [
        { label: `queued (at most ${peak(counts.queued)})`, data: points(counts.queued), yAxisID: "y", stack: "waiting", borderColor: COLORS.queued, backgroundColor: COLORS.queued, fill: "origin", pointRadius: 0, borderWidth: 1, ...areaSample, order: 1 },
        { label: `running (at most ${peak(counts.running)})`, data: points(counts.running), yAxisID: "y", stack: "waiting", borderColor: COLORS.running, backgroundColor: COLORS.running, fill: "-1", pointRadius: 0, borderWidth: 1, ...areaSample, order: 1 },
        { label: `done, right-hand axis (${peak(counts.done)} by the end)`, data: points(counts.done), yAxisID: "done", borderColor: COLORS.done, backgroundColor: COLORS.done, fill: false, pointRadius: 0, borderWidth: 2.5, ...lineSample, order: 0 },
      ],
    },
    options: {
      plugins: { title: { display: true, text: title }, legend: lineLegend },
      scales: {
        x: timeAxis(end),
        y: { position: "left", stacked: true, beginAtZero: true, ticks: { precision: 0 }, title: { display: true, text: "tasks queued or running (stacked)" } },
        done: { position: "right", beginAtZero: true, ticks: { precision: 0 }, grid: { drawOnChartArea: false }, title: { display: true, text: "tasks done (completed or failed)" } },
      },
    },
  }, [faultShading(analysis.faults, end)]);
}

/** Latency percentiles of the tasks submitted in each time bucket, and the slowest. */
export function percentilesChart(file: string, analysis: Analysis, end: number, title: string): void {
  const bucket = Math.max(MIN_PERCENTILE_BUCKET_MS, Math.ceil(end / PERCENTILE_BUCKETS / 1000) * 1000);
  const buckets: number[][] = [];
  let counted = 0;
  for (const task of analysis.tasks.values()) {
    const latency = latencyOf(task);
    if (latency === undefined || task.invokedAt < 0) continue;
    (buckets[Math.floor(task.invokedAt / bucket)] ??= []).push(latency);
    counted++;
  }
  const sorted: { x: number; values: Float64Array }[] = [];
  buckets.forEach((values, key) => {
    if (values) sorted.push({ x: ((key + 0.5) * bucket) / 1000, values: Float64Array.from(values).sort() });
  });
  const line = (p: number) => sorted.map(({ x, values }) => ({ x, y: Math.max(percentileOfSorted(values, p), MIN_LATENCY_MS) }));
  const style = (color: string) => ({ borderColor: color, backgroundColor: color, pointRadius: 1.5, borderWidth: 1.5, ...lineSample });
  render(file, {
    type: "line",
    data: {
      datasets: [
        { label: "p50", data: line(50), ...style(COLORS.completed) },
        { label: "p95", data: line(95), ...style("#d95f02") },
        { label: "p99", data: line(99), ...style(COLORS.unanswered) },
        { label: "slowest", data: line(100), ...style("#999999"), borderDash: [4, 3], pointRadius: 0, borderWidth: 1 },
      ],
    },
    options: {
      plugins: {
        title: { display: true, text: title },
        subtitle: { display: true, text: `${counted === 0 ? "no" : formatCount(counted)} finished tasks, grouped by when they were submitted, ${bucket / 1000} s to a group` },
        legend: lineLegend,
      },
      scales: { x: timeAxis(end), y: { type: "logarithmic", title: { display: true, text: "latency, submission to result (ms)" } } },
    },
  }, [faultShading(analysis.faults, end)]);
}
