/**
 * What the mounted hooks of one client need, combined into that client's subscription: the
 * indices when any hook shows them, and the union of the symbol lists of the price hooks (every
 * stock when one of them wants all).
 *
 * @module
 */

import type { MarketFeedClient } from "../client.js";
import { once } from "../transport.js";

/** The hooks' combined interest in one client's topics. */
export class Interests {
  readonly #client: MarketFeedClient;
  #indices = 0;
  #allPrices = 0;
  readonly #symbols = new Map<string, number>();
  #applied = { indices: false, prices: "" };
  #scheduled = false;

  constructor(client: MarketFeedClient) {
    this.#client = client;
  }

  /** Adds a hook's interest in the indices; returns its release. */
  addIndices(): () => void {
    this.#indices++;
    this.#schedule();
    return once(() => {
      this.#indices--;
      this.#schedule();
    });
  }

  /** Adds a hook's interest in `symbols` (all stocks when undefined); returns its release. */
  addPrices(symbols: readonly string[] | undefined): () => void {
    const list = symbols ? [...new Set(symbols.map((s) => s.trim()).filter((s) => s !== ""))] : undefined;
    if (list) for (const s of list) this.#symbols.set(s, (this.#symbols.get(s) ?? 0) + 1);
    else this.#allPrices++;
    this.#schedule();
    return once(() => {
      if (list) {
        for (const s of list) {
          const n = (this.#symbols.get(s) ?? 1) - 1;
          if (n === 0) this.#symbols.delete(s);
          else this.#symbols.set(s, n);
        }
      } else this.#allPrices--;
      this.#schedule();
    });
  }

  /** Applies the changes of one render pass together (one `subscribe`, not one per hook). */
  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    queueMicrotask(() => {
      this.#scheduled = false;
      this.#apply();
    });
  }

  #apply(): void {
    const indices = this.#indices > 0;
    if (indices !== this.#applied.indices) {
      if (indices) this.#client.subscribe(["indices"]);
      else this.#client.unsubscribe(["indices"]);
      this.#applied.indices = indices;
    }
    const symbols = [...this.#symbols.keys()].sort();
    const prices = this.#allPrices > 0 ? "*" : symbols.length > 0 ? JSON.stringify(symbols) : "";
    if (prices !== this.#applied.prices) {
      if (prices === "") this.#client.unsubscribe(["prices"]);
      else this.#client.subscribe(["prices"], prices === "*" ? undefined : symbols);
      this.#applied.prices = prices;
    }
  }
}

const registry = new WeakMap<MarketFeedClient, Interests>();

/** The shared interests of `client`'s hooks. */
export function interestsOf(client: MarketFeedClient): Interests {
  let i = registry.get(client);
  if (!i) {
    i = new Interests(client);
    registry.set(client, i);
  }
  return i;
}

