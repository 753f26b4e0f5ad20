/**
 * monotonic-status: no task is seen moving backwards (QUEUED < RUNNING < COMPLETED|FAILED).
 * Observations overlap in time, so only a pair where one request was answered before the
 * other was sent can show a move: if the later request saw an earlier state, it went back.
 */
import type { Analysis } from "../history/analysis.js";
import { MAX_DETAILS, type CheckResult } from "./types.js";

const RANK: Record<string, number> = { QUEUED: 0, RUNNING: 1, COMPLETED: 2, FAILED: 2 };

export function checkMonotonicStatus(analysis: Analysis): CheckResult {
  const problems: string[] = [];
  let observations = 0;
  for (const task of analysis.tasks.values()) {
    const seen = task.statuses.filter((status) => status.status in RANK);
    observations += seen.length;
    // The highest rank among requests answered so far, scanning requests by when they were sent.
    const byAnswer = [...seen].sort((a, b) => a.t - b.t);
    for (const later of seen) {
      const earlier = byAnswer.find((candidate) => candidate.t < later.invokedAt && RANK[candidate.status] > RANK[later.status]);
      if (earlier) {
        problems.push(`${task.taskId} was ${earlier.status} at ${(earlier.t / 1000).toFixed(2)} s, then ${later.status} in a request sent at ${(later.invokedAt / 1000).toFixed(2)} s`);
        break;
      }
    }
  }
  return {
    name: "monotonic-status",
    verdict: observations === 0 ? "unknown" : problems.length === 0 ? "pass" : "fail",
    figure: `${problems.length} backwards moves in ${observations} status observations`,
    details: problems.slice(0, MAX_DETAILS),
  };
}
