/** k6-style thresholds: latency percentiles below bounds, throughput above one. */
import { summarize, type Analysis } from "../history/analysis.js";
import type { CheckResult } from "./types.js";

export function checkLatency(analysis: Analysis, bounds: { p50?: number; p95?: number; p99?: number }): CheckResult {
  const { latency, completed, failed } = summarize(analysis);
  const parts: string[] = [];
  const breaches: string[] = [];
  for (const key of ["p50", "p95", "p99"] as const) {
    const bound = bounds[key];
    if (bound === undefined) continue;
    parts.push(`${key} ${latency[key].toFixed(0)} ms < ${bound} ms`);
    if (!(latency[key] < bound)) breaches.push(`${key} is ${latency[key].toFixed(0)} ms, over ${bound} ms`);
  }
  return {
    name: "latency",
    verdict: completed + failed === 0 ? "unknown" : breaches.length === 0 ? "pass" : "fail",
    figure: parts.join(", "),
    details: breaches,
  };
}

export function checkThroughput(analysis: Analysis, atLeast: number): CheckResult {
  const { throughput, completed, failed } = summarize(analysis);
  return {
    name: "throughput",
    verdict: completed + failed === 0 ? "unknown" : throughput >= atLeast ? "pass" : "fail",
    figure: `${throughput.toFixed(1)} tasks/s (at least ${atLeast})`,
    details: throughput >= atLeast ? [] : [`${throughput.toFixed(1)} tasks/s is below ${atLeast}`],
  };
}
