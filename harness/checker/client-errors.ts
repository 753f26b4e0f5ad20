/**
 * errors-only-during-faults: a client may get no answer (a connection refused or reset, a
 * timeout) or a 503 while the API or Redis is down or cut off, and only then. Every other
 * outcome of a submission is a 201 or a definite refusal, and a refusal (4xx) is never
 * excused: the workload only sends valid tasks. An unanswered submission must overlap a
 * fault on the API, Redis or the link between them, or have been sent within `grace` after
 * one ended (a client that backs off, or a component still starting, is the fault's doing).
 */
import { injected, maximum, type Analysis, type ClientError, type Fault } from "../history/analysis.js";
import { MAX_DETAILS, type CheckResult } from "./types.js";

/** What a client's submission depends on: the API, Redis, and the API's link to Redis. */
const ON_THE_PATH = new Set(["api", "redis", "redis-api"]);

/** A fault that can make a submission go unanswered. Histories that did not record targets count every fault. */
function onClientPath(fault: Fault): boolean {
  return fault.targets === undefined || fault.targets.some((target) => ON_THE_PATH.has(target));
}

export function checkErrorsOnlyDuringFaults(analysis: Analysis, graceMs: number): CheckResult {
  const end = Math.max(analysis.workload.end, maximum(analysis.clientErrors.map((error) => error.completedAt)) ?? 0);
  // A skipped fault did not happen, so it excuses nothing.
  const faults = injected(analysis).filter(onClientPath);
  const excused = (error: ClientError) =>
    error.outcome === "info" &&
    faults.some((fault) => error.completedAt >= fault.start && error.invokedAt <= (fault.end ?? end) + graceMs);
  const unexcused = analysis.clientErrors.filter((error) => !excused(error));
  const kinds = new Map<string, number>();
  for (const error of analysis.clientErrors) kinds.set(error.error, (kinds.get(error.error) ?? 0) + 1);
  const common = [...kinds.entries()].sort((a, b) => b[1] - a[1]).slice(0, 3).map(([error, count]) => `${count} × "${error}"`);
  return {
    name: "errors-only-during-faults",
    verdict: analysis.invoked === 0 ? "unknown" : unexcused.length === 0 ? "pass" : "fail",
    figure: `${unexcused.length} of ${analysis.clientErrors.length} client errors not explained by a fault on the API or Redis (of ${analysis.invoked} submissions)`,
    details: [
      ...unexcused.slice(0, MAX_DETAILS).map((error) => `sent at ${(error.invokedAt / 1000).toFixed(1)} s, ${error.outcome === "fail" ? "refused" : "no answer"}: ${error.error}`),
      ...(common.length > 0 ? [`most common: ${common.join(", ")}`] : []),
    ],
  };
}
