// Load generator process: the real driver runs findOne({ _id }) from N concurrent callers for a
// fixed time and reports ops, latency percentiles (HDR histogram, µs) and its own CPU time.
// It tells the parent when its measured window opens and closes ('window' messages, each
// acknowledged) so the parent samples the server's CPU around exactly that window.
import { MongoClient } from 'mongodb';
import * as hdr from 'hdr-histogram-js';
import { benchDocument } from './document.js';

interface Job { uri: string; durationMS: number; concurrency: number; maxPoolSize: number; populate?: number; warmupMS?: number; ids?: number }

/** Tells the parent a measured window opens or closes and waits until it has taken its sample. */
function windowEdge(edge: 'open' | 'close'): Promise<void> {
  return new Promise((resolve) => {
    const onAck = (m: { type?: string; edge?: string }) => {
      if (m?.type === 'window-ack' && m.edge === edge) {
        process.off('message', onAck);
        resolve();
      }
    };
    process.on('message', onAck);
    process.send?.({ type: 'window', edge });
  });
}

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
  // The ids populated (by this or an earlier run): findOne hits an existing document every time.
  const ids = job.populate ?? job.ids ?? 10_000;
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
  await windowEdge('open');
  recording = true;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const end = t0 + job.durationMS;
  await Promise.all(Array.from({ length: job.concurrency }, () => run(end)));
  const elapsed = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  recording = false;
  await windowEdge('close');
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
