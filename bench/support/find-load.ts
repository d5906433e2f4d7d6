// Load generator process: the real driver runs findOne({ _id }) from N concurrent callers for a
// fixed time and reports ops, latency percentiles (HDR histogram, µs) and its own CPU time.
import { MongoClient } from 'mongodb';
import * as hdr from 'hdr-histogram-js';
import { benchDocument } from './document.js';

interface Job { uri: string; durationMS: number; concurrency: number; maxPoolSize: number; populate?: number; warmupMS?: number }

process.once('message', async (job: Job) => {
  const client = new MongoClient(job.uri, { maxPoolSize: job.maxPoolSize });
  const coll = client.db('bench').collection<{ _id: number }>('docs');
  if (job.populate) {
    await coll.deleteMany({});
    const docs = Array.from({ length: job.populate }, (_, i) => benchDocument(i));
    for (let i = 0; i < docs.length; i += 1000) await coll.insertMany(docs.slice(i, i + 1000));
  }
  const histogram = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3, useWebAssembly: false });
  let ops = 0;
  let errors = 0;
  let recording = false;
  const ids = 10_000;
  let next = 0;
  const run = async (until: number) => {
    while (performance.now() < until) {
      const id = next++ % ids;
      const start = performance.now();
      try {
        const doc = await coll.findOne({ _id: id });
        if (doc === null) errors++;
      } catch {
        errors++;
      }
      if (recording) {
        histogram.recordValue(Math.max(1, Math.round((performance.now() - start) * 1000)));
        ops++;
      }
    }
  };
  // Warm up (JIT, pool) before measuring.
  const warmEnd = performance.now() + (job.warmupMS ?? 1000);
  await Promise.all(Array.from({ length: job.concurrency }, () => run(warmEnd)));
  recording = true;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const end = t0 + job.durationMS;
  await Promise.all(Array.from({ length: job.concurrency }, () => run(end)));
  const elapsed = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  await client.close();
  process.send?.({
    ops,
    errors,
    elapsedMS: elapsed,
    clientCpuUS: cpu.user + cpu.system,
    p50US: histogram.getValueAtPercentile(50),
    p99US: histogram.getValueAtPercentile(99),
  });
  process.disconnect();
});
