/**
 * The columns of a batch of records (keys, values, headers): arrays, or
 * SpanColumns over the bytes the records were read from, whose `Buffer` views
 * and header objects are made only when something reads them.
 */
import { Reader } from './varint-reader.ts';

export type HeaderValue = Buffer | string | Array<Buffer | string>;
export type Headers = Record<string, HeaderValue | undefined>;

/**
 * A column read by index: an array (what kafkajs decoded, unpacked columns) or
 * a SpanColumn. `at` is Array.prototype.at for the one.
 */
export interface Column<T> {
  readonly length: number;
  at(index: number): T | undefined;
}

/**
 * Where each record's key, value and headers lie in the bytes they were read
 * from (the shared record set, or a batch's decompressed records). Reading a
 * record set only notes these positions; a `Buffer` view or a headers object
 * is made when something asks for it (most consumers read a value, few read
 * keys or headers). Making both views while reading cost ~70 % of the
 * decoder's time on small records (`npm run bench:decode`).
 */
export class RecordSpans {
  readonly source: Buffer[] = [];
  readonly keyAt: number[] = [];
  /** -1: a null key. */
  readonly keyLength: number[] = [];
  readonly valueAt: number[] = [];
  /** -1: a null value (a tombstone). */
  readonly valueLength: number[] = [];
  /** Where the record's header count is; -1 when it has none. */
  readonly headersAt: number[] = [];

  get length(): number {
    return this.source.length;
  }

  key(i: number): Buffer | null {
    const n = this.keyLength[i]!;
    return n < 0 ? null : this.source[i]!.subarray(this.keyAt[i]!, this.keyAt[i]! + n);
  }

  value(i: number): Buffer | null {
    const n = this.valueLength[i]!;
    return n < 0 ? null : this.source[i]!.subarray(this.valueAt[i]!, this.valueAt[i]! + n);
  }

  /** The record's headers (a repeated name becomes a list), or null; their bounds were checked while reading. */
  headers(i: number): Headers | null {
    const at = this.headersAt[i]!;
    if (at < 0) return null;
    const src = this.source[i]!;
    const r = new Reader(src, at, src.length);
    const headers: Headers = {};
    for (let h = r.varint(); h > 0; h--) {
      const name = r.bytes()?.toString('utf8') ?? '';
      const v = r.bytes() ?? undefined;
      const prev = headers[name];
      headers[name] = prev === undefined ? v : Array.isArray(prev) ? [...prev, ...(v ? [v] : [])] : [prev, ...(v ? [v] : [])];
    }
    return headers;
  }

  /** These rows only, in this order. */
  pick(rows: number[]): RecordSpans {
    const out = new RecordSpans();
    for (const i of rows) out.#copy(this, i);
    return out;
  }

  #copy(from: RecordSpans, i: number): void {
    this.source.push(from.source[i]!);
    this.keyAt.push(from.keyAt[i]!);
    this.keyLength.push(from.keyLength[i]!);
    this.valueAt.push(from.valueAt[i]!);
    this.valueLength.push(from.valueLength[i]!);
    this.headersAt.push(from.headersAt[i]!);
  }
}

/** One column (keys, values or headers) of records read from bytes, made on access; arrays are the other kind of column. */
export class SpanColumn<T> {
  constructor(
    readonly spans: RecordSpans,
    readonly part: 'key' | 'value' | 'headers',
  ) {}

  get length(): number {
    return this.spans.length;
  }

  at(i: number): T | undefined {
    if (i < 0) i += this.spans.length;
    if (i < 0 || i >= this.spans.length) return undefined;
    const s = this.spans;
    return (this.part === 'key' ? s.key(i) : this.part === 'value' ? s.value(i) : s.headers(i)) as T;
  }

  toArray(): T[] {
    return Array.from({ length: this.spans.length }, (_, i) => this.at(i)!);
  }
}

