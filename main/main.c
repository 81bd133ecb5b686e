// SPDX-License-Identifier: Apache-2.0
/* The proflow command line: run a config, validate it, or list the component types. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "components.h"
#include "config/config.h"
#include "core/log.h"
#include "pipeline/service.h"
#include "pipeline/telemetry.h"
#include "privileges.h"
#include "registry.h"

#define MAX_ARGS 64

static const char usage_text[] =
	"Usage:\n"
	"  proflow --config FILE [--config FILE ...] [--set KEY=VALUE ...] [--duration D]\n"
	"  proflow validate --config FILE [--config FILE ...] [--set KEY=VALUE ...]\n"
	"  proflow components\n"
	"  proflow --version | --help\n"
	"\n"
	"Runs the pipelines of an OpenTelemetry Collector-style YAML config.\n"
	"\n"
	"Commands:\n"
	"  (none)       run until SIGINT, SIGTERM or SIGQUIT (or --duration), then shut\n"
	"               down gracefully within service.shutdown_timeout; SIGHUP is\n"
	"               logged and ignored, SIGUSR1 logs every component's counters\n"
	"  validate     load and check the config, print warnings and errors, start nothing\n"
	"  components   print every component type and its options as YAML\n"
	"\n"
	"Options:\n"
	"  -c, --config FILE    a config file; several are merged in order (maps key by\n"
	"                       key, lists and scalars replaced)\n"
	"  -s, --set KEY=VALUE  override one setting after the files, e.g.\n"
	"                       --set service.telemetry.logs.level=debug\n"
	"  -d, --duration D     stop by itself after D (\"30s\", \"5m\") as on SIGTERM\n"
	"  -v, --version        print the version\n"
	"  -h, --help           print this help\n"
	"\n"
	"Exit status: 0 after a clean shutdown or a valid config; 1 when the config is\n"
	"invalid, a component fails to start, or shutdown passes its deadline; 2 on\n"
	"bad usage.\n";

struct args {
	const char *command; /* NULL (run), "validate", "components" */
	const char *files[MAX_ARGS];
	size_t n_files;
	const char *sets[MAX_ARGS];
	size_t n_sets;
	int64_t duration_ns;
};

/* What a signal does while proflow runs. */
enum signal_action {
	PF_SIGNAL_STOP,	      /* graceful shutdown */
	PF_SIGNAL_NO_RELOAD,  /* a Collector reloads its config on SIGHUP: say we do not */
	PF_SIGNAL_LOG_COUNTS, /* log every component's counters */
	PF_SIGNAL_IGNORE,     /* log it, so no signal goes unseen */
};

/* The signals a supervisor or an operator may send, each of which would
 * otherwise end the process at once, without a log line or a flush. */
static const struct signal_rule {
	int signum;
	const char *name;
	enum signal_action action;
} handled_signals[] = {
	{SIGINT, "SIGINT", PF_SIGNAL_STOP},	    {SIGTERM, "SIGTERM", PF_SIGNAL_STOP},
	{SIGQUIT, "SIGQUIT", PF_SIGNAL_STOP},	    {SIGHUP, "SIGHUP", PF_SIGNAL_NO_RELOAD},
	{SIGUSR1, "SIGUSR1", PF_SIGNAL_LOG_COUNTS}, {SIGUSR2, "SIGUSR2", PF_SIGNAL_IGNORE},
};

#define N_SIGNALS (sizeof(handled_signals) / sizeof(handled_signals[0]))

/* State of a run, on main's stack; every handle hangs off it. */
struct run {
	uv_loop_t loop;
	struct pf_logger log;
	struct pf_service *svc;
	uv_signal_t signals[N_SIGNALS]; /* as handled_signals */
	size_t n_signals;		/* how many of them are initialized */
	uv_timer_t duration;
	bool handles_open;
	bool stopping;
	bool timed_out;
};

static int usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "proflow: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nTry 'proflow --help'.\n");
	return 2;
}

