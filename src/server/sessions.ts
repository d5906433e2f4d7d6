import { Binary, type Document } from 'bson';

/** Key of a logical session id (`lsid: { id: UUID }`): the hex of its bytes. */
export function lsidKeyOf(lsid: unknown): string | undefined {
  if (!lsid || typeof lsid !== 'object') return undefined;
  const id = (lsid as Document).id;
  if (id instanceof Binary) return Buffer.from(id.buffer.buffer, id.buffer.byteOffset, id.position).toString('hex');
  return undefined;
}
