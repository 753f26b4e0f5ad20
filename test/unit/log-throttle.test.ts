import { describe, expect, it } from "vitest";
import { LogThrottle } from "../../system/log-throttle.js";

/** Which of `n` events of a kind the throttle lets through (1-based). */
const logged = (throttle: LogThrottle, n: number, kind?: string) => {
  const through: number[] = [];
  for (let i = 1; i <= n; i++) if (throttle.count(kind)) through.push(i);
  return through;
};

describe("log throttle", () => {
  it("logs the first ten of a kind, then every thousandth", () => {
    expect(logged(new LogThrottle(), 3000)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 1000, 2000, 3000]);
  });

  it("counts each kind apart, so that a new kind of trouble shows behind a flood of another", () => {
    const throttle = new LogThrottle();
    logged(throttle, 500, "noisy");
    expect(logged(throttle, 2, "new")).toEqual([1, 2]);
    expect(throttle.total).toBe(502);
  });

  it("first: 1 logs each kind once, then every thousandth; past its kinds, new ones share a count", () => {
    const throttle = new LogThrottle({ first: 1, kinds: 2 });
    expect(logged(throttle, 1000, "a")).toEqual([1, 1000]);
    expect(throttle.count("b")).toBe(true);
    expect(throttle.count("c")).toBe(true);
    expect(throttle.count("d")).toBe(false);
  });
});
