/**
 * Reading the protocol's varints and length-prefixed bytes at a moving
 * position (record batch v2 records), failing with BATCH_CORRUPT past the end
 * instead of reading garbage.
 */
import { BatchCorruptError } from '../errors.ts';

/** Reads varints and the rest at a moving position, failing with BATCH_CORRUPT past the end. */
export class Reader {
  at: number;
  constructor(
    readonly buf: Buffer,
    start: number,
    readonly end: number,
  ) {
    this.at = start;
  }

  #need(n: number): void {
    if (this.at + n > this.end) throw new BatchCorruptError(`record batch: ${n} byte(s) needed at ${this.at}, the batch ends at ${this.end}`);
  }

  int8(): number {
    this.#need(1);
    return this.buf.readInt8(this.at++);
  }

  /** Zig-zag varint (int32). */
  varint(): number {
    let value = 0;
    let shift = 0;
    for (;;) {
      this.#need(1);
      const b = this.buf[this.at++]!;
      value |= (b & 0x7f) << shift;
      if ((b & 0x80) === 0) break;
      shift += 7;
      if (shift > 28) throw new BatchCorruptError(`record batch: a varint longer than 5 bytes at ${this.at}`);
    }
    return (value >>> 1) ^ -(value & 1);
  }

  /** Zig-zag varlong, as a number (timestamp deltas, within 2^53). Plain arithmetic up to 7 bytes (49 bits), BigInt past that. */
  varlong(): number {
    const start = this.at;
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 7; i++) {
      this.#need(1);
      const b = this.buf[this.at++]!;
      value += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) return value % 2 === 0 ? value / 2 : -(value + 1) / 2;
      scale *= 128;
    }
    this.at = start;
    return this.#bigVarlong();
  }

  #bigVarlong(): number {
    let value = 0n;
    let shift = 0n;
    for (;;) {
      this.#need(1);
      const b = this.buf[this.at++]!;
      value |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) break;
      shift += 7n;
      if (shift > 63n) throw new BatchCorruptError(`record batch: a varlong longer than 10 bytes at ${this.at}`);
    }
    return exact((value >> 1n) ^ -(value & 1n), 'timestamp delta');
  }

  /** Steps over a varint-length byte string; returns where it starts and its length (-1: null). */
  span(): [at: number, length: number] {
    const n = this.varint();
    if (n < 0) return [this.at, -1];
    this.#need(n);
    const at = this.at;
    this.at += n;
    return [at, n];
  }

  /** A varint-length byte string as a view on the buffer (null for length -1). */
  bytes(): Buffer | null {
    const n = this.varint();
    if (n < 0) return null;
    this.#need(n);
    const out = this.buf.subarray(this.at, this.at + n);
    this.at += n;
    return out;
  }
}


/** A 64-bit value as a number, BATCH_CORRUPT when it is beyond 2^53 (not rounded). */
export function exact(n: bigint, what: string): number {
  if (n > BigInt(Number.MAX_SAFE_INTEGER) || n < BigInt(Number.MIN_SAFE_INTEGER)) throw new BatchCorruptError(`record batch: ${what} ${n} is beyond 2^53`);
  return Number(n);
}
