import { inflateSync, deflateSync } from 'node:zlib';
import { OpCode, MsgFlags, CompressorId, HEADER_SIZE, MAX_MESSAGE_SIZE } from './constants.js';
import { crc32c } from './crc32c.js';

/**
 * Pure encode/decode of MongoDB wire messages over Buffers: no sockets, no BSON parsing beyond
 * checking that each document's length prefix and terminator fit where they claim to be.
 * Documents are returned as Buffer views into the message (zero-copy); the caller deserializes.
 */

export class WireError extends Error {
  /** mongod error code to report (17 ProtocolError, 288 ChecksumMismatch...). */
  readonly code: number;
  /** The request id, when the header was readable (so an error reply can be addressed). */
  readonly requestId: number | undefined;
  /**
   * The opcode of the request as the client meant it (for OP_COMPRESSED, the wrapped opcode), when
   * readable: an OP_QUERY is answered with OP_REPLY, everything else with OP_MSG.
   */
  readonly opCode: number | undefined;
  /** The request is an OP_MSG with moreToCome set: the client reads no reply, so none may be sent. */
  readonly moreToCome: boolean;
  constructor(message: string, code = 17, requestId?: number, details: { opCode?: number; moreToCome?: boolean } = {}) {
    super(message);
    this.name = 'WireError';
    this.code = code;
    this.requestId = requestId;
    this.opCode = details.opCode;
    this.moreToCome = details.moreToCome ?? false;
  }
}

/** What a malformed message's bytes still tell about how (and whether) to answer it. */
function describeRequest(message: Buffer, opCode: number, flagsAt: number): { opCode: number; moreToCome: boolean } {
  const moreToCome = opCode === OpCode.OP_MSG && message.length >= flagsAt + 4 && (message.readUInt32LE(flagsAt) & MsgFlags.moreToCome) !== 0;
  return { opCode, moreToCome };
}

function annotate(err: unknown, details: { opCode: number; moreToCome: boolean }): unknown {
  if (!(err instanceof WireError) || err.opCode !== undefined) return err;
  return new WireError(err.message, err.code, err.requestId, details);
}

export interface MessageHeader {
  messageLength: number;
  requestId: number;
  responseTo: number;
  opCode: number;
}

export interface DocumentSequence {
  identifier: string;
  documents: Buffer[];
}

export interface OpMsgRequest {
  opCode: 2013;
  requestId: number;
  responseTo: number;
  flags: number;
  /** Raw BSON of the kind-0 section. */
  body: Buffer;
  sequences: DocumentSequence[];
  checksumPresent: boolean;
  moreToCome: boolean;
  exhaustAllowed: boolean;
  /** Compressor the request arrived with, or undefined if it was not compressed. */
  compressorId: number | undefined;
  size: number;
}

export interface OpQueryRequest {
  opCode: 2004;
  requestId: number;
  responseTo: number;
  flags: number;
  fullCollectionName: string;
  numberToSkip: number;
  numberToReturn: number;
  query: Buffer;
  returnFieldsSelector: Buffer | undefined;
  compressorId: number | undefined;
  size: number;
}

export type Request = OpMsgRequest | OpQueryRequest;

export function readHeader(buf: Buffer, offset = 0): MessageHeader {
  if (buf.length - offset < HEADER_SIZE) throw new WireError('message shorter than its header');
  return {
    messageLength: buf.readInt32LE(offset),
    requestId: buf.readInt32LE(offset + 4),
    responseTo: buf.readInt32LE(offset + 8),
    opCode: buf.readInt32LE(offset + 12),
  };
}

/** Checks a BSON document's frame (length prefix, bounds, trailing NUL) at `offset`; returns its length. */
function documentLength(buf: Buffer, offset: number, end: number, what: string, requestId: number): number {
  if (end - offset < 5) throw new WireError(`${what}: truncated BSON document`, 17, requestId);
  const len = buf.readInt32LE(offset);
  if (len < 5 || offset + len > end) throw new WireError(`${what}: BSON document length ${len} does not fit in the message`, 17, requestId);
  if (buf[offset + len - 1] !== 0) throw new WireError(`${what}: BSON document is not NUL-terminated`, 17, requestId);
  return len;
}

function readCString(buf: Buffer, offset: number, end: number, what: string, requestId: number): [string, number] {
  const nul = buf.indexOf(0, offset);
  if (nul === -1 || nul >= end) throw new WireError(`${what}: unterminated string`, 17, requestId);
  return [buf.toString('utf8', offset, nul), nul + 1];
}

