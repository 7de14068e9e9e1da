// Linux calls that Swift's Glibc module hides behind _GNU_SOURCE.
#ifndef NACRE_CLINUX_SHIM_H
#define NACRE_CLINUX_SHIM_H

// syncfs(2): commits every dirty file and folder of the file system holding `fd` in one call
// (glibc ≥ 2.14, Linux ≥ 2.6.39).
extern int syncfs(int fd);

#include <sys/types.h>

// gettid(2): the calling thread's id, which setpriority(PRIO_PROCESS, tid, …) takes to change one
// thread's nice value (glibc ≥ 2.30).
extern pid_t gettid(void);

#endif
