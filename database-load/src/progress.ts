import type { Logger } from '@order-food/platform/logger';
import type { ReadPosition } from './dataset.js';

/**
 * Counts rows as they stream and logs one line at most every intervalMs (0: about every 1000 rows): rows,
 * rows/s, and how far into the file the reading is (bytes of totalBytes, percent). Files are read
 * once, so the number of rows a file holds is known only at its end.
 */
export class Progress {
  #done = 0;
  #lastLog: number;
  readonly #started = performance.now();

  constructor(
    private readonly logger: Logger,
    private readonly table: string,
    private readonly totalBytes: number,
    private readonly position: ReadPosition,
    private readonly intervalMs: number,
  ) {
    this.#lastLog = this.#started;
  }

  /** Called per batch of rows as they stream. */
  add(rows: number): void {
    const before = this.#done;
    this.#done += rows;
    // The clock is read once per 1000 rows.
    if (Math.floor(before / 1000) === Math.floor(this.#done / 1000)) return;
    const now = performance.now();
    if (now - this.#lastLog >= this.intervalMs && this.position.bytes < this.totalBytes) {
      this.#lastLog = now;
      this.#log(now, 'loading', this.position.bytes);
    }
  }

  /** The closing line of a table: always logged. */
  finish(extra: Record<string, unknown>): void {
    this.#log(performance.now(), 'table loaded', this.totalBytes, extra);
  }

  #log(now: number, msg: string, bytes: number, extra: Record<string, unknown> = {}): void {
    const seconds = (now - this.#started) / 1000;
    this.logger.info(
      {
        table: this.table,
        rows: this.#done,
        bytes,
        totalBytes: this.totalBytes,
        percent: this.totalBytes === 0 ? 100 : Math.round((bytes / this.totalBytes) * 1000) / 10,
        rowsPerSecond: seconds > 0 ? Math.round(this.#done / seconds) : this.#done,
        ...extra,
      },
      msg,
    );
  }
}