/** Decodes one complete message (header included). Throws WireError on malformed input. */
export function decodeMessage(message: Buffer, maxMessageSize = MAX_MESSAGE_SIZE): Request {
  const header = readHeader(message);
  if (header.messageLength !== message.length) {
    throw new WireError(`declared length ${header.messageLength} does not match ${message.length} bytes received`, 17, header.requestId);
  }
  try {
    switch (header.opCode) {
      case OpCode.OP_MSG:
        return decodeOpMsg(message, header, undefined);
      case OpCode.OP_QUERY:
        return decodeOpQuery(message, header, undefined);
      case OpCode.OP_COMPRESSED:
        return decodeCompressed(message, header, maxMessageSize);
      default:
        throw new WireError(`unsupported opCode ${header.opCode}`, 17, header.requestId);
    }
  } catch (err) {
    // decodeCompressed describes its own errors (the wrapped opcode and flags are inside it).
    throw header.opCode === OpCode.OP_COMPRESSED ? err : annotate(err, describeRequest(message, header.opCode, HEADER_SIZE));
  }
}

function decodeOpMsg(message: Buffer, header: MessageHeader, compressorId: number | undefined): OpMsgRequest {
  const { requestId } = header;
  let end = message.length;
  if (end < HEADER_SIZE + 5) throw new WireError('OP_MSG too short', 17, requestId);
  const flags = message.readUInt32LE(HEADER_SIZE);
  // Bits 0-15 are "must understand": any we don't know is an error; 16-31 are optional.
  const unknownRequired = flags & 0xffff & ~(MsgFlags.checksumPresent | MsgFlags.moreToCome);
  if (unknownRequired !== 0) throw new WireError(`OP_MSG has unknown required flag bits 0x${unknownRequired.toString(16)}`, 223, requestId);
  const checksumPresent = (flags & MsgFlags.checksumPresent) !== 0;
  if (checksumPresent) {
    if (end < HEADER_SIZE + 4 + 4 + 1) throw new WireError('OP_MSG too short for its checksum', 17, requestId);
    end -= 4;
    // A compressed message's checksum covers the original bytes, which we no longer have: skip it.
    if (compressorId === undefined) {
      const expected = message.readUInt32LE(end);
      if (crc32c(message, 0, end) !== expected) throw new WireError('OP_MSG checksum mismatch', 288, requestId);
    }
  }
  let offset = HEADER_SIZE + 4;
  let body: Buffer | undefined;
  const sequences: DocumentSequence[] = [];
  while (offset < end) {
    const kind = message[offset++];
    if (kind === 0) {
      if (body) throw new WireError('OP_MSG has more than one kind-0 section', 40430, requestId);
      const len = documentLength(message, offset, end, 'OP_MSG body', requestId);
      body = message.subarray(offset, offset + len);
      offset += len;
    } else if (kind === 1) {
      if (end - offset < 4) throw new WireError('OP_MSG document sequence truncated', 17, requestId);
      const size = message.readInt32LE(offset);
      const seqEnd = offset + size;
      if (size < 5 || seqEnd > end) throw new WireError(`OP_MSG document sequence size ${size} does not fit in the message`, 17, requestId);
      const [identifier, afterId] = readCString(message, offset + 4, seqEnd, 'OP_MSG document sequence', requestId);
      if (sequences.some((s) => s.identifier === identifier)) {
        throw new WireError(`OP_MSG has duplicate document sequence '${identifier}'`, 40431, requestId);
      }
      const documents: Buffer[] = [];
      let p = afterId;
      while (p < seqEnd) {
        const len = documentLength(message, p, seqEnd, `OP_MSG document sequence '${identifier}'`, requestId);
        documents.push(message.subarray(p, p + len));
        p += len;
      }
      sequences.push({ identifier, documents });
      offset = seqEnd;
    } else {
      throw new WireError(`OP_MSG has unknown section kind ${kind}`, 17, requestId);
    }
  }
  if (!body) throw new WireError('OP_MSG has no kind-0 section', 40587, requestId);
  return {
    opCode: OpCode.OP_MSG,
    requestId,
    responseTo: header.responseTo,
    flags,
    body,
    sequences,
    checksumPresent,
    moreToCome: (flags & MsgFlags.moreToCome) !== 0,
    exhaustAllowed: (flags & MsgFlags.exhaustAllowed) !== 0,
    compressorId,
    size: message.length,
  };
}

