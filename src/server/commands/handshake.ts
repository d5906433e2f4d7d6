import type { Document } from 'bson';
import type { CommandContext, CommandTable } from './types.js';
import type { ConnectionState } from '../connection/state.js';
import { MAX_BSON_OBJECT_SIZE, MAX_WRITE_BATCH_SIZE, SUPPORTED_COMPRESSORS } from '../wire/constants.js';

/** hello, isMaster and ismaster: one command with three names (mongod's aliases). */
export const HELLO_COMMANDS: ReadonlySet<string> = new Set(['hello', 'isMaster', 'ismaster']);

/**
 * Records what the first hello/isMaster of a connection says about the client: its metadata
 * (`client`, whose `application.name` is the appName fail points filter on) and the compressors
 * it offers. The dispatcher calls this before the fail point stage, so a failCommand with
 * `appName` can fail the handshake itself, as on mongod. Later hellos change nothing (mongod
 * refuses to change client metadata once set).
 */
export function recordHandshake(connection: ConnectionState, body: Document): void {
  if (connection.clientMetadata !== undefined || !body.client || typeof body.client !== 'object') return;
  connection.clientMetadata = body.client as Document;
  const name = (body.client as Document).application?.name;
  if (typeof name === 'string') connection.appName = name;
  if (Array.isArray(body.compression)) {
    connection.compressors = body.compression.filter((c): c is string => typeof c === 'string' && SUPPORTED_COMPRESSORS.has(c));
  }
}

/**
 * hello / isMaster / ismaster. The first one on a connection is the handshake (see
 * recordHandshake). No `topologyVersion` is sent: without real streaming hello, announcing it makes
 * drivers fail every heartbeat (see docs/compatibility.md).
 */
async function hello(ctx: CommandContext): Promise<Document> {
  const { body, connection, server } = ctx;
  recordHandshake(connection, body);
  const legacy = ctx.commandName !== 'hello';
  const reply: Document = {};
  if (body.helloOk === true) reply.helloOk = true;
  reply[legacy ? 'ismaster' : 'isWritablePrimary'] = true;
  reply.maxBsonObjectSize = MAX_BSON_OBJECT_SIZE;
  reply.maxMessageSizeBytes = server.options.maxMessageSizeBytes;
  reply.maxWriteBatchSize = MAX_WRITE_BATCH_SIZE;
  reply.localTime = new Date();
  reply.logicalSessionTimeoutMinutes = 30;
  reply.connectionId = connection.id;
  reply.minWireVersion = server.options.minWireVersion;
  reply.maxWireVersion = server.options.maxWireVersion;
  reply.readOnly = false;
  if (connection.compressors.length > 0) reply.compression = connection.compressors;
  for (const hook of server.helloHooks) await hook(ctx, reply);
  reply.ok = 1;
  return reply;
}

const helloSpec = { handler: hello, noAuth: true, loadExempt: true, help: 'connection handshake and topology information' } as const;

export const commands: CommandTable = {
  hello: helloSpec,
  isMaster: helloSpec,
  ismaster: helloSpec,
};
