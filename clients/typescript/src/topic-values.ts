/**
 * The latest quote of every instrument of one topic, kept up to date from snapshots and batches.
 *
 * @module
 */

import type { Quote, SnapshotMessage, SnapshotSource } from "./types.js";

/**
 * One topic's latest values, keyed by symbol (`RELIANCE`, `NIFTY 50`), in the order the server
 * first sent them, with what the last snapshot said about them.
 *
 * ```ts
 * const v = new TopicValues();
 * v.applySnapshot(snapshotMessage); // replaces everything
 * v.applyBatch(update.data);        // merges the quotes in
 * v.quotes.get("RELIANCE")?.ltp;
 * ```
 */
export class TopicValues {
  readonly #quotes = new Map<string, Quote>();
  /** Whether the values are being refreshed live (from the snapshot, then `market_status`). */
  live = false;
  /** Where the values come from: the snapshot's `source`, `live` once live batches arrive. */
  source: SnapshotSource | null = null;
  /** The trading day of the values, `YYYY-MM-DD`. */
  tradingDay: string | null = null;
  /** When the values were last refreshed (the snapshot's `as_of`, then the newest batch's `ts`). */
  asOf: number | null = null;

  /** The quotes by symbol. */
  get quotes(): ReadonlyMap<string, Quote> {
    return this.#quotes;
  }

  /** Replaces every value with the snapshot's. */
  applySnapshot(msg: SnapshotMessage): void {
    this.#quotes.clear();
    for (const q of msg.data) this.#quotes.set(q.symbol, q);
    this.live = msg.live;
    this.source = msg.source;
    this.tradingDay = msg.trading_day;
    this.asOf = msg.as_of;
  }

  /** Merges a batch's quotes in; `live` says whether the market is live now. */
  applyBatch(quotes: readonly Quote[], live: boolean): void {
    for (const q of quotes) {
      this.#quotes.set(q.symbol, q);
      if (this.asOf === null || q.ts > this.asOf) this.asOf = q.ts;
    }
    if (live) this.source = "live";
  }

  /** Forgets everything (after an unsubscribe). */
  clear(): void {
    this.#quotes.clear();
    this.live = false;
    this.source = null;
    this.tradingDay = null;
    this.asOf = null;
  }
}
