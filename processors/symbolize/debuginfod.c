// SPDX-License-Identifier: Apache-2.0
/* The debuginfod client: a bounded table of build IDs and one thread asking libdebuginfod. */
#include <elfutils/debuginfod.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "debuginfo.h"
#include "debuginfod.h"

#define NS_PER_MS 1000000LL

const struct pf_option pf_debuginfod_options[] = {
	{.name = "enabled",
	 .type = PF_OPT_BOOL,
	 .def = "false",
	 .offset = offsetof(struct pf_debuginfod_config, enabled),
	 .doc = "Ask debuginfod servers for the debug files of binaries that have none on the "
		"host, on a thread of its own (the batch in hand is named without them)"},
	{.name = "urls",
	 .type = PF_OPT_STRINGS,
	 .offset = offsetof(struct pf_debuginfod_config, urls),
	 .doc = "Servers to ask, in order (default: the DEBUGINFOD_URLS environment variable); "
		"set for the whole process"},
	{.name = "timeout",
	 .type = PF_OPT_DURATION,
	 .def = "10s",
	 .min = 1000.0 * NS_PER_MS,
	 .max = 3600.0 * 1000 * NS_PER_MS,
	 .offset = offsetof(struct pf_debuginfod_config, timeout),
	 .doc = "Time limit of one request (checked once a second)"},
	{.name = "cache_dir",
	 .type = PF_OPT_STRING,
	 .def = "",
	 .offset = offsetof(struct pf_debuginfod_config, cache_dir),
	 .doc = "Where fetched files are kept (default: libdebuginfod's, $DEBUGINFOD_CACHE_PATH "
		"or ~/.cache/debuginfod_client); set for the whole process"},
	PF_OPTION_END,
};

int pf_debuginfod_validate(const struct pf_debuginfod_config *cfg, struct pf_error *err)
{
	for (size_t i = 0; i < cfg->urls.n; i++) {
		const char *u = cfg->urls.items[i];

		if (strncmp(u, "http://", 7) != 0 && strncmp(u, "https://", 8) != 0)
			return pf_error_set(err, "",
					    "debuginfod.urls: \"%.128s\" is not an http:// "
					    "or https:// URL",
					    u);
		if (strpbrk(u, " \t\r\n"))
			return pf_error_set(err, "", "debuginfod.urls: \"%.128s\" contains a space",
					    u);
	}
	if (cfg->cache_dir && cfg->cache_dir[0] && cfg->cache_dir[0] != '/')
		return pf_error_set(err, "",
				    "debuginfod.cache_dir: \"%.128s\" is not an absolute "
				    "path",
				    cfg->cache_dir);
	return 0;
}

enum id_state { ID_FREE, ID_QUEUED, ID_FETCHING, ID_FOUND, ID_FAILED };

struct id_entry {
	char hex[PF_HOST_BUILD_ID_HEX];
	enum id_state state;
	char *path;	    /* ID_FOUND: the file in libdebuginfod's cache */
	uint64_t since_ms;  /* ID_FAILED: when it failed */
	uint64_t queued;    /* ID_QUEUED: order of arrival */
	uint64_t last_used; /* for eviction: the least recently looked up goes */
};

/*
 * The table is small (max_ids) and looked up once per binary opened and
 * once per batch for binaries still waiting, so a linear scan does. Entries
 * queued or being fetched are never evicted: one request per build ID.
 */
struct pf_debuginfod {
	uv_mutex_t lock;
	uv_cond_t wake;
	uv_thread_t thread;
	struct id_entry *ids;
	size_t n_ids;
	uint64_t tick;
	uint64_t timeout_ms, retry_ms;
	struct pf_debuginfod_stats stats;
	atomic_bool stopping;
	/* the worker's own, for its progress callback */
	debuginfod_client *client;
	uint64_t request_start_ms;
	bool transferred;
};

static uint64_t now_ms(void)
{
	return uv_hrtime() / NS_PER_MS;
}

static struct id_entry *find(struct pf_debuginfod *d, const char *hex)
{
	for (size_t i = 0; i < d->n_ids; i++)
		if (d->ids[i].state != ID_FREE && !strcmp(d->ids[i].hex, hex))
			return &d->ids[i];
	return NULL;
}

/* A free entry, else the least recently used one that is done (found or
 * failed), emptied; NULL when every entry waits for the worker. */
static struct id_entry *take_entry(struct pf_debuginfod *d)
{
	struct id_entry *victim = NULL;

