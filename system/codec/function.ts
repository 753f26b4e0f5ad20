/**
 * What counts as a function payload: the source of one function declaration, function
 * expression, arrow or async function. It is parsed (acorn), never run, so registration can
 * refuse what would not compile or is not a function before any executor sees it. And what
 * counts as an arguments payload: an array of data, with no function in it.
 */
import { parse } from "acorn";
import { full as walkFull } from "acorn-walk";
import { deserialize, FunctionSource } from "./index.js";

export class InvalidFunctionError extends Error {
  override name = "InvalidFunctionError";
}

/** An argument payload that decodes to something other than an array of arguments. */
export class InvalidArgumentsError extends Error {
  override name = "InvalidArgumentsError";
}

/** The expression that evaluates to the function, ready for the sandbox to compile. */
export function functionExpression(source: string): string {
  return `(${source}\n)`;
}

/** Checks that `source` is exactly one function and returns it trimmed; throws otherwise. */
export function checkFunctionSource(source: string): string {
  const trimmed = source.trim();
  if (trimmed === "") throw new InvalidFunctionError("the function source is empty");
  let program;
  try {
    program = parse(functionExpression(trimmed), { ecmaVersion: "latest", sourceType: "script" });
  } catch (error) {
    throw new InvalidFunctionError(`the function does not compile: ${(error as Error).message}`);
  }
  const body = program.body;
  const statement = body.length === 1 && body[0].type === "ExpressionStatement" ? body[0] : undefined;
  const kind = statement?.expression.type;
  if (kind !== "FunctionExpression" && kind !== "ArrowFunctionExpression") {
    throw new InvalidFunctionError(
      "the payload is not a function: send the source of one function declaration, function expression or arrow function",
    );
  }
  walkFull(statement!.expression, (node) => {
    // Node answers import() in a vm context with a host-realm error, a way out of the sandbox.
    if (node.type === "ImportExpression") throw new InvalidFunctionError("import() is not available to functions");
  });
  return trimmed;
}

/** Decodes a register_function payload into checked function source. */
export function decodeFunctionPayload(payload: string): string {
  const value = deserialize(payload);
  if (!(value instanceof FunctionSource)) {
    throw new InvalidFunctionError(`the payload is a serialized ${describe(value)}, not a serialized function`);
  }
  return checkFunctionSource(value.source);
}

/**
 * Decodes an execute_function payload: it must be a serialized array of arguments, and hold
 * no function anywhere (the executor would refuse it, and the task fail, only once it ran).
 */
export function decodeArgumentsPayload(payload: string): unknown[] {
  const value = deserialize(payload);
  if (!Array.isArray(value)) {
    throw new InvalidArgumentsError(`the payload is a serialized ${describe(value)}, not a serialized array of arguments`);
  }
  // A function is a tagged array whose tag is the JSON string "Function" (or "FunctionSource"):
  // text without those letters, or a \u escape that could spell them, holds none.
  const where = payload.includes("Function") || payload.includes("\\u") ? functionIn(value) : undefined;
  if (where !== undefined) {
    throw new InvalidArgumentsError(`${where} is a function, which cannot be an argument: arguments are data (register a function to run it)`);
  }
  return value;
}

interface Visit {
  value: object;
  parent: Visit | undefined;
  /** How the value is reached from its parent: an array index, or `.name`, ` value`… */
  step: number | string;
}

/**
 * Where the first function in decoded arguments is (`arguments[1].handler`, named the way
 * the executor names a result's parts), or undefined. Iterative, each object once: deep
 * and cyclic arguments cost no stack; the path is built only for the function found.
 */
function functionIn(args: unknown[]): string | undefined {
  const seen = new Set<object>();
  const pending: Visit[] = [{ value: args, parent: undefined, step: "arguments" }];
  // Children are pushed last first, so that the first function in order is the one found.
  const push = (parent: Visit, children: readonly [unknown, string][]) => {
    for (let index = children.length - 1; index >= 0; index--) {
      const [child, step] = children[index];
      if (typeof child === "object" && child !== null) pending.push({ value: child, parent, step });
    }
  };
  while (pending.length > 0) {
    const visit = pending.pop()!;
    const { value } = visit;
    if (value instanceof FunctionSource) return pathOf(visit);
    if (seen.has(value)) continue;
    seen.add(value);
    if (Array.isArray(value)) {
      for (let index = value.length - 1; index >= 0; index--) {
        const child: unknown = value[index];
        if (typeof child === "object" && child !== null) pending.push({ value: child, parent: visit, step: index });
      }
    } else if (value instanceof Map) {
      push(visit, [...value].flatMap(([key, entry]): [unknown, string][] => [[key, " key"], [entry, " value"]]));
    } else if (value instanceof Set) {
      push(visit, [...value].map((member): [unknown, string] => [member, " member"]));
    } else if (value instanceof Error) {
      if ("cause" in value) push(visit, [[value.cause, ".cause"]]);
    } else if (!(value instanceof Date || value instanceof RegExp || value instanceof ArrayBuffer || ArrayBuffer.isView(value))) {
      push(visit, Object.keys(value).map((key): [unknown, string] => [(value as Record<string, unknown>)[key], IDENTIFIER.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`]));
    }
  }
  return undefined;
}

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

function pathOf(visit: Visit): string {
  const steps: string[] = [];
  for (let at: Visit | undefined = visit; at !== undefined; at = at.parent) steps.push(typeof at.step === "number" ? `[${at.step}]` : at.step);
  return steps.reverse().join("");
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (value instanceof FunctionSource) return "function";
  return typeof value === "object" ? (value.constructor?.name ?? "object") : typeof value;
}
