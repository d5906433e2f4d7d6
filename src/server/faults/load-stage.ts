import type { ServerCore } from '../core.js';
import type { CommandContext } from '../commands/types.js';
import { getNumber } from '../commands/params.js';
import type { LoadModel } from './load-model.js';

/** Commands whose `maxTimeMS` is not an execution limit (getMore: await time of tailable cursors). */
const NO_DEADLINE = new Set(['getMore']);

/**
 * Puts `model` in the core's pipeline: every command that is not load-exempt (hello, SASL,
 * configureFailPoint...) queues for a slot and pays its service time, with `maxTimeMS` enforced
 * (queue time included). The first hello of each connection waits `handshakeDelayMS`.
 */
export function installLoadModel(core: ServerCore, model: LoadModel): void {
  core.middleware.loadModel = (ctx, _spec, next) =>
    // next() checks ctx.signal first (dispatch.runHandler): an operation interrupted while it
    // waited here (stepdown, shutdown) never runs.
    model.run(ctx.commandName, next, { deadline: deadlineOf(ctx), signal: ctx.signal });
  core.helloHooks.push((ctx) => model.delayHandshake(ctx.connection, ctx.signal));
}

function deadlineOf(ctx: CommandContext): number | undefined {
  if (NO_DEADLINE.has(ctx.commandName)) return undefined;
  const ms = getNumber(ctx.body, ctx.commandName, 'maxTimeMS');
  return ms !== undefined && ms > 0 ? Date.now() + ms : undefined;
}
