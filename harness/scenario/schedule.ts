/**
 * A run's schedule: everything its seed decides, drawn before anything starts (the faults
 * with their planned times and targets, and the first tasks of every client, their kinds and
 * arguments in order), with a digest. Two runs with one seed have the same schedule and the
 * same digest, whatever the timing: the report states the digest so a reader can tell.
 */
import { createHash } from "node:crypto";
import { serialize } from "../../system/codec/index.js";
import { planFaults, type PlannedFault } from "../nemesis/plan.js";
import type { Random } from "../random.js";
import { clientName, clientsOf, clientStream, drawTask, kindOf } from "../workload/driver.js";
import type { TaskTemplate } from "../workload/kinds.js";
import type { DispatcherMode } from "../../system/modes.js";
import type { Scenario } from "./schema.js";
import { plannedLength } from "./validate.js";

/** How many tasks of each client the schedule lists (a client may submit more; they come from the same stream). */
export const SCHEDULED_TASKS_PER_CLIENT = 200;

export interface Schedule {
  seed: number;
  faults: PlannedFault[];
  /** Per client, in order: [task kind (its runtime too: noop/python), serialized arguments]. */
  clients: Record<string, [string, string][]>;
  /** sha256 of the above, first 16 hex digits. */
  digest: string;
}

export function drawSchedule(scenario: Scenario, mode: DispatcherMode, templates: readonly TaskTemplate[][], random: Random): Schedule {
  const workers = mode === "local" ? 0 : scenario.cluster.workers.count;
  // Repeating faults without an `until` stop at the workload's end (validation makes them give one when it is not known).
  const faults = planFaults(scenario.nemesis, plannedLength(scenario) ?? 0, workers, random);
  const clients: Schedule["clients"] = {};
  scenario.workload.phases.forEach((phase, phaseIndex) => {
    for (let client = 0; client < clientsOf(phase); client++) {
      const stream = clientStream(random, phaseIndex, client);
      clients[clientName(phase, phaseIndex, client)] = Array.from({ length: SCHEDULED_TASKS_PER_CLIENT }, () => {
        const { template, args } = drawTask(templates[phaseIndex], stream);
        return [kindOf(template), serialize(args)];
      });
    }
  });
  const digest = createHash("sha256").update(JSON.stringify({ faults, clients })).digest("hex").slice(0, 16);
  return { seed: random.seed, faults, clients, digest };
}
