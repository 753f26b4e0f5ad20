/**
 * nemesis: the faults happened as planned and the cluster came back from each. A process the
 * nemesis stopped that could not be started again (a restart overlapped by the next fault, a
 * component that fails to start), or an error of the harness's own, fails it: the other
 * checks' figures are then about a cluster other than the one the scenario describes.
 * Skipped faults (their target was gone, or the cluster has no such link) are counted, and do
 * not fail it; the report lists each with why.
 */
import { injected, type Analysis } from "../history/analysis.js";
import { MAX_DETAILS, type CheckResult } from "./types.js";

export function checkNemesis(analysis: Analysis): CheckResult {
  const happened = injected(analysis).length;
  const skipped = analysis.faults.length - happened;
  const problems = analysis.problems;
  const faults = `${happened} ${happened === 1 ? "fault" : "faults"} injected${skipped > 0 ? `, ${skipped} skipped (${skipped === 1 ? "it" : "they"} could not happen: see the faults)` : ""}`;
  return {
    name: "nemesis",
    verdict: problems.length === 0 ? "pass" : "fail",
    figure: problems.length === 0
      ? `${faults}; every process they stopped came back`
      : `${faults}; ${problems.length} ${problems.length === 1 ? "problem" : "problems"}: ${problems[0].description}`,
    details: problems.slice(0, MAX_DETAILS).map((problem) => `at ${(problem.t / 1000).toFixed(1)} s${problem.fault === undefined ? "" : ` (F${problem.fault + 1})`}: ${problem.description}`),
  };
}
