import type { Collection, Document } from 'mongodb';
import { PoolConfigError } from '../errors.js';
import { createRandom, type RandomSource } from '../util/random.js';
import { requirePositiveInteger } from '../sizing/validate.js';
import type { Operation } from './types.js';

export const WORKLOAD_NAMES = ['findOne', 'insert', 'mix', 'aggregate'] as const;
export type WorkloadName = (typeof WORKLOAD_NAMES)[number];

export interface WorkloadOptions {
  /** Documents seeded by `setup` (default 1000), with `_id` 0..documents−1. */
  documents?: number;
  /** Seed for the random choices (which document, read or write), so runs are repeatable. */
  seed?: number | string;
}

export interface Workload {
  readonly name: WorkloadName;
  readonly description: string;
  readonly documents: number;
  /** Empties the collection and seeds it: `{ _id: i, group: i % 10, value: i, payload }`. */
  setup(collection: Collection<Document>): Promise<void>;
  /** The operation the load generators call; one call = one driver operation. */
  bind(collection: Collection<Document>): Operation;
}

const GROUPS = 10;
const READ_SHARE = 0.8;
const PAYLOAD = 'x'.repeat(100);
const SEED_BATCH = 1000;

const DESCRIPTIONS: Record<WorkloadName, string> = {
  findOne: 'findOne by a random _id',
  insert: 'insertOne of a small document',
  mix: `${READ_SHARE * 100}% findOne by _id / ${100 - READ_SHARE * 100}% updateOne by _id`,
  aggregate: `$match on one of ${GROUPS} groups, then $group sum and count`,
};

/** A named workload over a driver Collection. Throws PoolConfigError for an unknown name. */
export function createWorkload(name: WorkloadName, options: WorkloadOptions = {}): Workload {
  if (!(WORKLOAD_NAMES as readonly string[]).includes(name)) {
    throw new PoolConfigError('workload', name, `must be one of ${WORKLOAD_NAMES.join(', ')}`);
  }
  const documents = options.documents === undefined ? 1000 : requirePositiveInteger('documents', options.documents);
  const random = createRandom(options.seed ?? 1);
  const randomId = () => Math.floor(random() * documents);
  return {
    name,
    description: DESCRIPTIONS[name],
    documents,
    setup: (collection) => seed(collection, documents),
    bind: (collection) => operationFor(name, collection, random, randomId),
  };
}

function operationFor(name: WorkloadName, collection: Collection<Document>, random: RandomSource, randomId: () => number): Operation {
  const findOne = () => collection.findOne({ _id: randomId() } as Document);
  const update = () => collection.updateOne({ _id: randomId() } as Document, { $inc: { value: 1 } });
  switch (name) {
    case 'findOne':
      return findOne;
    case 'insert':
      // A fresh object each time: insertOne adds an _id to the document it is given.
      return () => collection.insertOne({ group: Math.floor(random() * GROUPS), value: 0, payload: PAYLOAD });
    case 'mix':
      return () => (random() < READ_SHARE ? findOne() : update());
    case 'aggregate':
      return () =>
        collection
          .aggregate([
            { $match: { group: Math.floor(random() * GROUPS) } },
            { $group: { _id: '$group', total: { $sum: '$value' }, count: { $sum: 1 } } },
          ])
          .toArray();
  }
}

async function seed(collection: Collection<Document>, documents: number): Promise<void> {
  await collection.deleteMany({});
  for (let first = 0; first < documents; first += SEED_BATCH) {
    const batch: Document[] = [];
    for (let i = first; i < Math.min(documents, first + SEED_BATCH); i++) batch.push({ _id: i, group: i % GROUPS, value: i, payload: PAYLOAD });
    await collection.insertMany(batch, { ordered: false });
  }
}
