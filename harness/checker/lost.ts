/** no-lost-tasks: every task the API accepted (201) was seen COMPLETED or FAILED. */
import type { Analysis } from "../history/analysis.js";
import { MAX_DETAILS, type CheckResult } from "./types.js";

export function checkNoLostTasks(analysis: Analysis): CheckResult {
  const lost = [...analysis.tasks.values()].filter((task) => !task.terminal);
  return {
    name: "no-lost-tasks",
    verdict: analysis.accepted === 0 ? "unknown" : lost.length === 0 ? "pass" : "fail",
    figure: `${lost.length} of ${analysis.accepted} accepted tasks never reached a terminal state`,
    details: lost.slice(0, MAX_DETAILS).map((task) => {
      const last = task.statuses[task.statuses.length - 1];
      return `${task.taskId} (${task.kind}, accepted at ${(task.acceptedAt / 1000).toFixed(1)} s): last seen ${last ? last.status : "never"}`;
    }),
  };
}