/* Returns -1 to go on, or the exit status. */
static int parse_args(int argc, char **argv, struct args *a)
{
	static const struct option longopts[] = {
		{"config", required_argument, NULL, 'c'},   {"set", required_argument, NULL, 's'},
		{"duration", required_argument, NULL, 'd'}, {"version", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},	    {NULL, 0, NULL, 0},
	};
	int opt;

	if (argc > 1 && (strcmp(argv[1], "validate") == 0 || strcmp(argv[1], "components") == 0)) {
		a->command = argv[1];
		argv++;
		argc--;
	}
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "+c:s:d:vh", longopts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			if (a->n_files == MAX_ARGS)
				return usage_error("too many --config%s", "");
			a->files[a->n_files++] = optarg;
			break;
		case 's':
			if (a->n_sets == MAX_ARGS)
				return usage_error("too many --set%s", "");
			if (!strchr(optarg, '='))
				return usage_error("--set %s: expected KEY=VALUE", optarg);
			a->sets[a->n_sets++] = optarg;
			break;
		case 'd':
			if (pf_parse_duration(optarg, &a->duration_ns) < 0 || a->duration_ns <= 0)
				return usage_error("--duration %s: expected a duration such as 30s",
						   optarg);
			break;
		case 'v': printf("proflow version %s\n", PF_VERSION); return 0;
		case 'h': fputs(usage_text, stdout); return 0;
		default: return usage_error("unknown or incomplete option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	if (a->command && strcmp(a->command, "components") == 0) {
		if (a->n_files || a->n_sets || a->duration_ns)
			return usage_error("components takes no options%s", "");
		return -1;
	}
	if (a->n_files == 0)
		return usage_error("no config given: use --config FILE%s", "");
	if (a->command && a->duration_ns)
		return usage_error("--duration only applies to a run%s", "");
	return -1;
}

static struct pf_config *load(const struct args *a)
{
	struct pf_config_sources src = {
		.files = a->files,
		.n_files = a->n_files,
		.sets = a->sets,
		.n_sets = a->n_sets,
	};
	struct pf_error err = {0};
	char buf[PF_ERROR_WHERE_MAX + PF_ERROR_MSG_MAX + 8];

	struct pf_config *cfg = pf_config_load(&src, pf_registry, &err);
	if (!cfg) {
		fprintf(stderr, "proflow: %s\n", pf_error_str(&err, buf, sizeof(buf)));
		return NULL;
	}
	for (size_t i = 0; i < cfg->n_warnings; i++)
		fprintf(stderr, "proflow: warning: %s\n", cfg->warnings[i]);
	return cfg;
}

static void on_service_done(struct pf_service *s, bool timed_out, void *arg)
{
	struct run *r = arg;
	r->timed_out = timed_out;
	if (timed_out)
		uv_stop(&r->loop); /* components still hold handles: do not wait */
}

/* At shutdown: closing the stop signals' watchers restores their default
 * action, so a second Ctrl-C during a stuck shutdown ends the process. The
 * others stay watched (unreferenced: they keep no loop alive) until the run
 * is over, see close_other_signals(). */
static void close_handles(struct run *r)
{
	if (!r->handles_open)
		return;
	r->handles_open = false;
	for (size_t i = 0; i < r->n_signals; i++)
		if (handled_signals[i].action == PF_SIGNAL_STOP)
			uv_close((uv_handle_t *)&r->signals[i], NULL);
	uv_close((uv_handle_t *)&r->duration, NULL);
}

/* After the loop: the remaining watchers go, and their signals are ignored
 * from then on, as they were before the run. */
static void close_other_signals(struct run *r)
{
	for (size_t i = 0; i < r->n_signals; i++) {
		if (handled_signals[i].action == PF_SIGNAL_STOP)
			continue;
		uv_close((uv_handle_t *)&r->signals[i], NULL);
		signal(handled_signals[i].signum, SIG_IGN);
	}
	uv_run(&r->loop, UV_RUN_NOWAIT); /* the close callbacks */
}

static void stop(struct run *r, const char *why)
{
	if (r->stopping)
		return;
	r->stopping = true;
	pf_log(&r->log, PF_LOG_INFO, "%s, shutting down", why);
	close_handles(r);
	pf_service_shutdown(r->svc, on_service_done, r);
}

static void on_signal(uv_signal_t *h, int signum)
{
	struct run *r = h->data;
	size_t i = (size_t)(h - r->signals);
	const char *name = handled_signals[i].name;
	char why[32];

	switch (handled_signals[i].action) {
	case PF_SIGNAL_STOP:
		snprintf(why, sizeof(why), "received %s", name);
		stop(r, why);
		break;
	case PF_SIGNAL_NO_RELOAD:
		pf_log(&r->log, PF_LOG_WARN,
		       "%s received; reloading configuration is not supported, ignoring", name);
		break;
	case PF_SIGNAL_LOG_COUNTS:
		pf_log(&r->log, PF_LOG_INFO, "%s received; counters so far:", name);
		pf_telemetry_log_summary(r->svc, &r->log);
		break;
	case PF_SIGNAL_IGNORE: pf_log(&r->log, PF_LOG_INFO, "%s received; ignoring", name); break;
	}
}

