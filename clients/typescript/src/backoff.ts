/**
 * Reconnect delays: exponential backoff with jitter.
 *
 * @module
 */

/** How reconnect delays grow. */
export interface BackoffOptions {
  /** The first delay, in ms (default 500). */
  initialDelayMs?: number;
  /** The largest delay, in ms (default 30000). */
  maxDelayMs?: number;
  /** How much each delay grows (default 2). */
  factor?: number;
  /**
   * The share of each delay that is random, 0..1 (default 0.5): a delay `d` becomes a value in
   * `[d * (1 - jitter), d]`, so that many clients cut off at once do not come back at once.
   */
  jitter?: number;
}

/**
 * The delay before reconnect attempt `attempt` (0 for the first):
 * `min(maxDelayMs, initialDelayMs * factor^attempt)`, less up to `jitter` of it at random.
 *
 * ```ts
 * backoffDelay(0, {}, () => 1); // 500
 * backoffDelay(3, {}, () => 1); // 4000
 * backoffDelay(3, {}, () => 0); // 2000
 * ```
 */
export function backoffDelay(
  attempt: number,
  options: BackoffOptions = {},
  random: () => number = Math.random,
): number {
  const initial = options.initialDelayMs ?? 500;
  const max = options.maxDelayMs ?? 30_000;
  const factor = options.factor ?? 2;
  const jitter = Math.min(1, Math.max(0, options.jitter ?? 0.5));
  const base = Math.min(max, initial * Math.pow(factor, Math.max(0, attempt)));
  return Math.round(base * (1 - jitter + jitter * random()));
}
