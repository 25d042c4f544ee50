/*
 * berth-layer: the file-system operations that layer extraction needs and Node's fs module lacks
 * (mknodat, lsetxattr, fchownat and utimensat without following symlinks).
 *
 * Usage: berth-layer ROOT < OPERATIONS
 *
 * OPERATIONS is a sequence of records. Each record is a list of NUL-terminated fields ending with an
 * empty field. The first field names the operation, the second is a path relative to ROOT:
 *   whiteout PATH                              character device 0:0, overlayfs' whiteout
 *   mknod PATH TYPE MODE MAJOR MINOR           TYPE is c, b or p; MODE in octal
 *   xattr PATH NAME HEXVALUE                   set one extended attribute on the entry itself
 *   meta PATH UID GID MODE|- SEC NSEC          owner, then mode (- for symlinks), then mtime
 *
 * Every parent directory is opened component by component from ROOT with O_NOFOLLOW|O_DIRECTORY,
 * so no symlink inside ROOT can redirect an operation outside it. The first failure stops the run:
 * the message on stderr names the operation, the path, the system call and errno, and the exit
 * status is 1 (2 for a malformed request).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#define MAX_FIELDS 8
#define MAX_FIELD_BYTES 65536

static int root_fd = -1;

static void cleanup_fd(int *fd) {
  if (*fd >= 0) close(*fd);
}
#define cleanup_close __attribute__((cleanup(cleanup_fd)))

static int fail(const char *op, const char *path, const char *call) {
  fprintf(stderr, "berth-layer: %s %s: %s failed: %s\n", op, path, call, strerror(errno));
  return -errno;
}

/* Opens the parent directory of PATH beneath root_fd and returns its fd; *name gets the last part. */
static int open_parent(const char *op, char *path, const char **name) {
  int fd = dup(root_fd);
  if (fd < 0) return fail(op, path, "dup");
  char *cursor = path;
  for (;;) {
    char *slash = strchr(cursor, '/');
    if (slash == NULL) break;
    *slash = '\0';
    if (*cursor == '\0' || strcmp(cursor, ".") == 0 || strcmp(cursor, "..") == 0) {
      *slash = '/';
      close(fd);
      errno = EINVAL;
      return fail(op, path, "path check");
    }
    int next = openat(fd, cursor, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    *slash = '/';
    close(fd);
    if (next < 0) return fail(op, path, "openat");
    fd = next;
    cursor = slash + 1;
  }
  if (*cursor == '\0' || strcmp(cursor, ".") == 0 || strcmp(cursor, "..") == 0) {
    close(fd);
    errno = EINVAL;
    return fail(op, path, "path check");
  }
  *name = cursor;
  return fd;
}

static int hex_value(int c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

static int do_xattr(char *path, const char *attr, const char *hex) {
  const char *name;
  cleanup_close int dir = open_parent("xattr", path, &name);
  if (dir < 0) return dir;
  size_t length = strlen(hex) / 2;
  unsigned char value[MAX_FIELD_BYTES / 2];
  for (size_t i = 0; i < length; i++) {
    int high = hex_value(hex[2 * i]), low = hex_value(hex[2 * i + 1]);
    if (high < 0 || low < 0) {
      errno = EINVAL;
      return fail("xattr", path, "hex decode");
    }
    value[i] = (unsigned char)(high * 16 + low);
  }
  /* The /proc/self/fd link pins the already-opened parent; lsetxattr then does not follow NAME. */
  char target[MAX_FIELD_BYTES + 64];
  snprintf(target, sizeof target, "/proc/self/fd/%d/%s", dir, name);
  if (lsetxattr(target, attr, value, length, 0) < 0) return fail("xattr", path, "lsetxattr");
  return 0;
}

static int do_mknod(char *path, const char *type, const char *mode_text, const char *major_text,
                    const char *minor_text) {
  const char *name;
  cleanup_close int dir = open_parent("mknod", path, &name);
  if (dir < 0) return dir;
  mode_t mode = (mode_t)strtoul(mode_text, NULL, 8) & 07777;
  mode_t kind = type[0] == 'c' ? S_IFCHR : type[0] == 'b' ? S_IFBLK : type[0] == 'p' ? S_IFIFO : 0;
  if (kind == 0) {
    errno = EINVAL;
    return fail("mknod", path, "type check");
  }
  dev_t device = makedev(strtoul(major_text, NULL, 10), strtoul(minor_text, NULL, 10));
  if (mknodat(dir, name, kind | mode, device) < 0) return fail("mknod", path, "mknodat");
  /* mknodat applies the umask; the layer's mode is exact. */
  if (fchmodat(dir, name, mode, 0) < 0) return fail("mknod", path, "fchmodat");
  return 0;
}

static int do_meta(char *path, char **fields) {
  const char *name;
  cleanup_close int dir = open_parent("meta", path, &name);
  if (dir < 0) return dir;
  uid_t uid = (uid_t)strtoul(fields[0], NULL, 10);
  gid_t gid = (gid_t)strtoul(fields[1], NULL, 10);
  if (fchownat(dir, name, uid, gid, AT_SYMLINK_NOFOLLOW) < 0) return fail("meta", path, "fchownat");
  if (strcmp(fields[2], "-") != 0) {
    struct stat st;
    if (fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) < 0) return fail("meta", path, "fstatat");
    /* fchmodat follows symlinks, so it runs only on an entry that is not one. */
    if (!S_ISLNK(st.st_mode) &&
        fchmodat(dir, name, (mode_t)strtoul(fields[2], NULL, 8) & 07777, 0) < 0)
      return fail("meta", path, "fchmodat");
  }
  struct timespec times[2];
  times[0].tv_sec = times[1].tv_sec = (time_t)strtoll(fields[3], NULL, 10);
  times[0].tv_nsec = times[1].tv_nsec = strtol(fields[4], NULL, 10);
  if (utimensat(dir, name, times, AT_SYMLINK_NOFOLLOW) < 0) return fail("meta", path, "utimensat");
  return 0;
}

static int run_record(char **fields, int count) {
  const char *op = fields[0];
  if (strcmp(op, "whiteout") == 0 && count == 2) return do_mknod(fields[1], "c", "0", "0", "0");
  if (strcmp(op, "mknod") == 0 && count == 6)
    return do_mknod(fields[1], fields[2], fields[3], fields[4], fields[5]);
  if (strcmp(op, "xattr") == 0 && count == 4) return do_xattr(fields[1], fields[2], fields[3]);
  if (strcmp(op, "meta") == 0 && count == 7) return do_meta(fields[1], fields + 2);
  fprintf(stderr, "berth-layer: malformed request: operation %s with %d fields\n", op, count);
  exit(2);
}

/* Reads one NUL-terminated field into buffer; returns its length, or -1 at end of input. */
static long read_field(char *buffer) {
  long length = 0;
  for (;;) {
    int c = getchar_unlocked();
    if (c == EOF) return length == 0 ? -1 : length;
    if (c == '\0') {
      buffer[length] = '\0';
      return length;
    }
    if (length == MAX_FIELD_BYTES - 1) {
      fprintf(stderr, "berth-layer: malformed request: field longer than %d bytes\n", MAX_FIELD_BYTES);
      exit(2);
    }
    buffer[length++] = (char)c;
  }
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: berth-layer ROOT < OPERATIONS\n");
    return 2;
  }
  root_fd = open(argv[1], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (root_fd < 0) return fail("open", argv[1], "open") < 0 ? 1 : 0;

  static char storage[MAX_FIELDS][MAX_FIELD_BYTES];
  char *fields[MAX_FIELDS];
  for (int i = 0; i < MAX_FIELDS; i++) fields[i] = storage[i];
  for (;;) {
    int count = 0;
    for (;;) {
      long length = read_field(fields[count < MAX_FIELDS ? count : MAX_FIELDS - 1]);
      if (length < 0) {
        if (count == 0) return 0;
        fprintf(stderr, "berth-layer: malformed request: input ends inside a record\n");
        return 2;
      }
      if (length == 0) break;
      if (++count > MAX_FIELDS - 1) {
        fprintf(stderr, "berth-layer: malformed request: more than %d fields\n", MAX_FIELDS - 1);
        return 2;
      }
    }
    if (count == 0) continue;
    if (run_record(fields, count) < 0) return 1;
  }
}
