#define _GNU_SOURCE
#include "spec.h"

#include <limits.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>

#include "util.h"

struct cursor {
	char *pos;
	char *end;
};

/* Take the next netstring; NUL-terminates it in place (over its ',' separator). */
static int next_field(struct cursor *c, char **out)
{
	char *colon;
	unsigned long len;

	if (c->pos >= c->end)
		return berth_fail(EINVAL, "spec: unexpected end of input");
	colon = memchr(c->pos, ':', (size_t)(c->end - c->pos));
	if (colon == NULL)
		return berth_fail(EINVAL, "spec: missing length separator");
	len = strtoul(c->pos, NULL, 10);
	if ((long)len > (long)(c->end - colon) - 2 || colon[1 + len] != ',')
		return berth_fail(EINVAL, "spec: field length %lu out of range", len);
	colon[1 + len] = '\0';
	*out = colon + 1;
	c->pos = colon + 2 + len;
	return 0;
}

static int next_u64(struct cursor *c, uint64_t *out)
{
	char *s, *end;
	int ret = next_field(c, &s);

	if (ret < 0)
		return ret;
	errno = 0;
	*out = strtoull(s, &end, 0);
	if (errno != 0 || *s == '\0' || *end != '\0')
		return berth_fail(EINVAL, "spec: invalid number \"%s\"", s);
	return 0;
}

static int next_i64(struct cursor *c, int64_t *out)
{
	char *s, *end;
	int ret = next_field(c, &s);

	if (ret < 0)
		return ret;
	errno = 0;
	*out = strtoll(s, &end, 0);
	if (errno != 0 || *s == '\0' || *end != '\0')
		return berth_fail(EINVAL, "spec: invalid number \"%s\"", s);
	return 0;
}

/* Grow `*array` of `size`-byte elements by one and return the new zeroed slot. */
static void *push(void *array_ptr, size_t *count, size_t size)
{
	void **array = array_ptr;
	char *grown = realloc(*array, (*count + 1) * size);

	if (grown == NULL)
		return NULL;
	*array = grown;
	memset(grown + *count * size, 0, size);
	return grown + (*count)++ * size;
}

#define PUSH(arr, n) push(&(arr), &(n), sizeof(*(arr)))
#define TRY(expr)                     \
	do {                          \
		int try_ret = (expr); \
		if (try_ret < 0)      \
			return try_ret; \
	} while (0)

static int parse_string_list(struct cursor *c, char ***list, size_t *n)
{
	char **slot = PUSH(*list, *n);

	if (slot == NULL)
		return berth_fail(ENOMEM, "spec: allocation");
	return next_field(c, slot);
}

static int parse_mount(struct cursor *c, struct container_spec *spec)
{
	struct mount_spec *m = PUSH(spec->mounts, spec->nmounts);
	char *kind;
	uint64_t v;

	if (m == NULL)
		return berth_fail(ENOMEM, "spec: allocation");
	TRY(next_field(c, &m->destination));
	TRY(next_field(c, &m->type));
	TRY(next_field(c, &m->source));
	TRY(next_field(c, &kind));
	m->kind = strcmp(kind, "rbind") == 0 ? MOUNT_RBIND : strcmp(kind, "bind") == 0 ? MOUNT_BIND : MOUNT_FS;
	TRY(next_u64(c, &m->attr));
	TRY(next_u64(c, &v));
	m->set_atime = v != 0;
	TRY(next_u64(c, &m->propagation));
	TRY(next_u64(c, &v));
	m->propagation_recursive = v != 0;
	return next_field(c, &m->data);
}

static int parse_device(struct cursor *c, struct container_spec *spec)
{
	struct device_spec *d = PUSH(spec->devices, spec->ndevices);
	uint64_t mode, major_no, minor_no, uid, gid;

	if (d == NULL)
		return berth_fail(ENOMEM, "spec: allocation");
	TRY(next_field(c, &d->path));
	TRY(next_u64(c, &mode));
	TRY(next_u64(c, &major_no));
	TRY(next_u64(c, &minor_no));
	TRY(next_u64(c, &uid));
	TRY(next_u64(c, &gid));
	d->mode = (mode_t)mode;
	d->dev = makedev((unsigned)major_no, (unsigned)minor_no);
	d->uid = (uid_t)uid;
	d->gid = (gid_t)gid;
	return 0;
}

static int parse_seccomp_rule(struct cursor *c, struct seccomp_spec *sc)
{
	struct seccomp_rule *r = PUSH(sc->rules, sc->nrules);
	uint64_t action, nargs;

	if (r == NULL)
		return berth_fail(ENOMEM, "spec: allocation");
	TRY(next_field(c, &r->name));
	TRY(next_u64(c, &action));
	TRY(next_u64(c, &nargs));
	if (nargs > 6)
		return berth_fail(EINVAL, "spec: seccomp rule for %s has %lu argument conditions, maximum is 6",
				  r->name, (unsigned long)nargs);
	r->action = (uint32_t)action;
	r->nargs = (unsigned)nargs;
	for (unsigned i = 0; i < r->nargs; i++) {
		uint64_t index, op;
		TRY(next_u64(c, &index));
		TRY(next_u64(c, &op));
		TRY(next_u64(c, &r->args[i].value));
		TRY(next_u64(c, &r->args[i].value_two));
		r->args[i].index = (unsigned)index;
		r->args[i].op = (int)op;
	}
	return 0;
}

