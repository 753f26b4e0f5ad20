/** Reading a component's JSON log, for events a test waits on (the harness keeps every log). */
import { readFileSync } from "node:fs";

export function logEvents(file: string): Record<string, unknown>[] {
  let text = "";
  try {
    text = readFileSync(file, "utf8");
  } catch {
    return [];
  }
  const events: Record<string, unknown>[] = [];
  for (const line of text.split("\n")) {
    if (!line.startsWith("{")) continue;
    try {
      events.push(JSON.parse(line));
    } catch {
      /* a line being written */
    }
  }
  return events;
}

/** The events whose message is `msg` and whose fields include `fields`. */
export function findLogged(file: string, msg: string, fields: Record<string, unknown> = {}): Record<string, unknown>[] {
  return logEvents(file).filter((event) => event.msg === msg && Object.entries(fields).every(([key, value]) => event[key] === value));
}
