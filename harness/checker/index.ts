/** Runs a scenario's checks over a history. */
import type { Check } from "../scenario/schema.js";
import type { Analysis } from "../history/analysis.js";
import { checkCapacity } from "./capacity.js";
import { checkErrorsOnlyDuringFaults } from "./client-errors.js";
import { checkNoDuplicateResults } from "./duplicates.js";
import { checkNoLostTasks } from "./lost.js";
import { checkMonotonicStatus } from "./monotonic.js";
import { checkNemesis } from "./nemesis.js";
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
    case "capacity": return checkCapacity(analysis, check.grace);
  }
}

/** One check's verdict, whatever happens: a checker that throws gives `unknown` with its error (Jepsen's check-safe). */
export function runCheckSafely(name: string, check: () => CheckResult): CheckResult {
  try {
    return check();
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return { name, verdict: "unknown", figure: `the checker failed: ${message}`, details: error instanceof Error && error.stack ? [error.stack.split("\n").slice(0, 4).join(" ")] : [] };
  }
}

/**
 * Runs every check over the history, each safely, so one that throws leaves the others'
 * verdicts; `nemesis` (the faults happened and the cluster came back) is added whenever
 * faults were planned. `run` lets a test replace how one check is run.
 */
export function runChecks(checks: readonly Check[], analysis: Analysis, run: typeof runCheck = runCheck): CheckResult[] {
  const results = checks.map((check) => runCheckSafely(check.check, () => run(check, analysis)));
  if (analysis.faults.length > 0 || analysis.problems.length > 0) results.push(runCheckSafely("nemesis", () => checkNemesis(analysis)));
  return results;
}

/** A run passes when every check passes: "unknown" (e.g. nothing finished) is not a pass. */
export function passed(results: readonly CheckResult[]): boolean {
  return results.every((result) => result.verdict === "pass");
}
