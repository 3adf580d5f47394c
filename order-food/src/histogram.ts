import type { Metric, Registry } from 'prom-client';

interface Series {
  labels: Record<string, string>;
  /** Observations per bucket (not cumulative); the last slot counts those above every bound. */
  counts: Float64Array;
  sum: number;
  count: number;
}

interface ExportedValue {
  labels: Record<string, string | number>;
  value: number;
  metricName: string;
}

/**
 * A Prometheus histogram with up to three label names, for the series observed on every request
 * and every statement. prom-client's Histogram.observe() copies, validates and hashes its labels
 * object on every call, about 3 µs each, three times per orders page; here a series is found by its
 * label values in nested maps and an observation adds to an array. The registry formats it like a
 * prom-client Histogram: the same text for the same observations (test/histogram.test.ts).
 */
export class LabeledHistogram {
  readonly name: string;
  readonly help: string;
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  readonly labelNames: readonly string[];
  readonly #bounds: readonly number[];
  readonly #root = new Map<string, unknown>();
  readonly #series: Series[] = [];

  constructor(options: {
    name: string;
    help: string;
    labelNames: readonly string[];
    buckets: readonly number[];
    registers?: Registry[];
  }) {
    if (options.labelNames.length < 1 || options.labelNames.length > 3)
      throw new Error(`${options.name}: one to three label names`);
    this.name = options.name;
    this.help = options.help;
    this.labelNames = options.labelNames;
    this.#bounds = [...options.buckets].sort((a, b) => a - b);
    for (const registry of options.registers ?? [])
      registry.registerMetric(this as unknown as Metric);
  }

  /** One observation for the series with these label values, in labelNames' order. */
  observe(value: number, a: string, b = '', c = ''): void {
    if (!Number.isFinite(value)) throw new TypeError(`${this.name}: ${value} is not a number`);
    const n = this.labelNames.length;
    const series = this.#find(a, n > 1 ? b : '', n > 2 ? c : '');
    const bounds = this.#bounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]!) i++;
    series.counts[i]! += 1;
    series.sum += value;
    series.count += 1;
  }

  #find(a: string, b: string, c: string): Series {
    let level1 = this.#root.get(a) as Map<string, unknown> | undefined;
    if (!level1) {
      level1 = new Map();
      this.#root.set(a, level1);
    }
    let level2 = level1.get(b) as Map<string, Series> | undefined;
    if (!level2) {
      level2 = new Map();
      level1.set(b, level2);
    }
    let series = level2.get(c);
    if (!series) {
      const values = [a, b, c];
      const labels: Record<string, string> = {};
      this.labelNames.forEach((name, i) => {
        labels[name] = values[i]!;
      });
      series = { labels, counts: new Float64Array(this.#bounds.length + 1), sum: 0, count: 0 };
      level2.set(c, series);
      this.#series.push(series);
    }
    return series;
  }

  /** The metric as prom-client's registry reads it (Histogram.get()'s shape). */
  get() {
    const values: ExportedValue[] = [];
    const bucket = `${this.name}_bucket`;
    for (const s of this.#series) {
      let cumulative = 0;
      this.#bounds.forEach((le, i) => {
        cumulative += s.counts[i]!;
        values.push({ labels: { le, ...s.labels }, value: cumulative, metricName: bucket });
      });
      values.push({ labels: { le: '+Inf', ...s.labels }, value: s.count, metricName: bucket });
      values.push({ labels: { ...s.labels }, value: s.sum, metricName: `${this.name}_sum` });
      values.push({ labels: { ...s.labels }, value: s.count, metricName: `${this.name}_count` });
    }
    return {
      name: this.name,
      help: this.help,
      type: this.type,
      aggregator: this.aggregator,
      values,
    };
  }

  reset(): void {
    this.#root.clear();
    this.#series.length = 0;
  }
}
