/**
 * A launched process the nemesis can fault: any signal, a pause (SIGSTOP) that stops its
 * children too, and a kill that waits for the exit. Stopping or killing a paused process
 * first lets its stopped children run again, so that they see their parent gone and exit.
 */
import { execaSync } from "execa";
import { ManagedProcess } from "../../system/launcher/process.js";

export class FaultableProcess extends ManagedProcess {
  private paused = false;

  get isPaused(): boolean {
    return this.paused;
  }

  override start(timeoutMs?: number): Promise<Record<string, unknown>> {
    this.paused = false;
    return super.start(timeoutMs);
  }

  /**
   * Sends a signal; SIGSTOP/SIGCONT pause and resume. Resolves at once. A pause stops the
   * process's children too (a worker's executor host), so a paused component is wholly still.
   */
  signal(signal: NodeJS.Signals): void {
    if (!this.running) return;
    const pause = signal === "SIGSTOP" || signal === "SIGCONT";
    // Stop the parent first and resume it last, so it never sees its children stopped while it runs.
    if (pause && signal === "SIGCONT") for (const pid of descendantsOf(this.pid!)) signalQuietly(pid, signal);
    this.sendSignal(signal);
    if (pause && signal === "SIGSTOP") for (const pid of descendantsOf(this.pid!)) signalQuietly(pid, signal);
    if (signal === "SIGSTOP") this.paused = true;
    if (signal === "SIGCONT") this.paused = false;
  }

  /** Kills with the signal and waits until the process has exited. */
  async kill(signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    if (!this.running) return;
    if (this.paused && signal !== "SIGKILL") this.signal("SIGCONT");
    const stoppedChildren = this.paused ? descendantsOf(this.pid!) : [];
    this.sendSignal(signal);
    // Children stopped with it must run again to see their parent gone, and exit.
    for (const pid of stoppedChildren) signalQuietly(pid, "SIGCONT");
    await this.waitForExit();
  }

  override stop(graceMs?: number): Promise<void> {
    if (this.running && this.paused) this.signal("SIGCONT");
    return super.stop(graceMs);
  }

  override killNow(): void {
    if (!this.running) return;
    const stoppedChildren = this.paused ? descendantsOf(this.pid!) : [];
    super.killNow();
    for (const pid of stoppedChildren) signalQuietly(pid, "SIGCONT");
  }
}

/** Every process below `pid` (children, their children…), from pgrep. */
function descendantsOf(pid: number): number[] {
  const children = execaSync("pgrep", ["-P", String(pid)], { reject: false }).stdout.split("\n").filter(Boolean).map(Number);
  return children.flatMap((child) => [child, ...descendantsOf(child)]);
}

function signalQuietly(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    /* it exited meanwhile */
  }
}
