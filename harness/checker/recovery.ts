/**
 * recovery: after each fault ends, some task finishes as expected (COMPLETED, or FAILED when
 * it was meant to) within `withinMs`. The figure is the slowest recovery.
 */
import type { Analysis } from "../history/analysis.js";
import { MAX_DETAILS, type CheckResult } from "./types.js";

export interface Recovery {
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
  return analysis.faults.map((fault) => {
    const end = fault.end ?? fault.start;
    const next = completions.find((t) => t >= end);
    return { description: fault.description, end, recoveredAfter: next === undefined ? undefined : next - end };
  });
}

export function checkRecovery(analysis: Analysis, withinMs: number): CheckResult {
  const measured = recoveries(analysis);
  if (measured.length === 0) return { name: "recovery", verdict: "unknown", figure: "no faults happened", details: [] };
  const slow = measured.filter((r) => r.recoveredAfter === undefined || r.recoveredAfter > withinMs);
  const worst = Math.max(...measured.map((r) => r.recoveredAfter ?? Number.POSITIVE_INFINITY));
  return {
    name: "recovery",
    verdict: slow.length === 0 ? "pass" : "fail",
    figure: `slowest recovery ${Number.isFinite(worst) ? `${(worst / 1000).toFixed(2)} s` : "never"} after ${measured.length} faults (bound ${(withinMs / 1000).toFixed(1)} s)`,
    details: slow.slice(0, MAX_DETAILS).map((r) => `${r.description}, ended at ${(r.end / 1000).toFixed(1)} s: ${r.recoveredAfter === undefined ? "no task completed afterwards" : `next completion ${(r.recoveredAfter / 1000).toFixed(2)} s later`}`),
  };
}
