import type { Document } from 'bson';

/** Per-connection state the command layer may read or change (handshake, auth, compression). */
export class ConnectionState {
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

  constructor(id: number, remoteAddress: string, localAddress: string) {
    this.id = id;
    this.remoteAddress = remoteAddress;
    this.localAddress = localAddress;
  }
}