function decodeOpQuery(message: Buffer, header: MessageHeader, compressorId: number | undefined): OpQueryRequest {
  const { requestId } = header;
  const end = message.length;
  if (end < HEADER_SIZE + 4 + 2 + 8 + 5) throw new WireError('OP_QUERY too short', 17, requestId);
  const flags = message.readInt32LE(HEADER_SIZE);
  const [fullCollectionName, afterName] = readCString(message, HEADER_SIZE + 4, end, 'OP_QUERY collection name', requestId);
  if (end - afterName < 8) throw new WireError('OP_QUERY truncated', 17, requestId);
  const numberToSkip = message.readInt32LE(afterName);
  const numberToReturn = message.readInt32LE(afterName + 4);
  const queryAt = afterName + 8;
  const queryLen = documentLength(message, queryAt, end, 'OP_QUERY query', requestId);
  const query = message.subarray(queryAt, queryAt + queryLen);
  let returnFieldsSelector: Buffer | undefined;
  const selAt = queryAt + queryLen;
  if (selAt < end) {
    const selLen = documentLength(message, selAt, end, 'OP_QUERY returnFieldsSelector', requestId);
    returnFieldsSelector = message.subarray(selAt, selAt + selLen);
  }
  return {
    opCode: OpCode.OP_QUERY,
    requestId,
    responseTo: header.responseTo,
    flags,
    fullCollectionName,
    numberToSkip,
    numberToReturn,
    query,
    returnFieldsSelector,
    compressorId,
    size: message.length,
  };
}

function decodeCompressed(message: Buffer, header: MessageHeader, maxMessageSize: number): Request {
  const { requestId } = header;
  if (message.length < HEADER_SIZE + 9) throw new WireError('OP_COMPRESSED too short', 17, requestId);
  const originalOpcode = message.readInt32LE(HEADER_SIZE);
  let full: Buffer | undefined;
  try {
    const uncompressedSize = message.readInt32LE(HEADER_SIZE + 4);
    const compressorId = message[HEADER_SIZE + 8];
    if (uncompressedSize < 0 || uncompressedSize + HEADER_SIZE > maxMessageSize) {
      throw new WireError(`OP_COMPRESSED uncompressed size ${uncompressedSize} is out of range`, 17, requestId);
    }
    const payload = message.subarray(HEADER_SIZE + 9);
    let inner: Buffer;
    if (compressorId === CompressorId.noop) {
      inner = payload;
    } else if (compressorId === CompressorId.zlib) {
      try {
        // maxOutputLength bounds memory even if the declared size lies (zip bombs).
        inner = inflateSync(payload, { maxOutputLength: Math.max(uncompressedSize, 1) });
      } catch (err) {
        throw new WireError(`OP_COMPRESSED zlib payload could not be inflated: ${(err as Error).message}`, 17, requestId);
      }
    } else {
      throw new WireError(`OP_COMPRESSED compressor id ${compressorId} is not supported (this server supports zlib and noop)`, 17, requestId);
    }
    if (inner.length !== uncompressedSize) {
      throw new WireError(`OP_COMPRESSED inflated to ${inner.length} bytes, header said ${uncompressedSize}`, 17, requestId);
    }
    full = Buffer.allocUnsafe(HEADER_SIZE + inner.length);
    full.writeInt32LE(full.length, 0);
    full.writeInt32LE(requestId, 4);
    full.writeInt32LE(header.responseTo, 8);
    full.writeInt32LE(originalOpcode, 12);
    inner.copy(full, HEADER_SIZE);
    const innerHeader = { ...header, messageLength: full.length, opCode: originalOpcode };
    if (originalOpcode === OpCode.OP_MSG) return decodeOpMsg(full, innerHeader, compressorId);
    if (originalOpcode === OpCode.OP_QUERY) return decodeOpQuery(full, innerHeader, compressorId);
    throw new WireError(`OP_COMPRESSED wraps unsupported opCode ${originalOpcode}`, 17, requestId);
  } catch (err) {
    // Answer in the wrapped opcode's format; its flags are only known once the payload inflated.
    throw annotate(err, full ? describeRequest(full, originalOpcode, HEADER_SIZE) : { opCode: originalOpcode, moreToCome: false });
  }
}

function writeHeader(buf: Buffer, requestId: number, responseTo: number, opCode: number): void {
  buf.writeInt32LE(buf.length, 0);
  buf.writeInt32LE(requestId, 4);
  buf.writeInt32LE(responseTo, 8);
  buf.writeInt32LE(opCode, 12);
}

