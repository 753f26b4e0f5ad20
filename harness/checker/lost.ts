/**
 * no-lost-tasks: every task the API accepted (201) was seen COMPLETED or FAILED.
 *
 * With Redis on `appendfsync everysec`, a crash may lose the writes of the last second or so
 * (Redis's own documentation says up to two when an fsync is slow). Given an `fsyncWindow`,
 * a lost task that Redis no longer has (the final read found it MISSING) and that was
 * accepted that long before a kill -9 of Redis is counted and listed apart as what that
 * setting gives up, and does not fail the check. Any other loss does: a task Redis still
 * has but never finished was not lost to fsync.
 */
import type { Analysis, TaskView } from "../history/analysis.js";
import { MAX_DETAILS, type CheckResult } from "./types.js";

export function checkNoLostTasks(analysis: Analysis, fsyncWindowMs?: number): CheckResult {
  const lost = [...analysis.tasks.values()].filter((task) => !task.terminal);
  const redisCrashes = analysis.faults.filter((fault) => fault.crashed.includes("redis")).map((fault) => fault.start);
  const goneFromRedis = (task: TaskView) => task.statuses.some((status) => status.by === "final" && status.status === "MISSING");
  const inWindow = (task: TaskView) =>
    fsyncWindowMs !== undefined && goneFromRedis(task) &&
    redisCrashes.some((crash) => task.acceptedAt <= crash && crash - task.acceptedAt <= fsyncWindowMs);
  const excused = lost.filter(inWindow);
  const unexcused = lost.filter((task) => !inWindow(task));
  const describe = (task: TaskView) => {
    const last = task.statuses[task.statuses.length - 1];
    return `${task.taskId} (${task.kind}, accepted at ${(task.acceptedAt / 1000).toFixed(1)} s): last seen ${last ? last.status : "never"}`;
  };
  let figure = `${unexcused.length} of ${analysis.accepted} accepted tasks never reached a terminal state`;
  if (fsyncWindowMs !== undefined) {
    figure += `; ${excused.length} more gone from Redis, accepted within the ${(fsyncWindowMs / 1000).toFixed(1)} s fsync window before ${redisCrashes.length} Redis crashes`;
  }
  return {
    name: "no-lost-tasks",
    verdict: analysis.accepted === 0 ? "unknown" : unexcused.length === 0 ? "pass" : "fail",
    figure,
    details: [
      ...unexcused.slice(0, MAX_DETAILS).map(describe),
      ...excused.slice(0, MAX_DETAILS).map((task) => `${describe(task)}, in the fsync window (allowed)`),
    ],
  };
}
