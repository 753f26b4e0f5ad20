/**
 * How a repeated event is logged: the first ten of each kind, then every thousandth of that
 * kind. A flood (junk frames from one peer, a handshake retried forever) cannot fill the log,
 * yet it stays visible, and a new kind of trouble is not hidden behind an old one.
 *
 * Used for dropped frames (dispatcher and worker), failed handshakes (by error code) and
 * refused CURVE keys (by key, the first of each: `first: 1`).
 */
export interface LogThrottleOptions {
  /** How many of each kind are logged before thinning out (default 10). */
  first?: number;
  /** Past those, every how many-th of the kind is logged (default 1000). */
  every?: number;
  /** Kinds counted apart; past this many, new kinds share one count (memory stays bounded; default 10,000). */
  kinds?: number;
}

const OTHER_KINDS = Symbol("other kinds");

export class LogThrottle {
  private readonly counts = new Map<string | typeof OTHER_KINDS, number>();
  private occurrences = 0;
  private readonly first: number;
  private readonly every: number;
  private readonly kinds: number;

  constructor(options: LogThrottleOptions = {}) {
    this.first = options.first ?? 10;
    this.every = options.every ?? 1000;
    this.kinds = options.kinds ?? 10_000;
  }

  /** How many events were counted, of every kind (for the log line). */
  get total(): number {
    return this.occurrences;
  }

  /** Counts one event of `kind`; true when this one is to be logged. */
  count(kind = ""): boolean {
    this.occurrences++;
    const key = this.counts.has(kind) || this.counts.size < this.kinds ? kind : OTHER_KINDS;
    const n = (this.counts.get(key) ?? 0) + 1;
    this.counts.set(key, n);
    return n <= this.first || n % this.every === 0;
  }
}
