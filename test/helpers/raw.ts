import net from 'node:net';
import { once } from 'node:events';
import { BSON, type Document } from 'bson';
import { MessageFramer } from '../../src/server/wire/framer.js';
import { encodeOpMsgRequest, readHeader } from '../../src/server/wire/codec.js';
import { MsgFlags, OpCode } from '../../src/server/wire/constants.js';

/** A raw wire client for malformed-input and protocol tests: writes bytes, reads framed replies. */
export class RawClient {
  readonly socket: net.Socket;
  readonly #framer = new MessageFramer(64 * 1024 * 1024);
  readonly #replies: Buffer[] = [];
  #waiters: Array<() => void> = [];
  closed = false;
  #nextId = 1;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on('data', (chunk) => {
      this.#replies.push(...this.#framer.push(chunk));
      this.#wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.#wake();
    });
    socket.on('error', () => {});
  }

  static async connect(port: number, host = '127.0.0.1'): Promise<RawClient> {
    const socket = net.connect({ port, host });
    await once(socket, 'connect');
    return new RawClient(socket);
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
  }

  write(bytes: Uint8Array): void {
    this.socket.write(bytes);
  }

  /** Sends an OP_MSG command and returns its request id. */
  command(body: Document, options: { flags?: number } = {}): number {
    const id = this.#nextId++;
    this.write(encodeOpMsgRequest(id, BSON.serialize(body), options));
    return id;
  }

  /** Next reply frame, or null once the server closed the connection. */
  async nextFrame(): Promise<Buffer | null> {
    while (this.#replies.length === 0) {
      if (this.closed) return null;
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
    return this.#replies.shift()!;
  }

  /** Next reply decoded: header fields plus the document (OP_MSG or OP_REPLY). */
  async nextReply(): Promise<{ responseTo: number; opCode: number; doc: Document } | null> {
    const frame = await this.nextFrame();
    if (!frame) return null;
    const header = readHeader(frame);
    const docStart = header.opCode === OpCode.OP_REPLY ? 36 : 21;
    return { responseTo: header.responseTo, opCode: header.opCode, doc: BSON.deserialize(frame.subarray(docStart)) };
  }

  /** Resolves when the server has closed the socket. */
  async waitClosed(): Promise<void> {
    while (!this.closed) await new Promise<void>((resolve) => this.#waiters.push(resolve));
  }

  close(): void {
    this.socket.destroy();
  }
}

/** One message seen by a TapProxy: its opcode and, for OP_COMPRESSED, the opcode it wraps. */
export interface TappedMessage {
  readonly opCode: number;
  readonly originalOpCode: number | undefined;
  readonly compressorId: number | undefined;
  /** An uncompressed OP_MSG with the moreToCome flag (no reply expected). */
  readonly moreToCome: boolean;
}

/**
 * A TCP proxy in front of a server that frames both directions and records every message's opcode:
 * what really went over the wire (compression, which opcode answered which), for tests.
 */
export class TapProxy {
  readonly toServer: TappedMessage[] = [];
  readonly toClient: TappedMessage[] = [];
  readonly #server: net.Server;
  readonly #sockets = new Set<net.Socket>();
  port = 0;

  private constructor(targetPort: number) {
    this.#server = net.createServer((client) => {
      const upstream = net.connect({ port: targetPort, host: '127.0.0.1' });
      for (const s of [client, upstream]) {
        this.#sockets.add(s);
        s.on('error', () => {});
        s.on('close', () => {
          this.#sockets.delete(s);
          client.destroy();
          upstream.destroy();
        });
      }
      const tap = (into: TappedMessage[]) => {
        const framer = new MessageFramer(64 * 1024 * 1024);
        return (chunk: Buffer) => {
          for (const frame of framer.push(chunk)) {
            const { opCode } = readHeader(frame);
            const compressed = opCode === OpCode.OP_COMPRESSED;
            into.push({
              opCode,
              originalOpCode: compressed ? frame.readInt32LE(16) : undefined,
              compressorId: compressed ? frame[24] : undefined,
              moreToCome: opCode === OpCode.OP_MSG && (frame.readUInt32LE(16) & MsgFlags.moreToCome) !== 0,
            });
          }
        };
      };
      client.on('data', tap(this.toServer));
      upstream.on('data', tap(this.toClient));
      client.pipe(upstream);
      upstream.pipe(client);
    });
  }

  static async start(targetPort: number): Promise<TapProxy> {
    const proxy = new TapProxy(targetPort);
    proxy.#server.listen(0, '127.0.0.1');
    await once(proxy.#server, 'listening');
    proxy.port = (proxy.#server.address() as net.AddressInfo).port;
    return proxy;
  }

  get uri(): string {
    return `mongodb://127.0.0.1:${this.port}/`;
  }

  async close(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
