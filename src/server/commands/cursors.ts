import { Int32, Long, type Document } from 'bson';
import { CommandError } from '../errors.js';
import { getArray, getCollectionName, getInt, getString } from './params.js';
import type { CommandContext, CommandTable } from './types.js';

/** A cursor id as sent (Int64; Int32 and doubles tolerated) → the manager's key. */
function cursorKey(v: unknown, command: string, field: string): bigint {
  if (v instanceof Long) return v.toBigInt();
  if (typeof v === 'bigint') return v;
  if (v instanceof Int32) return BigInt(v.value);
  const n = typeof v === 'number' ? v : (v as { value?: unknown })?.value;
  if (typeof n === 'number' && Number.isInteger(n)) return BigInt(n);
  throw CommandError.of('TypeMismatch', `BSON field '${command}.${field}' is the wrong type, expected type 'long'`);
}

function getMore(ctx: CommandContext): Document {
  const { body, db } = ctx;
  const key = cursorKey(body.getMore, 'getMore', 'getMore');
  const collection = getString(body, 'getMore', 'collection');
  if (collection === undefined) {
    throw new CommandError(40414, "BSON field 'getMore.collection' is missing but a required field", { codeName: 'Location40414' });
  }
  const batchSize = getInt(body, 'getMore', 'batchSize', { min: 0 });
  return ctx.server.cursors.getMore(key, `${db}.${collection}`, batchSize);
}

function killCursors(ctx: CommandContext): Document {
  const { body } = ctx;
  getCollectionName(body, 'killCursors');
  const ids = getArray(body, 'killCursors', 'cursors');
  if (ids === undefined) {
    throw new CommandError(40414, "BSON field 'killCursors.cursors' is missing but a required field", { codeName: 'Location40414' });
  }
  const { killed, notFound } = ctx.server.cursors.kill(ids.map((id, i) => cursorKey(id, 'killCursors', `cursors.${i}`)));
  return { cursorsKilled: killed, cursorsNotFound: notFound, cursorsAlive: [], cursorsUnknown: [], ok: 1 };
}

export const commands: CommandTable = {
  getMore: { handler: getMore, opcounter: 'getmore', help: 'returns the next batch of a cursor' },
  killCursors: { handler: killCursors, help: 'closes cursors' },
};
