/**
 * Reading a data file of the harness (a scenario, a target): YAML checked against a zod
 * schema and then against what the schema cannot say alone, every problem reported at once
 * with the path and line of its field. Each format gives its schema, its words and its error
 * class; the machinery is this one.
 */
import { existsSync, statSync } from "node:fs";
import { extname, join, resolve } from "node:path";
import { isMap, LineCounter, parseDocument, type Document } from "yaml";
import type { z } from "zod";
import { shown } from "./schema.js";

export type IssuePath = (string | number)[];

/** A problem found in a file: where (the path of the field) and what. */
export interface Problem {
  path: IssuePath;
  message: string;
  /** An unknown field's name: its line is that of its key. */
  key?: string;
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

/** One data format: its schema, how it is named in messages, and its error. */
export interface DataFormat<S extends z.ZodType> {
  schema: S;
  /** "scenario", "target": "x.yaml is not a valid scenario". */
  what: string;
  /** The fields a file starts with, for a file that is not a mapping: "name, description, cluster…". */
  fields: string;
  /** The error every refusal is thrown as. */
  error: new (message: string) => Error;
}

/**
 * Parses YAML and checks it against a format's schema, then with `validate` (what the schema
 * cannot say alone, given the parsed value); the error names each bad field by its path and line.
 */
export function parseYamlWithSchema<S extends z.ZodType>(
  format: DataFormat<S>,
  text: string,
  source: string,
  validate: (value: z.output<S>) => Problem[] = () => [],
): z.output<S> {
  const lines = new LineCounter();
  const document = parseDocument(text, { lineCounter: lines, prettyErrors: true });
  if (document.errors.length > 0) throw new format.error(`${source} is not valid YAML: ${document.errors[0].message}`);
  let data: unknown;
  try {
    data = document.toJS();
  } catch (error) {
    throw new format.error(`${source} is not valid YAML: ${(error as Error).message}`);
  }
  if (typeof data !== "object" || data === null || Array.isArray(data)) {
    throw new format.error(`${source} is not a valid ${format.what}: it must be a mapping of fields (${format.fields}), not ${data === null ? "an empty file" : shown(data)}`);
  }
  const refuse = (problems: Problem[]): never => {
    const shownProblems = problems.map(({ path, message, key }) => {
      const line = lineOf(document, lines, path, key);
      return `  - ${formatPath(path)}${line === undefined ? "" : ` (line ${line})`}: ${message}`;
    });
    throw new format.error(`${source} is not a valid ${format.what}:\n${shownProblems.join("\n")}`);
  };
  const parsed = format.schema.safeParse(data, { error: messages });
  if (!parsed.success) {
    refuse(
      parsed.error.issues.flatMap(flatten).map((issue) => ({
        path: issue.path as IssuePath,
        message: issue.message,
        key: issue.code === "unrecognized_keys" ? issue.keys[0] : undefined,
      })),
    );
  }
  const value = parsed.data as z.output<S>;
  const problems = validate(value);
  if (problems.length > 0) refuse(problems);
  return value;
}

export const YAML_EXTENSIONS = [".yaml", ".yml"];
const looksLikePath = (text: string) => /[/\\]/.test(text) || YAML_EXTENSIONS.includes(extname(text));

/**
 * A data file from its name (<dir>/<name>.yaml) or a path. A path that is not there says so;
 * a name that is not there lists the names there are (`known`).
 */
export function findDataFile(nameOrPath: string, options: { dir: string; what: string; known: () => string[]; error: new (message: string) => Error }): string {
  const { dir, what, error } = options;
  const candidates = [nameOrPath, join(dir, `${nameOrPath}.yaml`), join(dir, nameOrPath)];
  const found = candidates.find((candidate) => existsSync(candidate) && statSync(candidate).isFile());
  if (found && YAML_EXTENSIONS.includes(extname(found))) return resolve(found);
  if (found) throw new error(`${what} file "${nameOrPath}" is not a .yaml file`);
  if (looksLikePath(nameOrPath)) throw new error(`no ${what} file "${nameOrPath}": not found`);
  const folder = `${dir.split(/[/\\]/).filter(Boolean).pop()}/`;
  throw new error(`no ${what} "${nameOrPath}": give a name from ${folder} (${options.known().join(", ")}) or a path to a .yaml file`);
}
