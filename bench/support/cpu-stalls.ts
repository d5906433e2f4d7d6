// Injected stalls of this machine, for the advisor benchmark's --stall-ms: busy-loops one core for
// argv[2] ms at exponentially distributed intervals averaging argv[3] ms (seed argv[4]), so the
// server and the load generator share the other core meanwhile, as in the noisy spells of this VM
// that slow every operation in flight. Sends { type: 'ready' }; on { type: 'stop' } answers
// { type: 'stopped', stalls } (how many ran) and exits; exits too when the parent goes away.
import { createRandom } from '../../src/util/random.js';

const [stallMS, everyMS, seed] = process.argv.slice(2).map(Number);
const random = createRandom(seed ?? 1);
let stalls = 0;
let timer: NodeJS.Timeout | undefined;

function schedule(): void {
  // An exponential gap: stalls arrive as a Poisson process, not on a beat the load could align with.
  const gap = -Math.log(1 - random()) * everyMS;
  timer = setTimeout(() => {
    const until = performance.now() + stallMS;
    while (performance.now() < until) {
      // busy: holds the core
    }
    stalls++;
    schedule();
  }, gap);
}

const stop = () => {
  clearTimeout(timer);
  process.send?.({ type: 'stopped', stalls }, () => process.exit(0));
};
process.on('message', (msg: { type: string }) => {
  if (msg.type === 'stop') stop();
});
process.on('disconnect', () => process.exit(0));
schedule();
process.send?.({ type: 'ready' });