/* Watches every handled signal; returns 0 or a libuv error (r->n_signals
 * tells how many handles there are to close). */
static int watch_signals(struct run *r)
{
	for (size_t i = 0; i < N_SIGNALS; i++) {
		int err = uv_signal_init(&r->loop, &r->signals[i]);

		if (err)
			return err;
		r->n_signals++;
		r->signals[i].data = r;
		err = uv_signal_start(&r->signals[i], on_signal, handled_signals[i].signum);
		if (err)
			return err;
		if (handled_signals[i].action != PF_SIGNAL_STOP)
			uv_unref((uv_handle_t *)&r->signals[i]);
	}
	return 0;
}

static void on_duration(uv_timer_t *t)
{
	stop(t->data, "--duration elapsed");
}

static int run(const struct args *a, struct pf_config *cfg)
{
	struct run r = {.log = {.id = "proflow", .level = cfg->log_level}};
	char host[256] = "";
	int status = 0, err;

	if (gethostname(host, sizeof(host) - 1) < 0)
		host[0] = '\0';
	if (uv_loop_init(&r.loop) < 0) {
		fprintf(stderr, "proflow: cannot create the event loop\n");
		return 1;
	}
	r.svc = pf_service_create(&r.loop, cfg, host);
	if (!r.svc) {
		fprintf(stderr, "proflow: out of memory\n");
		uv_loop_close(&r.loop);
		return 1;
	}
	uv_timer_init(&r.loop, &r.duration);
	r.duration.data = &r;
	r.handles_open = true;
	err = watch_signals(&r);
	pf_log(&r.log, PF_LOG_INFO, "proflow %s starting on %s", PF_VERSION, host);
	if (err < 0) {
		pf_log(&r.log, PF_LOG_ERROR, "cannot watch signals: %s", uv_strerror(err));
		status = 1;
		stop(&r, "startup failed");
	} else if (pf_service_start(r.svc) < 0 || pf_privileges_drop(cfg, &r.log) < 0) {
		status = 1;
		stop(&r, "startup failed");
	} else if (a->duration_ns > 0) {
		uv_timer_start(&r.duration, on_duration, (uint64_t)(a->duration_ns / 1000000), 0);
	}
	uv_run(&r.loop, UV_RUN_DEFAULT);
	if (r.timed_out) {
		/* Stuck components still own handles, memory and perhaps threads
		 * (a gRPC completion queue) that point at this stack's loop: leave
		 * at once, without unwinding into them. */
		pf_log(&r.log, PF_LOG_ERROR, "shutdown passed its deadline; exiting anyway");
		fflush(stderr);
		_exit(1);
	}
	close_other_signals(&r);
	pf_service_destroy(r.svc);
	if (uv_loop_close(&r.loop) != 0)
		pf_log(&r.log, PF_LOG_WARN, "handles left open at exit");
	else
		pf_log(&r.log, PF_LOG_INFO, "stopped");
	return status;
}

int main(int argc, char **argv)
{
	struct args a = {0};
	struct pf_config *cfg;
	int status;

	status = parse_args(argc, argv, &a);
	if (status >= 0)
		return status;
	if (a.command && strcmp(a.command, "components") == 0)
		return pf_components_print(stdout, pf_registry) < 0 || fflush(stdout) != 0 ? 1 : 0;

	/* Before the loop watches them, and in validate: the signals that must
	 * not end proflow. Writes fail with EPIPE or EFBIG instead of killing. */
	signal(SIGPIPE, SIG_IGN);
	signal(SIGXFSZ, SIG_IGN);
	for (size_t i = 0; i < N_SIGNALS; i++)
		if (handled_signals[i].action != PF_SIGNAL_STOP)
			signal(handled_signals[i].signum, SIG_IGN);
	cfg = load(&a);
	if (!cfg)
		return 1;
	if (a.command) { /* validate */
		printf("%s: configuration is valid\n", a.files[0]);
		pf_config_free(cfg);
		return 0;
	}
	status = run(&a, cfg);
	pf_config_free(cfg);
	return status;
}
