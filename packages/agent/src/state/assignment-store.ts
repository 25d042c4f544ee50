import { join } from 'node:path';
import type { AssignmentMessage } from '../supervise/desired-unit';
import { readJson, writeJsonAtomic } from './json-file';

/** The last desired set the agent applied, kept so a restarted agent runs it before reconnecting. */
export interface StoredAssignments {
  /** Decimal string: generations are etcd revisions (int64). */
  generation: string;
  assignments: AssignmentMessage[];
}

/** `STATE_DIR/assignments.json`. */
export class AssignmentStore {
  private readonly path: string;

  constructor(stateDir: string) {
    this.path = join(stateDir, 'assignments.json');
  }

  load(): StoredAssignments | undefined {
    return readJson<StoredAssignments>(this.path);
  }

  save(value: StoredAssignments): void {
    writeJsonAtomic(this.path, value);
  }
}