	for (size_t i = 0; i < d->n_ids; i++) {
		struct id_entry *e = &d->ids[i];

		if (e->state == ID_FREE)
			return e;
		if ((e->state == ID_FOUND || e->state == ID_FAILED) &&
		    (!victim || e->last_used < victim->last_used))
			victim = e;
	}
	if (victim) {
		free(victim->path);
		memset(victim, 0, sizeof(*victim));
	}
	return victim;
}

static struct id_entry *next_queued(struct pf_debuginfod *d)
{
	struct id_entry *first = NULL;

	for (size_t i = 0; i < d->n_ids; i++)
		if (d->ids[i].state == ID_QUEUED && (!first || d->ids[i].queued < first->queued))
			first = &d->ids[i];
	return first;
}

static void enqueue(struct pf_debuginfod *d, struct id_entry *e)
{
	e->state = ID_QUEUED;
	e->queued = ++d->tick;
	uv_cond_signal(&d->wake);
}

/* libdebuginfod calls this about once a second while it waits or
 * receives; a non-zero return abandons the request. */
static int on_progress(debuginfod_client *client, long a, long b)
{
	struct pf_debuginfod *d = debuginfod_get_user_data(client);

	(void)a;
	(void)b;
	d->transferred = true;
	return atomic_load(&d->stopping) || now_ms() - d->request_start_ms >= d->timeout_ms;
}

/* Asks the servers (or libdebuginfod's disk cache). Returns 0 with *path
 * (malloc'ed) and *bytes (0 when the cache answered), or a negative errno. */
static int fetch(struct pf_debuginfod *d, const char *hex, char **path, uint64_t *bytes)
{
	struct stat st;
	int fd;

	d->request_start_ms = now_ms();
	d->transferred = false;
	*path = NULL;
	fd = debuginfod_find_debuginfo(d->client, (const unsigned char *)hex, 0, path);
	if (fd < 0)
		return fd;
	*bytes = d->transferred && fstat(fd, &st) == 0 ? (uint64_t)st.st_size : 0;
	close(fd);
	if (!*path)
		return -ENOMEM;
	return 0;
}

static void worker(void *arg)
{
	struct pf_debuginfod *d = arg;
	char hex[PF_HOST_BUILD_ID_HEX];

	uv_mutex_lock(&d->lock);
	for (;;) {
		struct id_entry *e = NULL;
		uint64_t bytes = 0;
		char *path;
		int ret;

		while (!atomic_load(&d->stopping) && !(e = next_queued(d)))
			uv_cond_wait(&d->wake, &d->lock);
		if (atomic_load(&d->stopping))
			break;
		e->state = ID_FETCHING;
		memcpy(hex, e->hex, sizeof(hex));
		d->stats.requests++;
		uv_mutex_unlock(&d->lock);
		ret = fetch(d, hex, &path, &bytes);
		uv_mutex_lock(&d->lock);
		/* e stayed: an entry being fetched is never taken. */
		if (ret == 0) {
			e->state = ID_FOUND;
			e->path = path;
			d->stats.found++;
			d->stats.bytes += bytes;
		} else {
			e->state = ID_FAILED;
			e->since_ms = now_ms();
			d->stats.failed++;
		}
	}
	uv_mutex_unlock(&d->lock);
}

/* Sets name to value in the environment, where libdebuginfod reads it. */
static int set_env(const char *name, const char *value)
{
	if (!value || !*value)
		return 0;
	return setenv(name, value, 1) < 0 ? -errno : 0;
}

/* The URLs joined by spaces, as DEBUGINFOD_URLS holds them; NULL for none
 * (then *err is 0) or on ENOMEM. */
static char *join_urls(const struct pf_strings *urls, int *err)
{
	size_t len = 1;
	char *s;

	*err = 0;
	if (!urls || !urls->n)
		return NULL;
	for (size_t i = 0; i < urls->n; i++)
		len += strlen(urls->items[i]) + 1;
	s = calloc(1, len);
	if (!s) {
		*err = -ENOMEM;
		return NULL;
	}
	for (size_t i = 0; i < urls->n; i++) {
		if (i)
			strcat(s, " ");
		strcat(s, urls->items[i]);
	}
	return s;
}

static int set_environment(const struct pf_debuginfod_opts *o)
{
	const char *urls;
	char *joined;
	int err;

	joined = join_urls(o->urls, &err);
	if (err)
		return err;
	err = set_env(DEBUGINFOD_URLS_ENV_VAR, joined);
	free(joined);
	if (!err)
		err = set_env(DEBUGINFOD_CACHE_PATH_ENV_VAR, o->cache_dir);
	if (err)
		return err;
	urls = getenv(DEBUGINFOD_URLS_ENV_VAR);
	return urls && strspn(urls, " \t") < strlen(urls) ? 0 : -ENOENT;
}

