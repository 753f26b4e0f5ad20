/** Seeded randomness, so a randomized test or workload can be run again exactly. */

/** A seed from FAAS_SEED if set, else a fresh one (print it so a failure can be replayed). */
export function seedFromEnv(): number {
  const fromEnv = Number(process.env.FAAS_SEED);
  return Number.isInteger(fromEnv) && fromEnv > 0 ? fromEnv : Math.floor(Math.random() * 2 ** 31) + 1;
}

/**
 * A seeded stream of numbers (mulberry32). Every consumer of a run's randomness (each client,
 * the nemesis, each random fault list, the status observer) takes its own stream with
 * `derive`, so what one draws never depends on how often, or when, another drew: the same
 * seed replays the same schedule however fast the cluster answers.
 */
export class Random {
  private state: number;

  constructor(readonly seed: number) {
    this.state = seed >>> 0;
  }

  /** An independent stream for the consumer named by `labels`, a pure function of this stream's seed and the labels. */
  derive(...labels: (string | number)[]): Random {
    return new Random(mixSeed(this.seed, labels.join("/")));
  }

  /** A float in [0, 1) (mulberry32). */
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)];
  }

  string(length: number, alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 "): string {
    let text = "";
    for (let i = 0; i < length; i++) text += alphabet[Math.floor(this.next() * alphabet.length)];
    return text;
  }
}

/** A 32-bit seed from a seed and a label (FNV-1a over the label, then a murmur3 finaliser); never 0. */
function mixSeed(seed: number, label: string): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < label.length; i++) h = Math.imul(h ^ label.charCodeAt(i), 0x01000193) >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35) >>> 0;
  h ^= h >>> 16;
  return h >>> 0 || 1;
}

/** Draws items in a shuffled order, each once before any again (a shuffle bag, as games deal). */
export class ShuffledBag<T> {
  private bag: T[] = [];

  constructor(private readonly items: readonly T[], private readonly random: Random) {}

  next(): T {
    if (this.bag.length === 0) {
      this.bag = [...this.items];
      for (let i = this.bag.length - 1; i > 0; i--) {
        const j = this.random.int(0, i);
        [this.bag[i], this.bag[j]] = [this.bag[j], this.bag[i]];
      }
    }
    return this.bag.pop()!;
  }
}
