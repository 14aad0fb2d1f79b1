#!/usr/bin/env node
// hlog-summary.js LOG TAG...: reads an HdrHistogram interval log with
// HdrHistogram's own JavaScript reader (hdr-histogram-js), adds up the
// interval histograms of each TAG, and prints one JSON object per TAG:
// {"tag", "intervals", "count", "p50", "p90", "p99", "p999", "max"}, values in
// the log's unit. replbench's tests compare these with the figures replbench
// computes itself, so that its percentiles are HdrHistogram's.
"use strict";
const fs = require("fs");
const hdr = require("hdr-histogram-js");

function main(argv) {
  if (argv.length < 2) {
    throw new Error("usage: hlog-summary.js LOG TAG...");
  }
  const [path, ...tags] = argv;
  const sums = new Map(tags.map((t) => [t, { histogram: null, intervals: 0 }]));
  // 64-bit counts, as the Go writer's; the reader returns null at the end of
  // the log and also on a line it cannot parse, so lines are counted below.
  const reader = new hdr.HistogramLogReader(fs.readFileSync(path, "utf8"), 64);
  let read = 0;
  for (let h = reader.nextIntervalHistogram(); h !== null; h = reader.nextIntervalHistogram()) {
    read++;
    const s = sums.get(h.tag);
    if (!s) continue;
    if (s.histogram === null) {
      s.histogram = hdr.build({
        bitBucketSize: 64,
        autoResize: true,
        lowestDiscernibleValue: h.lowestDiscernibleValue,
        highestTrackableValue: h.highestTrackableValue,
        numberOfSignificantValueDigits: h.numberOfSignificantValueDigits,
      });
    }
    s.histogram.add(h);
    s.intervals++;
  }
  const lines = reader.lines.filter((l) => l.trim() !== "" && !l.startsWith("#") && !l.startsWith('"StartTimestamp"'));
  if (read !== lines.length) {
    throw new Error(`${path}: read ${read} interval histograms of ${lines.length} interval lines`);
  }
  for (const [tag, s] of sums) {
    const h = s.histogram;
    const out = { tag, intervals: s.intervals, count: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0 };
    if (h !== null) {
      out.count = h.totalCount;
      out.p50 = h.getValueAtPercentile(50);
      out.p90 = h.getValueAtPercentile(90);
      out.p99 = h.getValueAtPercentile(99);
      out.p999 = h.getValueAtPercentile(99.9);
      out.max = h.maxValue;
    }
    process.stdout.write(JSON.stringify(out) + "\n");
  }
}

try {
  main(process.argv.slice(2));
} catch (e) {
  process.stderr.write(`hlog-summary: ${e.message}\n`);
  process.exit(1);
}
