/**
 * CPU time of a component as /proc counts it: the process and every live descendant (the
 * executor host that holds a pool's threads is a child process of its dispatcher or worker,
 * the Python jail another), user and system time, in seconds.
 */
import { readdirSync, readFileSync } from "node:fs";

function stat(pid: number): { ppid: number; seconds: number } | undefined {
  try {
    // After the command's closing parenthesis: state, ppid, …, utime (14th field) and stime (15th).
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
    return { ppid: Number(fields[1]), seconds: (Number(fields[11]) + Number(fields[12])) / 100 };
  } catch {
    return undefined; // it ended meanwhile
  }
}

/** The CPU seconds of `pid` alone (what reports before 2026-12-04 counted: no executor host). */
export function ownCpuSeconds(pid: number): number {
  return stat(pid)?.seconds ?? 0;
}

/** The CPU seconds of `pid` and of all its live descendants. */
export function cpuSeconds(pid: number): number {
  const children = new Map<number, number[]>();
  const seconds = new Map<number, number>();
  for (const name of readdirSync("/proc")) {
    const other = Number(name);
    if (!Number.isInteger(other)) continue;
    const read = stat(other);
    if (!read) continue;
    seconds.set(other, read.seconds);
    children.set(read.ppid, [...(children.get(read.ppid) ?? []), other]);
  }
  let total = 0;
  for (const queue = [pid]; queue.length > 0;) {
    const next = queue.pop()!;
    total += seconds.get(next) ?? 0;
    queue.push(...(children.get(next) ?? []));
  }
  return total;
}
