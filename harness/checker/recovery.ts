/**
 * recovery: after each fault ends, some task finishes as expected (COMPLETED, or FAILED when
 * it was meant to) within `withinMs`. The figure is the slowest recovery.
 */
import { injected, maximum, type Analysis } from "../history/analysis.js";
import { MAX_DETAILS, type CheckResult } from "./types.js";

export interface Recovery {
  /** The fault's number in the run (its index in `analysis.faults`). */
  fault: number;
  description: string;
  end: number;
  /** ms from the fault's end to the next task completion; undefined: none followed. */
  recoveredAfter?: number;
}

export function recoveries(analysis: Analysis): Recovery[] {
  const completions = [...analysis.tasks.values()]
    .filter((task) => task.terminal && (task.terminal.status === "COMPLETED") === task.expected.ok)
    .map((task) => task.terminal!.t)
    .sort((a, b) => a - b);
  // Skipped faults need no recovery; completions are sorted, so a binary search finds the next one.
  return injected(analysis).map((fault) => {
    const end = fault.end ?? fault.start;
    const next = completions[firstAtOrAfter(completions, end)];
    return { fault: fault.fault, description: fault.description, end, recoveredAfter: next === undefined ? undefined : next - end };
  });
}

function firstAtOrAfter(sorted: readonly number[], t: number): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (sorted[middle] < t) low = middle + 1;
    else high = middle;
  }
  return low;
}

export function checkRecovery(analysis: Analysis, withinMs: number): CheckResult {
  const all = recoveries(analysis);
  if (all.length === 0) return { name: "recovery", verdict: "unknown", figure: "no faults happened", details: [] };
  // A fault healed after the workload stopped (at the heal of an interrupted run, say), with no
  // task left to finish after it, says nothing about recovery either way: it is not measured.
  const unmeasurable = (r: Recovery) => r.recoveredAfter === undefined && r.end >= analysis.workload.end;
  const measured = all.filter((r) => !unmeasurable(r));
  const notMeasured = all.length - measured.length;
  const aside = notMeasured > 0 ? `; ${notMeasured} ended after the workload, with no task left to show recovery, not measured` : "";
  if (measured.length === 0) return { name: "recovery", verdict: "unknown", figure: `no fault could be measured${aside}`, details: [] };
  const slow = measured.filter((r) => r.recoveredAfter === undefined || r.recoveredAfter > withinMs);
  const worst = maximum(measured.map((r) => r.recoveredAfter ?? Number.POSITIVE_INFINITY))!;
  return {
    name: "recovery",
    verdict: slow.length === 0 ? "pass" : "fail",
    figure: `slowest recovery ${Number.isFinite(worst) ? `${(worst / 1000).toFixed(2)} s` : "never"} after ${measured.length === 1 ? "the one fault" : `${measured.length} faults`} (bound ${(withinMs / 1000).toFixed(1)} s)${aside}`,
    details: slow.slice(0, MAX_DETAILS).map((r) => `${r.description}, ended at ${(r.end / 1000).toFixed(1)} s: ${r.recoveredAfter === undefined ? "no task completed afterwards" : `next completion ${(r.recoveredAfter / 1000).toFixed(2)} s later`}`),
  };
}
