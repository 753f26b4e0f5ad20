/**
 * results-correct: every COMPLETED result equals the value the harness computed for the
 * task, and every task expected to fail FAILED with the expected error. A task expected to
 * complete that FAILED counts against the check unless its error is in `allowFailures`.
 */
import { deserialize } from "../../system/codec/index.js";
import type { Analysis } from "../history/analysis.js";
import { MAX_DETAILS, type CheckResult } from "./types.js";

function errorOf(result: string | null | undefined): { name: string; message: string } {
  try {
    const error = deserialize(result ?? "") as { name?: unknown; message?: unknown };
    return { name: String(error?.name), message: String(error?.message) };
  } catch {
    return { name: "(unreadable)", message: String(result) };
  }
}

export function checkResultsCorrect(analysis: Analysis, allowFailures: readonly string[] = []): CheckResult {
  const problems: string[] = [];
  let checked = 0;
  let allowed = 0;
  for (const task of analysis.tasks.values()) {
    const terminal = task.terminal;
    if (!terminal) continue;
    checked++;
    const { expected } = task;
    if (terminal.status === "COMPLETED") {
      if (!expected.ok) problems.push(`${task.taskId} (${task.kind}) COMPLETED with ${task.result}, but should have failed with ${expected.name}`);
      else if (task.result !== expected.value) problems.push(`${task.taskId} (${task.kind} with arguments ${task.args}) returned ${task.result ?? "no result that anyone saw"}, expected ${expected.value}`);
      continue;
    }
    const error = errorOf(task.result);
    if (expected.ok) {
      if (allowFailures.includes(error.name)) allowed++;
      else problems.push(`${task.taskId} (${task.kind}) FAILED with ${error.name}: ${error.message}`);
    } else if (error.name !== expected.name || error.message !== expected.message) {
      problems.push(`${task.taskId} (${task.kind}) FAILED with ${error.name}: ${error.message}, expected ${expected.name}: ${expected.message}`);
    }
  }
  const allowance = allowed > 0 ? ` (${allowed} failed with an allowed error)` : "";
  return {
    name: "results-correct",
    verdict: checked === 0 ? "unknown" : problems.length === 0 ? "pass" : "fail",
    figure: `${problems.length} of ${checked} finished tasks had a wrong result${allowance}`,
    details: problems.slice(0, MAX_DETAILS),
  };
}
