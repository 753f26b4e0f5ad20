/**
 * no-duplicate-results: no task is ever seen with two different terminal results. Only
 * observations that carry a result count (a status-only read says nothing about it).
 */
import { terminalResults, type Analysis } from "../history/analysis.js";
import { MAX_DETAILS, type CheckResult } from "./types.js";

export function checkNoDuplicateResults(analysis: Analysis): CheckResult {
  const problems: string[] = [];
  for (const task of analysis.tasks.values()) {
    const seen = terminalResults(task);
    if (seen.size > 1) problems.push(`${task.taskId} (${task.kind}) was seen as ${[...seen].join(" and as ")}`);
  }
  return {
    name: "no-duplicate-results",
    verdict: analysis.accepted === 0 ? "unknown" : problems.length === 0 ? "pass" : "fail",
    figure: `${problems.length} of ${analysis.accepted} tasks showed more than one terminal result`,
    details: problems.slice(0, MAX_DETAILS),
  };
}
