/**
 * The kinds of task a workload mixes, each with its function's source, its arguments drawn
 * from the run's seeded randomness, and the result the harness expects. A user function from
 * a file has its expected results computed by running it in the harness's own sandbox.
 */
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { serialize } from "../../system/codec/index.js";
import { Sandbox } from "../../system/executor/sandbox.js";
import type { Expected } from "../history/history.js";
import type { Random } from "../random.js";
import type { TaskKind } from "../scenario/schema.js";

export interface TaskTemplate {
  /** Identifies the registered function: one per kind (and file). */
  key: string;
  name: string;
  source: string;
  /** Draws one task's arguments and its expected outcome. */
  draw(random: Random): { args: unknown[]; expected: Expected };
}

const drawIn = (random: Random, [min, max]: readonly [number, number]) => random.int(min, max);

function fibonacci(n: number): number {
  return n < 2 ? n : fibonacci(n - 1) + fibonacci(n - 2);
}

const ok = (value: unknown): Expected => ({ ok: true, value: serialize(value) });

/** The templates of a phase's mix; user functions are run here once per argument list. */
export async function templatesFor(mix: readonly TaskKind[], scenarioFile: string): Promise<TaskTemplate[]> {
  return Promise.all(mix.map((kind) => templateFor(kind, scenarioFile)));
}

async function templateFor(kind: TaskKind, scenarioFile: string): Promise<TaskTemplate> {
  switch (kind.kind) {
    case "noop":
      return { key: "noop", name: "noop", source: "() => null", draw: () => ({ args: [], expected: ok(null) }) };
    case "sleep":
      return {
        key: "sleep", name: "sleep",
        source: "async (ms) => { await new Promise((resolve) => setTimeout(resolve, ms)); return ms; }",
        draw: (random) => {
          const ms = drawIn(random, kind.ms);
          return { args: [ms], expected: ok(ms) };
        },
      };
    case "cpu":
      return {
        key: "cpu", name: "fibonacci",
        source: "function fibonacci(n) { return n < 2 ? n : fibonacci(n - 1) + fibonacci(n - 2); }",
        draw: (random) => {
          const n = drawIn(random, kind.fib);
          return { args: [n], expected: ok(fibonacci(n)) };
        },
      };
    case "throw":
      return {
        key: "throw", name: "throws",
        source: '(n) => { throw new RangeError("expected failure " + n); }',
        draw: (random) => {
          const n = random.int(0, 1_000_000);
          return { args: [n], expected: { ok: false, name: "RangeError", message: `expected failure ${n}` } };
        },
      };
    case "function": {
      const path = resolve(dirname(scenarioFile), kind.file);
      const source = readFileSync(path, "utf8").trim();
      const sandbox = new Sandbox(source, { filename: path });
      const outcomes: { args: unknown[]; expected: Expected }[] = [];
      for (const args of kind.args) {
        const outcome = await sandbox.call(args);
        const error = outcome.ok ? undefined : (outcome.error as Error);
        outcomes.push({
          args,
          expected: outcome.ok ? ok(outcome.value) : { ok: false, name: String(error?.name), message: String(error?.message) },
        });
      }
      return { key: `function:${path}`, name: kind.file, source, draw: (random) => random.pick(outcomes) };
    }
  }
}

/** Picks a template by the mix's weights. */
export function pickWeighted(templates: readonly TaskTemplate[], mix: readonly TaskKind[], random: Random): TaskTemplate {
  const total = mix.reduce((sum, kind) => sum + kind.weight, 0);
  let point = random.next() * total;
  for (let i = 0; i < mix.length; i++) {
    point -= mix[i].weight;
    if (point < 0) return templates[i];
  }
  return templates[templates.length - 1];
}
