import type { Document } from 'bson';
import { CommandError } from '../errors.js';
import { runAggregate } from '../store/index.js';
import { getArray, getBool, getCollectionName, isNumeric, toNumber } from './params.js';
import { cursorBatchSize, letVariables } from './query.js';
import type { CommandContext, CommandTable } from './types.js';

function aggregate(ctx: CommandContext): Document {
  const { body, db, server } = ctx;
  const target = body.aggregate;
  const collection = typeof target === 'string' ? getCollectionName(body, 'aggregate') : undefined;
  if (collection === undefined && !(isNumeric(target) && toNumber(target) === 1)) {
    throw CommandError.of('FailedToParse', "Invalid argument to 'aggregate': must be a collection name or the number 1");
  }
  const pipeline = getArray(body, 'aggregate', 'pipeline');
  if (pipeline === undefined) {
    throw new CommandError(40414, "BSON field 'aggregate.pipeline' is missing but a required field", { codeName: 'Location40414' });
  }
  const explain = getBool(body, 'aggregate', 'explain') ?? false;
  if (!explain && body.cursor === undefined) {
    throw CommandError.of('FailedToParse', "The 'cursor' option is required, except for aggregate with the explain argument");
  }
  const ns = collection === undefined ? `${db}.$cmd.aggregate` : `${db}.${collection}`;
  if (explain) {
    // No query planner here: report the pipeline as given, with a collection scan.
    return { explainVersion: '1', stages: pipeline, queryPlanner: { namespace: ns, winningPlan: { stage: 'COLLSCAN' } }, ok: 1 };
  }
  const batchSize = cursorBatchSize(body, 'aggregate');
  const { docs } = runAggregate({
    store: server.store,
    db,
    collection,
    pipeline: pipeline as Document[],
    variables: letVariables(body, 'aggregate'),
    host: server.address,
    allowDiskUse: getBool(body, 'aggregate', 'allowDiskUse'),
  });
  return server.cursors.firstBatch({ ns, docs, lsidKey: ctx.lsidKey, batchSize });
}

export const commands: CommandTable = {
  aggregate: { handler: aggregate, help: 'runs an aggregation pipeline (mingo) and opens a cursor; $out/$merge write to the store' },
};
