#define _GNU_SOURCE
#include "security.h"

#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "util.h"

int security_rlimits(const struct container_spec *spec)
{
	for (size_t i = 0; i < spec->nrlimits; i++)
		if (setrlimit((__rlimit_resource_t)spec->rlimits[i].resource, &spec->rlimits[i].limit) < 0)
			return berth_fail(errno, "setrlimit resource %d", spec->rlimits[i].resource);
	return 0;
}

static unsigned last_cap(void)
{
	/* cap_last_cap is read while the host /proc is still mounted; fall back to the headers. */
	static unsigned cached;
	char buf[16] = {0};
	int fd;

	if (cached != 0)
		return cached;
	cached = CAP_LAST_CAP;
	fd = open("/proc/sys/kernel/cap_last_cap", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		if (read(fd, buf, sizeof(buf) - 1) > 0)
			cached = (unsigned)atoi(buf);
		close(fd);
	}
	return cached;
}

static int drop_bounding(uint64_t keep)
{
	for (unsigned cap = 0; cap <= last_cap(); cap++) {
		if (keep & (1ULL << cap))
			continue;
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
			return berth_fail(errno, "prctl PR_CAPBSET_DROP %u", cap);
	}
	return 0;
}

static int set_capabilities(const uint64_t caps[5])
{
	struct __user_cap_header_struct header = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
	struct __user_cap_data_struct data[2];

	for (int i = 0; i < 2; i++) {
		data[i].effective = (uint32_t)(caps[CAPSET_EFFECTIVE] >> (32 * i));
		data[i].permitted = (uint32_t)(caps[CAPSET_PERMITTED] >> (32 * i));
		data[i].inheritable = (uint32_t)(caps[CAPSET_INHERITABLE] >> (32 * i));
	}
	if (syscall(SYS_capset, &header, data) < 0)
		return berth_fail(errno, "capset");
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
		return berth_fail(errno, "prctl PR_CAP_AMBIENT_CLEAR_ALL");
	for (unsigned cap = 0; cap <= last_cap(); cap++)
		if ((caps[CAPSET_AMBIENT] & (1ULL << cap)) && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0)
			return berth_fail(errno, "prctl PR_CAP_AMBIENT_RAISE %u", cap);
	return 0;
}

int security_credentials(const struct container_spec *spec)
{
	int ret = drop_bounding(spec->caps[CAPSET_BOUNDING]);

	if (ret < 0)
		return ret;
	/* Keep the permitted set across the switch away from uid 0; capset below trims it. */
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
		return berth_fail(errno, "prctl PR_SET_KEEPCAPS");
	if (setgroups(spec->ngroups, spec->groups) < 0)
		return berth_fail(errno, "setgroups (%zu groups)", spec->ngroups);
	if (setresgid(spec->gid, spec->gid, spec->gid) < 0)
		return berth_fail(errno, "setresgid %u", (unsigned)spec->gid);
	if (setresuid(spec->uid, spec->uid, spec->uid) < 0)
		return berth_fail(errno, "setresuid %u", (unsigned)spec->uid);
	if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
		return berth_fail(errno, "prctl PR_SET_KEEPCAPS");
	ret = set_capabilities(spec->caps);
	if (ret < 0)
		return ret;
	umask(spec->umask);
	if (spec->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return berth_fail(errno, "prctl PR_SET_NO_NEW_PRIVS");
	return 0;
}

static int add_rule(scmp_filter_ctx ctx, const struct seccomp_rule *rule)
{
	struct scmp_arg_cmp cmp[6];
	int nr = seccomp_syscall_resolve_name(rule->name);

	/* A name this libseccomp or architecture does not know cannot be called either. */
	if (nr == __NR_SCMP_ERROR)
		return 0;
	for (unsigned i = 0; i < rule->nargs; i++) {
		cmp[i].arg = rule->args[i].index;
		cmp[i].op = (enum scmp_compare)rule->args[i].op;
		cmp[i].datum_a = rule->args[i].value;
		cmp[i].datum_b = rule->args[i].value_two;
	}
	int ret = seccomp_rule_add_array(ctx, rule->action, nr, rule->nargs, cmp);
	/* libseccomp rejects a rule whose action equals the default action; it is redundant. */
	if (ret == -EACCES || ret == -EEXIST)
		return 0;
	if (ret < 0)
		return berth_fail(-ret, "seccomp_rule_add %s", rule->name);
	return 0;
}

static int build_context(const struct container_spec *spec, scmp_filter_ctx *out)
{
	const struct seccomp_spec *sc = &spec->seccomp;
	scmp_filter_ctx ctx = seccomp_init(sc->default_action);
	int ret;

	if (ctx == NULL)
		return berth_fail(EINVAL, "seccomp_init default action %#x", sc->default_action);
	/* security_credentials sets NNP when the spec requests it; libseccomp must not force it. */
	seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
	/* A binary tree of syscall numbers instead of a linear list, so that a profile of 300 rules
	 * costs each system call about ten comparisons. The kernel runs the filter once per syscall
	 * number when it loads it, so loading gets faster too. Older libseccomp rejects the attribute
	 * and keeps the list. */
	(void)seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
	for (size_t i = 0; i < sc->narchs; i++) {
		uint32_t arch = seccomp_arch_resolve_name(sc->archs[i]);
		if (arch == 0) {
			seccomp_release(ctx);
			return berth_fail(EINVAL, "seccomp architecture %s is unknown", sc->archs[i]);
		}
		ret = seccomp_arch_add(ctx, arch);
		if (ret < 0 && ret != -EEXIST) {
			seccomp_release(ctx);
			return berth_fail(-ret, "seccomp_arch_add %s", sc->archs[i]);
		}
	}
	for (size_t i = 0; i < sc->nrules; i++) {
		if ((ret = add_rule(ctx, &sc->rules[i])) < 0) {
			seccomp_release(ctx);
			return ret;
		}
	}
	*out = ctx;
	return 0;
}

/* Returns 0 and fills `out` when a valid cached program exists, -1 otherwise. */
static int read_cached_filter(const char *path, struct compiled_filter *out)
{
	struct stat st;
	cleanup_fd int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0 || fstat(fd, &st) < 0 || st.st_size <= 0 || st.st_size % sizeof(struct sock_filter) != 0 ||
	    st.st_size > BPF_MAXINSNS * (off_t)sizeof(struct sock_filter))
		return -1;
	out->insns = malloc((size_t)st.st_size);
	if (out->insns == NULL)
		return -1;
	if (pread(fd, out->insns, (size_t)st.st_size, 0) != st.st_size) {
		security_free_filter(out);
		return -1;
	}
	out->len = (size_t)st.st_size / sizeof(struct sock_filter);
	return 0;
}

