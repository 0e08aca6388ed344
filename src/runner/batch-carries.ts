/**
 * The compressed batches a thread keeps decompressed between two windows of
 * a partition (see BatchCarry in src/protocol/record-set.ts), one per
 * partition at most and a byte budget for all of them: a thread with a
 * thousand busy partitions would otherwise hold a decompressed batch for
 * each between its windows. Over the budget the least recently read
 * partitions lose theirs; their next window decompresses the batch again,
 * which is all a carry saves.
 */
import type { CarryHolder } from '../protocol/record-set.ts';

/** Decompressed bytes one thread keeps for next windows, at most. */
export const CARRY_BUDGET_BYTES = 32 * 2 ** 20;

/** What a carry keeps alive: its records' whole allocation (a view keeps all of it). */
const sizeOf = (holder: CarryHolder) => holder.carry?.records.buffer.byteLength ?? 0;

export class BatchCarries {
  /** By partition key, least recently read first. */
  readonly #holders = new Map<string, CarryHolder>();
  #bytes = 0;

  constructor(private readonly budgetBytes = CARRY_BUDGET_BYTES) {}

  /** Reads one window of the partition with its holder (`read` replaces or clears the carry), then keeps the budget. */
  read<T>(key: string, read: (holder: CarryHolder) => T): T {
    let holder = this.#holders.get(key);
    if (holder) {
      this.#bytes -= sizeOf(holder);
      this.#holders.delete(key);
    } else holder = { carry: undefined };
    try {
      return read(holder);
    } finally {
      if (holder.carry) {
        this.#holders.set(key, holder);
        this.#bytes += sizeOf(holder);
        this.#trim(key);
      }
    }
  }

  /** The partition is gone from this thread (revoked): its carry with it. */
  drop(key: string): void {
    const holder = this.#holders.get(key);
    if (!holder) return;
    this.#bytes -= sizeOf(holder);
    this.#holders.delete(key);
  }

  clear(): void {
    this.#holders.clear();
    this.#bytes = 0;
  }

  /** Decompressed bytes kept now (tests). */
  get bytes(): number {
    return this.#bytes;
  }

  #trim(keep: string): void {
    for (const [key, holder] of this.#holders) {
      if (this.#bytes <= this.budgetBytes) return;
      if (key === keep) continue;
      this.drop(key);
    }
  }
}
