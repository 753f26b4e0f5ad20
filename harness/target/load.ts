/**
 * Reading target files: YAML checked against the schema, then what the schema cannot say
 * alone, each problem with the path and line of its field:
 *
 *  - a placeholder that does not exist, or one the component is not given (a worker has no
 *    {apiPort}, a local dispatcher no {port});
 *  - a mode listed without its dispatcher or its worker, or a dispatcher or worker for a mode
 *    not listed;
 *  - an http or tcp readiness on a component with no port of its own that does not name one;
 *  - a status spelled the same for two statuses;
 *  - two components on the same fixed port.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { DISPATCHER_MODES, WORKER_MODES } from "../../system/modes.js";
import { packageRoot } from "../../system/paths.js";
import { findDataFile, parseYamlWithSchema, type DataFormat, type IssuePath, type Problem } from "../format/load.js";
import { COMPONENT_PLACEHOLDERS, PLACEHOLDER_NAMES, PLACEHOLDERS, TargetSchema, type ComponentKey, type Placeholder, type PortName, type Target, type TargetProcess } from "./schema.js";

export const TARGET_DIR = join(packageRoot, "targets");

export class TargetError extends Error {
  override name = "TargetError";
}

const TARGET_FORMAT: DataFormat<typeof TargetSchema> = {
  schema: TargetSchema,
  what: "target",
  fields: "name, description, modes, ports, functions, components, dialect",
  error: TargetError,
};

/** A placeholder in a template: `{name}`; `{{` and `}}` are literal braces. */
const PLACEHOLDER = /\{\{|\}\}|\{([^{}]*)\}/g;

/** The placeholders a template uses, in order. */
export function placeholdersIn(template: string): string[] {
  return [...template.matchAll(PLACEHOLDER)].flatMap((match) => (match[1] === undefined ? [] : [match[1]]));
}

/** A template with its placeholders filled in; one it has no value for is an error. */
export function expandTemplate(template: string, values: Partial<Record<Placeholder, string | number>>): string {
  return template.replace(PLACEHOLDER, (match, name: string | undefined) => {
    if (name === undefined) return match[0];
    const value = values[name as Placeholder];
    if (value === undefined) throw new TargetError(`no value for the placeholder {${name}} in "${template}"`);
    return String(value);
  });
}

/** A component's command as argv: a line is split at spaces, then each word expanded. */
export function commandLine(component: TargetProcess, values: Partial<Record<Placeholder, string | number>>): string[] {
  const words = typeof component.command === "string" ? component.command.split(/\s+/).filter(Boolean) : component.command;
  return words.map((word) => expandTemplate(word, values));
}

/** The port a component listens on, if it has one of its own. */
export function ownPort(key: ComponentKey): PortName | undefined {
  if (key === "redis" || key === "api") return key;
  return key === "dispatcher.pull" || key === "dispatcher.push" ? "dispatcher" : undefined;
}

/** Every component a target gives, with its key and path. */
function componentsOf(target: Target): { key: ComponentKey; path: IssuePath; component: TargetProcess }[] {
  const found: { key: ComponentKey; path: IssuePath; component: TargetProcess }[] = [
    { key: "redis", path: ["components", "redis"], component: target.components.redis },
    { key: "api", path: ["components", "api"], component: target.components.api },
  ];
  for (const mode of DISPATCHER_MODES) {
    const component = target.components.dispatcher[mode];
    if (component) found.push({ key: `dispatcher.${mode}`, path: ["components", "dispatcher", mode], component });
  }
  for (const mode of WORKER_MODES) {
    const component = target.components[`${mode}-worker`];
    if (component) found.push({ key: `${mode}-worker`, path: ["components", `${mode}-worker`], component });
  }
  return found;
}

/** A component as messages name it: "api", "the dispatcher in pull mode", "pull-worker". */
const named = (key: ComponentKey) => (key.startsWith("dispatcher.") ? `the dispatcher in ${key.slice("dispatcher.".length)} mode` : key);

const list = (names: readonly string[]) => names.map((name) => `{${name}}`).join(", ");

function placeholderProblems(key: ComponentKey, path: IssuePath, component: TargetProcess): Problem[] {
  const allowed = COMPONENT_PLACEHOLDERS[key];
  const templates: [IssuePath, string][] = [
    ...(typeof component.command === "string" ? [[[...path, "command"], component.command] as [IssuePath, string]] : component.command.map((word, i) => [[...path, "command", i], word] as [IssuePath, string])),
    [[...path, "cwd"], component.cwd],
    ...Object.entries(component.env).map(([name, value]) => [[...path, "env", name], value] as [IssuePath, string]),
  ];
  const problems: Problem[] = [];
  for (const [where, template] of templates) {
    for (const name of placeholdersIn(template)) {
      if (!(name in PLACEHOLDERS)) problems.push({ path: where, message: `unknown placeholder {${name}}: the placeholders are ${list(PLACEHOLDER_NAMES)}` });
      else if (!allowed.includes(name as Placeholder)) problems.push({ path: where, message: `{${name}} is not given to ${named(key)}: it may use ${list(allowed)}` });
    }
  }
  return problems;
}

