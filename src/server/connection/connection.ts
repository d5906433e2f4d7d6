import type { Socket } from 'node:net';
import { BSON, type Document } from 'bson';
import type { ServerCore } from '../core.js';
import type { CommandRegistry } from '../commands/registry.js';
import { ConnectionState, type ConnectionFlow } from './state.js';
import { MessageFramer } from '../wire/framer.js';
import { decodeMessage, encodeOpMsg, encodeOpReply, encodeCompressed, WireError, type OpMsgRequest, type OpQueryRequest, type Request } from '../wire/codec.js';
import { MAX_COMMAND_SIZE, OpCode, UNCOMPRESSIBLE_COMMANDS } from '../wire/constants.js';
import { runCommand, errorReply, firstKey, CloseConnection, type ParsedCommand } from '../dispatch.js';
import { CommandError, ErrorCodes } from '../errors.js';
import { lsidKeyOf } from '../sessions.js';
import { PreEncodedReply } from '../commands/types.js';

export interface ConnectionOptions {
  maxMessageSize: number;
  /**
   * Slow reader backpressure: while more than this many reply bytes wait to be taken by the
   * socket, no further request is executed and the socket is not read.
   */
  maxPendingWriteBytes: number;
  /** Requests read ahead of execution; the socket is not read while this many wait (default 256). */
  maxQueuedRequests?: number;
}

/** Clients pipeline only with moreToCome; a deeper read-ahead only holds memory. */
export const DEFAULT_MAX_QUEUED_REQUESTS = 256;

/** Commands OP_QUERY may still carry (everything else must use OP_MSG, as on mongod 5.1+). */
const OP_QUERY_COMMANDS = new Set(['hello', 'isMaster', 'ismaster', 'saslStart', 'saslContinue', 'buildInfo', 'buildinfo', 'authenticate', 'getnonce', 'ping']);

const DESERIALIZE_OPTIONS = { promoteValues: false, validation: { utf8: false as const } };

/**
 * One client socket: read → frame → decode → dispatch → encode → write, one request at a time
 * (clients never pipeline except with moreToCome, and order must be kept). Never throws into the
 * event loop: malformed input gets an error reply or a closed socket; other clients are unaffected.
 *
 * Flow control bounds what one connection can make the server hold: requests already read wait in
 * a queue of at most `maxQueuedRequests` requests and `maxPendingWriteBytes` bytes, and once more
 * than `maxPendingWriteBytes` of replies wait for the socket, the next request is not executed
 * until the socket drains. In both cases the socket is not read meanwhile, so a client that sends
 * but never reads stalls itself (its kernel buffers fill) and nothing else.
 */
export class Connection {
  readonly state: ConnectionState;
  readonly #socket: Socket;
  readonly #server: ServerCore;
  readonly #registry: CommandRegistry;
  readonly #options: ConnectionOptions;
  readonly #maxQueuedRequests: number;
  readonly #framer: MessageFramer;
  readonly #queue: Buffer[] = [];
  #queuedBytes = 0;
  #processing = false;
  #readingPaused = false;
  #waitingForDrain = false;

  constructor(id: number, socket: Socket, server: ServerCore, registry: CommandRegistry, options: ConnectionOptions) {
    this.#socket = socket;
    this.#server = server;
    this.#registry = registry;
    this.#options = options;
    this.#maxQueuedRequests = options.maxQueuedRequests ?? DEFAULT_MAX_QUEUED_REQUESTS;
    this.#framer = new MessageFramer(options.maxMessageSize);
    const remote = `${socket.remoteAddress ?? 'unknown'}:${socket.remotePort ?? 0}`;
    const local = `${socket.localAddress ?? 'unknown'}:${socket.localPort ?? 0}`;
    this.state = new ConnectionState(id, remote, local);
    this.state.destroy = () => socket.destroy();
    this.state.flow = this.#flowView();
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('drain', () => this.#onDrain());
    socket.on('error', () => {
      /* reset by peer etc.: 'close' follows */
    });
    socket.on('close', () => {
      this.state.closed = true;
      this.#queue.length = 0;
      this.#queuedBytes = 0;
    });
  }

  #flowView(): ConnectionFlow {
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const self = this;
    return {
      get queuedRequests() {
        return self.#queue.length;
      },
      get queuedBytes() {
        return self.#queuedBytes;
      },
      get pendingWriteBytes() {
        return self.#socket.writableLength;
      },
      get waitingForDrain() {
        return self.#waitingForDrain;
      },
      get readingPaused() {
        return self.#readingPaused;
      },
    };
  }

