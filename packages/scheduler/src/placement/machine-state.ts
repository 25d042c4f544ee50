import { PublishedPort } from '@berth/unitfile';
import { PlacementMachine, PlacementUnit } from './types';

/** A machine during placement: what is on it and what it has left. */
export class MachineState {
  readonly units = new Map<string, PlacementUnit>();
  allocatedCpus = 0;
  allocatedMemoryBytes = 0;
  readonly ports: Array<{ unit: string; port: PublishedPort }> = [];

  constructor(readonly machine: PlacementMachine) {}

  get id(): string {
    return this.machine.id;
  }

  add(unit: PlacementUnit): void {
    this.units.set(unit.name, unit);
    this.allocatedCpus += unit.cpus;
    this.allocatedMemoryBytes += unit.memoryBytes;
    for (const port of unit.hostPorts) this.ports.push({ unit: unit.name, port });
  }

  remove(unit: PlacementUnit): void {
    if (!this.units.delete(unit.name)) return;
    this.allocatedCpus -= unit.cpus;
    this.allocatedMemoryBytes -= unit.memoryBytes;
    for (let i = this.ports.length - 1; i >= 0; i--) {
      if (this.ports[i].unit === unit.name) this.ports.splice(i, 1);
    }
  }
}

/**
 * Orders machines from least to most loaded: fewer units, then fewer requested CPUs, then less
 * requested memory, then machine id, so equal machines are chosen deterministically.
 */
export function compareLoad(a: MachineState, b: MachineState): number {
  return (
    a.units.size - b.units.size ||
    a.allocatedCpus - b.allocatedCpus ||
    a.allocatedMemoryBytes - b.allocatedMemoryBytes ||
    compareIds(a.id, b.id)
  );
}

function compareIds(a: string, b: string): number {
  if (a === b) return 0;
  return a < b ? -1 : 1;
}

/**
 * A binary min-heap of machines by load. Placing thousands of units on a thousand machines needs
 * the least loaded fitting machine per unit without sorting every machine each time.
 */
export class LoadHeap {
  private readonly items: MachineState[] = [];

  constructor(machines: Iterable<MachineState>) {
    for (const machine of machines) this.push(machine);
  }

  get size(): number {
    return this.items.length;
  }

  push(machine: MachineState): void {
    const items = this.items;
    items.push(machine);
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (compareLoad(items[i], items[parent]) >= 0) break;
      [items[i], items[parent]] = [items[parent], items[i]];
      i = parent;
    }
  }

  pop(): MachineState | undefined {
    const items = this.items;
    if (items.length === 0) return undefined;
    const top = items[0];
    const last = items.pop()!;
    if (items.length > 0) {
      items[0] = last;
      this.siftDown(0);
    }
    return top;
  }

  private siftDown(start: number): void {
    const items = this.items;
    let i = start;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let smallest = i;
      if (left < items.length && compareLoad(items[left], items[smallest]) < 0) smallest = left;
      if (right < items.length && compareLoad(items[right], items[smallest]) < 0) smallest = right;
      if (smallest === i) return;
      [items[i], items[smallest]] = [items[smallest], items[i]];
      i = smallest;
    }
  }
}
