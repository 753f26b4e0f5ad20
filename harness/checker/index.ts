/** Runs a scenario's checks over a history. */
import type { Check } from "../scenario/schema.js";
import type { Analysis } from "../history/analysis.js";
import { checkErrorsOnlyDuringFaults } from "./client-errors.js";
import { checkNoDuplicateResults } from "./duplicates.js";
import { checkNoLostTasks } from "./lost.js";
import { checkMonotonicStatus } from "./monotonic.js";
import { checkRecovery } from "./recovery.js";
import { checkResultsCorrect } from "./results.js";
import { checkLatency, checkThroughput } from "./thresholds.js";
import type { CheckResult } from "./types.js";

export type { CheckResult } from "./types.js";

export function runCheck(check: Check, analysis: Analysis): CheckResult {
  switch (check.check) {
    case "no-lost-tasks": return checkNoLostTasks(analysis, check.fsyncWindow);
    case "errors-only-during-faults": return checkErrorsOnlyDuringFaults(analysis, check.grace);
    case "results-correct": return checkResultsCorrect(analysis, check.allowFailures);
    case "no-duplicate-results": return checkNoDuplicateResults(analysis);
    case "monotonic-status": return checkMonotonicStatus(analysis);
    case "recovery": return checkRecovery(analysis, check.within);
    case "latency": return checkLatency(analysis, check);
    case "throughput": return checkThroughput(analysis, check.atLeast);
  }
}

export function runChecks(checks: readonly Check[], analysis: Analysis): CheckResult[] {
  return checks.map((check) => runCheck(check, analysis));
}

/** A run passes when every check passes: "unknown" (e.g. nothing finished) is not a pass. */
export function passed(results: readonly CheckResult[]): boolean {
  return results.every((result) => result.verdict === "pass");
}
