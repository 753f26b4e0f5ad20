/**
 * The reply codes of the transition scripts, named once. The loader (scripts.ts) gives every
 * script these names as a Lua table, `Code`, so a script returns `Code.TaskMissing` and
 * TypeScript reads `ScriptCode.TaskMissing`: the two sides cannot drift apart. A code below 0
 * says why a transition did not happen; `scriptError` turns one into an Error carrying it.
 */
export enum ScriptCode {
  /** The transition happened. */
  Ok = 0,
  /** There is no such task (never submitted, or expired after its result ttl). */
  TaskMissing = -1,
  /** The task is COMPLETED or FAILED already: a late claim or a late result changes nothing. */
  TaskFinished = -2,
  /** claimTask: the task was started max-attempts times, each time lost; it was failed with WorkerLost instead. */
  AttemptsExhausted = -3,
  /** submitTask, submitTasks: there is no such function. */
  FunctionMissing = -4,
  /** submitTask, submitTasks: the function already has its most unfinished tasks. */
  FunctionBusy = -5,
}

/** A transition that did not happen, or a reply the store did not expect; `code` says which. */
export class StoreError extends Error {
  override name = "StoreError";
  constructor(readonly code: ScriptCode, message: string) {
    super(message);
  }
}

/** A submission was refused: the function has its most unfinished tasks. */
export class FunctionBusyError extends StoreError {
  override name = "FunctionBusyError";
  constructor(readonly functionId: string, readonly bound: number) {
    super(ScriptCode.FunctionBusy, `function ${functionId} already has ${bound} unfinished tasks, its bound; try again when some have finished`);
  }
}

/** What the store knows of the call whose script answered with a failure code. */
export interface ScriptContext {
  script: string;
  taskId?: string;
  functionId?: string;
  /** submitTask, submitTasks: the function's bound on unfinished tasks. */
  bound?: number;
}

/** The Error for a failure code (a code the store does not know is a bug, and says so). */
export function scriptError(code: number, context: ScriptContext): StoreError {
  const about = context.taskId !== undefined ? `task ${context.taskId}` : `function ${context.functionId ?? "(none)"}`;
  switch (code) {
    case ScriptCode.FunctionBusy:
      return new FunctionBusyError(context.functionId ?? "(none)", context.bound ?? 0);
    case ScriptCode.TaskMissing:
      return new StoreError(code, `${context.script}: ${about} does not exist`);
    case ScriptCode.TaskFinished:
      return new StoreError(code, `${context.script}: ${about} is already finished`);
    case ScriptCode.AttemptsExhausted:
      return new StoreError(code, `${context.script}: ${about} was started as many times as allowed and failed with WorkerLost`);
    case ScriptCode.FunctionMissing:
      return new StoreError(code, `${context.script}: ${about} does not exist`);
    default:
      return new StoreError(code, `${context.script}: unexpected reply code ${code} for ${about}`);
  }
}

/** The codes as Lua source (`local Code = {...}`), which the loader puts first in every script. */
export function luaCodes(): string {
  const entries = Object.entries(ScriptCode).filter(([, value]) => typeof value === "number").map(([name, value]) => `${name} = ${value}`);
  return `local Code = {${entries.join(", ")}}`;
}
