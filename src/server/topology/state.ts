import { Long, ObjectId, Timestamp, type Document } from 'bson';
import { PoolConfigError } from '../../errors.js';
import type { ServerCore } from '../core.js';
import type { CommandRegistry } from '../commands/registry.js';
import { CommandError } from '../errors.js';
import type { EmbeddedServer } from '../server.js';
import { ReplicationChannel, type OplogEntry } from './replication.js';
import { RetryableWrites } from './retryable.js';

export interface StepDownOptions {
  /** Time without any primary before the new one is elected (default 0). */
  electionDelayMS?: number;
  /** Index in `members` of the member to elect (default: the next eligible one after the old primary). */
  newPrimary?: number;
  /** The old primary may not be re-elected for this long (replSetStepDown's seconds; default 0). */
  ineligibleMS?: number;
}

const ERROR_CONFLICTING_OPERATION = 117;

/** One member's replica-set state. */
export class ReplicaMember {
  readonly index: number;
  readonly server: EmbeddedServer;
  readonly inbound: ReplicationChannel;
  /** Aborted (with 11602) when this member stops being primary: interrupts its in-flight writes. */
  private termController = new AbortController();
  ineligibleUntil = 0;
  lastWrite: { ts: Timestamp; t: number; wall: Date };
  readonly startedAt = Date.now();

  constructor(index: number, server: EmbeddedServer, registry: CommandRegistry, readonly set: ReplicaSetState) {
    this.index = index;
    this.server = server;
    this.lastWrite = { ts: new Timestamp({ t: Math.floor(Date.now() / 1000), i: 0 }), t: 0, wall: new Date() };
    this.inbound = new ReplicationChannel(server.core, registry, (entry) => {
      if (entry.opTime) this.lastWrite = entry.opTime;
    });
  }

  get core(): ServerCore {
    return this.server.core;
  }

  get address(): string {
    return this.server.core.address;
  }

  get isPrimary(): boolean {
    return this.set.primaryIndex === this.index;
  }

  get termSignal(): AbortSignal {
    return this.termController.signal;
  }

  /** Ends this member's term as primary. */
  interrupt(): void {
    this.termController.abort(CommandError.of('InterruptedDueToReplStateChange', 'operation was interrupted because the primary stepped down'));
    this.termController = new AbortController();
  }
}

const MEMBERS = new WeakMap<ServerCore, ReplicaMember>();

export function registerMember(member: ReplicaMember): void {
  MEMBERS.set(member.core, member);
}

/** The replica-set member running on `core`, or undefined for a standalone server. */
export function replicaMemberOf(core: ServerCore): ReplicaMember | undefined {
  return MEMBERS.get(core);
}

/** State shared by the members: roles, election, the retryable-write table, replication. */
export class ReplicaSetState {
  readonly setName: string;
  readonly replicationLagMS: number;
  readonly members: ReplicaMember[] = [];
  readonly retryableWrites = new RetryableWrites();
  readonly setVersion = 1;
  /** settings.replicaSetId of replSetGetConfig. */
  readonly replicaSetId = new ObjectId();
  primaryIndex = -1;
  term = 0;
  electionId: ObjectId | undefined;
  electedAt = new Date();
  private opCounter = 0;
  private electing: Promise<unknown> | undefined;

  constructor(setName: string, replicationLagMS: number) {
    this.setName = setName;
    this.replicationLagMS = replicationLagMS;
  }

  get primary(): ReplicaMember | undefined {
    return this.members[this.primaryIndex];
  }

  hosts(): string[] {
    return this.members.map((m) => m.address);
  }

  elect(member: ReplicaMember): void {
    this.term++;
    this.electionId = new ObjectId(); // ObjectIds made later in this process compare greater
    this.electedAt = new Date();
    this.primaryIndex = member.index;
    member.core.log.add('transition to primary', { term: this.term });
  }

  /** Sends a write the primary applied to every other member; resolves per member once applied. */
  replicate(from: ReplicaMember, entry: OplogEntry): Array<Promise<void>> {
    const now = new Date();
    const seconds = Math.floor(now.getTime() / 1000);
    entry.opTime = { ts: new Timestamp({ t: seconds, i: ++this.opCounter }), t: this.term, wall: now };
    from.lastWrite = entry.opTime;
    return this.members.filter((m) => m !== from).map((m) => m.inbound.send(entry, this.replicationLagMS));
  }

  async stepDown(options: StepDownOptions = {}): Promise<ReplicaMember> {
    if (this.electing) throw new CommandError(ERROR_CONFLICTING_OPERATION, 'an election is already in progress', { codeName: 'ConflictingOperationInProgress' });
    const old = this.primary;
    if (!old) throw CommandError.of('NotWritablePrimary', 'not primary so can\'t step down');
    const election = this.runElection(old, options);
    this.electing = election;
    try {
      return await election;
    } finally {
      this.electing = undefined;
    }
  }

  private async runElection(old: ReplicaMember, options: StepDownOptions): Promise<ReplicaMember> {
    const { electionDelayMS = 0, ineligibleMS = 0 } = options;
    this.primaryIndex = -1;
    old.interrupt();
    old.ineligibleUntil = Date.now() + ineligibleMS;
    old.core.log.add('stepping down from primary', { term: this.term });
    // Catch-up: the candidates apply everything the old primary acknowledged.
    await Promise.all(this.members.map((m) => m.inbound.flush()));
    if (electionDelayMS > 0) await new Promise((resolve) => setTimeout(resolve, electionDelayMS));
    const next = this.chooseCandidate(old, options.newPrimary);
    this.elect(next);
    return next;
  }

  private chooseCandidate(old: ReplicaMember, wanted: number | undefined): ReplicaMember {
    if (wanted !== undefined) {
      const member = this.members[wanted];
      if (!member) throw new PoolConfigError('newPrimary', wanted, `must be a member index from 0 to ${this.members.length - 1}`);
      return member;
    }
    const now = Date.now();
    for (let step = 1; step <= this.members.length; step++) {
      const candidate = this.members[(old.index + step) % this.members.length];
      if (candidate !== old && candidate.ineligibleUntil <= now) return candidate;
    }
    return old; // a single member (or nobody else eligible) is re-elected in a new term
  }

  close(): void {
    for (const m of this.members) m.inbound.close();
  }
}

/** hello's lastWrite for a member (drivers use lastWriteDate for maxStalenessSeconds). */
export function lastWriteOf(member: ReplicaMember): Document {
  const opTime = { ts: member.lastWrite.ts, t: Long.fromNumber(member.lastWrite.t) };
  return { opTime, lastWriteDate: member.lastWrite.wall, majorityOpTime: opTime, majorityWriteDate: member.lastWrite.wall };
}
