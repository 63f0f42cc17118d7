/**
 * What the client wants from the server: its topics, the symbol list narrowing `prices`, the
 * update rate, and the `subscribe` operations that ask for them (with `resume` after a reconnect).
 *
 * @module
 */

import { TOPICS, type ResumePoint, type SubscribeOp, type Topic } from "./types.js";

/**
 * The client's subscription, kept across reconnects.
 *
 * ```ts
 * const s = new Subscription();
 * s.want(["indices", "prices"], ["RELIANCE"]);
 * s.op(["indices", "prices"]); // {op:"subscribe",topics:["indices","prices"],symbols:["RELIANCE"]}
 * s.contiguous("prices");       // false: batches without RELIANCE are not sent
 * ```
 */
export class Subscription {
  readonly #wanted = new Set<Topic>();
  #symbols: string[] | undefined;
  /** The symbol list of the last `prices` subscribe built (resume applies to the same list only). */
  #sentSymbolsKey: string | undefined;
  readonly #maxRateMs: number | undefined;

  /** `maxRateMs`: at most one update per topic per this many ms (250..60000). */
  constructor(maxRateMs?: number) {
    if (maxRateMs !== undefined && !(maxRateMs >= 250 && maxRateMs <= 60_000)) {
      throw new RangeError(`maxRateMs must be from 250 to 60000 ms, got ${maxRateMs}`);
    }
    this.#maxRateMs = maxRateMs;
  }

  /** Whether `topic` is wanted. */
  has(topic: Topic): boolean {
    return this.#wanted.has(topic);
  }

  /** The wanted topics, in the server's order. */
  topics(): Topic[] {
    return TOPICS.filter((t) => this.#wanted.has(t));
  }

  /** The symbol list narrowing `prices`, or `undefined` for every stock. */
  get symbols(): readonly string[] | undefined {
    return this.#symbols;
  }

  /**
   * Adds `topics`; `symbols` replaces the list when `topics` names `prices`. Returns the topics
   * named, deduplicated.
   */
  want(topics: readonly Topic[], symbols: readonly string[] | undefined): Topic[] {
    const named = [...new Set(topics)];
    for (const t of named) {
      if (t !== "indices" && t !== "prices") {
        throw new RangeError(`unknown topic ${JSON.stringify(t)}: use "indices" or "prices"`);
      }
    }
    for (const t of named) this.#wanted.add(t);
    if (named.includes("prices")) this.#symbols = symbols ? [...symbols] : undefined;
    return named;
  }

  /** Removes `topics`; returns those that were wanted. */
  drop(topics: readonly Topic[]): Topic[] {
    const named = [...new Set(topics)].filter((t) => this.#wanted.has(t));
    for (const t of named) this.#wanted.delete(t);
    if (named.includes("prices")) {
      this.#symbols = undefined;
      this.#sentSymbolsKey = undefined;
    }
    return named;
  }

  /**
   * Whether `topic`'s subscription receives every batch, so that a skipped `seq` is a loss: not
   * with `max_rate_ms` (updates are merged) nor for `prices` with a symbol list (batches without
   * those symbols are not sent).
   */
  contiguous(topic: Topic): boolean {
    if (this.#maxRateMs !== undefined) return false;
    return topic === "indices" || this.#symbols === undefined;
  }

  /**
   * The `subscribe` for `topics`; with `resumeFrom`, a `resume` entry for each topic it knows a
   * position of, except `prices` when its symbol list changed since the last `subscribe` built
   * (the new instruments need a snapshot).
   */
  op(topics: readonly Topic[], resumeFrom?: (topic: Topic) => ResumePoint | undefined): SubscribeOp {
    const op: SubscribeOp = { op: "subscribe", topics: [...topics] };
    if (topics.includes("prices") && this.#symbols) op.symbols = [...this.#symbols];
    if (this.#maxRateMs !== undefined) op.max_rate_ms = this.#maxRateMs;
    const symbolsKey = JSON.stringify(this.#symbols ?? null);
    if (resumeFrom) {
      const points: Partial<Record<Topic, ResumePoint>> = {};
      for (const t of topics) {
        if (t === "prices" && this.#sentSymbolsKey !== symbolsKey) continue;
        const point = resumeFrom(t);
        if (point) points[t] = point;
      }
      if (Object.keys(points).length > 0) op.resume = points;
    }
    if (topics.includes("prices")) this.#sentSymbolsKey = symbolsKey;
    return op;
  }
}
