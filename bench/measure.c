/*
 * CPU accounting for benchmark rows (see measure.h).
 */
#define _GNU_SOURCE /* RUSAGE_THREAD, getloadavg */
#include "measure.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;
	if (clock_gettime(id, &ts) != 0)
		return 0;
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void wm_thread_sample(struct wm_thread *s)
{
	s->have_schedstat = 0;
	s->run_delay_ns = 0;
	FILE *f = fopen("/proc/thread-self/schedstat", "r");
	if (f) {
		unsigned long long exec, delay;
		if (fscanf(f, "%llu %llu", &exec, &delay) == 2) {
			s->run_delay_ns = delay;
			s->have_schedstat = 1;
		}
		fclose(f);
	}
	struct rusage ru;
	if (getrusage(RUSAGE_THREAD, &ru) == 0) {
		s->nvcsw = ru.ru_nvcsw;
		s->nivcsw = ru.ru_nivcsw;
	} else {
		s->nvcsw = s->nivcsw = 0;
	}
	s->cpu_ns = clock_ns(CLOCK_THREAD_CPUTIME_ID);
	s->wall_ns = clock_ns(CLOCK_MONOTONIC);
}

void wm_machine_sample(struct wm_machine *s)
{
	s->have_stat = 0;
	s->busy_ticks = 0;
	FILE *f = fopen("/proc/stat", "r");
	if (f) {
		unsigned long long v[8] = {0};
		/* user nice system idle iowait irq softirq steal (guest time is
		 * already inside user and nice) */
		if (fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu",
			   &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6],
			   &v[7]) == 8) {
			s->busy_ticks = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
			s->have_stat = 1;
		}
		fclose(f);
	}
	s->proc_cpu_ns = clock_ns(CLOCK_PROCESS_CPUTIME_ID);
	s->wall_ns = clock_ns(CLOCK_MONOTONIC);
}

double wm_others_share(const struct wm_machine *a, const struct wm_machine *b,
		       int ncpu)
{
	if (!a->have_stat || !b->have_stat || b->wall_ns <= a->wall_ns)
		return -1.0;
	long hz = sysconf(_SC_CLK_TCK);
	if (hz <= 0)
		hz = 100;
	double busy = (double)(b->busy_ticks - a->busy_ticks) / (double)hz;
	double own = (double)(b->proc_cpu_ns - a->proc_cpu_ns) * 1e-9;
	double slack = (double)ncpu / (double)hz;
	double others = busy - own - slack;
	if (others < 0)
		others = 0;
	return others / ((double)(b->wall_ns - a->wall_ns) * 1e-9 * ncpu);
}

int wm_ncpu(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (int)n : 1;
}

double wm_loadavg1(void)
{
	double l[1];
	return getloadavg(l, 1) == 1 ? l[0] : -1.0;
}