struct pf_debuginfod *pf_debuginfod_new(const struct pf_debuginfod_opts *o, int *err)
{
	struct pf_debuginfod *d;

	*err = set_environment(o);
	if (*err)
		return NULL;
	*err = -ENOMEM;
	d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	d->n_ids = o->max_ids ? o->max_ids : 1;
	d->ids = calloc(d->n_ids, sizeof(*d->ids));
	if (!d->ids)
		goto out_free;
	d->timeout_ms = o->timeout_ms;
	d->retry_ms = o->retry_ms;
	atomic_init(&d->stopping, false);
	d->client = debuginfod_begin();
	if (!d->client)
		goto out_free_ids;
	debuginfod_set_user_data(d->client, d);
	debuginfod_set_progressfn(d->client, on_progress);
	if ((*err = uv_mutex_init(&d->lock)) < 0)
		goto out_end;
	if ((*err = uv_cond_init(&d->wake)) < 0)
		goto out_mutex;
	if ((*err = uv_thread_create(&d->thread, worker, d)) < 0)
		goto out_cond;
	*err = 0;
	return d;

out_cond:
	uv_cond_destroy(&d->wake);
out_mutex:
	uv_mutex_destroy(&d->lock);
out_end:
	debuginfod_end(d->client);
out_free_ids:
	free(d->ids);
out_free:
	free(d);
	return NULL;
}

void pf_debuginfod_free(struct pf_debuginfod *d)
{
	if (!d)
		return;
	uv_mutex_lock(&d->lock);
	atomic_store(&d->stopping, true);
	uv_cond_signal(&d->wake);
	uv_mutex_unlock(&d->lock);
	uv_thread_join(&d->thread);
	debuginfod_end(d->client);
	uv_cond_destroy(&d->wake);
	uv_mutex_destroy(&d->lock);
	for (size_t i = 0; i < d->n_ids; i++)
		free(d->ids[i].path);
	free(d->ids);
	free(d);
}

static bool valid_hex(const char *hex)
{
	size_t n = strspn(hex, "0123456789abcdef");

	return n >= 2 && n < PF_HOST_BUILD_ID_HEX && !hex[n];
}

int pf_debuginfod_lookup(struct pf_debuginfod *d, const char *hex, char *path, size_t size)
{
	struct id_entry *e;
	int ret = -EAGAIN;

	if (!valid_hex(hex))
		return -ENOENT;
	uv_mutex_lock(&d->lock);
	e = find(d, hex);
	if (!e && (e = take_entry(d)) != NULL) {
		memcpy(e->hex, hex, strlen(hex) + 1);
		enqueue(d, e);
	}
	if (e && e->state == ID_FAILED && now_ms() - e->since_ms >= d->retry_ms)
		enqueue(d, e);
	if (e) {
		e->last_used = ++d->tick;
		if (e->state == ID_FAILED)
			ret = -ENOENT;
		else if (e->state == ID_FOUND && path &&
			 (size_t)snprintf(path, size, "%s", e->path) >= size)
			ret = -ENOENT;
		else if (e->state == ID_FOUND)
			ret = 0;
	}
	uv_mutex_unlock(&d->lock);
	return ret;
}

/* The file that came for hex is not the debug file it should be: counted as
 * a failure too, not asked again before retry_ms. */
static void reject(struct pf_debuginfod *d, const char *hex)
{
	struct id_entry *e;

	uv_mutex_lock(&d->lock);
	e = find(d, hex);
	if (e && e->state == ID_FOUND) {
		free(e->path);
		e->path = NULL;
		e->state = ID_FAILED;
		e->since_ms = now_ms();
		d->stats.failed++;
	}
	uv_mutex_unlock(&d->lock);
}

int pf_debuginfod_open(struct pf_debuginfod *d, const struct pf_elf_file *bin,
		       struct pf_elf_file *out)
{
	char path[PATH_MAX];
	int ret;

	if (!bin->build_id_len)
		return -ENOENT;
	ret = pf_debuginfod_lookup(d, bin->build_id_hex, path, sizeof(path));
	if (ret < 0)
		return ret;
	if (pf_debuginfo_open_matching(bin, path, out))
		return 0;
	reject(d, bin->build_id_hex);
	return -ENOENT;
}

void pf_debuginfod_stats(struct pf_debuginfod *d, struct pf_debuginfod_stats *s)
{
	uv_mutex_lock(&d->lock);
	*s = d->stats;
	uv_mutex_unlock(&d->lock);
}
