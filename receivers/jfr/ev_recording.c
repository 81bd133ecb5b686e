// SPDX-License-Identifier: Apache-2.0
/* JFR events about the recording itself: sampling periods (jdk.ActiveSetting) and the JVM (jdk.JVMInformation). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "events.h"

/* "20 ms", "10 ms", "1 s", "100 us", "500 ns" -> ns; 0 when not a period. */
static int64_t parse_period(const char *s)
{
	static const struct {
		const char *unit;
		int64_t ns;
	} units[] = {{"ns", 1},
		     {"us", 1000},
		     {"ms", NS_PER_MS},
		     {"s", 1000 * NS_PER_MS},
		     {"m", 60000 * NS_PER_MS},
		     {"h", 3600000 * NS_PER_MS}};
	char *end;
	long long v = strtoll(s, &end, 10);

	while (*end == ' ')
		end++;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (v > 0 && v <= INT64_MAX / units[i].ns && strcmp(end, units[i].unit) == 0)
			return (int64_t)v * units[i].ns;
	return 0;
}

/* async-profiler's "10000000": a plain count of ns; -1 when not one. */
static int64_t parse_ns(const char *s)
{
	char *end;
	long long v = strtoll(s, &end, 10);

	return end != s && *end == '\0' && v >= 0 ? (int64_t)v : -1;
}

/*
 * The JDK names an event type's sampling period "period" ("20 ms") in a
 * jdk.ActiveSetting whose id is that type's. async-profiler records its
 * intervals as plain ns under the id of jdk.ExecutionSample, whatever the
 * mode: "interval" for its main event (wall clock in -e wall) and "wall" for
 * wall clock beside another event (--wall); finish picks the one that applies.
 * Its main event's name is the "event" setting of jdk.ActiveRecording's id.
 */
void jfr_on_setting(struct chunk_ctx *x, const struct ev_type *t, const struct jfr_val *v)
{
	char *name = x->d->str, *val = x->d->str2;
	const struct ev_type *of = NULL;

	if (t->f[F_ID] < 0 || t->f[F_NAME] < 0 || t->f[F_VALUE] < 0)
		return;
	for (size_t i = 0; i < x->n_ev && !of; i++)
		if (x->ev[i].id == v[t->f[F_ID]].u)
			of = &x->ev[i];
	if (!of && v[t->f[F_ID]].u == x->recording_id &&
	    jfr_string_at(x, v[t->f[F_NAME]].off, name) >= 0 && strcmp(name, "event") == 0) {
		x->d->ap_cpu_event = jfr_string_at(x, v[t->f[F_VALUE]].off, val) >= 0 &&
				     (strcmp(val, "cpu") == 0 || strcmp(val, "itimer") == 0 ||
				      strcmp(val, "ctimer") == 0);
		return;
	}
	if (!of || jfr_string_at(x, v[t->f[F_NAME]].off, name) < 0 ||
	    jfr_string_at(x, v[t->f[F_VALUE]].off, val) < 0)
		return;
	if (strcmp(name, "period") == 0) {
		int64_t ns = parse_period(val);
		if (ns && of->h == H_EXECUTION)
			x->d->period[PF_JFR_CPU] = ns;
		else if (ns && of->h == H_NATIVE)
			x->d->period[PF_JFR_WALL] = ns;
	} else if (of->h == H_EXECUTION && strcmp(name, "wall") == 0) {
		x->d->ap_wall = parse_ns(val);
	} else if (of->h == H_EXECUTION && strcmp(name, "interval") == 0) {
		x->d->ap_interval = parse_ns(val);
	}
}

void jfr_on_jvm_info(struct chunk_ctx *x, const struct ev_type *t, const struct jfr_val *v)
{
	struct pf_jfr_decoder *d = x->d;

	if (t->f[F_JVM_NAME] >= 0 && jfr_string_at(x, v[t->f[F_JVM_NAME]].off, d->str) >= 0)
		jfr_append(d->jvm_name, sizeof(d->jvm_name), 0, d->str);
	if (t->f[F_JVM_VERSION] >= 0 && jfr_string_at(x, v[t->f[F_JVM_VERSION]].off, d->str) >= 0)
		jfr_append(d->jvm_version, sizeof(d->jvm_version), 0, d->str);
	if (t->f[F_PID] >= 0)
		d->pid = (int64_t)v[t->f[F_PID]].u;
	if (t->f[F_JAVA_ARGS] >= 0 && jfr_string_at(x, v[t->f[F_JAVA_ARGS]].off, d->str) >= 0) {
		/* "Main a b" or "app.jar a b": the first word, a jar by its base name. */
		char *s = d->str, *end = strchr(s, ' ');
		if (end)
			*end = '\0';
		size_t len = strlen(s);
		if (len > 4 && strcmp(s + len - 4, ".jar") == 0) {
			s[len - 4] = '\0';
			char *slash = strrchr(s, '/');
			if (slash)
				s = slash + 1;
		}
		if (*s)
			jfr_append(d->main_class, sizeof(d->main_class), 0, s);
	}
}
