import { EventEmitter } from 'node:events';
import type { Document } from 'bson';

/** Flow control of a connection's socket, read live (diagnostics and tests). */
export interface ConnectionFlow {
  /** Requests read from the socket and waiting to run. */
  readonly queuedRequests: number;
  readonly queuedBytes: number;
  /** Reply bytes written but not yet taken by the socket. */
  readonly pendingWriteBytes: number;
  /** No request runs until the socket drains (replies backed up past maxPendingWriteBytes). */
  readonly waitingForDrain: boolean;
  /** The socket is not being read. */
  readonly readingPaused: boolean;
}

const NO_FLOW: ConnectionFlow = Object.freeze({ queuedRequests: 0, queuedBytes: 0, pendingWriteBytes: 0, waitingForDrain: false, readingPaused: false });

/**
 * Per-connection state the command layer may read or change (handshake, auth, compression).
 * Flow-control events: 'backpressure' when execution stops because replies are backed up and
 * 'drain' when it resumes; 'pause' and 'resume' when the socket stops and starts being read.
 */
export class ConnectionState extends EventEmitter<{ backpressure: []; drain: []; pause: []; resume: [] }> {
  readonly id: number;
  readonly remoteAddress: string;
  readonly localAddress: string;
  readonly openedAt = Date.now();
  /** `client` metadata from the handshake. */
  clientMetadata: Document | undefined;
  appName: string | undefined;
  /** Compressors the client offered that we support, in the client's order of preference. */
  compressors: string[] = [];
  /** Users authenticated on this connection (`user@db`). */
  readonly authenticatedUsers = new Set<string>();
  /** SASL conversations in progress, by conversationId. */
  readonly saslConversations = new Map<number, unknown>();
  /** Operations running right now on this connection (serverStatus.connections.active). */
  inflight = 0;
  /** Set when the connection is being torn down; handlers may check it. */
  closed = false;
  /** Last command name (for exhaust/awaiting counters and diagnostics). */
  lastCommand: string | undefined;
  /** Closes the socket at once without a reply (closeConnection fail point, shutdown). */
  destroy: () => void = () => {};
  /** Socket flow control (set by the Connection; all zero for internal connections). */
  flow: ConnectionFlow = NO_FLOW;

  constructor(id: number, remoteAddress: string, localAddress: string) {
    super();
    this.id = id;
    this.remoteAddress = remoteAddress;
    this.localAddress = localAddress;
  }
}
