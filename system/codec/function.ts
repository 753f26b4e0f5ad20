/**
 * What counts as a function payload: the source of one function declaration, function
 * expression, arrow or async function. It is parsed (acorn), never run, so registration can
 * refuse what would not compile or is not a function before any executor sees it.
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

/** Decodes an execute_function payload: it must be a serialized array of arguments. */
export function decodeArgumentsPayload(payload: string): unknown[] {
  const value = deserialize(payload);
  if (!Array.isArray(value)) {
    throw new InvalidArgumentsError(`the payload is a serialized ${describe(value)}, not a serialized array of arguments`);
  }
  return value;
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (value instanceof FunctionSource) return "function";
  return typeof value === "object" ? (value.constructor?.name ?? "object") : typeof value;
}
