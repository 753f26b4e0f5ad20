/** Reading scenario files: YAML, checked against the schema before anything runs. */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { basename, extname, join, resolve } from "node:path";
import { parse as parseYaml } from "yaml";
import { packageRoot } from "../paths.js";
import { ScenarioSchema, type Scenario } from "./schema.js";

export const SCENARIO_DIR = join(packageRoot, "scenarios");

export class ScenarioError extends Error {
  override name = "ScenarioError";
}

/** A scenario's file from its name (scenarios/<name>.yaml) or a path. */
export function scenarioPath(nameOrPath: string): string {
  const candidates = [nameOrPath, join(SCENARIO_DIR, `${nameOrPath}.yaml`), join(SCENARIO_DIR, nameOrPath)];
  const found = candidates.find((candidate) => existsSync(candidate) && extname(candidate) === ".yaml");
  if (!found) {
    const known = listScenarios().map((s) => s.name).join(", ");
    throw new ScenarioError(`no scenario "${nameOrPath}": give a name from scenarios/ (${known}) or a path to a .yaml file`);
  }
  return resolve(found);
}

/** Parses and validates a scenario; the error names each bad field by its path. */
export function parseScenario(text: string, source = "scenario"): Scenario {
  let data: unknown;
  try {
    data = parseYaml(text);
  } catch (error) {
    throw new ScenarioError(`${source} is not valid YAML: ${(error as Error).message}`);
  }
  const parsed = ScenarioSchema.safeParse(data);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `  - ${issue.path.length ? issue.path.join(".") : "(top level)"}: ${issue.message}`);
    throw new ScenarioError(`${source} is not a valid scenario:\n${problems.join("\n")}`);
  }
  return parsed.data;
}

export function loadScenario(nameOrPath: string): { scenario: Scenario; file: string } {
  const file = scenarioPath(nameOrPath);
  return { scenario: parseScenario(readFileSync(file, "utf8"), basename(file)), file };
}

/** Every scenario in scenarios/, with its description (or why it does not load). */
export function listScenarios(): { name: string; description: string }[] {
  if (!existsSync(SCENARIO_DIR)) return [];
  return readdirSync(SCENARIO_DIR)
    .filter((file) => file.endsWith(".yaml"))
    .sort()
    .map((file) => {
      try {
        const scenario = parseScenario(readFileSync(join(SCENARIO_DIR, file), "utf8"), file);
        return { name: scenario.name, description: scenario.description };
      } catch (error) {
        return { name: basename(file, ".yaml"), description: `(invalid: ${(error as Error).message.split("\n")[1]?.trim() ?? (error as Error).message})` };
      }
    });
}
