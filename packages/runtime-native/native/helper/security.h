/* Credentials, capabilities, rlimits, no_new_privs and seccomp of the container process. */
#ifndef BERTH_SECURITY_H
#define BERTH_SECURITY_H

#include <stddef.h>

#include "spec.h"

/* A compiled seccomp filter, built before the start handshake so `start` does not pay for it. */
struct compiled_filter {
	void *insns;
	size_t len; /* number of struct sock_filter entries */
};

int security_rlimits(const struct container_spec *spec);
/* Switch to the spec user and groups and set all five capability sets. */
int security_credentials(const struct container_spec *spec);
int security_compile_seccomp(const struct container_spec *spec, struct compiled_filter *out);
int security_load_seccomp(const struct compiled_filter *filter);
void security_free_filter(struct compiled_filter *filter);

#endif
