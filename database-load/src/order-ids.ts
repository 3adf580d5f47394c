import { randomFillSync } from 'node:crypto';

/**
 * UUIDv7 order ids (RFC 9562) whose timestamp is the order's created_at: inserted in id order,
 * the primary keys and the created_at indexes grow at a few pages instead of touching a random
 * page per row. Written as 32 hex digits, which PostgreSQL's uuid input accepts.
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
