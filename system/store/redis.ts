/** Redis connections, configured for how each component must behave when Redis goes away. */
import { Redis, type RedisOptions } from "ioredis";

export const DEFAULT_REDIS_URL = "redis://127.0.0.1:6379";

/** The Redis URL from a flag, else FAAS_REDIS_URL, else the default. */
export function redisUrlFrom(flag?: string): string {
  return flag ?? process.env.FAAS_REDIS_URL ?? DEFAULT_REDIS_URL;
}

export type RedisRole =
  /** Serves clients: while Redis is down a command fails at once, so the API can answer 503. */
  | "serving"
  /** Does background work: a command waits for Redis to come back. */
  | "working";

export function connectRedis(url: string, role: RedisRole, options: RedisOptions = {}): Redis {
  return new Redis(url, {
    // Reconnect forever with a capped back-off; an outage is logged by the owner.
    retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 6), 2000),
    enableOfflineQueue: role === "working",
    maxRetriesPerRequest: role === "working" ? null : 1,
    enableAutoPipelining: true,
    ...options,
  });
}
