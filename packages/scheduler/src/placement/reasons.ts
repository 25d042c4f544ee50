/**
 * Counts, per constraint, how many machines it excluded for one unit. Each machine is charged to
 * the first constraint it failed, so the counts add up to the machines checked.
 */
export class ExclusionTally {
  private readonly counts = new Map<string, number>();

  constructor(private readonly machineCount: number) {}

  add(label: string): void {
    this.counts.set(label, (this.counts.get(label) ?? 0) + 1);
  }

  get empty(): boolean {
    return this.counts.size === 0;
  }

  /** Formats the tally: `Conflicts=web@*.service excluded 3 of 3 machines`, largest first. */
  format(): string {
    if (this.machineCount === 0) return 'no machines are available';
    const entries = [...this.counts.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
    const noun = this.machineCount === 1 ? 'machine' : 'machines';
    return entries.map(([label, count]) => `${label} excluded ${count} of ${this.machineCount} ${noun}`).join('; ');
  }
}
