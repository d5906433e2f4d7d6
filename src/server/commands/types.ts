import type { Document } from 'bson';
import type { ServerCore } from '../core.js';
import type { ConnectionState } from '../connection/state.js';

/**
 * What a command handler receives. `body` is the command document with any OP_MSG kind-1
 * sections merged in, decoded with `promoteValues: false`: numbers are bson Int32 / Double / Long
 * objects, so stored documents keep their exact BSON types. Use the helpers in `params.ts` to read
 * parameters and `toPlain` to turn filters into plain JS values for matching.
 */
export interface CommandContext {
  /** The command name exactly as sent (first key of the body). */
  readonly commandName: string;
  /** `$db` of the request. */
  readonly db: string;
  readonly body: Document;
  readonly server: ServerCore;
  readonly connection: ConnectionState;
  /** Aborted when the operation must stop (maxTimeMS expiry, stepdown, shutdown). Middlewares may replace it. */
  signal: AbortSignal;
  /** Size in bytes of the whole request message (documents over 16 MiB are only possible when this is larger). */
  readonly requestSize: number;
  /** Hex of `lsid.id` when the command carries a logical session id. */
  readonly lsidKey: string | undefined;
}

/**
 * A reply already serialized to BSON. Handlers may return one to skip encoding (a fixed reply
 * prepared once); middlewares that decorate replies must leave it alone.
 */
export class PreEncodedReply {
  readonly bytes: Uint8Array;
  constructor(bytes: Uint8Array) {
    this.bytes = bytes;
  }
}

export type CommandHandler = (ctx: CommandContext) => Document | Promise<Document>;

export interface CommandSpec {
  readonly handler: CommandHandler;
  /** One line for `listCommands` / docs. */
  readonly help?: string;
  /** Allowed before authentication (hello, ping, buildInfo, SASL...). Default false. */
  readonly noAuth?: boolean;
  /** Not subject to the load model (latency/capacity): handshake, monitoring, auth, fail points. */
  readonly loadExempt?: boolean;
  /** A write: refused by secondaries with NotWritablePrimary. */
  readonly write?: boolean;
  /** Only exists when test commands are enabled (configureFailPoint...). */
  readonly testOnly?: boolean;
  /** Counted in serverStatus.opcounters under this name. */
  readonly opcounter?: 'insert' | 'query' | 'update' | 'delete' | 'getmore' | 'command';
}

export type CommandTable = Record<string, CommandSpec>;

/**
 * Wraps the handler pipeline (auth, fail points, topology, load model). Calls `next()` to go on,
 * or throws / returns a reply of its own. Never touches the store or sockets.
 */
export type Middleware = (ctx: CommandContext, spec: CommandSpec, next: () => Promise<Document>) => Promise<Document>;
