/**
 * capacity: at no time are more tasks RUNNING than the cluster has executors, as the harness's
 * status observations show. A status is true at some instant of the request that saw it, and
 * statuses only move forward, so a task seen RUNNING by one request and again by a later one
 * was certainly RUNNING from the first reply to the last request: the check counts only those
 * certain intervals (a lower bound of what ran at once), so it never accuses a system wrongly.
 *
 * During a fault, and for `grace` after it, a task whose worker was lost may stay RUNNING
 * while it runs again elsewhere (faaslab's RUNNING includes such tasks until they are claimed
 * again): those windows are not counted.
 */
import { injected, maximum, type Analysis } from "../history/analysis.js";
import { MAX_DETAILS, type CheckResult } from "./types.js";

interface Interval {
  start: number;
  end: number;
  taskId: string;
}

/** The part of [start, end] outside every window. */
function outside(interval: Interval, windows: readonly { start: number; end: number }[]): Interval[] {
  let pieces = [interval];
  for (const window of windows) {
    pieces = pieces.flatMap((piece) => {
      if (window.end <= piece.start || window.start >= piece.end) return [piece];
      return [
        ...(window.start > piece.start ? [{ ...piece, end: window.start }] : []),
        ...(window.end < piece.end ? [{ ...piece, start: window.end }] : []),
      ];
    });
  }
  return pieces;
}

/** Where the most intervals overlap: the count, an instant where it is reached, and the tasks then. */
function mostAtOnce(intervals: readonly Interval[]): { count: number; at: number; tasks: string[] } {
  // Ends before starts at the same instant: touching intervals do not overlap.
  const points = intervals.flatMap((interval) => [{ t: interval.start, delta: 1, interval }, { t: interval.end, delta: -1, interval }]).sort((a, b) => a.t - b.t || a.delta - b.delta);
  const open = new Set<Interval>();
  let best = { count: 0, at: 0, tasks: [] as string[] };
  for (const point of points) {
    if (point.delta > 0) open.add(point.interval);
    else open.delete(point.interval);
    if (open.size > best.count) best = { count: open.size, at: point.t, tasks: [...open].map((interval) => interval.taskId) };
  }
  return best;
}

export function checkCapacity(analysis: Analysis, graceMs: number): CheckResult {
  const name = "capacity";
  const executors = analysis.executors;
  if (executors === undefined) return { name, verdict: "unknown", figure: "the history does not say how many executors the cluster has", details: [] };
  const end = maximum([analysis.workload.end, ...injected(analysis).map((fault) => fault.start)]) ?? 0;
  const windows = injected(analysis).map((fault) => ({ start: fault.start, end: (fault.end ?? end) + graceMs }));
  const intervals: Interval[] = [];
  for (const task of analysis.tasks.values()) {
    const running = task.statuses.filter((status) => status.status === "RUNNING");
    if (running.length < 2) continue;
    const firstReply = -(maximum(running.map((status) => -status.t)) ?? 0);
    const lastRequest = maximum(running.map((status) => status.invokedAt)) ?? 0;
    if (lastRequest > firstReply) intervals.push(...outside({ start: firstReply, end: lastRequest, taskId: task.taskId }, windows));
  }
  if (intervals.length === 0) {
    return { name, verdict: "unknown", figure: `no task was seen RUNNING twice outside faults: nothing to count (${executors} executors)`, details: [] };
  }
  const most = mostAtOnce(intervals);
  return {
    name,
    verdict: most.count <= executors ? "pass" : "fail",
    figure: `at most ${most.count} tasks certainly RUNNING at once, on ${executors} executors (${intervals.length} intervals counted, faults and ${graceMs / 1000} s after them left out)`,
    details: most.count <= executors ? [] : [`at ${(most.at / 1000).toFixed(2)} s: ${most.count} tasks RUNNING, e.g. ${most.tasks.slice(0, MAX_DETAILS).join(", ")}`],
  };
}
