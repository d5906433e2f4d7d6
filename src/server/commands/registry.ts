import type { Document } from 'bson';
import type { CommandSpec, CommandTable } from './types.js';
import { commands as handshake } from './handshake.js';
import { commands as admin } from './admin.js';
import { commands as auth } from './auth.js';
import { commands as replset } from './replset.js';
import { commands as crud } from './crud.js';
import { commands as query } from './query.js';
import { commands as cursors } from './cursors.js';
import { commands as indexes } from './indexes.js';
import { commands as aggregate } from './aggregate.js';
import { commands as collections } from './collections.js';

/** Every command the server knows, by name as sent (mongod command names are case-sensitive). */
const tables: CommandTable[] = [handshake, admin, auth, replset, crud, query, cursors, indexes, aggregate, collections];

export class CommandRegistry {
  readonly #specs = new Map<string, CommandSpec>();

  constructor(extra: CommandTable[] = []) {
    for (const table of [...tables, ...extra]) this.add(table);
    this.add({
      listCommands: { handler: () => this.#listCommands(), noAuth: false, help: 'lists the commands this server implements' },
    });
  }

  add(table: CommandTable): void {
    for (const [name, spec] of Object.entries(table)) this.#specs.set(name, spec);
  }

  get(name: string): CommandSpec | undefined {
    return this.#specs.get(name);
  }

  names(): string[] {
    return [...this.#specs.keys()].sort();
  }

  #listCommands(): Document {
    const commands: Document = {};
    for (const name of this.names()) {
      const spec = this.#specs.get(name)!;
      commands[name] = { help: spec.help ?? '', requiresAuth: !spec.noAuth, adminOnly: false };
    }
    return { commands, ok: 1 };
  }
}
