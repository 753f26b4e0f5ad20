/** The harness's seeded randomness: the same seed gives the same draws; a shuffle bag deals every item once per round. */
import { describe, expect, it } from "vitest";
import { Random, ShuffledBag } from "../../harness/random.js";

describe("seeded randomness", () => {
  it("the same seed draws the same numbers", () => {
    const draws = (seed: number) => Array.from({ length: 5 }, (_, i) => new Random(seed).int(0, 1000 + i));
    expect(draws(42)).toEqual(draws(42));
    const a = new Random(1);
    const b = new Random(2);
    expect(Array.from({ length: 5 }, () => a.next())).not.toEqual(Array.from({ length: 5 }, () => b.next()));
  });

  it("a shuffled bag deals each item once per round, in a seeded order", () => {
    const items = ["kill", "pause", "restart", "cut", "latency", "blackhole", "kill redis"];
    const bag = new ShuffledBag(items, new Random(7));
    const rounds = Array.from({ length: 3 }, () => Array.from({ length: items.length }, () => bag.next()));
    for (const round of rounds) expect([...round].sort()).toEqual([...items].sort());
    expect(rounds[0]).not.toEqual(items); // shuffled (for this seed)
    const again = new ShuffledBag(items, new Random(7));
    expect(Array.from({ length: items.length }, () => again.next())).toEqual(rounds[0]);
  });
});
