/**
 * Pieces every data format of the harness (scenarios, targets) writes its zod schema with:
 * messages that show the bad input, a tagged union's message, durations with their unit.
 */
import { z } from "zod";

/** The input as an error message shows it. */
export const shown = (input: unknown): string => (typeof input === "bigint" ? `${input}n` : (JSON.stringify(input) ?? String(input)));

/**
 * A schema-level error message for when the input is present but wrong; a missing field is
 * left to the loader's message ("required").
 */
export const unlessMissing = (message: (input: unknown) => string) => (issue: { input?: unknown }) =>
  issue.input === undefined ? undefined : message(issue.input);

/** A discriminated union's message when its tag is missing or unknown. */
export const tagError = (tag: string, options: readonly string[]) => (issue: { code?: string; input?: unknown }) => {
  if (issue.code !== "invalid_union") return undefined;
  const value = typeof issue.input === "object" && issue.input !== null ? (issue.input as Record<string, unknown>)[tag] : undefined;
  return value === undefined ? `${tag} is required: one of ${options.join(", ")}` : `${tag} must be one of ${options.join(", ")}, got ${shown(value)}`;
};

const DURATION = /^\d+(\.\d+)?(ms|s|m)$/;
const durationExpected = (input: unknown) => `expected a duration like "500ms", "10s" or "2m", got ${shown(input)}`;

/** The spellings a bare number may have meant: "30s" or "30ms"; a large one was probably milliseconds. */
const unitsFor = (n: number) => (n >= 1000 && n % 1000 === 0 ? `"${n}ms" (that is "${n / 1000}s") or "${n}s"` : `"${n}s" or "${n}ms"`);

/**
 * A duration: "500ms", "10s", "2m" (decimals allowed), read as milliseconds. A bare number is
 * refused: it would mean milliseconds to some readers and seconds to others.
 */
export const duration = z
  .string({
    error: unlessMissing((input) =>
      typeof input === "number" ? `${input} is a bare number: give its unit, ${unitsFor(input)}` : durationExpected(input),
    ),
  })
  .regex(DURATION, { error: unlessMissing(durationExpected) })
  .transform((value) => {
    const amount = Number.parseFloat(value);
    return value.endsWith("ms") ? amount : value.endsWith("m") ? amount * 60_000 : amount * 1000;
  })
  .meta({ label: "duration" })
  .describe('a duration: "500ms", "10s" or "2m"');

/** What the field references say about durations. */
export const DURATION_NOTE =
  'A duration is text with its unit: `"500ms"`, `"10s"`, `"1.5s"`, `"2m"`; a bare number is refused (write `30s` or `30ms`, not `30`).';
