#define _GNU_SOURCE
#include "device-bpf.h"

#include <fcntl.h>
#include <linux/bpf.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util.h"

/* One rule compiles to at most 9 instructions; the prologue and epilogue add 7. */
#define MAX_INSNS_PER_RULE 9
#define FIXED_INSNS 7
#define VERIFIER_LOG_BYTES (256 * 1024)

#define INSN(c, d, s, o, i) ((struct bpf_insn){.code = (c), .dst_reg = (d), .src_reg = (s), .off = (o), .imm = (i)})

struct program {
	struct bpf_insn *insns;
	size_t len;
};

static void emit(struct program *p, struct bpf_insn insn)
{
	p->insns[p->len++] = insn;
}

/* Registers after the prologue: r2 device type, r3 requested access, r4 major, r5 minor. */
static void emit_prologue(struct program *p)
{
	emit(p, INSN(BPF_LDX | BPF_W | BPF_MEM, BPF_REG_2, BPF_REG_1, offsetof(struct bpf_cgroup_dev_ctx, access_type), 0));
	emit(p, INSN(BPF_ALU | BPF_AND | BPF_K, BPF_REG_2, 0, 0, 0xffff));
	emit(p, INSN(BPF_LDX | BPF_W | BPF_MEM, BPF_REG_3, BPF_REG_1, offsetof(struct bpf_cgroup_dev_ctx, access_type), 0));
	emit(p, INSN(BPF_ALU | BPF_RSH | BPF_K, BPF_REG_3, 0, 0, 16));
	emit(p, INSN(BPF_LDX | BPF_W | BPF_MEM, BPF_REG_4, BPF_REG_1, offsetof(struct bpf_cgroup_dev_ctx, major), 0));
}

/* A rule matches when every field it names is equal and the requested access is a subset of
 * the rule's access. On a match the program returns the rule's verdict. Returns whether the rule
 * matches every request, in which case nothing after it is reachable. */
static bool emit_rule(struct program *p, const struct device_rule *rule)
{
	struct bpf_insn block[MAX_INSNS_PER_RULE];
	size_t n = 0;
	int jumps[4], njumps = 0;

	if (rule->type != 'a') {
		jumps[njumps++] = (int)n;
		block[n++] = INSN(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_2, 0, 0, rule->type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR);
	}
	if ((rule->access & 7) != 7) {
		block[n++] = INSN(BPF_ALU | BPF_MOV | BPF_X, BPF_REG_0, BPF_REG_3, 0, 0);
		block[n++] = INSN(BPF_ALU | BPF_AND | BPF_K, BPF_REG_0, 0, 0, (int)(~rule->access & 7));
		jumps[njumps++] = (int)n;
		block[n++] = INSN(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_0, 0, 0, 0);
	}
	if (rule->major >= 0) {
		jumps[njumps++] = (int)n;
		block[n++] = INSN(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_4, 0, 0, (int)rule->major);
	}
	if (rule->minor >= 0) {
		jumps[njumps++] = (int)n;
		block[n++] = INSN(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_5, 0, 0, (int)rule->minor);
	}
	block[n++] = INSN(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, rule->allow ? 1 : 0);
	block[n++] = INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
	/* Every failed comparison skips the rest of this block. */
	for (int i = 0; i < njumps; i++)
		block[jumps[i]].off = (short)(n - (size_t)jumps[i] - 1);
	for (size_t i = 0; i < n; i++)
		emit(p, block[i]);
	return njumps == 0;
}

/* Rules apply in order with the last match deciding, as writes to devices.allow/deny do on v1,
 * so the program checks them from the last to the first and stops at the first match. */
static int build_program(const struct container_spec *spec, struct program *p)
{
	p->len = 0;
	p->insns = calloc(FIXED_INSNS + spec->ndevice_rules * MAX_INSNS_PER_RULE, sizeof(struct bpf_insn));
	if (p->insns == NULL)
		return berth_fail(ENOMEM, "device program of %zu rules", spec->ndevice_rules);
	emit_prologue(p);
	emit(p, INSN(BPF_LDX | BPF_W | BPF_MEM, BPF_REG_5, BPF_REG_1, offsetof(struct bpf_cgroup_dev_ctx, minor), 0));
	/* The verifier rejects unreachable instructions, so emission stops after a catch-all rule. */
	for (size_t i = spec->ndevice_rules; i > 0; i--)
		if (emit_rule(p, &spec->device_rules[i - 1]))
			return 0;
	emit(p, INSN(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0));
	emit(p, INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
	return 0;
}

static int bpf_prog_load(const struct program *p, char *log, uint32_t log_size)
{
	union bpf_attr attr;

	memset(&attr, 0, sizeof(attr));
	attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
	attr.insns = (uint64_t)(uintptr_t)p->insns;
	attr.insn_cnt = (uint32_t)p->len;
	attr.license = (uint64_t)(uintptr_t) "Apache-2.0";
	if (log != NULL) {
		attr.log_buf = (uint64_t)(uintptr_t)log;
		attr.log_size = log_size;
		attr.log_level = 1;
	}
	return (int)syscall(SYS_bpf, BPF_PROG_LOAD, &attr, sizeof(attr));
}

/* Loads without a verifier log, and only on failure loads again with one for the message. */
static int load_program(const struct program *p)
{
	int fd = bpf_prog_load(p, NULL, 0);

	if (fd >= 0)
		return fd;
	int saved = errno;
	char *log = calloc(1, VERIFIER_LOG_BYTES);
	if (log != NULL && bpf_prog_load(p, log, VERIFIER_LOG_BYTES) < 0 && log[0] != '\0') {
		size_t len = strlen(log);
		/* The verdict is at the end of the log. */
		berth_fail(saved, "bpf BPF_PROG_LOAD device program (%zu instructions): %.300s", p->len,
			   len > 300 ? log + len - 300 : log);
	} else {
		berth_fail(saved, "bpf BPF_PROG_LOAD device program (%zu instructions)", p->len);
	}
	free(log);
	return -saved;
}

int device_bpf_attach(const struct container_spec *spec)
{
	struct program p = {0};
	union bpf_attr attr;
	int ret;

	if (spec->device_program_dir == NULL)
		return 0;
	if ((ret = build_program(spec, &p)) < 0)
		return ret;
	cleanup_fd int prog = load_program(&p);
	free(p.insns);
	if (prog < 0)
		return prog;
	cleanup_fd int dir = open(spec->device_program_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0)
		return berth_fail(errno, "open cgroup %s", spec->device_program_dir);
	memset(&attr, 0, sizeof(attr));
	attr.target_fd = (uint32_t)dir;
	attr.attach_bpf_fd = (uint32_t)prog;
	attr.attach_type = BPF_CGROUP_DEVICE;
	if (syscall(SYS_bpf, BPF_PROG_ATTACH, &attr, sizeof(attr)) < 0)
		return berth_fail(errno, "bpf BPF_PROG_ATTACH device program to %s", spec->device_program_dir);
	return 0;
}
