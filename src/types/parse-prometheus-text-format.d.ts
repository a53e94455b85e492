// Types for parse-prometheus-text-format 1.1.1 (the package ships none), as its
// dist/parse-prometheus-text-format.cjs.js behaves: `module.exports` is the
// parse function. Known bug (worked around in src/analysis/prometheus.ts):
// histogram and summary families whose series carry labels other than `le` /
// `quantile` are collapsed into one sample without labels, `sum` or `count`.
declare module 'parse-prometheus-text-format' {
  /** One sample line, or (histogram/summary families) the merged lines of one label set. */
  export interface PromSample {
    /** The value as written (`"1.5"`, `"+Inf"`, `"NaN"`); absent on merged histogram/summary samples. */
    value?: string;
    labels?: Record<string, string>;
    /** Milliseconds, as written after the value. */
    timestamp_ms?: string;
    /** Histogram families: cumulative counts by `le`. */
    buckets?: Record<string, string>;
    /** Summary families: values by `quantile`. */
    quantiles?: Record<string, string>;
    count?: string;
    sum?: string;
  }

  export interface PromFamily {
    name: string;
    /** '' when the family has no HELP line. */
    help: string;
    type: 'COUNTER' | 'GAUGE' | 'HISTOGRAM' | 'SUMMARY' | 'UNTYPED';
    metrics: PromSample[];
  }

  /** Throws InvalidLineError on a malformed line. */
  export default function parsePrometheusTextFormat(text: string): PromFamily[];
}
