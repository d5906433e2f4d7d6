import { BSON } from 'bson';
import type { StoredRecord } from './collection.js';

/**
 * Hand-written BSON for the hot path (`findOne({_id})`): the reply
 * `{ cursor: { firstBatch: [doc], id: Int64(0), ns }, ok: 1.0 }` assembled around the document's
 * cached bytes, instead of re-serializing the document on every read.
 */

/** Documents up to this size keep their encoded bytes after the first fast-path read. */
const MAX_CACHED_BYTES = 64 * 1024;

/** The record's BSON bytes (cached for small documents; records are immutable). */
export function recordBytes(record: StoredRecord): Uint8Array {
  if (record.bytes !== undefined) return record.bytes;
  const bytes = BSON.serialize(record.doc);
  record.size = bytes.length;
  if (bytes.length <= MAX_CACHED_BYTES) record.bytes = bytes;
  return bytes;
}

const FIRST_BATCH = Buffer.from('firstBatch\0', 'latin1');
const CURSOR = Buffer.from('cursor\0', 'latin1');

/** `{ cursor: { firstBatch: [doc?], id: 0, ns }, ok: 1 }` as BSON; `nsBytes` is the UTF-8 namespace. */
export function encodeSingleBatchReply(nsBytes: Uint8Array, doc: Uint8Array | undefined): Uint8Array {
  const arrayLength = doc === undefined ? 5 : 4 + 3 + doc.length + 1;
  const cursorLength = 4 + 1 + FIRST_BATCH.length + arrayLength + (1 + 3 + 8) + (1 + 3 + 4 + nsBytes.length + 1) + 1;
  const total = 4 + 1 + CURSOR.length + cursorLength + (1 + 3 + 8) + 1;
  const out = Buffer.allocUnsafe(total);
  let i = out.writeInt32LE(total, 0);
  out[i++] = 0x03; // embedded document "cursor"
  i += CURSOR.copy(out, i);
  i = out.writeInt32LE(cursorLength, i);
  out[i++] = 0x04; // array "firstBatch"
  i += FIRST_BATCH.copy(out, i);
  i = out.writeInt32LE(arrayLength, i);
  if (doc !== undefined) {
    out[i++] = 0x03; // element "0"
    out[i++] = 0x30;
    out[i++] = 0x00;
    out.set(doc, i);
    i += doc.length;
  }
  out[i++] = 0x00; // end of array
  out[i++] = 0x12; // int64 "id" = 0
  out[i++] = 0x69;
  out[i++] = 0x64;
  out[i++] = 0x00;
  out.fill(0, i, i + 8);
  i += 8;
  out[i++] = 0x02; // string "ns"
  out[i++] = 0x6e;
  out[i++] = 0x73;
  out[i++] = 0x00;
  i = out.writeInt32LE(nsBytes.length + 1, i);
  out.set(nsBytes, i);
  i += nsBytes.length;
  out[i++] = 0x00;
  out[i++] = 0x00; // end of cursor
  out[i++] = 0x01; // double "ok" = 1.0
  out[i++] = 0x6f;
  out[i++] = 0x6b;
  out[i++] = 0x00;
  i = out.writeDoubleLE(1, i);
  out[i++] = 0x00; // end of reply
  return out;
}
