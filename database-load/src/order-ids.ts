import { randomFillSync } from 'node:crypto';

/**
 * Ids for the orders a load inserts: UUID version 7 (RFC 9562: a 48-bit millisecond timestamp,
 * then 74 random bits) whose timestamp is the order's created_at (the time of the load for an
 * order without one). The load inserts orders and their lines sorted by id, that is by
 * created_at: the primary keys of orders and order_items and the indexes that end in created_at
 * then grow at a few places instead of touching a random page of a large index for every row.
 * Written as 32 hex digits, which PostgreSQL's uuid input accepts.
 */
export class OrderIds {
  readonly #id = Buffer.alloc(16);
  readonly #random = Buffer.alloc(10 * 1024);
  #at = this.#random.length;

  next(createdAtMs: number = Date.now()): string {
    if (this.#at + 10 > this.#random.length) {
      randomFillSync(this.#random);
      this.#at = 0;
    }
    const id = this.#id;
    id.writeUIntBE(Math.max(0, Math.min(createdAtMs, 2 ** 48 - 1)), 0, 6);
    this.#random.copy(id, 6, this.#at, this.#at + 10);
    this.#at += 10;
    id[6] = 0x70 | (id[6]! & 0x0f);
    id[8] = 0x80 | (id[8]! & 0x3f);
    return id.toString('hex');
  }
}
