/** The languages a function can be written in; which one a function has is recorded with it. */
export const RUNTIMES = ["javascript", "python"] as const;
export type Runtime = (typeof RUNTIMES)[number];

export function isRuntime(value: unknown): value is Runtime {
  return (RUNTIMES as readonly unknown[]).includes(value);
}
