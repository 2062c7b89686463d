/*
 * test_hooks.h — test-only hooks, compiled in only by the test variants of
 * the library (LFP_TEST_HOOKS; see lib/CMakeLists.txt). Production builds
 * see empty macros.
 *
 *   LFP_TEST_HOOK(name)  call the hook `name` if a test installed one
 *   LFP_TEST_BROKEN_ABA  1 in the deliberately broken variant: the depot
 *                        re-pushes a popped magazine at once, without
 *                        waiting for hazard pointers (stress/ must catch it)
 */
#ifndef LFPOOL_TEST_HOOKS_H
#define LFPOOL_TEST_HOOKS_H

#ifdef LFP_TEST_HOOKS
/* Inside a depot pop, between reading the head's link and the CAS. */
extern void (*lfp_test_pop_hook)(void);
LFP_API void lfp_test_set_pop_hook(void (*hook)(void));
#define LFP_TEST_HOOK(name)                                                    \
	do {                                                                   \
		if (lfp_test_##name##_hook)                                    \
			lfp_test_##name##_hook();                              \
	} while (0)
#else
#define LFP_TEST_HOOK(name) ((void)0)
#endif

#ifdef LFP_TEST_BREAK_ABA
#define LFP_TEST_BROKEN_ABA 1
#else
#define LFP_TEST_BROKEN_ABA 0
#endif

#endif /* LFPOOL_TEST_HOOKS_H */
