import { Long, type Document } from 'bson';
import type { CommandContext, CommandTable } from './types.js';
import { CommandError } from '../errors.js';
import { isNumeric, toNumber } from './params.js';
import { lastWriteOf, replicaMemberOf, type ReplicaMember } from '../topology/state.js';

/** Replica-set commands; a standalone answers them with NoReplicationEnabled (76), as mongod without --replSet. */

function memberOrThrow(ctx: CommandContext): ReplicaMember {
  const member = replicaMemberOf(ctx.server);
  if (!member) throw new CommandError(76, 'not running with --replSet', { codeName: 'NoReplicationEnabled' });
  return member;
}

function adminOnly(ctx: CommandContext): void {
  if (ctx.db !== 'admin') throw CommandError.of('Unauthorized', `${ctx.commandName} may only be run against the admin database.`);
}

function replSetGetStatus(ctx: CommandContext): Document {
  const self = memberOrThrow(ctx);
  const set = self.set;
  const now = Date.now();
  return {
    set: set.setName,
    date: new Date(now),
    myState: self.isPrimary ? 1 : 2,
    term: Long.fromNumber(set.term),
    heartbeatIntervalMillis: Long.fromNumber(2000),
    members: set.members.map((m) => {
      const write = lastWriteOf(m);
      const entry: Document = {
        _id: m.index,
        name: m.address,
        health: 1,
        state: m.isPrimary ? 1 : 2,
        stateStr: m.isPrimary ? 'PRIMARY' : 'SECONDARY',
        uptime: Math.floor((now - m.startedAt) / 1000),
        optime: write.opTime,
        optimeDate: write.lastWriteDate,
      };
      if (m.isPrimary) Object.assign(entry, { electionTime: set.electedAt, electionDate: set.electedAt, electionId: set.electionId });
      if (m === self) entry.self = true;
      else if (set.primary) entry.syncSourceHost = set.primary.address;
      return entry;
    }),
    ok: 1,
  };
}

function replSetGetConfig(ctx: CommandContext): Document {
  adminOnly(ctx);
  const set = memberOrThrow(ctx).set;
  return {
    config: {
      _id: set.setName,
      version: set.setVersion,
      term: Long.fromNumber(set.term),
      protocolVersion: Long.fromNumber(1),
      members: set.members.map((m) => ({ _id: m.index, host: m.address, arbiterOnly: false, hidden: false, priority: 1, votes: 1, tags: {} })),
      settings: { replicaSetId: set.replicaSetId },
    },
    ok: 1,
  };
}

async function replSetStepDown(ctx: CommandContext): Promise<Document> {
  adminOnly(ctx);
  const member = memberOrThrow(ctx);
  if (!member.isPrimary) throw CommandError.of('NotWritablePrimary', "not primary so can't step down");
  const secs = isNumeric(ctx.body.replSetStepDown) ? toNumber(ctx.body.replSetStepDown) : 60;
  // mongod 4.2+ answers ok once stepped down and keeps the connection; the election completes afterwards.
  void member.set.stepDown({ ineligibleMS: Math.max(0, secs) * 1000 }).catch((err) => ctx.server.log.add('stepdown failed', { error: String(err) }));
  return { ok: 1 };
}

export const commands: CommandTable = {
  replSetGetStatus: { handler: replSetGetStatus, loadExempt: true, help: 'replica set members and their states' },
  replSetGetConfig: { handler: replSetGetConfig, loadExempt: true, help: 'replica set configuration' },
  replSetStepDown: { handler: replSetStepDown, loadExempt: true, help: 'steps the primary down; a new one is elected' },
};
