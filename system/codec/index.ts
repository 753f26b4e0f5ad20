/**
 * The one codec of faaslab: function payloads, argument arrays, results and errors all
 * travel as `serialize(value)` text.
 *
 * The format is devalue's (https://github.com/sveltejs/devalue): a JSON array whose first
 * element is the root value and whose other elements are the values it refers to by index,
 * so shared and cyclic references survive. faaslab adds two tagged types, `Function` (its
 * source text) and `Error` (name, message, stack, cause). `deserialize` only calls
 * `JSON.parse` and builds plain values: it never evaluates code. A function comes back as a
 * `FunctionSource`, which only the sandbox compiles.
 */
import { parse, stringify } from "devalue";
import { types } from "node:util";

/** A serialized function after `deserialize`: its source, not yet compiled. */
export class FunctionSource {
  constructor(readonly source: string) {}
}

/** Raised when a value has no representation in the codec (a symbol, a class instance...). */
export class CodecError extends Error {
  override name = "CodecError";
}

interface ErrorFields {
  name: string;
  message: string;
  stack?: string;
  cause?: unknown;
}

const reducers = {
  Function: (value: unknown) =>
    (typeof value === "function" && Function.prototype.toString.call(value)) || undefined,
  Error: (value: unknown) => (types.isNativeError(value) ? errorFields(value as Error) : undefined),
  FunctionSource: (value: unknown) => (value instanceof FunctionSource ? value.source : undefined),
};

function errorFields(error: Error): ErrorFields {
  const fields: ErrorFields = { name: String(error.name), message: String(error.message) };
  if (typeof error.stack === "string") fields.stack = error.stack;
  if ("cause" in error) fields.cause = error.cause;
  return fields;
}

const revivers = {
  Function: (source: string) => new FunctionSource(source),
  FunctionSource: (source: string) => new FunctionSource(source),
  Error: (fields: ErrorFields) => reviveError(fields),
};

const standardErrors: Record<string, ErrorConstructor> = {
  Error, TypeError, RangeError, SyntaxError, ReferenceError, EvalError, URIError,
};

function reviveError(fields: ErrorFields): Error {
  const Constructor = standardErrors[fields.name] ?? Error;
  const error = "cause" in fields ? new Constructor(fields.message, { cause: fields.cause }) : new Constructor(fields.message);
  if (error.name !== fields.name) {
    Object.defineProperty(error, "name", { value: fields.name, writable: true, configurable: true, enumerable: false });
  }
  if (fields.stack !== undefined) {
    Object.defineProperty(error, "stack", { value: fields.stack, writable: true, configurable: true, enumerable: false });
  } else {
    delete (error as { stack?: string }).stack;
  }
  return error;
}

/** Turns a value into codec text. Throws `CodecError` for values the codec cannot carry. */
export function serialize(value: unknown): string {
  try {
    return stringify(value, reducers);
  } catch (error) {
    throw new CodecError(`cannot serialize: ${(error as Error).message}${pathOf(error)}`);
  }
}

/** Turns codec text back into a value. Throws `CodecError` for text that is not codec output. */
export function deserialize(text: string): unknown {
  try {
    return parse(text, revivers);
  } catch (error) {
    throw new CodecError(`not a serialized value: ${(error as Error).message}`);
  }
}

function pathOf(error: unknown): string {
  const path = (error as { path?: string }).path;
  return path ? ` (at ${path})` : "";
}
