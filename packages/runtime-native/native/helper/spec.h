/* The container description the TypeScript side hands to the helper.
 *
 * TypeScript parses and validates the OCI config.json and serialises the result as a flat list of
 * netstrings ("LEN:BYTES,"). Each record starts with a key whose arity is fixed, so the C side
 * never parses JSON or option strings and every value arrives already checked. */
#ifndef BERTH_SPEC_H
#define BERTH_SPEC_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

enum mount_kind { MOUNT_FS, MOUNT_BIND, MOUNT_RBIND };

struct mount_spec {
	char *destination;
	char *type;
	char *source;
	enum mount_kind kind;
	uint64_t attr;        /* MOUNT_ATTR_* bits including the atime mode */
	bool set_atime;       /* clear MOUNT_ATTR__ATIME before applying the atime bits */
	uint64_t propagation; /* MS_SHARED, MS_SLAVE, MS_PRIVATE, MS_UNBINDABLE or 0 */
	bool propagation_recursive;
	char *data;           /* comma-separated filesystem options, passed to fsconfig */
};

struct ns_spec {
	int type;   /* CLONE_NEW* */
	char *path; /* NULL: create a new namespace */
};

struct rlimit_spec {
	int resource;
	struct rlimit limit;
};

struct device_spec {
	char *path;
	mode_t mode; /* S_IFCHR or S_IFBLK plus permission bits */
	dev_t dev;
	uid_t uid;
	gid_t gid;
};

struct sysctl_spec {
	char *key;
	char *value;
};

struct cgroup_write {
	char *dir;
	char *file;
	char *value;
};

struct device_rule {
	bool allow;
	char type;     /* 'a', 'b' or 'c' */
	int64_t major; /* -1 matches any */
	int64_t minor;
	unsigned access; /* BPF_DEVCG_ACC_* bits: 1 mknod, 2 read, 4 write */
};

struct seccomp_arg {
	unsigned index;
	int op; /* enum scmp_compare */
	uint64_t value;
	uint64_t value_two;
};

struct seccomp_rule {
	char *name;
	uint32_t action;
	struct seccomp_arg args[6];
	unsigned nargs;
};

struct seccomp_spec {
	bool enabled;
	uint32_t default_action;
	char **archs;
	size_t narchs;
	struct seccomp_rule *rules;
	size_t nrules;
	char *cache_path; /* compiled program cached under this name, keyed by a hash of the rules */
};

#define CAPSET_BOUNDING 0
#define CAPSET_EFFECTIVE 1
#define CAPSET_PERMITTED 2
#define CAPSET_INHERITABLE 3
#define CAPSET_AMBIENT 4

struct container_spec {
	char *id;
	char *state_dir;
	char *root;
	bool root_readonly;
	char *hostname;
	char *stdout_path;
	char *stderr_path;
	bool inherit_stdout; /* use the helper's fd 4 instead of stdout_path */
	bool inherit_stderr; /* use the helper's fd 5 instead of stderr_path */
	bool use_init; /* run the minimal init as PID 1 and the program as its child */

	struct ns_spec *namespaces;
	size_t nnamespaces;
	char *uid_map;
	char *gid_map;

	char **args;
	size_t nargs;
	char **env;
	size_t nenv;
	char *cwd;
	uid_t uid;
	gid_t gid;
	gid_t *groups;
	size_t ngroups;
	mode_t umask;
	uint64_t caps[5];
	bool no_new_privs;
	bool has_oom_score_adj;
	int oom_score_adj;
	struct rlimit_spec *rlimits;
	size_t nrlimits;

	struct mount_spec *mounts;
	size_t nmounts;
	uint64_t rootfs_propagation;
	char **masked;
	size_t nmasked;
	char **readonly;
	size_t nreadonly;
	struct device_spec *devices;
	size_t ndevices;
	struct sysctl_spec *sysctls;
	size_t nsysctls;

	char **cgroup_dirs;
	size_t ncgroup_dirs;
	struct cgroup_write *cgroup_writes;
	size_t ncgroup_writes;
	char *oom_events_file; /* memory.oom_control (v1) or memory.events (v2) */
	char *device_program_dir; /* v2: cgroup that gets the device eBPF program */
	struct device_rule *device_rules;
	size_t ndevice_rules;

	struct seccomp_spec seccomp;
	char *blob; /* every string above points into this buffer */
};

/* Parse a serialised spec read from `fd`. Returns 0 or -errno with berth_err set. */
int spec_read(int fd, struct container_spec *spec);
void spec_free(struct container_spec *spec);
/* Whether the spec requests a new namespace of `type` (CLONE_NEW*). */
bool spec_new_ns(const struct container_spec *spec, int type);
/* The path of the namespace of `type` to join, or NULL. */
const char *spec_join_path(const struct container_spec *spec, int type);

#endif