  #onData(chunk: Buffer): void {
    this.#server.stats.network.bytesIn += chunk.length;
    let messages: Buffer[];
    try {
      messages = this.#framer.push(chunk);
    } catch (err) {
      // A length we refuse to allocate: the stream can't be resynchronised, so drop the connection.
      this.#server.log.add('closing connection: bad message length', { remote: this.state.remoteAddress, error: (err as Error).message });
      this.#socket.destroy();
      return;
    }
    if (messages.length === 0) return;
    for (const m of messages) {
      this.#queue.push(m);
      this.#queuedBytes += m.length;
    }
    this.#updateReading();
    if (!this.#processing && !this.#waitingForDrain) void this.#processQueue();
  }

  /** Replies are backed up: more than the cap waits, and the socket will say when it drained. */
  #writesBackedUp(): boolean {
    // writableNeedDrain: a 'drain' event is coming (a write returned false). Below the stream's
    // highWaterMark no 'drain' is emitted, and a backlog that small is no reason to wait.
    return this.#socket.writableLength > this.#options.maxPendingWriteBytes && this.#socket.writableNeedDrain;
  }

  async #processQueue(): Promise<void> {
    this.#processing = true;
    try {
      while (this.#queue.length > 0 && !this.state.closed) {
        if (this.#writesBackedUp()) {
          // Stop executing (and reading) until the client takes its replies; 'drain' resumes.
          this.#waitingForDrain = true;
          this.state.emit('backpressure');
          break;
        }
        const message = this.#queue.shift()!;
        this.#queuedBytes -= message.length;
        await this.#handle(message);
      }
    } finally {
      this.#processing = false;
      this.#updateReading();
    }
  }

  #onDrain(): void {
    if (this.#waitingForDrain) {
      this.#waitingForDrain = false;
      this.state.emit('drain');
      if (!this.#processing) void this.#processQueue();
    }
    this.#updateReading();
  }

  /** Reads the socket only while there is room: no backed-up replies, a short queue. */
  #updateReading(): void {
    const full =
      this.#waitingForDrain ||
      this.#queue.length >= this.#maxQueuedRequests ||
      this.#queuedBytes > this.#options.maxPendingWriteBytes ||
      this.#writesBackedUp();
    if (full && !this.#readingPaused) {
      this.#readingPaused = true;
      this.#socket.pause();
      this.state.emit('pause');
    } else if (!full && this.#readingPaused && !this.state.closed) {
      this.#readingPaused = false;
      this.#socket.resume();
      this.state.emit('resume');
    }
  }

  async #handle(message: Buffer): Promise<void> {
    const server = this.#server;
    server.stats.network.numRequests++;
    let request: Request;
    try {
      request = decodeMessage(message, this.#options.maxMessageSize);
    } catch (err) {
      const wireErr = err as WireError;
      if (wireErr.moreToCome) {
        // The client reads no reply to a moreToCome request, errors included (mongod drops them
        // too); a reply it does not expect would be taken as the answer to its next request.
        server.log.add('dropped a malformed moreToCome request', { remote: this.state.remoteAddress, error: wireErr.message });
        return;
      }
      const requestId = wireErr.requestId ?? 0;
      const reply = BSON.serialize(errorReply(new CommandError(wireErr.code ?? ErrorCodes.ProtocolError, `malformed message: ${wireErr.message}`)));
      // Answer in the format the client reads for this request (an OP_COMPRESSED OP_QUERY too).
      const opCode = wireErr.opCode ?? (message.length >= 16 ? message.readInt32LE(12) : 0);
      this.#write(opCode === OpCode.OP_QUERY ? encodeOpReply(nextResponseId(), requestId, reply) : encodeOpMsg(nextResponseId(), requestId, reply));
      return;
    }
    if (request.opCode === OpCode.OP_MSG) await this.#handleMsg(request);
    else await this.#handleQuery(request);
  }

  async #handleMsg(request: OpMsgRequest): Promise<void> {
    let commandName: string | undefined;
    const reply = await this.#run(() => {
      const parsed = parseMsg(request);
      commandName = firstKey(parsed.body);
      return parsed;
    });
    if (reply === null || request.moreToCome) return; // dropped, or unacknowledged: no reply
    let frame = this.#encode(reply, (doc) => encodeOpMsg(nextResponseId(), request.requestId, doc));
    if (request.compressorId !== undefined && (commandName === undefined || !UNCOMPRESSIBLE_COMMANDS.has(commandName))) {
      frame = encodeCompressed(frame, request.compressorId);
    }
    this.#write(frame);
  }

  async #handleQuery(request: OpQueryRequest): Promise<void> {
    const reply = await this.#run(() => {
      const parsed = parseQuery(request);
      const name = firstKey(parsed.body);
      if (name === undefined || !OP_QUERY_COMMANDS.has(name)) {
        throw new CommandError(
          ErrorCodes.UnsupportedOpQueryCommand,
          `Unsupported OP_QUERY command: ${name}. The client driver may require an upgrade. For more details see https://dochub.mongodb.org/core/legacy-opcode-removal`,
          { codeName: 'UnsupportedOpQueryCommand' },
        );
      }
      return parsed;
    });
    if (reply !== null) this.#write(this.#encode(reply, (doc) => encodeOpReply(nextResponseId(), request.requestId, doc)));
  }

  /** Parses and runs one command; errors become error replies. Null: the connection was dropped on purpose. */
  async #run(parse: () => ParsedCommand): Promise<Document | null> {
    try {
      return await runCommand(this.#server, this.#registry, this.state, parse());
    } catch (err) {
      if (err instanceof CloseConnection) {
        this.#socket.destroy();
        return null;
      }
      return errorReply(err);
    }
  }

  /** Serializes a reply; a reply BSON can't hold (too large, bad value) becomes an error reply. */
  #encode(reply: Document, frame: (doc: Uint8Array) => Buffer): Buffer {
    if (reply instanceof PreEncodedReply) return frame(reply.bytes);
    try {
      return frame(BSON.serialize(reply));
    } catch (err) {
      return frame(BSON.serialize(errorReply(new CommandError(ErrorCodes.InternalError, `reply could not be encoded: ${(err as Error).message}`))));
    }
  }

  #write(frame: Buffer): void {
    if (this.state.closed || this.#socket.destroyed) return;
    this.#server.stats.network.bytesOut += frame.length;
    this.#socket.write(frame);
  }
}