static int parse_cgroup_write(struct cursor *c, struct container_spec *spec)
{
	struct cgroup_write *w = PUSH(spec->cgroup_writes, spec->ncgroup_writes);

	if (w == NULL)
		return berth_fail(ENOMEM, "spec: allocation");
	TRY(next_field(c, &w->dir));
	TRY(next_field(c, &w->file));
	return next_field(c, &w->value);
}

static int parse_simple(const char *key, struct cursor *c, struct container_spec *spec)
{
	uint64_t u;
	int64_t i;
	char *s;

	if (strcmp(key, "id") == 0)
		return next_field(c, &spec->id);
	if (strcmp(key, "stateDir") == 0)
		return next_field(c, &spec->state_dir);
	if (strcmp(key, "root") == 0) {
		TRY(next_field(c, &spec->root));
		TRY(next_u64(c, &u));
		spec->root_readonly = u != 0;
		return 0;
	}
	if (strcmp(key, "hostname") == 0)
		return next_field(c, &spec->hostname);
	if (strcmp(key, "stdout") == 0)
		return next_field(c, &spec->stdout_path);
	if (strcmp(key, "stderr") == 0)
		return next_field(c, &spec->stderr_path);
	if (strcmp(key, "inheritStdio") == 0) {
		TRY(next_u64(c, &u));
		spec->inherit_stdout = u != 0;
		TRY(next_u64(c, &u));
		spec->inherit_stderr = u != 0;
		return 0;
	}
	if (strcmp(key, "init") == 0) {
		TRY(next_u64(c, &u));
		spec->use_init = u != 0;
		return 0;
	}
	if (strcmp(key, "uidMap") == 0)
		return next_field(c, &spec->uid_map);
	if (strcmp(key, "gidMap") == 0)
		return next_field(c, &spec->gid_map);
	if (strcmp(key, "arg") == 0)
		return parse_string_list(c, &spec->args, &spec->nargs);
	if (strcmp(key, "env") == 0)
		return parse_string_list(c, &spec->env, &spec->nenv);
	if (strcmp(key, "cwd") == 0)
		return next_field(c, &spec->cwd);
	if (strcmp(key, "user") == 0) {
		TRY(next_u64(c, &u));
		spec->uid = (uid_t)u;
		TRY(next_u64(c, &u));
		spec->gid = (gid_t)u;
		TRY(next_u64(c, &u));
		spec->umask = (mode_t)u;
		return 0;
	}
	if (strcmp(key, "group") == 0) {
		gid_t *g = PUSH(spec->groups, spec->ngroups);
		if (g == NULL)
			return berth_fail(ENOMEM, "spec: allocation");
		TRY(next_u64(c, &u));
		*g = (gid_t)u;
		return 0;
	}
	if (strcmp(key, "caps") == 0) {
		for (int set = 0; set < 5; set++)
			TRY(next_u64(c, &spec->caps[set]));
		return 0;
	}
	if (strcmp(key, "noNewPrivileges") == 0) {
		TRY(next_u64(c, &u));
		spec->no_new_privs = u != 0;
		return 0;
	}
	if (strcmp(key, "oomScoreAdj") == 0) {
		TRY(next_i64(c, &i));
		spec->has_oom_score_adj = true;
		spec->oom_score_adj = (int)i;
		return 0;
	}
	if (strcmp(key, "rlimit") == 0) {
		struct rlimit_spec *r = PUSH(spec->rlimits, spec->nrlimits);
		if (r == NULL)
			return berth_fail(ENOMEM, "spec: allocation");
		TRY(next_u64(c, &u));
		r->resource = (int)u;
		TRY(next_u64(c, &u));
		r->limit.rlim_cur = (rlim_t)u;
		TRY(next_u64(c, &u));
		r->limit.rlim_max = (rlim_t)u;
		return 0;
	}
	if (strcmp(key, "rootfsPropagation") == 0)
		return next_u64(c, &spec->rootfs_propagation);
	if (strcmp(key, "masked") == 0)
		return parse_string_list(c, &spec->masked, &spec->nmasked);
	if (strcmp(key, "readonly") == 0)
		return parse_string_list(c, &spec->readonly, &spec->nreadonly);
	if (strcmp(key, "cgroupDir") == 0)
		return parse_string_list(c, &spec->cgroup_dirs, &spec->ncgroup_dirs);
	if (strcmp(key, "oomEvents") == 0)
		return next_field(c, &spec->oom_events_file);
	if (strcmp(key, "sysctl") == 0) {
		struct sysctl_spec *s2 = PUSH(spec->sysctls, spec->nsysctls);
		if (s2 == NULL)
			return berth_fail(ENOMEM, "spec: allocation");
		TRY(next_field(c, &s2->key));
		return next_field(c, &s2->value);
	}
	if (strcmp(key, "seccomp") == 0) {
		TRY(next_u64(c, &u));
		spec->seccomp.enabled = true;
		spec->seccomp.default_action = (uint32_t)u;
		return 0;
	}
	if (strcmp(key, "seccompCache") == 0)
		return next_field(c, &spec->seccomp.cache_path);
	if (strcmp(key, "seccompArch") == 0)
		return parse_string_list(c, &spec->seccomp.archs, &spec->seccomp.narchs);
	(void)s;
	return 1; /* not a simple key */
}

