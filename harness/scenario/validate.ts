/**
 * What the schema alone cannot say: faults that cannot happen, given the rest of the
 * scenario. A pure function of the parsed scenario; parseScenario reports its problems the
 * way it reports the schema's, each with the path of the field.
 *
 *  - a fault on a worker, or on a worker's link, in local mode (a local-mode cluster has no
 *    workers: with a list of modes, any local in it is enough);
 *  - a worker index that does not exist (indices are 0 to count - 1; a restarted worker keeps
 *    its index);
 *  - a fault time at or after the end of the workload (`at`, `from`), or an `until` after it,
 *    when the workload's length is known (every phase has a `duration`);
 *  - an `every` of zero (it would repeat without end), or one longer than the workload with no
 *    `from` (its first time, one interval in, would be after the end); `from` after `until`;
 *  - the same for each fault a `random` rule draws from (`among`);
 *  - an `expect` list that is not as long as its `args`;
 *  - a function file that is neither .js nor .py (its extension says its runtime);
 *  - an `fsyncWindow` without Redis on `aof-everysec` (it would excuse losses that the
 *    persistence in force does not explain).
 */
import type { Fault, Link, ProcessTarget, Scenario, TaskKind, UntimedFault } from "./schema.js";

import type { IssuePath, Problem } from "../format/load.js";

export type { IssuePath, Problem } from "../format/load.js";

/** A duration in ms as a scenario would write it. */
export function formatDuration(ms: number): string {
  if (ms >= 60_000 && ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms >= 1000) return `${ms / 1000}s`;
  return `${ms}ms`;
}

/** The workload's planned length: the sum of its phases' durations, when every phase has one. */
export function plannedLength(scenario: Scenario): number | undefined {
  const phases = scenario.workload.phases;
  if (phases.some((phase) => phase.duration === undefined)) return undefined;
  return phases.reduce((sum, phase) => sum + phase.duration!, 0);
}

export function validateScenario(scenario: Scenario): Problem[] {
  const problems: Problem[] = [];
  const problem = (path: IssuePath, message: string) => problems.push({ path, message });
  const modes = Array.isArray(scenario.cluster.mode) ? scenario.cluster.mode : [scenario.cluster.mode];
  const local = modes.includes("local")
    ? `a local-mode cluster has no workers (cluster.mode ${Array.isArray(scenario.cluster.mode) ? "lists local: drop it, or move this fault to a scenario without it" : "is local"})`
    : undefined;
  const count = scenario.cluster.workers.count;
  const end = plannedLength(scenario);

  /** The target or link of one fault, timed or drawn from a random rule. */
  const checkTarget = (fault: UntimedFault | Fault, path: IssuePath) => {
    if ("target" in fault) checkProcessTarget(fault.target, [...path, "target"]);
    if ("link" in fault) checkLink(fault.link, [...path, "link"]);
    if ("link" in fault && "clientLink" in fault.link && (fault.action === "latency" || fault.action === "cut" || fault.action === "blackhole")) {
      problem([...path, "link"], `the clients–API link has no fault proxy: ${fault.action} acts through one; a packet fault (partition, loss, delay, reorder) acts on it in a target run`);
    }
  };
  const checkProcessTarget = (target: ProcessTarget, path: IssuePath) => {
    if (typeof target === "string") return;
    if (local) problem(path, `a fault on a worker cannot happen: ${local}`);
    else checkIndex(target.worker, [...path, "worker"]);
  };
  const checkLink = (link: Link, path: IssuePath) => {
    if (!("workerLink" in link)) return;
    if (local) problem(path, `a fault on a worker's link cannot happen: ${local}`);
    else checkIndex(link.workerLink, [...path, "workerLink"]);
  };
  const checkIndex = (selector: string | number, path: IssuePath) => {
    if (typeof selector !== "number" || selector < count) return;
    const valid = count === 1 ? "the only worker is 0" : count === 2 ? "the workers are 0 and 1" : `the workers are 0 to ${count - 1}`;
    problem(path, `there is no worker ${selector}: cluster.workers.count is ${count}, so ${valid} (a restarted worker keeps its index)`);
  };

  const checkTiming = (fault: Fault, path: IssuePath) => {
    const theEnd = end === undefined ? "" : `the end of the workload (${formatDuration(end)}, the sum of its phases' durations)`;
    if (fault.every !== undefined && fault.every <= 0) problem([...path, "every"], "every must be longer than 0 (it would repeat without end)");
    if (end !== undefined) {
      if (fault.at !== undefined && fault.at >= end) problem([...path, "at"], `${formatDuration(fault.at)} is not before ${theEnd}: the fault would never happen`);
      if (fault.from !== undefined && fault.from >= end) problem([...path, "from"], `${formatDuration(fault.from)} is not before ${theEnd}: the fault would never happen`);
      if (fault.until !== undefined && fault.until > end) problem([...path, "until"], `${formatDuration(fault.until)} is after ${theEnd}`);
      if (fault.every !== undefined && fault.every > 0 && fault.from === undefined && fault.every >= end) {
        problem([...path, "every"], `with no from, the first time is one interval in (${formatDuration(fault.every)}), not before ${theEnd}: the fault would never happen; give a shorter interval, or a from`);
      }
    }
    if (end === undefined && fault.every !== undefined && fault.until === undefined) {
      problem([...path, "until"], "a repeating fault needs an until when a phase is bounded by its number of tasks: the workload's end is not known in advance");
    }
    if (fault.from !== undefined && fault.until !== undefined && fault.from > fault.until) {
      problem([...path, "from"], `from ${formatDuration(fault.from)} is after until ${formatDuration(fault.until)}: the fault would never happen`);
    }
  };

  scenario.nemesis.forEach((fault, index) => {
    const path = ["nemesis", index];
    checkTiming(fault, path);
    if (fault.action === "random") fault.among.forEach((drawn, j) => checkTarget(drawn, [...path, "among", j]));
    else checkTarget(fault, path);
  });

  scenario.workload.phases.forEach((phase, i) =>
    phase.mix.forEach((kind: TaskKind, j) => {
      if (kind.kind !== "function") return;
      if (!/\.(js|py)$/.test(kind.file)) {
        problem(["workload", "phases", i, "mix", j, "file"], `${JSON.stringify(kind.file)} is neither a .js nor a .py file: its extension says its runtime (.js: JavaScript, .py: Python)`);
      }
      if (kind.expect === undefined || kind.expect.length === kind.args.length) return;
      problem(
        ["workload", "phases", i, "mix", j, "expect"],
        `${kind.expect.length} expected outcome${kind.expect.length === 1 ? "" : "s"} for ${kind.args.length} argument list${kind.args.length === 1 ? "" : "s"}: give one for each, in the same order`,
      );
    }),
  );

  scenario.checks.forEach((check, index) => {
    if (check.check !== "no-lost-tasks" || check.fsyncWindow === undefined || scenario.cluster.redis.persistence === "aof-everysec") return;
    problem(
      ["checks", index, "fsyncWindow"],
      `an fsync window only applies with cluster.redis.persistence: aof-everysec (here: ${scenario.cluster.redis.persistence}); it would excuse losses that this persistence does not explain`,
    );
  });
  return problems;
}