let responseId = 0;
function nextResponseId(): number {
  responseId = (responseId + 1) | 0;
  return responseId;
}

function deserialize(bytes: Buffer, what: string): Document {
  try {
    return BSON.deserialize(bytes, DESERIALIZE_OPTIONS);
  } catch (err) {
    throw new CommandError(22, `invalid BSON in ${what}: ${(err as Error).message}`, { codeName: 'InvalidBSON' });
  }
}

/** OP_MSG → command document with kind-1 sequences merged as arrays named by their identifiers. */
function parseMsg(request: OpMsgRequest): ParsedCommand {
  if (request.body.length > MAX_COMMAND_SIZE) {
    throw CommandError.of('BSONObjectTooLarge', `BSONObj size: ${request.body.length} (0x${request.body.length.toString(16)}) is invalid. Size must be between 0 and 16793600(16MB)`);
  }
  const body = deserialize(request.body, 'the command body');
  for (const seq of request.sequences) {
    if (seq.identifier in body) {
      throw new CommandError(40432, `document sequence '${seq.identifier}' duplicates a field of the command body`, { codeName: 'Location40432' });
    }
    body[seq.identifier] = seq.documents.map((d) => deserialize(d, `document sequence '${seq.identifier}'`));
  }
  const db = body.$db;
  if (typeof db !== 'string' || db.length === 0) throw CommandError.of('FailedToParse', "OP_MSG requests require a $db argument");
  return { body, db, requestSize: request.size, lsidKey: body.lsid === undefined ? undefined : lsidKeyOf(body.lsid) };
}

function parseQuery(request: OpQueryRequest): ParsedCommand {
  let body = deserialize(request.query, 'the OP_QUERY query');
  // Drivers may wrap the command: { $query: {...}, $readPreference: {...} }.
  if (body.$query && typeof body.$query === 'object') body = body.$query as Document;
  const dot = request.fullCollectionName.indexOf('.');
  const db = dot === -1 ? request.fullCollectionName : request.fullCollectionName.slice(0, dot);
  return { body, db, requestSize: request.size, lsidKey: undefined };
}

