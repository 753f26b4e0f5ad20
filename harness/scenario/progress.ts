/**
 * The live progress line of a scenario run: mode, phase, tasks done of accepted, recent
 * throughput, faults in force. On a terminal it rewrites one line every second; otherwise
 * (CI, a pipe) it prints a line every 10 seconds.
 */
import type { Nemesis } from "../nemesis/nemesis.js";
import type { Workload } from "../workload/driver.js";

export class Progress {
  private timer: NodeJS.Timeout | undefined;
  private mode = "";
  private name = "";
  private readonly tty: boolean;
  private readonly started = Date.now();

  constructor(private readonly out: NodeJS.WriteStream = process.stderr) {
    this.tty = Boolean(out.isTTY);
  }

  phase(mode: string, name: string): void {
    this.mode = mode;
    this.name = name;
    this.clearLine();
    this.out.write(`[${this.elapsed()}] ${mode}: ${name}\n`);
  }

  watch(workload: Workload, nemesis: Nemesis): void {
    this.unwatch();
    const draw = () => {
      const { accepted, finished, finishedAt } = workload.counters;
      const now = finishedAt.length ? finishedAt[finishedAt.length - 1] : 0;
      const recent = finishedAt.filter((t) => t > now - 5000).length / 5;
      const faults = nemesis.current;
      const line = `[${this.elapsed()}] ${this.mode}: ${this.name} | ${finished}/${accepted} tasks done | ${recent.toFixed(0)} tasks/s | faults: ${faults.length ? faults.join("; ") : "none"}`;
      if (this.tty) this.out.write(`\r\x1b[K${line.slice(0, (this.out.columns ?? 200) - 1)}`);
      else this.out.write(`${line}\n`);
    };
    this.timer = setInterval(draw, this.tty ? 1000 : 10_000);
  }

  unwatch(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.clearLine();
  }

  private clearLine(): void {
    if (this.tty) this.out.write("\r\x1b[K");
  }

  private elapsed(): string {
    const seconds = Math.round((Date.now() - this.started) / 1000);
    return `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, "0")}`;
  }
}
