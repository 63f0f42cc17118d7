/**
 * `seq` bookkeeping for one topic: which epoch and batch the client last saw, whether a batch is
 * new, stale (already covered) or arrived after a gap, and where to resume after a reconnect.
 *
 * @module
 */

import type { ResumePoint } from "./types.js";

/** What to do with a batch, by its `seq`. */
export type SeqVerdict =
  /** The next batch (or, where `seq` may skip, a newer one): apply it. */
  | { kind: "next" }
  /** Already covered by what was received (an older or repeated `seq`): drop it. */
  | { kind: "stale" }
  /** Newer, but batches were skipped where none may be: apply it and ask for a snapshot. */
  | { kind: "gap"; expected: number; received: number };

/**
 * Tracks one topic's position in the server's `seq` numbering.
 *
 * ```ts
 * const s = new TopicSequence();
 * s.snapshot("e1", 41);
 * s.batch(42, "e1", true); // { kind: "next" }
 * s.batch(44, "e1", true); // { kind: "gap", expected: 43, received: 44 }
 * s.resumePoint();         // { epoch: "e1", seq: 44 }
 * ```
 */
export class TopicSequence {
  #epoch: string | undefined;
  #seq: number | undefined;
  /** True between asking the server for a snapshot and receiving it. */
  awaitingSnapshot = false;

  /** The epoch of the last batch or snapshot received. */
  get epoch(): string | undefined {
    return this.#epoch;
  }

  /** The `seq` of the last batch or snapshot received. */
  get seq(): number | undefined {
    return this.#seq;
  }

  /** A snapshot sets the position, whatever it was (a new epoch may restart `seq` lower). */
  snapshot(epoch: string | undefined, seq: number): void {
    this.#epoch = epoch;
    this.#seq = seq;
    this.awaitingSnapshot = false;
  }

  /**
   * Judges a batch with `seq` received on a connection whose epoch is `epoch`. `contiguous` says
   * whether this subscription receives every batch of the topic (no symbol list, no
   * `max_rate_ms`), so that a skipped `seq` means lost data.
   */
  batch(seq: number, epoch: string | undefined, contiguous: boolean): SeqVerdict {
    const last = this.#seq;
    if (last === undefined || epoch !== this.#epoch) {
      // Nothing to compare with (no snapshot yet, or numbering of another incarnation).
      this.#epoch = epoch;
      this.#seq = seq;
      return { kind: "next" };
    }
    if (seq <= last) return { kind: "stale" };
    this.#seq = seq;
    if (contiguous && seq !== last + 1) return { kind: "gap", expected: last + 1, received: seq };
    return { kind: "next" };
  }

  /** Where to resume from after a reconnect, when known. */
  resumePoint(): ResumePoint | undefined {
    if (this.#epoch === undefined || this.#seq === undefined) return undefined;
    return { epoch: this.#epoch, seq: this.#seq };
  }

  /** Forgets the position (after an unsubscribe). */
  reset(): void {
    this.#epoch = undefined;
    this.#seq = undefined;
    this.awaitingSnapshot = false;
  }
}
