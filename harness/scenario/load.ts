/** Reading scenario files: YAML, checked against the schema and validate.ts before anything runs. */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { basename, dirname, extname, join, resolve } from "node:path";
import { isMap, LineCounter, parseDocument, type Document } from "yaml";
import type { z } from "zod";
import { packageRoot } from "../../system/paths.js";
import { ScenarioSchema, shown, type Scenario } from "./schema.js";
import { validateScenario, type IssuePath, type Problem } from "./validate.js";

export const SCENARIO_DIR = join(packageRoot, "scenarios");

export class ScenarioError extends Error {
  override name = "ScenarioError";
}

const EXTENSIONS = [".yaml", ".yml"];
const looksLikePath = (text: string) => /[/\\]/.test(text) || EXTENSIONS.includes(extname(text));

/**
 * A scenario's file from its name (scenarios/<name>.yaml) or a path. A path that is not there
 * says so; a name that is not there lists the names there are.
 */
export function scenarioPath(nameOrPath: string): string {
  const candidates = [nameOrPath, join(SCENARIO_DIR, `${nameOrPath}.yaml`), join(SCENARIO_DIR, nameOrPath)];
  const found = candidates.find((candidate) => existsSync(candidate) && statSync(candidate).isFile());
  if (found && EXTENSIONS.includes(extname(found))) return resolve(found);
  if (found) throw new ScenarioError(`scenario file "${nameOrPath}" is not a .yaml file`);
  if (looksLikePath(nameOrPath)) throw new ScenarioError(`no scenario file "${nameOrPath}": not found`);
  const known = listScenarios().map((s) => s.name).join(", ");
  throw new ScenarioError(`no scenario "${nameOrPath}": give a name from scenarios/ (${known}) or a path to a .yaml file`);
}

/** A path as the errors show it: `workload.phases[0].clients`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let text = "";
  for (const key of path) text += typeof key === "number" ? `[${key}]` : `${text ? "." : ""}${String(key)}`;
  return text || "(top level)";
}

type Issue = z.core.$ZodIssue;

/** Issue codes meaning a union's branch did not even match the input's shape. */
const SHAPE_MISMATCH = new Set(["invalid_type", "invalid_value", "invalid_union"]);

/**
 * A union's issue, replaced by the issues of the one branch the input was meant for when
 * there is one (the only branch whose shape matches, and among those the only one without
 * unknown fields), so that the path goes down to the field that is wrong.
 */
function flatten(issue: Issue): Issue[] {
  if (issue.code !== "invalid_union" || issue.errors.length === 0) return [issue];
  const atRoot = (branch: Issue[], codes: (code: string) => boolean) => branch.some((sub) => sub.path.length === 0 && codes(sub.code));
  let candidates = issue.errors.filter((branch) => !atRoot(branch, (code) => SHAPE_MISMATCH.has(code)));
  if (candidates.length > 1) candidates = candidates.filter((branch) => !atRoot(branch, (code) => code === "unrecognized_keys"));
  if (candidates.length !== 1) return [issue];
  return candidates[0].flatMap((sub) => flatten({ ...sub, path: [...issue.path, ...sub.path] } as Issue));
}

const TYPE_NAMES: Record<string, string> = {
  int: "a whole number", number: "a number", string: "text", boolean: "true or false", array: "a list", tuple: "a list", object: "a mapping (fields)",
};

/** Messages for the issues no schema-level message covers. */
const messages = (issue: z.core.$ZodRawIssue): string | undefined => {
  if (issue.code === "invalid_type" && issue.input === undefined) return "required";
  if (issue.code === "invalid_type") return `expected ${TYPE_NAMES[issue.expected] ?? issue.expected}, got ${shown(issue.input)}`;
  if (issue.code === "invalid_value") {
    const values = issue.values.map((value) => (typeof value === "string" ? value : shown(value)));
    return `${values.length === 1 ? `expected ${values[0]}` : `expected one of ${values.join(", ")}`}, got ${shown(issue.input)}`;
  }
  if (issue.code === "unrecognized_keys") return `unknown field${issue.keys.length === 1 ? "" : "s"} ${issue.keys.map((key) => `"${key}"`).join(", ")}`;
  return undefined;
};

/** The line of the YAML node at `path` (or of its nearest ancestor the file has), if any. */
function lineOf(document: Document, lines: LineCounter, path: IssuePath, key?: string): number | undefined {
  for (let depth = path.length; depth > 0; depth--) {
    const node = document.getIn(path.slice(0, depth), true) as { range?: [number, number, number] } | undefined;
    if (!node || typeof node !== "object") continue;
    let offset = node.range?.[0];
    // An unknown field: the line of its key.
    if (key !== undefined && depth === path.length && isMap(node)) {
      const pair = node.items.find((item) => (item.key as { value?: unknown } | null)?.value === key);
      offset = (pair?.key as { range?: [number, number, number] } | undefined)?.range?.[0] ?? offset;
    }
    return offset === undefined ? undefined : lines.linePos(offset).line;
  }
  if (key !== undefined && isMap(document.contents)) {
    const pair = document.contents.items.find((item) => (item.key as { value?: unknown } | null)?.value === key);
    const offset = (pair?.key as { range?: [number, number, number] } | undefined)?.range?.[0];
    return offset === undefined ? undefined : lines.linePos(offset).line;
  }
  return undefined;
}

export interface ParseOptions {
  /** The scenario file's directory: given, the function files it names must be there. */
  dir?: string;
}

/** Parses and validates a scenario; the error names each bad field by its path and line. */
export function parseScenario(text: string, source = "scenario", options: ParseOptions = {}): Scenario {
  const lines = new LineCounter();
  const document = parseDocument(text, { lineCounter: lines, prettyErrors: true });
  if (document.errors.length > 0) throw new ScenarioError(`${source} is not valid YAML: ${document.errors[0].message}`);
  let data: unknown;
  try {
    data = document.toJS();
  } catch (error) {
    throw new ScenarioError(`${source} is not valid YAML: ${(error as Error).message}`);
  }
  if (typeof data !== "object" || data === null || Array.isArray(data)) {
    throw new ScenarioError(`${source} is not a valid scenario: it must be a mapping of fields (name, description, cluster, workload, checks…), not ${data === null ? "an empty file" : shown(data)}`);
  }
  const refuse = (problems: { path: IssuePath; message: string; key?: string }[]): never => {
    const shownProblems = problems.map(({ path, message, key }) => {
      const line = lineOf(document, lines, path, key);
      return `  - ${formatPath(path)}${line === undefined ? "" : ` (line ${line})`}: ${message}`;
    });
    throw new ScenarioError(`${source} is not a valid scenario:\n${shownProblems.join("\n")}`);
  };
  const parsed = ScenarioSchema.safeParse(data, { error: messages });
  if (!parsed.success) {
    refuse(
      parsed.error.issues.flatMap(flatten).map((issue) => ({
        path: issue.path as IssuePath,
        message: issue.message,
        key: issue.code === "unrecognized_keys" ? issue.keys[0] : undefined,
      })),
    );
  }
  const scenario = parsed.data!;
  const problems: Problem[] = validateScenario(scenario);
  if (options.dir !== undefined) problems.push(...missingFiles(scenario, options.dir));
  if (problems.length > 0) refuse(problems);
  return scenario;
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