/* Best effort: a cache that cannot be written only costs the next container a compilation. */
static void write_cached_filter(const char *path, const struct compiled_filter *filter)
{
	char tmp[4096];

	if (snprintf(tmp, sizeof(tmp), "%s.%d.tmp", path, (int)getpid()) >= (int)sizeof(tmp))
		return;
	cleanup_fd int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return;
	if (write_all(fd, filter->insns, filter->len * sizeof(struct sock_filter)) < 0 || rename(tmp, path) < 0)
		unlink(tmp);
}

static int compile_uncached(const struct container_spec *spec, struct compiled_filter *out);

int security_compile_seccomp(const struct container_spec *spec, struct compiled_filter *out)
{
	const char *cache = spec->seccomp.cache_path;
	int ret;

	memset(out, 0, sizeof(*out));
	if (!spec->seccomp.enabled)
		return 0;
	if (cache != NULL && read_cached_filter(cache, out) == 0)
		return 0;
	if ((ret = compile_uncached(spec, out)) < 0)
		return ret;
	if (cache != NULL)
		write_cached_filter(cache, out);
	return 0;
}

static int compile_uncached(const struct container_spec *spec, struct compiled_filter *out)
{
	scmp_filter_ctx ctx = NULL;
	cleanup_fd int memfd = -1;
	struct stat st;
	int ret;

	if ((ret = build_context(spec, &ctx)) < 0)
		return ret;
	memfd = memfd_create("berth-seccomp", MFD_CLOEXEC);
	if (memfd < 0) {
		seccomp_release(ctx);
		return berth_fail(errno, "memfd_create for the seccomp filter");
	}
	ret = seccomp_export_bpf(ctx, memfd);
	seccomp_release(ctx);
	if (ret < 0)
		return berth_fail(-ret, "seccomp_export_bpf");
	if (fstat(memfd, &st) < 0)
		return berth_fail(errno, "fstat seccomp filter");
	out->insns = malloc((size_t)st.st_size);
	if (out->insns == NULL)
		return berth_fail(ENOMEM, "seccomp filter of %lld bytes", (long long)st.st_size);
	if (pread(memfd, out->insns, (size_t)st.st_size, 0) != st.st_size) {
		security_free_filter(out);
		return berth_fail(EIO, "read back the seccomp filter");
	}
	out->len = (size_t)st.st_size / sizeof(struct sock_filter);
	return 0;
}

int security_load_seccomp(const struct compiled_filter *filter)
{
	struct sock_fprog prog = {.len = (unsigned short)filter->len, .filter = filter->insns};

	if (filter->insns == NULL)
		return 0;
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0)
		return berth_fail(errno, "seccomp SECCOMP_SET_MODE_FILTER (%zu instructions)", filter->len);
	return 0;
}

void security_free_filter(struct compiled_filter *filter)
{
	free(filter->insns);
	filter->insns = NULL;
	filter->len = 0;
}
