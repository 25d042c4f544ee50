import { readFileSync, Stats, statSync } from 'node:fs';

/** Permission bits that open and mkdir may drop or that chown clears: setuid, setgid and sticky. */
const SPECIAL_MODE_BITS = 0o7000;
const SETGID_BIT = 0o2000;

/**
 * Predicts the owner and mode that the kernel gives a file or directory this process creates in a
 * snapshot, so the applier can skip fchown and fchmod calls that would change nothing. Most image
 * files belong to root and have modes like 0644 or 0755, and two of the six system calls per file
 * went to setting exactly what the kernel had set already.
 *
 * A new inode gets the process's effective uid and gid, except that below a setgid directory it
 * takes the directory's group. Its mode is the one passed to open or mkdir without the umask bits.
 * A default ACL on the snapshot root would replace the umask, so the first prediction of each layer
 * is checked with a stat and a mismatch turns skipping off for the rest of the layer.
 * NOTE: the umask is read once per layer. Nothing in Berth changes it while running, but another
 * module of the same process calling process.umask(mask) during a pull would make modes wrong.
 */
export class CreationDefaults {
  private readonly uid: number;
  private readonly gid: number;
  private readonly umask: number;
  private underSetgid: boolean;
  private checked = false;
  private enabled: boolean;

  /** Reads the process's ids and umask and the root's setgid bit. Throws when `root` cannot be stat'ed. */
  constructor(root: string) {
    this.uid = process.geteuid?.() ?? -1;
    this.gid = process.getegid?.() ?? -1;
    const umask = readUmask();
    this.umask = umask ?? 0o777;
    this.enabled = umask !== undefined && this.uid >= 0;
    this.underSetgid = (statSync(root).mode & SETGID_BIT) !== 0;
  }

  /** Records a directory's final mode: entries created below a setgid directory take its group. */
  noteDirectoryMode(mode: number): void {
    if ((mode & SETGID_BIT) !== 0) this.underSetgid = true;
  }

  /** Returns the mode to create an entry with: `mode` itself when the kernel keeps it, else `privateMode`. */
  createMode(mode: number, privateMode: number): number {
    return this.modeKept(mode) ? mode : privateMode;
  }

  /**
   * Reports whether an entry just created with createMode(mode, …) needs fchown and fchmod to get
   * owner uid:gid and `mode`. Both calls are needed until one entry of the layer confirms the
   * prediction. `stat` is called once, on the first entry created with its final mode.
   */
  callsNeeded(uid: number, gid: number, mode: number, stat: () => Stats): { chown: boolean; chmod: boolean } {
    if (!this.checked) {
      if (!this.modeKept(mode)) return { chown: true, chmod: true };
      this.checked = true;
      const created = stat();
      if (created.uid !== this.uid || created.gid !== this.gid || (created.mode & 0o7777) !== mode) this.enabled = false;
      if (!this.enabled) return { chown: true, chmod: true };
    }
    return { chown: this.chownNeeded(uid, gid), chmod: !this.modeKept(mode) };
  }

  /** Reports whether an entry just created (a symlink, say) needs lchown to get owner uid:gid. */
  chownNeeded(uid: number, gid: number): boolean {
    return !(this.checked && this.enabled && !this.underSetgid && uid === this.uid && gid === this.gid);
  }

  private modeKept(mode: number): boolean {
    return this.enabled && (mode & SPECIAL_MODE_BITS) === 0 && (mode & this.umask) === 0;
  }
}

/** Reads the process's umask from /proc/self/status (Linux 4.7 and later); undefined when absent. */
function readUmask(): number | undefined {
  try {
    const match = /^Umask:\s+([0-7]+)$/m.exec(readFileSync('/proc/self/status', 'latin1'));
    return match ? parseInt(match[1]!, 8) : undefined;
  } catch {
    return undefined;
  }
}
