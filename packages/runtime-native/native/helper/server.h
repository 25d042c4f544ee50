/* The helper as a long-lived server that forks one creation per request. */
#ifndef BERTH_SERVER_H
#define BERTH_SERVER_H

/* The SOCK_SEQPACKET socket the addon sends requests on. */
#define SERVER_CONTROL_FD 3

/* Request flags: which of the optional descriptors the message carries. */
#define SERVER_HAS_STDOUT 1u
#define SERVER_HAS_STDERR 2u

/* Serves requests on `control_fd` until the other end closes it; returns the exit status.
 * A request is one message: a uint32 of SERVER_HAS_* flags, then the state directory with its
 * NUL, and as SCM_RIGHTS the result descriptor, the spec memfd, then stdout and stderr when
 * flagged. Each request gets a forked process that runs helper_create with the descriptors in
 * the places create.h names. */
int server_run(int control_fd);

#endif
