/* SPDX-License-Identifier: Apache-2.0 */
/* What the two source files of unit.flamegraph share. */
#ifndef PF_TEST_FLAMEGRAPH_H
#define PF_TEST_FLAMEGRAPH_H

#include <ftw.h>
#include <stdbool.h>
#include <sys/stat.h>

#include "model/batch.h"

/*
 * The test batch (test_flamegraph.c). app (pid 42, service svc-a) has
 * cpu/nanoseconds and samples/count profiles, db (pid 7) a cpu one:
 *   app: main > work 30 + 3, main > outer > inner (inlined) 20,
 *        main > libc.so.6+0x1234 10, main > work > kernel frame 5, and -4
 *   db:  main > query 7 and 3 timestamps, main > "a;b\nc" 2
 */
struct pf_batch *test_batch(void);

/* 0 when xmllint finds the document well-formed; quiet hides its complaints. */
int xmllint_quiet(const char *doc, bool quiet);
int xmllint(const char *doc);

/* nftw() callback removing everything. */
int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw);

/* Runs the exporter tests (test_flamegraph_exporter.c); returns failures. */
int flamegraph_exporter_tests(void);

#endif
