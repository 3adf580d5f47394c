import { randomFillSync } from 'node:crypto';

/**
 * Ids for the orders a load inserts: UUID version 7 (RFC 9562: a millisecond timestamp, a 12-bit
 * counter, then random bits), increasing in the order they are made. Orders and their lines are
 * inserted in file order, so the primary keys of orders and order_items grow at their right edge
 * instead of touching a random page of a large index for every row. Written as 32 hex digits,
 * which PostgreSQL's uuid input accepts.
 */
export class OrderIds {
  #ms = 0;
  #seq = 0;
  readonly #id = Buffer.alloc(16);
  readonly #random = Buffer.alloc(8 * 1024);
  #at = this.#random.length;

  next(): string {
    const now = Date.now();
    if (now > this.#ms) {
      this.#ms = now;
      this.#seq = 0;
    } else if (++this.#seq > 0xfff) {
      // More than 4096 ids in one millisecond: borrow the next one, as RFC 9562 allows.
      this.#ms++;
      this.#seq = 0;
    }
    if (this.#at + 8 > this.#random.length) {
      randomFillSync(this.#random);
      this.#at = 0;
    }
    const id = this.#id;
    id.writeUIntBE(this.#ms, 0, 6);
    id.writeUInt16BE(0x7000 | this.#seq, 6);
    this.#random.copy(id, 8, this.#at, this.#at + 8);
    id[8] = 0x80 | (id[8]! & 0x3f);
    this.#at += 8;
    return id.toString('hex');
  }
}
