// The embedded server with a load model, in its own process (so the load generator does not share
// its event loop). argv[2]: JSON ServerOptions (latencyMS, maxConcurrentOps, seed, ...). Sends
// { type: 'ready', uri } over IPC; { type: 'loadModel', settings } changes the load model at run
// time (e.g. `{ seed }` restarts its service times) and is answered { type: 'loadModelSet' };
// stops on { type: 'stop' } or when the parent goes away.
import { startServer, type ServerOptions } from '../../src/server/index.js';
import type { LoadModelSettings } from '../../src/server/faults/load-model.js';

const options = JSON.parse(process.argv[2] ?? '{}') as ServerOptions;
const server = await startServer({ ...options, port: 0 });
process.send?.({ type: 'ready', uri: server.uri });
const stop = () => void server.stop().then(() => process.exit(0));
process.on('message', (msg: { type: string; settings?: LoadModelSettings }) => {
  if (msg.type === 'stop') stop();
  else if (msg.type === 'loadModel' && msg.settings) {
    server.loadModel.set(msg.settings);
    process.send?.({ type: 'loadModelSet' });
  }
});
process.on('disconnect', stop);
