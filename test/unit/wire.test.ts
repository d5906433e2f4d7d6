import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { deflateSync } from 'node:zlib';
import { BSON } from 'bson';
import {
  decodeMessage, encodeOpMsg, encodeOpReply, encodeCompressed, encodeOpMsgRequest, encodeOpQueryRequest, readHeader, WireError,
} from '../../src/server/wire/codec.js';
import { MessageFramer, FrameError } from '../../src/server/wire/framer.js';
import { crc32c } from '../../src/server/wire/crc32c.js';
import { CompressorId, OpCode, MsgFlags } from '../../src/server/wire/constants.js';
import { createRandom } from '../../src/util/random.js';

const ping = BSON.serialize({ ping: 1, $db: 'admin' });

describe('wire codec', () => {
  test('OP_MSG request: golden bytes decode to header, flags and body', () => {
    // header(16) | flags(4) | kind 0 | {ping: 1, $db: "admin"}
    const golden = Buffer.from(
      '33000000' + '07000000' + '00000000' + 'dd070000' + '00000000' + '00' +
      '1e000000' + '1070696e6700' + '01000000' + '022464620006000000' + '61646d696e00' + '00',
      'hex',
    );
    assert.equal(golden.length, 0x33);
    const msg = decodeMessage(golden);
    assert.equal(msg.opCode, OpCode.OP_MSG);
    assert.equal(msg.requestId, 7);
    if (msg.opCode !== OpCode.OP_MSG) return;
    assert.equal(msg.flags, 0);
    assert.deepEqual(BSON.deserialize(msg.body), { ping: 1, $db: 'admin' });
    assert.deepEqual(msg.body, Buffer.from(ping));
  });

  test('OP_MSG with kind-1 sequences keeps each document and identifier', () => {
    const docs = [BSON.serialize({ _id: 1 }), BSON.serialize({ _id: 2, x: 'y' })];
    const body = BSON.serialize({ insert: 'c', $db: 'test' });
    const frame = encodeOpMsgRequest(9, body, { sequences: [{ identifier: 'documents', documents: docs }] });
    const msg = decodeMessage(frame);
    assert.ok(msg.opCode === OpCode.OP_MSG);
    assert.equal(msg.sequences.length, 1);
    assert.equal(msg.sequences[0].identifier, 'documents');
    assert.deepEqual(msg.sequences[0].documents.map((d) => BSON.deserialize(d)), [{ _id: 1 }, { _id: 2, x: 'y' }]);
  });

  test('checksum: a correct CRC-32C is accepted and stripped, a wrong one is ChecksumMismatch (288)', () => {
    const frame = encodeOpMsgRequest(1, ping, { checksum: true });
    const msg = decodeMessage(frame);
    assert.ok(msg.opCode === OpCode.OP_MSG && msg.checksumPresent);
    assert.deepEqual(BSON.deserialize(msg.body), { ping: 1, $db: 'admin' });
    frame[frame.length - 1] ^= 0xff;
    assert.throws(() => decodeMessage(frame), (e: WireError) => e.code === 288);
  });

  test('CRC-32C matches the RFC 3720 test vector', () => {
    assert.equal(crc32c(Buffer.from('123456789')), 0xe3069283);
    assert.equal(crc32c(Buffer.alloc(32)), 0x8a9136aa);
  });

  test('moreToCome and exhaustAllowed flags are reported; unknown required bits are refused', () => {
    const m = decodeMessage(encodeOpMsgRequest(1, ping, { flags: MsgFlags.moreToCome | MsgFlags.exhaustAllowed }));
    assert.ok(m.opCode === OpCode.OP_MSG && m.moreToCome && m.exhaustAllowed);
    assert.throws(() => decodeMessage(encodeOpMsgRequest(1, ping, { flags: 1 << 5 })), /unknown required flag/);
    // Optional bits (16-31) other than exhaustAllowed are ignored.
    assert.doesNotThrow(() => decodeMessage(encodeOpMsgRequest(1, ping, { flags: 1 << 20 })));
  });

  test('OP_QUERY handshake decodes collection, numberToReturn and the query', () => {
    const q = BSON.serialize({ ismaster: 1, helloOk: true });
    const msg = decodeMessage(encodeOpQueryRequest(3, 'admin.$cmd', q));
    assert.ok(msg.opCode === OpCode.OP_QUERY);
    assert.equal(msg.fullCollectionName, 'admin.$cmd');
    assert.equal(msg.numberToReturn, -1);
    assert.deepEqual(BSON.deserialize(msg.query), { ismaster: 1, helloOk: true });
  });

  test('OP_REPLY has flags 8, cursor 0, one document, responseTo the request', () => {
    const doc = BSON.serialize({ ok: 1 });
    const reply = encodeOpReply(5, 3, doc);
    const h = readHeader(reply);
    assert.deepEqual(h, { messageLength: reply.length, requestId: 5, responseTo: 3, opCode: OpCode.OP_REPLY });
    assert.equal(reply.readInt32LE(16), 8);
    assert.equal(reply.readBigInt64LE(20), 0n);
    assert.equal(reply.readInt32LE(32), 1);
    assert.deepEqual(BSON.deserialize(reply.subarray(36)), { ok: 1 });
  });

  test('OP_COMPRESSED: zlib and noop round-trip to the original OP_MSG', () => {
    for (const id of [0, 2]) {
      const original = encodeOpMsgRequest(11, ping);
      const compressed = encodeCompressed(original, id);
      assert.equal(readHeader(compressed).opCode, OpCode.OP_COMPRESSED);
      const msg = decodeMessage(compressed);
      assert.ok(msg.opCode === OpCode.OP_MSG);
      assert.equal(msg.compressorId, id);
      assert.equal(msg.requestId, 11);
      assert.deepEqual(BSON.deserialize(msg.body), { ping: 1, $db: 'admin' });
    }
  });

  test('OP_COMPRESSED refuses unsupported compressors and lying sizes', () => {
    const original = encodeOpMsgRequest(1, ping);
    const snappy = encodeCompressed(original, 0);
    snappy[24] = 1;
    assert.throws(() => decodeMessage(snappy), /compressor id 1 is not supported/);
    const lying = encodeCompressed(original, 2);
    lying.writeInt32LE(5, 20);
    assert.throws(() => decodeMessage(lying), WireError);
    // A zip bomb: declared small, inflates large.
    const bomb = Buffer.concat([Buffer.alloc(25), deflateSync(Buffer.alloc(1_000_000))]);
    bomb.writeInt32LE(bomb.length, 0);
    bomb.writeInt32LE(OpCode.OP_COMPRESSED, 12);
    bomb.writeInt32LE(OpCode.OP_MSG, 16);
    bomb.writeInt32LE(100, 20);
    bomb[24] = 2;
    assert.throws(() => decodeMessage(bomb), WireError);
  });

  test('a decode error tells how to answer: the original opcode, and no answer at all for moreToCome', () => {
    const errorOf = (frame: Buffer): WireError => {
      try {
        decodeMessage(frame);
      } catch (err) {
        assert.ok(err instanceof WireError);
        return err;
      }
      throw new Error('expected a WireError');
    };
    const badKind = (flags: number) => {
      const frame = encodeOpMsgRequest(3, ping, { flags });
      frame[20] = 9;
      return frame;
    };
    assert.deepEqual([errorOf(badKind(0)).opCode, errorOf(badKind(0)).moreToCome], [OpCode.OP_MSG, false]);
    assert.deepEqual([errorOf(badKind(MsgFlags.moreToCome)).opCode, errorOf(badKind(MsgFlags.moreToCome)).moreToCome], [OpCode.OP_MSG, true]);
    // Inside OP_COMPRESSED: the wrapped opcode and the wrapped flags count.
    const compressedMsg = errorOf(encodeCompressed(badKind(MsgFlags.moreToCome), CompressorId.zlib));
    assert.deepEqual([compressedMsg.opCode, compressedMsg.moreToCome, compressedMsg.requestId], [OpCode.OP_MSG, true, 3]);
    const query = encodeOpQueryRequest(4, 'admin.$cmd', ping);
    query.writeInt32LE(999, query.length - ping.length);
    const compressedQuery = errorOf(encodeCompressed(query, CompressorId.zlib));
    assert.deepEqual([compressedQuery.opCode, compressedQuery.moreToCome, compressedQuery.requestId], [OpCode.OP_QUERY, false, 4]);
    // A payload that does not inflate: the wrapped opcode is still known, its flags are not.
    const garbled = encodeCompressed(encodeOpQueryRequest(5, 'admin.$cmd', ping), CompressorId.zlib);
    garbled.fill(0xff, 25);
    assert.equal(errorOf(garbled).opCode, OpCode.OP_QUERY);
  });

  test('encodeOpMsg reply: one kind-0 section, flags 0', () => {
    const doc = BSON.serialize({ ok: 1 });
    const frame = encodeOpMsg(1, 2, doc);
    assert.equal(frame.readInt32LE(0), frame.length);
    assert.equal(frame.readUInt32LE(16), 0);
    assert.equal(frame[20], 0);
    assert.deepEqual(BSON.deserialize(frame.subarray(21)), { ok: 1 });
  });

  test('malformed sections are WireErrors, never other exceptions', () => {
    const cases: Array<[string, Buffer]> = [];
    const base = encodeOpMsgRequest(1, ping);
    const badKind = Buffer.from(base);
    badKind[20] = 7;
    cases.push(['unknown section kind', badKind]);
    const longDoc = Buffer.from(base);
    longDoc.writeInt32LE(1000, 21);
    cases.push(['document longer than message', longDoc]);
    const noNul = Buffer.from(base);
    noNul[noNul.length - 1] = 1;
    cases.push(['unterminated document', noNul]);
    const twoBodies = encodeOpMsgRequest(1, Buffer.concat([ping]), {});
    const doubled = Buffer.concat([twoBodies, Buffer.from([0]), Buffer.from(ping)]);
    doubled.writeInt32LE(doubled.length, 0);
    cases.push(['two kind-0 sections', doubled]);
    const noBody = encodeOpMsgRequest(1, ping).subarray(0, 20);
    const noBodyCopy = Buffer.from(noBody);
    noBodyCopy.writeInt32LE(20, 0);
    cases.push(['no sections', noBodyCopy]);
    const dupSeq = encodeOpMsgRequest(1, ping, { sequences: [{ identifier: 'd', documents: [] }, { identifier: 'd', documents: [] }] });
    cases.push(['duplicate sequence', dupSeq]);
    const badOp = Buffer.from(base);
    badOp.writeInt32LE(2002, 12);
    cases.push(['legacy OP_INSERT', badOp]);
    for (const [name, frame] of cases) {
      assert.throws(() => decodeMessage(frame), WireError, name);
    }
  });

  test('fuzz: 20,000 mutated and truncated messages only ever throw WireError', () => {
    const random = createRandom(42);
    const seeds = [
      encodeOpMsgRequest(1, ping, { sequences: [{ identifier: 'documents', documents: [BSON.serialize({ a: 1 })] }] }),
      encodeOpMsgRequest(1, ping, { checksum: true }),
      encodeOpQueryRequest(1, 'admin.$cmd', BSON.serialize({ isMaster: 1 })),
      encodeCompressed(encodeOpMsgRequest(1, ping), 2),
    ];
    for (let i = 0; i < 20_000; i++) {
      const seed = seeds[i % seeds.length];
      let frame = Buffer.from(seed);
      const mutations = 1 + Math.floor(random() * 4);
      for (let m = 0; m < mutations; m++) frame[Math.floor(random() * frame.length)] = Math.floor(random() * 256);
      if (random() < 0.3) frame = frame.subarray(0, Math.floor(random() * frame.length));
      if (frame.length >= 4 && random() < 0.8) frame.writeInt32LE(frame.length, 0);
      try {
        decodeMessage(frame);
      } catch (err) {
        assert.ok(err instanceof WireError, `iteration ${i}: ${(err as Error).name}: ${(err as Error).message}`);
      }
    }
  });
});

