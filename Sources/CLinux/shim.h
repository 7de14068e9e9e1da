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

#include <sched.h>

// Puts the calling thread under SCHED_IDLE (Linux ≥ 2.6.23; 5 is SCHED_IDLE, hidden behind
// _GNU_SOURCE): it runs only on a CPU that would otherwise idle, and any normal thread that
// wakes on that CPU preempts it at once. A nice-19 thread may keep the CPU for its slice, which
// stalls the encoder's OpenMP threads at every barrier (measured). Threads it creates inherit it.
// Returns 0, or -1 with errno set.
static inline int nacre_sched_idle(void) {
    struct sched_param param = { .sched_priority = 0 };
    return sched_setscheduler(0, 5, &param);
}

// The calling thread's scheduling policy (SCHED_IDLE is 5).
static inline int nacre_sched_policy(void) { return sched_getscheduler(0); }

#include <malloc.h>  // malloc_trim(3): returns the heap's free memory to the system (glibc)

#endif
