/* disp_int.h: what the dispatcher's files share, and nobody else. */
#ifndef DOCKMUX_DAEMON_DISP_INT_H
#define DOCKMUX_DAEMON_DISP_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "backends/backend.h"
#include "daemon/cfg.h"
#include "daemon/disp.h"

#define DISP_HEALTH_INTERVAL_MS	2000
#define DISP_FIELD_MAX		64

/* What the last probe learnt of one engine; guarded by disp->lock. */
struct disp_health {
	int		up;
	int		probed;		/* at least one probe finished */
	time_t		since;		/* when up last changed */
	char		last_error[256];
	char		api_version[DISP_FIELD_MAX];
	char		min_api_version[DISP_FIELD_MAX];
	char		os[DISP_FIELD_MAX];
	char		arch[DISP_FIELD_MAX];
	char		server_version[DISP_FIELD_MAX];
	char		kernel[DISP_FIELD_MAX * 2];
};

struct disp_backend {
	const struct cfg_backend *cfg;		/* borrowed from disp->cfg */
	struct backend		*be;		/* owned */
	struct disp_health	 health;
};

struct disp {
	const struct cfg	*cfg;		/* borrowed */
	size_t			 n;
	struct disp_backend	 b[DM_MAX_BACKENDS];	/* b[0] is primary */
	pthread_mutex_t		 lock;		/* guards every health */
	pthread_cond_t		 wake;
	int			 stopping;
	int			 health_running;
	pthread_t		 health_thread;
	atomic_uint		 active;
};

/* disp.c */
void	disp_probe_all(struct disp *);
void	disp_health_copy(struct disp *, size_t, struct disp_health *);
/* Run fn(d, i, arg[i]) for every backend at once; returns when all end. */
void	disp_each_backend(struct disp *,
	    void (*fn)(struct disp *, size_t, void *), void **args);
/* Copy the client's headers minus hop-by-hop ones (and those named in
 * its Connection header). */
void	disp_forward_headers(const struct dm_hdrs *, struct dm_hdrs *);

/* disp_local.c: requests dockmuxd answers itself. */
void	disp_local_answer(struct disp *, const struct disp_req *,
	    struct disp_reply *);
int	api_version_cmp(const char *, const char *);

#endif
