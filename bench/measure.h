/*
 * What each benchmark row records about the CPU its threads actually got
 * (bench_main.cc turns these into counters; bench/README.md states the
 * rejection rule):
 *   - per worker thread: wall time, thread CPU time
 *     (CLOCK_THREAD_CPUTIME_ID), the scheduler's run delay (time spent
 *     runnable but waiting for a CPU, /proc/thread-self/schedstat) and the
 *     voluntary/involuntary context switches (getrusage(RUSAGE_THREAD));
 *   - per row: the CPU time the whole machine spent busy (/proc/stat, clock
 *     ticks) minus this process's own CPU time, i.e. what other processes
 *     (and the hypervisor: steal) took while the row ran.
 */
#ifndef LFPOOL_BENCH_MEASURE_H
#define LFPOOL_BENCH_MEASURE_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct wm_thread {
	uint64_t wall_ns;      /* CLOCK_MONOTONIC */
	uint64_t cpu_ns;       /* CLOCK_THREAD_CPUTIME_ID */
	uint64_t run_delay_ns; /* schedstat field 2; 0 if unreadable */
	long nvcsw, nivcsw;    /* RUSAGE_THREAD */
	int have_schedstat;    /* 1 when run_delay_ns is real */
};

/* Samples the calling thread. */
void wm_thread_sample(struct wm_thread *s);

struct wm_machine {
	uint64_t wall_ns;     /* CLOCK_MONOTONIC */
	uint64_t busy_ticks;  /* /proc/stat "cpu" line, all but idle/iowait */
	uint64_t proc_cpu_ns; /* CLOCK_PROCESS_CPUTIME_ID */
	int have_stat;	      /* 1 when busy_ticks is real */
};

/* Samples the machine and this process. */
void wm_machine_sample(struct wm_machine *s);

/* CPU seconds used by everything but this process between a and b (less
 * one clock tick per CPU of rounding slack, never negative), as a fraction
 * of the CPU time the machine had (wall x online CPUs). -1 when /proc/stat
 * could not be read. */
double wm_others_share(const struct wm_machine *a, const struct wm_machine *b,
		       int ncpu);

/* Online CPUs (at least 1). */
int wm_ncpu(void);

/* 1-minute load average, or -1. */
double wm_loadavg1(void);

#ifdef __cplusplus
}
#endif

#endif /* LFPOOL_BENCH_MEASURE_H */
