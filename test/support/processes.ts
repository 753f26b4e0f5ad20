/** Whether a process the tests started is still there. */
import { readFileSync } from "node:fs";

/** Alive means present and not a zombie (a killed child whose parent is gone may linger as one). */
export function isAlive(pid: number): boolean {
  try {
    const state = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.[0];
    return state !== undefined && state !== "Z";
  } catch {
    return false;
  }
}
