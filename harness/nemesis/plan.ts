/**
 * The nemesis's schedule, drawn before the run: every fault of the scenario with its planned
 * time and, where the scenario says "random", the target and the fault already chosen. It is
 * a pure function of the scenario, the cluster's shape and the seed, so the same seed gives
 * the same faults on the same targets at the same times however the run goes (Jepsen's
 * generators are deterministic in the same way). Selectors that depend on the run itself
 * (oldest, newest, all) are resolved when the fault is injected.
 */
import { ShuffledBag, type Random } from "../random.js";
import type { Fault, Link, ProcessTarget, UntimedFault } from "../scenario/schema.js";

export interface PlannedFault {
  /** Its number in the run: F1 is id 0. */
  id: number;
  /** Planned time, ms after the workload starts. */
  at: number;
  /** Index of the scenario's nemesis rule it comes from. */
  rule: number;
  /** What to inject, with every random choice made. */
  fault: UntimedFault;
}

/**
 * Plans every fault of `faults` over a workload of `workloadMs` (repeating rules without an
 * `until` stop there) on a cluster of `workerCount` workers (0 in local mode).
 */
export function planFaults(faults: readonly Fault[], workloadMs: number, workerCount: number, random: Random): PlannedFault[] {
  const planned: Omit<PlannedFault, "id">[] = [];
  faults.forEach((rule, index) => {
    // Each rule draws from streams of its own: adding a rule leaves the others' choices alone.
    const targets = random.derive("nemesis", index, "targets");
    const bag = rule.action === "random" ? new ShuffledBag(rule.among, random.derive("nemesis", index, "among")) : undefined;
    const times: number[] = [];
    if (rule.at !== undefined) times.push(rule.at);
    else {
      const every = rule.every!;
      const until = rule.until ?? workloadMs;
      for (let at = rule.from ?? every; at <= until; at += every) times.push(at);
    }
    for (const at of times) {
      const chosen = rule.action === "random" ? bag!.next() : withoutTiming(rule);
      planned.push({ at, rule: index, fault: resolveRandom(chosen, workerCount, targets) });
    }
  });
  // By time, then by rule: ties keep the scenario's order.
  planned.sort((a, b) => a.at - b.at || a.rule - b.rule);
  return planned.map((fault, id) => ({ id, ...fault }));
}

function withoutTiming(rule: Exclude<Fault, { action: "random" }>): UntimedFault {
  const { at: _at, every: _every, from: _from, until: _until, ...fault } = rule;
  return fault as UntimedFault;
}

/** The fault with `random` worker selectors replaced by a drawn index. */
function resolveRandom(fault: UntimedFault, workerCount: number, random: Random): UntimedFault {
  const index = () => random.int(0, workerCount - 1);
  if ("target" in fault && isRandomWorker(fault.target) && workerCount > 0) {
    return { ...fault, target: { worker: index() } } as UntimedFault;
  }
  if ("link" in fault && "workerLink" in fault.link && fault.link.workerLink === "random" && workerCount > 0) {
    return { ...fault, link: { workerLink: index() } satisfies Link } as UntimedFault;
  }
  return fault;
}

function isRandomWorker(target: ProcessTarget): boolean {
  return typeof target === "object" && target.worker === "random";
}