/** OP_MSG reply: flags, one kind-0 section holding `document` (already serialized BSON). */
export function encodeOpMsg(requestId: number, responseTo: number, document: Uint8Array, flags = 0): Buffer {
  const buf = Buffer.allocUnsafe(HEADER_SIZE + 5 + document.length);
  writeHeader(buf, requestId, responseTo, OpCode.OP_MSG);
  buf.writeUInt32LE(flags, HEADER_SIZE);
  buf[HEADER_SIZE + 4] = 0;
  buf.set(document, HEADER_SIZE + 5);
  return buf;
}

/** OP_REPLY answering an OP_QUERY: flags 8 (AwaitCapable), cursor 0, one document. */
export function encodeOpReply(requestId: number, responseTo: number, document: Uint8Array, responseFlags = 8): Buffer {
  const buf = Buffer.allocUnsafe(HEADER_SIZE + 20 + document.length);
  writeHeader(buf, requestId, responseTo, OpCode.OP_REPLY);
  buf.writeInt32LE(responseFlags, HEADER_SIZE);
  buf.writeBigInt64LE(0n, HEADER_SIZE + 4);
  buf.writeInt32LE(0, HEADER_SIZE + 12);
  buf.writeInt32LE(1, HEADER_SIZE + 16);
  buf.set(document, HEADER_SIZE + 20);
  return buf;
}

/** Wraps a complete message (header included) in OP_COMPRESSED. */
export function encodeCompressed(message: Buffer, compressorId: number): Buffer {
  const original = message.subarray(HEADER_SIZE);
  let payload: Buffer;
  if (compressorId === CompressorId.zlib) payload = deflateSync(original);
  else if (compressorId === CompressorId.noop) payload = original;
  else throw new WireError(`cannot compress with compressor id ${compressorId}`);
  const buf = Buffer.allocUnsafe(HEADER_SIZE + 9 + payload.length);
  writeHeader(buf, message.readInt32LE(4), message.readInt32LE(8), OpCode.OP_COMPRESSED);
  buf.writeInt32LE(message.readInt32LE(12), HEADER_SIZE);
  buf.writeInt32LE(original.length, HEADER_SIZE + 4);
  buf[HEADER_SIZE + 8] = compressorId;
  payload.copy(buf, HEADER_SIZE + 9);
  return buf;
}

/** Builds an OP_MSG request (used by tests, the benchmark floor server and tools). */
export function encodeOpMsgRequest(requestId: number, body: Uint8Array, options: { flags?: number; sequences?: Array<{ identifier: string; documents: Uint8Array[] }>; checksum?: boolean } = {}): Buffer {
  const parts: Buffer[] = [Buffer.from([0]), Buffer.from(body)];
  for (const seq of options.sequences ?? []) {
    const id = Buffer.from(`${seq.identifier}\0`, 'utf8');
    const docs = Buffer.concat(seq.documents.map((d) => Buffer.from(d)));
    const head = Buffer.allocUnsafe(5);
    head[0] = 1;
    head.writeInt32LE(4 + id.length + docs.length, 1);
    parts.push(head, id, docs);
  }
  let flags = options.flags ?? 0;
  if (options.checksum) flags |= MsgFlags.checksumPresent;
  const sections = Buffer.concat(parts);
  const buf = Buffer.allocUnsafe(HEADER_SIZE + 4 + sections.length + (options.checksum ? 4 : 0));
  writeHeader(buf, requestId, 0, OpCode.OP_MSG);
  buf.writeUInt32LE(flags >>> 0, HEADER_SIZE);
  sections.copy(buf, HEADER_SIZE + 4);
  if (options.checksum) buf.writeUInt32LE(crc32c(buf, 0, buf.length - 4), buf.length - 4);
  return buf;
}

/** Builds an OP_QUERY command request (legacy handshake). */
export function encodeOpQueryRequest(requestId: number, fullCollectionName: string, query: Uint8Array): Buffer {
  const name = Buffer.from(`${fullCollectionName}\0`, 'utf8');
  const buf = Buffer.allocUnsafe(HEADER_SIZE + 4 + name.length + 8 + query.length);
  writeHeader(buf, requestId, 0, OpCode.OP_QUERY);
  buf.writeInt32LE(0, HEADER_SIZE);
  name.copy(buf, HEADER_SIZE + 4);
  buf.writeInt32LE(0, HEADER_SIZE + 4 + name.length);
  buf.writeInt32LE(-1, HEADER_SIZE + 8 + name.length);
  buf.set(query, HEADER_SIZE + 12 + name.length);
  return buf;
}
