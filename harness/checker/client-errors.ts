/**
 * errors-only-during-faults: a client may see a refusal (503) or no answer (a connection
 * reset, a timeout) while a component is down, and only then. Every submission that did not
 * get a 201 must overlap a fault, or have been sent within `grace` after one ended (a client
 * that backs off, or a component still starting, is the fault's doing too).
 */
import type { Analysis, ClientError } from "../history/analysis.js";
import { MAX_DETAILS, type CheckResult } from "./types.js";

export function checkErrorsOnlyDuringFaults(analysis: Analysis, graceMs: number): CheckResult {
  const end = Math.max(analysis.workload.end, ...analysis.clientErrors.map((error) => error.completedAt));
  const during = (error: ClientError) =>
    analysis.faults.some((fault) => error.completedAt >= fault.start && error.invokedAt <= (fault.end ?? end) + graceMs);
  const outside = analysis.clientErrors.filter((error) => !during(error));
  const kinds = new Map<string, number>();
  for (const error of analysis.clientErrors) kinds.set(error.error, (kinds.get(error.error) ?? 0) + 1);
  const common = [...kinds.entries()].sort((a, b) => b[1] - a[1]).slice(0, 3).map(([error, count]) => `${count} × "${error}"`);
  return {
    name: "errors-only-during-faults",
    verdict: analysis.invoked === 0 ? "unknown" : outside.length === 0 ? "pass" : "fail",
    figure: `${outside.length} of ${analysis.clientErrors.length} client errors outside a fault (of ${analysis.invoked} submissions)`,
    details: [
      ...outside.slice(0, MAX_DETAILS).map((error) => `sent at ${(error.invokedAt / 1000).toFixed(1)} s, ${error.outcome}: ${error.error}`),
      ...(common.length > 0 ? [`most common: ${common.join(", ")}`] : []),
    ],
  };
}
