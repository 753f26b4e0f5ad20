/**
 * The report's charts, drawn with Chart.js on a server-side canvas (@napi-rs/canvas, which
 * installs prebuilt from the npm registry) and written as PNG. Every time axis is seconds
 * since the run started, with the faults shaded, as Jepsen's performance checker draws them.
 */
import { writeFileSync } from "node:fs";
import { createCanvas } from "@napi-rs/canvas";
import { Chart, registerables, type ChartConfiguration, type Plugin } from "chart.js";
import { latencyOf, percentile, type Analysis } from "../history/analysis.js";
import type { HistoryEvent } from "../history/history.js";

Chart.register(...registerables);

const WIDTH = 1000;
const HEIGHT = 420;
const COLORS = { ok: "#1b9e77", fail: "#d95f02", info: "#7570b3", queued: "#a6cee3", running: "#1f78b4", done: "#b2df8a", submitted: "#888888" };

/** Shades each fault's interval and labels it, behind the data. */
function faultShading(faults: Analysis["faults"], end: number): Plugin {
  return {
    id: "faults",
    beforeDatasetsDraw(chart) {
      const { ctx, chartArea, scales } = chart;
      ctx.save();
      faults.forEach((fault, index) => {
        const x1 = scales.x.getPixelForValue(fault.start / 1000);
        const x2 = Math.max(x1 + 2, scales.x.getPixelForValue((fault.end ?? end) / 1000));
        ctx.fillStyle = "rgba(228, 26, 28, 0.13)";
        ctx.fillRect(x1, chartArea.top, x2 - x1, chartArea.bottom - chartArea.top);
        ctx.fillStyle = "rgba(160, 20, 20, 0.9)";
        ctx.font = "11px sans-serif";
        ctx.fillText(`F${index + 1}`, x1 + 2, chartArea.top + 12 + (index % 3) * 12);
      });
      ctx.restore();
    },
  };
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
    options: { ...config.options, responsive: false, animation: false },
    plugins: [whiteBackground, ...plugins],
  } as ChartConfiguration);
  writeFileSync(file, canvas.toBuffer("image/png"));
  chart.destroy();
}

const timeAxis = (end: number) => ({ type: "linear" as const, min: 0, max: Math.ceil(end / 1000), title: { display: true, text: "time since the run started (s)" } });

/** Every task's latency against when it was submitted, log scale, coloured by outcome. */
export function latencyChart(file: string, analysis: Analysis, history: readonly HistoryEvent[], end: number, title: string): void {
  const completed: { x: number; y: number }[] = [];
  const failed: { x: number; y: number }[] = [];
  for (const task of analysis.tasks.values()) {
    const latency = latencyOf(task);
    if (latency === undefined) continue;
    (task.terminal!.status === "COMPLETED" ? completed : failed).push({ x: task.invokedAt / 1000, y: Math.max(latency, 0.1) });
  }
  // Execute requests that were refused or whose outcome is unknown, at the time they took.
  const invoked = new Map<number, number>();
  const unanswered: { x: number; y: number }[] = [];
  for (const event of history) {
    if (event.type === "invoke") invoked.set(event.op, event.t);
    if (event.type === "complete" && event.outcome !== "ok") {
      const start = invoked.get(event.op) ?? event.t;
      unanswered.push({ x: start / 1000, y: Math.max(event.t - start, 0.1) });
    }
  }
  render(file, {
    type: "scatter",
    data: {
      datasets: [
        { label: `completed (${completed.length})`, data: completed, backgroundColor: COLORS.ok, pointRadius: 1.5 },
        { label: `failed (${failed.length})`, data: failed, backgroundColor: COLORS.fail, pointRadius: 2 },
        { label: `not accepted or unknown (${unanswered.length})`, data: unanswered, backgroundColor: COLORS.info, pointRadius: 2, pointStyle: "triangle" },
      ],
    },
    options: {
      plugins: { title: { display: true, text: title } },
      scales: { x: timeAxis(end), y: { type: "logarithmic", title: { display: true, text: "latency, submission to result (ms)" } } },
    },
  }, [faultShading(analysis.faults, end)]);
}

