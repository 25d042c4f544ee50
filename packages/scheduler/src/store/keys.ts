/** Kinds of key under the prefix; see docs/scheduler.md for the layout. */
export type KeyKind =
  | 'units'
  | 'machines'
  | 'machine-metadata'
  | 'connections'
  | 'assignments'
  | 'reasons'
  | 'states'
  | 'leader';

/** Builds and parses the keys of the documented layout under one prefix. */
export class KeyLayout {
  constructor(readonly prefix: string) {}

  /** `<prefix>/` : everything Berth stores. */
  get root(): string {
    return `${this.prefix}/`;
  }

  dir(kind: Exclude<KeyKind, 'leader'>): string {
    return `${this.prefix}/${kind}/`;
  }

  unit(name: string): string {
    return `${this.prefix}/units/${name}`;
  }

  machine(id: string): string {
    return `${this.prefix}/machines/${id}`;
  }

  machineMetadata(id: string): string {
    return `${this.prefix}/machine-metadata/${id}`;
  }

  connection(id: string): string {
    return `${this.prefix}/connections/${id}`;
  }

  assignment(machineId: string, unit: string): string {
    return `${this.prefix}/assignments/${machineId}/${unit}`;
  }

  assignmentsOf(machineId: string): string {
    return `${this.prefix}/assignments/${machineId}/`;
  }

  reason(unit: string): string {
    return `${this.prefix}/reasons/${unit}`;
  }

  state(unit: string, machineId: string): string {
    return `${this.prefix}/states/${unit}/${machineId}`;
  }

  statesOf(unit: string): string {
    return `${this.prefix}/states/${unit}/`;
  }

  get leader(): string {
    return `${this.prefix}/leader`;
  }

  /** Splits a key into its kind and the path parts after it; undefined for foreign keys. */
  parse(key: string): { kind: KeyKind; parts: string[] } | undefined {
    if (key === this.leader) return { kind: 'leader', parts: [] };
    if (!key.startsWith(this.root)) return undefined;
    const [kind, ...parts] = key.slice(this.root.length).split('/');
    const kinds: KeyKind[] = ['units', 'machines', 'machine-metadata', 'connections', 'assignments', 'reasons', 'states'];
    if (!kinds.includes(kind as KeyKind) || parts.join('') === '') return undefined;
    return { kind: kind as KeyKind, parts };
  }
}
