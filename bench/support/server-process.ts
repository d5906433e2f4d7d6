// A server for benchmarks, in its own process: `ours` (the embedded server) or `floor` (same socket
// layer and dispatcher, but `find` answers with one fixed pre-encoded reply). Prints its URI, then
// answers IPC requests for its CPU time and resident memory.
import { BSON, Long } from 'bson';
import { startServer, PreEncodedReply, type CommandTable } from '../../src/server/index.js';
import { benchDocument } from './document.js';

const kind = process.argv[2] ?? 'ours';
const doc = benchDocument(0);

let commands: CommandTable | undefined;
if (kind === 'floor') {
  const reply = new PreEncodedReply(BSON.serialize({ cursor: { firstBatch: [doc], id: Long.ZERO, ns: 'bench.docs' }, ok: 1 }));
  commands = { find: { handler: () => reply } };
} else if (kind !== 'ours') {
  console.error(`unknown server kind ${kind}`);
  process.exit(2);
}

const server = await startServer({ port: 0, commands });
process.send?.({ type: 'ready', uri: server.uri });
process.on('message', (msg: { type: string }) => {
  if (msg.type === 'stats') {
    (globalThis as { gc?: () => void }).gc?.();
    process.send?.({ type: 'stats', cpu: process.cpuUsage(), rss: process.memoryUsage().rss, connections: server.core.connections.size });
  } else if (msg.type === 'stop') {
    void server.stop().then(() => process.exit(0));
  }
});
process.on('disconnect', () => void server.stop().then(() => process.exit(0)));

