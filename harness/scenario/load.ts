/** Reading scenario files: YAML, checked against the schema and validate.ts before anything runs. */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { packageRoot } from "../../system/paths.js";
import { findDataFile, parseYamlWithSchema, type DataFormat } from "../format/load.js";
import { ScenarioSchema, type Scenario } from "./schema.js";
import { validateScenario, type Problem } from "./validate.js";

export { formatPath } from "../format/load.js";

export const SCENARIO_DIR = join(packageRoot, "scenarios");

export class ScenarioError extends Error {
  override name = "ScenarioError";
}

const SCENARIO_FORMAT: DataFormat<typeof ScenarioSchema> = {
  schema: ScenarioSchema,
  what: "scenario",
  fields: "name, description, cluster, workload, checks…",
  error: ScenarioError,
};

/**
 * A scenario's file from its name (scenarios/<name>.yaml) or a path. A path that is not there
 * says so; a name that is not there lists the names there are.
 */
export function scenarioPath(nameOrPath: string): string {
  return findDataFile(nameOrPath, { dir: SCENARIO_DIR, what: "scenario", known: () => listScenarios().map((s) => s.name), error: ScenarioError });
}

export interface ParseOptions {
  /** The scenario file's directory: given, the function files it names must be there. */
  dir?: string;
}

/** Parses and validates a scenario; the error names each bad field by its path and line. */
export function parseScenario(text: string, source = "scenario", options: ParseOptions = {}): Scenario {
  return parseYamlWithSchema(SCENARIO_FORMAT, text, source, (scenario) => {
    const problems: Problem[] = validateScenario(scenario);
    if (options.dir !== undefined) problems.push(...missingFiles(scenario, options.dir));
    return problems;
  });
}

/** The function files a scenario names that are not there. */
function missingFiles(scenario: Scenario, dir: string): Problem[] {
  const problems: Problem[] = [];
  scenario.workload.phases.forEach((phase, i) =>
    phase.mix.forEach((kind, j) => {
      if (kind.kind !== "function") return;
      const path = resolve(dir, kind.file);
      if (!existsSync(path) || !statSync(path).isFile()) problems.push({ path: ["workload", "phases", i, "mix", j, "file"], message: `no file ${path}` });
    }),
  );
  return problems;
}

export function loadScenario(nameOrPath: string): { scenario: Scenario; file: string } {
  const file = scenarioPath(nameOrPath);
  return { scenario: parseScenario(readFileSync(file, "utf8"), basename(file), { dir: dirname(file) }), file };
}

/** Every scenario in scenarios/, with its description (or why it does not load). */
export function listScenarios(): { name: string; description: string }[] {
  if (!existsSync(SCENARIO_DIR)) return [];
  return readdirSync(SCENARIO_DIR)
    .filter((file) => file.endsWith(".yaml"))
    .sort()
    .map((file) => {
      try {
        const scenario = parseScenario(readFileSync(join(SCENARIO_DIR, file), "utf8"), file, { dir: SCENARIO_DIR });
        return { name: scenario.name, description: scenario.description };
      } catch (error) {
        return { name: basename(file, ".yaml"), description: `(invalid: ${(error as Error).message.split("\n")[1]?.trim() ?? (error as Error).message})` };
      }
    });
}
