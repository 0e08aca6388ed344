/**
 * The compressed batches a thread keeps decompressed between two windows of
 * a partition (see BatchCarry in src/protocol/record-set.ts), one per
 * partition at most and a byte budget for all of them: a thread with a
 * thousand busy partitions would otherwise hold a decompressed batch for
 * each between its windows. Over the budget the least recently read
 * partitions lose theirs; their next window decompresses the batch again,
 * which is all a carry saves.
 */
import type { BatchCarry } from '../protocol/record-set.ts';

/** Decompressed bytes one thread keeps for next windows, at most. */
export const CARRY_BUDGET_BYTES = 32 * 2 ** 20;

/** What a carry keeps alive: its records' whole allocation (a view keeps all of it). */
const sizeOf = (carry: BatchCarry) => carry.records.buffer.byteLength;

export class BatchCarries {
  /** By partition key, least recently kept first. */
  readonly #carries = new Map<string, BatchCarry>();
  #bytes = 0;

  constructor(private readonly budgetBytes = CARRY_BUDGET_BYTES) {}

  /** The partition's carry, for its next window; it is no longer kept (the read gives back what it stops inside). */
  take(key: string): BatchCarry | undefined {
    const carry = this.#carries.get(key);
    if (carry) this.drop(key);
    return carry;
  }

  /** Keeps what the partition's window stopped inside, then the budget: the least recently kept others go first. */
  keep(key: string, carry: BatchCarry): void {
    this.drop(key);
    this.#carries.set(key, carry);
    this.#bytes += sizeOf(carry);
    for (const [other] of this.#carries) {
      if (this.#bytes <= this.budgetBytes) return;
      if (other !== key) this.drop(other);
    }
  }

  /** The partition is gone from this thread (revoked): its carry with it. */
  drop(key: string): void {
    const carry = this.#carries.get(key);
    if (!carry) return;
    this.#bytes -= sizeOf(carry);
    this.#carries.delete(key);
  }

  clear(): void {
    this.#carries.clear();
    this.#bytes = 0;
  }

  /** Decompressed bytes kept now (tests). */
  get bytes(): number {
    return this.#bytes;
  }
}