/** Tasks submitted and finished per second. */
export function throughputChart(file: string, analysis: Analysis, end: number, title: string): void {
  const seconds = Math.ceil(end / 1000) + 1;
  const finished = new Array<number>(seconds).fill(0);
  const submitted = new Array<number>(seconds).fill(0);
  for (const task of analysis.tasks.values()) {
    submitted[Math.floor(task.acceptedAt / 1000)]++;
    if (task.terminal) finished[Math.floor(task.terminal.t / 1000)]++;
  }
  const points = (counts: number[]) => counts.map((y, x) => ({ x: x + 0.5, y }));
  render(file, {
    type: "line",
    data: {
      datasets: [
        { label: "finished per second", data: points(finished), borderColor: COLORS.ok, backgroundColor: COLORS.ok, pointRadius: 0, borderWidth: 2 },
        { label: "accepted per second", data: points(submitted), borderColor: COLORS.submitted, backgroundColor: COLORS.submitted, pointRadius: 0, borderWidth: 1, borderDash: [4, 3] },
      ],
    },
    options: {
      plugins: { title: { display: true, text: title } },
      scales: { x: timeAxis(end), y: { beginAtZero: true, title: { display: true, text: "tasks per second" } } },
    },
  }, [faultShading(analysis.faults, end)]);
}

/** How many tasks were queued, running and done at each moment, as far as anyone saw. */
export function statesChart(file: string, analysis: Analysis, end: number, title: string): void {
  const step = Math.max(250, Math.ceil(end / 400));
  const samples = Math.ceil(end / step) + 1;
  const queued = new Array<number>(samples).fill(0);
  const running = new Array<number>(samples).fill(0);
  const done = new Array<number>(samples).fill(0);
  for (const task of analysis.tasks.values()) {
    const startedAt = task.statuses.find((s) => s.status === "RUNNING" || s.status === "COMPLETED" || s.status === "FAILED")?.t;
    const doneAt = task.terminal?.t ?? Number.POSITIVE_INFINITY;
    for (let i = Math.floor(task.acceptedAt / step); i < samples; i++) {
      const t = i * step;
      if (t >= doneAt) done[i]++;
      else if (startedAt !== undefined && t >= startedAt) running[i]++;
      else queued[i]++;
    }
  }
  const points = (counts: number[]) => counts.map((y, i) => ({ x: (i * step) / 1000, y }));
  render(file, {
    type: "line",
    data: {
      datasets: [
        { label: "queued", data: points(queued), borderColor: COLORS.queued, backgroundColor: COLORS.queued, fill: true, pointRadius: 0 },
        { label: "running", data: points(running), borderColor: COLORS.running, backgroundColor: COLORS.running, fill: true, pointRadius: 0 },
        { label: "done", data: points(done), borderColor: COLORS.done, backgroundColor: COLORS.done, fill: true, pointRadius: 0 },
      ],
    },
    options: {
      plugins: { title: { display: true, text: title } },
      scales: { x: timeAxis(end), y: { stacked: true, beginAtZero: true, title: { display: true, text: "tasks" } } },
    },
  }, [faultShading(analysis.faults, end)]);
}

/** Latency percentiles of the tasks submitted in each time bucket. */
export function percentilesChart(file: string, analysis: Analysis, end: number, title: string): void {
  const bucket = Math.max(1000, Math.ceil(end / 60 / 1000) * 1000);
  const byBucket = new Map<number, number[]>();
  for (const task of analysis.tasks.values()) {
    const latency = latencyOf(task);
    if (latency === undefined) continue;
    const key = Math.floor(task.invokedAt / bucket);
    byBucket.set(key, [...(byBucket.get(key) ?? []), latency]);
  }
  const keys = [...byBucket.keys()].sort((a, b) => a - b);
  const line = (p: number) => keys.map((key) => ({ x: ((key + 0.5) * bucket) / 1000, y: Math.max(percentile(byBucket.get(key)!, p), 0.1) }));
  render(file, {
    type: "line",
    data: {
      datasets: [
        { label: "p50", data: line(50), borderColor: "#1b9e77", backgroundColor: "#1b9e77", pointRadius: 1 },
        { label: "p95", data: line(95), borderColor: "#d95f02", backgroundColor: "#d95f02", pointRadius: 1 },
        { label: "p99", data: line(99), borderColor: "#7570b3", backgroundColor: "#7570b3", pointRadius: 1 },
      ],
    },
    options: {
      plugins: { title: { display: true, text: title } },
      scales: { x: timeAxis(end), y: { type: "logarithmic", title: { display: true, text: `latency per ${bucket / 1000} s bucket (ms)` } } },
    },
  }, [faultShading(analysis.faults, end)]);
}
