/**
 * Fault tests through the harness's own parts: tasks are submitted by the workload driver
 * (so the history records them), faults are injected by the nemesis, and the outcome is
 * judged by the scenario checkers.
 */
import { runChecks, type CheckResult } from "../../harness/checker/index.js";
import type { Cluster } from "../../harness/cluster/cluster.js";
import { analyse } from "../../harness/history/analysis.js";
import { History, type Expected } from "../../harness/history/history.js";
import { injectFault, type ActiveFault } from "../../harness/nemesis/faults.js";
import { Random } from "../../harness/random.js";
import type { UntimedFault as Fault } from "../../harness/scenario/schema.js";
import { Workload } from "../../harness/workload/driver.js";
import type { TaskTemplate } from "../../harness/workload/kinds.js";
import { serialize } from "../../system/client/index.js";

export interface Recorded {
  history: History;
  workload: Workload;
  /** Submits a task and resolves with its id once its result is seen. */
  run(template: TaskTemplate, args: unknown[], expected: unknown): Promise<string>;
  /** Injects a fault, as a scenario's nemesis does. */
  inject(fault: Fault): Promise<ActiveFault>;
  /** The standard checks over everything recorded (a final read of every task first). */
  check(): Promise<CheckResult[]>;
}

export function recorded(cluster: Cluster): Recorded {
  const history = new History();
  const random = new Random(1);
  const workload = new Workload(cluster.apiUrl, history, random);
  return {
    history,
    workload,
    async run(template, args, expected) {
      const outcome: Expected = { ok: true, value: serialize(expected) };
      const taskId = await workload.run(template, args, outcome);
      if (!taskId) throw new Error(`the API did not accept a ${template.name} task`);
      return taskId;
    },
    inject: (fault) => injectFault(fault, cluster, (problem) => history.record({ type: "problem", source: "nemesis", description: problem })),
    async check() {
      await workload.finalRead([...analyse(history.events).tasks.keys()]);
      return runChecks([
        { check: "no-lost-tasks" }, { check: "results-correct", allowFailures: [] }, { check: "no-duplicate-results" }, { check: "monotonic-status" },
      ], analyse(history.events));
    },
  };
}

/** A task kind made of a test's own function. */
export function template(name: string, fn: (...args: never[]) => unknown): TaskTemplate {
  return { key: name, name, source: fn.toString(), runtime: "javascript", weight: 1, draw: () => { throw new Error("tests choose their arguments"); } };
}

/** A fault as a scenario would give it, without its timing: injected now. */
export const kill = (worker: number, signal: "SIGKILL" | "SIGTERM" = "SIGKILL"): Fault => ({ action: "kill", target: { worker }, signal });
export const killAll = (): Fault => ({ action: "kill", target: { worker: "all" }, signal: "SIGKILL" });
export const pause = (worker: number, ms: number): Fault => ({ action: "pause", target: { worker }, for: ms });
export const killDispatcher = (restartAfterMs: number): Fault => ({ action: "kill", target: "dispatcher", signal: "SIGKILL", restartAfter: restartAfterMs });
