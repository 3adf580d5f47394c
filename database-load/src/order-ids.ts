import { randomFillSync } from 'node:crypto';

/**
 * Ids for the orders a load inserts: UUID version 7 (RFC 9562: a millisecond timestamp, a 12-bit
 * counter, then random bits) whose timestamp is the order's created_at (the time of the load for
 * an order without one). The load inserts orders and their lines sorted by id, that is by
 * created_at: the primary keys of orders and order_items and the indexes that end in created_at
 * then grow at a few places instead of touching a random page of a large index for every row.
 * Written as 32 hex digits, which PostgreSQL's uuid input accepts.
 */
export class OrderIds {
  #ms = 0;
  #seq = 0;
  readonly #id = Buffer.alloc(16);
  readonly #random = Buffer.alloc(8 * 1024);
  #at = this.#random.length;

  next(createdAtMs?: number): string {
    const now = createdAtMs ?? Date.now();
    // Ids made in one millisecond count up; another millisecond starts the count again.
    if (now !== this.#ms) {
      this.#ms = now;
      this.#seq = 0;
    } else {
      this.#seq = (this.#seq + 1) & 0xfff;
    }
    if (this.#at + 8 > this.#random.length) {
      randomFillSync(this.#random);
      this.#at = 0;
    }
    const id = this.#id;
    id.writeUIntBE(Math.max(0, Math.min(this.#ms, 2 ** 48 - 1)), 0, 6);
    id.writeUInt16BE(0x7000 | this.#seq, 6);
    this.#random.copy(id, 8, this.#at, this.#at + 8);
    id[8] = 0x80 | (id[8]! & 0x3f);
    this.#at += 8;
    return id.toString('hex');
  }
}
