/**
 * The nemesis: plays a planned schedule of faults (see plan.ts) from the start of the
 * workload, records each one's start and end in the history, and heals everything on
 * request (every fault ended, every stopped process restarted) so the cluster can drain.
 * Nothing it does can end the run: a fault whose target is gone is recorded as skipped, and
 * a process that does not come back is recorded as a problem, which fails the run's
 * `nemesis` check.
 */
import type { Component } from "../../system/launcher/cluster.js";
import type { ClusterUnderTest as Cluster } from "../cluster/under-test.js";
import type { History } from "../history/history.js";
import { injectFault, type ActiveFault } from "./faults.js";
import type { PlannedFault } from "./plan.js";

export class Nemesis {
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly active = new Map<number, ActiveFault>();
  private readonly injecting = new Set<Promise<void>>();
  private stopped = false;

  constructor(
    private readonly plan: readonly PlannedFault[],
    private readonly cluster: Cluster,
    private readonly history: History,
  ) {}

  /** The faults in force now, for the progress line. */
  get current(): string[] {
    return [...this.active.values()].map((fault) => fault.description);
  }

  /** Schedules every planned fault, its time counted from now (the workload's start). */
  start(): void {
    for (const planned of this.plan) {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        if (this.stopped) return;
        const injection = this.inject(planned);
        this.injecting.add(injection);
        void injection.finally(() => this.injecting.delete(injection));
      }, Math.max(0, planned.at - this.history.now()));
      this.timers.add(timer);
    }
  }

  /** No more faults; end those in force and restart whatever does not run. Never throws. */
  async heal(): Promise<void> {
    this.stopped = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    await Promise.allSettled([...this.injecting]);
    await Promise.allSettled([...this.active.values()].map((fault) => fault.heal()));
    for (const component of ["redis", "api", "dispatcher", ...this.cluster.workers] as Component[]) {
      const process = this.cluster.process(component);
      if (process?.isPaused) this.cluster.resume(component);
      if (process && !process.running) {
        await this.cluster.restart(component).catch((error: Error) => this.problem(`${component} could not be restarted when healing: ${error.message}`));
      }
    }
    for (const proxy of this.cluster.links.values()) proxy.heal();
  }

  private problem(description: string, fault?: number): void {
    this.history.record({ type: "problem", source: "nemesis", fault, description });
  }

  private async inject(planned: PlannedFault): Promise<void> {
    const { id, at } = planned;
    // The fault starts when it is injected, not when injecting it returns (a kill waits for the exit).
    const startedAt = this.history.now();
    let active: ActiveFault;
    try {
      active = await injectFault(planned.fault, this.cluster, (description) => this.problem(description, id));
    } catch (error) {
      const description = `${planned.fault.action} skipped: ${(error as Error).message}`;
      this.history.record({ type: "fault", phase: "start", fault: id, planned: at, description, skipped: (error as Error).message, t: startedAt });
      this.history.record({ type: "fault", phase: "end", fault: id, description });
      return;
    }
    this.history.record({
      type: "fault", phase: "start", fault: id, planned: at, description: active.description, targets: active.targets, crashed: active.crashed, t: startedAt,
    });
    this.active.set(id, active);
    await active.ended;
    this.active.delete(id);
    this.history.record({ type: "fault", phase: "end", fault: id, description: active.description });
  }
}