describe('message framer', () => {
  test('splits a stream fed one byte at a time and in one chunk identically', () => {
    const a = encodeOpMsgRequest(1, ping);
    const b = encodeOpMsgRequest(2, BSON.serialize({ hello: 1, $db: 'admin' }));
    const stream = Buffer.concat([a, b, a]);
    const whole = new MessageFramer(1 << 20).push(stream);
    assert.equal(whole.length, 3);
    const framer = new MessageFramer(1 << 20);
    const pieces: Buffer[] = [];
    for (const byte of stream) pieces.push(...framer.push(Buffer.from([byte])));
    assert.deepEqual(pieces.map((p) => p.toString('hex')), whole.map((p) => p.toString('hex')));
    assert.equal(framer.bufferedBytes, 0);
  });

  test('refuses lengths below the header or above the maximum before buffering them', () => {
    const tiny = Buffer.alloc(8);
    tiny.writeInt32LE(8, 0);
    assert.throws(() => new MessageFramer(1000).push(tiny), FrameError);
    const huge = Buffer.alloc(4);
    huge.writeInt32LE(2_000_000_000, 0);
    const framer = new MessageFramer(48_000_000);
    assert.throws(() => framer.push(huge), /exceeds maxMessageSizeBytes/);
    const negative = Buffer.alloc(4);
    negative.writeInt32LE(-5, 0);
    assert.throws(() => new MessageFramer(1000).push(negative), FrameError);
  });
});
