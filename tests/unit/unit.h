/* unit.h: what every cmocka test file needs, and a main() that runs one
 * test when given its name (ctest registers each test separately). */
#ifndef PODFS_UNIT_H
#define PODFS_UNIT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#define UNIT_MAIN(tests)                                                       \
	int main(int argc, char **argv)                                        \
	{                                                                      \
		if (argc > 1)                                                  \
			cmocka_set_test_filter(argv[1]);                       \
		return cmocka_run_group_tests(tests, NULL, NULL);              \
	}

#endif