/** What the schema cannot say alone; see the top of this file. */
export function validateTarget(target: Target): Problem[] {
  const problems: Problem[] = [];
  const components = componentsOf(target);
  for (const { key, path, component } of components) {
    problems.push(...placeholderProblems(key, path, component));
    const ready = component.ready;
    if ((ready.kind === "http" || ready.kind === "tcp") && ready.port === undefined && ownPort(key) === undefined) {
      problems.push({ path: [...path, "ready", "port"], message: `required: ${named(key)} has no port of its own, so a ${ready.kind} readiness names one (api, redis or dispatcher)` });
    }
  }
  const modeIndex = (mode: string) => target.modes.indexOf(mode as (typeof target.modes)[number]);
  for (const mode of DISPATCHER_MODES) {
    const listed = modeIndex(mode) >= 0;
    const given = target.components.dispatcher[mode] !== undefined;
    if (listed && !given) problems.push({ path: ["components", "dispatcher", mode], message: `required: modes lists ${mode}` });
    if (!listed && given) problems.push({ path: ["components", "dispatcher", mode], message: `modes does not list ${mode}: add it there, or remove this` });
  }
  for (const mode of WORKER_MODES) {
    const listed = modeIndex(mode) >= 0;
    const given = target.components[`${mode}-worker`] !== undefined;
    if (listed && !given) problems.push({ path: ["components", `${mode}-worker`], message: `required: modes lists ${mode}` });
    if (!listed && given) problems.push({ path: ["components", `${mode}-worker`], message: `modes does not list ${mode}: add it there, or remove this` });
  }
  if (target.hosts.includes("separate")) {
    for (const { key, path, component } of components) {
      if (!key.endsWith("-worker")) continue;
      const words = typeof component.command === "string" ? [component.command] : component.command;
      const used = [...words, component.cwd, ...Object.values(component.env)].flatMap(placeholdersIn);
      if (used.includes("redisUrl") || used.includes("redisPort")) {
        problems.push({ path, message: `on separate hosts a worker has a link to its dispatcher only, not to Redis: drop separate from hosts, or give ${named(key)} no {redisUrl} or {redisPort}` });
      }
    }
  }
  const spelledBy = new Map<string, string>();
  for (const [status, names] of Object.entries(target.dialect.statuses)) {
    for (const name of names) {
      const other = spelledBy.get(name);
      if (other !== undefined && other !== status) problems.push({ path: ["dialect", "statuses", status], message: `"${name}" already means ${other}: each name means one status` });
      spelledBy.set(name, status);
    }
  }
  const usedBy = new Map<number, string>();
  const ports = target.ports as Record<PortName, number | "given">;
  for (const name of ["api", "redis", "dispatcher"] as const) {
    const port = ports[name];
    if (port === "given") continue;
    const other = usedBy.get(port);
    if (other !== undefined) problems.push({ path: ["ports", name], message: `${port} is already the ${other} port: each component needs its own` });
    usedBy.set(port, name);
  }
  return problems;
}

/** Parses and validates a target; the error names each bad field by its path and line. */
export function parseTarget(text: string, source = "target"): Target {
  return parseYamlWithSchema(TARGET_FORMAT, text, source, validateTarget);
}

/**
 * A target's file from its name (targets/<name>.yaml) or a path. A path that is not there
 * says so; a name that is not there lists the names there are.
 */
export function targetPath(nameOrPath: string): string {
  return findDataFile(nameOrPath, { dir: TARGET_DIR, what: "target", known: () => listTargets().map((t) => t.name), error: TargetError });
}

export interface LoadTargetOptions {
  /** The implementation's directory ({dir}); without it, the target's own `dir` (relative to its file). */
  targetDir?: string;
}

export interface LoadedTarget {
  target: Target;
  /** The target file. */
  file: string;
  /** The implementation's directory: what {dir} stands for. */
  dir: string;
}

/** Loads a target by name or path, with the directory of the implementation it runs. */
export function loadTarget(nameOrPath: string, options: LoadTargetOptions = {}): LoadedTarget {
  const file = targetPath(nameOrPath);
  const target = parseTarget(readFileSync(file, "utf8"), basename(file));
  let dir: string;
  if (options.targetDir !== undefined) dir = resolve(options.targetDir);
  else if (target.dir !== undefined) dir = resolve(dirname(file), target.dir);
  else throw new TargetError(`target ${target.name} runs an implementation of yours: give its directory with --target-dir`);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new TargetError(`target ${target.name}: ${dir} is not a directory${options.targetDir !== undefined ? " (--target-dir)" : ` (its dir: ${target.dir})`}`);
  }
  return { target, file, dir };
}

/** Every target in targets/, with its description (or why it does not load). */
export function listTargets(): { name: string; description: string }[] {
  if (!existsSync(TARGET_DIR)) return [];
  return readdirSync(TARGET_DIR)
    .filter((file) => file.endsWith(".yaml"))
    .sort()
    .map((file) => {
      try {
        const target = parseTarget(readFileSync(join(TARGET_DIR, file), "utf8"), file);
        return { name: target.name, description: target.description };
      } catch (error) {
        return { name: basename(file, ".yaml"), description: `(invalid: ${(error as Error).message.split("\n")[1]?.trim() ?? (error as Error).message})` };
      }
    });
}