static int parse_record(const char *key, struct cursor *c, struct container_spec *spec)
{
	int ret = parse_simple(key, c, spec);

	if (ret <= 0)
		return ret;
	if (strcmp(key, "namespace") == 0) {
		struct ns_spec *ns = PUSH(spec->namespaces, spec->nnamespaces);
		uint64_t type;
		if (ns == NULL)
			return berth_fail(ENOMEM, "spec: allocation");
		TRY(next_u64(c, &type));
		ns->type = (int)type;
		TRY(next_field(c, &ns->path));
		if (ns->path[0] == '\0')
			ns->path = NULL;
		return 0;
	}
	if (strcmp(key, "mount") == 0)
		return parse_mount(c, spec);
	if (strcmp(key, "device") == 0)
		return parse_device(c, spec);
	if (strcmp(key, "deviceRule") == 0) {
		struct device_rule *r = PUSH(spec->device_rules, spec->ndevice_rules);
		char *type;
		uint64_t u;
		if (r == NULL)
			return berth_fail(ENOMEM, "spec: allocation");
		TRY(next_u64(c, &u));
		r->allow = u != 0;
		TRY(next_field(c, &type));
		r->type = type[0];
		TRY(next_i64(c, &r->major));
		TRY(next_i64(c, &r->minor));
		TRY(next_u64(c, &u));
		r->access = (unsigned)u;
		return 0;
	}
	if (strcmp(key, "deviceProgramDir") == 0)
		return next_field(c, &spec->device_program_dir);
	if (strcmp(key, "cgroupWrite") == 0)
		return parse_cgroup_write(c, spec);
	if (strcmp(key, "seccompRule") == 0)
		return parse_seccomp_rule(c, &spec->seccomp);
	return berth_fail(EINVAL, "spec: unknown record \"%s\"", key);
}

static int terminate_lists(struct container_spec *spec)
{
	/* execve needs NULL-terminated argv and envp. */
	char **slot = PUSH(spec->args, spec->nargs);
	if (slot == NULL)
		return berth_fail(ENOMEM, "spec: allocation");
	spec->nargs--;
	slot = PUSH(spec->env, spec->nenv);
	if (slot == NULL)
		return berth_fail(ENOMEM, "spec: allocation");
	spec->nenv--;
	return 0;
}

int spec_read(int fd, struct container_spec *spec)
{
	struct cursor c;
	ssize_t len;

	memset(spec, 0, sizeof(*spec));
	spec->umask = 022;
	len = read_all(fd, &spec->blob);
	if (len < 0)
		return berth_fail((int)-len, "read spec");
	c.pos = spec->blob;
	c.end = spec->blob + len;
	while (c.pos < c.end) {
		char *key;
		TRY(next_field(&c, &key));
		TRY(parse_record(key, &c, spec));
	}
	if (spec->id == NULL || spec->state_dir == NULL || spec->root == NULL || spec->nargs == 0)
		return berth_fail(EINVAL, "spec: id, stateDir, root and at least one arg are required");
	return terminate_lists(spec);
}

void spec_free(struct container_spec *spec)
{
	free(spec->namespaces);
	free(spec->args);
	free(spec->env);
	free(spec->groups);
	free(spec->rlimits);
	free(spec->mounts);
	free(spec->masked);
	free(spec->readonly);
	free(spec->devices);
	free(spec->sysctls);
	free(spec->cgroup_dirs);
	free(spec->cgroup_writes);
	free(spec->device_rules);
	free(spec->seccomp.archs);
	free(spec->seccomp.rules);
	free(spec->blob);
	memset(spec, 0, sizeof(*spec));
}

bool spec_new_ns(const struct container_spec *spec, int type)
{
	for (size_t i = 0; i < spec->nnamespaces; i++)
		if (spec->namespaces[i].type == type && spec->namespaces[i].path == NULL)
			return true;
	return false;
}

const char *spec_join_path(const struct container_spec *spec, int type)
{
	for (size_t i = 0; i < spec->nnamespaces; i++)
		if (spec->namespaces[i].type == type && spec->namespaces[i].path != NULL)
			return spec->namespaces[i].path;
	return NULL;
}
