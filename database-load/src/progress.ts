import type { Logger } from '@order-food/platform/logger';

/**
 * Counts rows as they stream and logs one line at most every intervalMs (0: every 1000 rows): rows,
 * rows/s and percent of the rows the file holds (known from the validation pass).
 */
export class Progress {
  #done = 0;
  #lastLog: number;
  readonly #started = performance.now();

  constructor(
    private readonly logger: Logger,
    private readonly table: string,
    private readonly total: number,
    private readonly intervalMs: number,
  ) {
    this.#lastLog = this.#started;
  }

  get done(): number {
    return this.#done;
  }

  /** Called per row; the clock is read once per 1000 rows. */
  add(): void {
    this.#done++;
    if (this.#done % 1000 !== 0) return;
    const now = performance.now();
    if (now - this.#lastLog >= this.intervalMs && this.#done < this.total) {
      this.#lastLog = now;
      this.#log(now, 'loading');
    }
  }

  /** The closing line of a table: always logged. */
  finish(extra: Record<string, unknown>): void {
    this.#log(performance.now(), 'table loaded', extra);
  }

  #log(now: number, msg: string, extra: Record<string, unknown> = {}): void {
    const seconds = (now - this.#started) / 1000;
    this.logger.info(
      {
        table: this.table,
        rows: this.#done,
        totalRows: this.total,
        percent: this.total === 0 ? 100 : Math.round((this.#done / this.total) * 1000) / 10,
        rowsPerSecond: seconds > 0 ? Math.round(this.#done / seconds) : this.#done,
        ...extra,
      },
      msg,
    );
  }
}
