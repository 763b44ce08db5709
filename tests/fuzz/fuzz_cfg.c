/*
 * fuzz_cfg.c: dockmux.json parsed and validated (config/cfg.c) from a
 * buffer: either a configuration that holds together, or a refusal that
 * says why.  Input: the file's text.
 */
/* Threads: libFuzzer's one thread. */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config/cfg.h"
#include "tests/fuzz/fuzz.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* What main and the dispatcher take for granted of a parsed config. */
static void
check_cfg(const struct cfg *cfg)
{
	const struct cfg_backend	*be;
	size_t				 i, k;

	FUZZ_ASSERT(cfg->listen != NULL && cfg->socket_path != NULL &&
	    cfg->socket_path[0] == '/' && cfg->store != NULL);
	FUZZ_ASSERT(cfg->socket_mode <= 07777);
	FUZZ_ASSERT(cfg->nbackends >= 1 && cfg->nbackends <= DM_MAX_BACKENDS);
	for (i = 0; i < cfg->nbackends; i++) {
		be = &cfg->backends[i];
		FUZZ_ASSERT(be->name[0] != '\0');
		/* A local engine has its socket's path; a tcp or ssh one
		 * its host. */
		if (be->ep.transport == CFG_UNIX)
			FUZZ_ASSERT(be->socket_path != NULL &&
			    be->socket_path[0] == '/');
		else
			FUZZ_ASSERT(be->socket_path == NULL &&
			    be->ep.host != NULL && be->ep.host[0] != '\0');
		FUZZ_ASSERT(be->isolation != NULL &&
		    be->runtime_markers != NULL);
		FUZZ_ASSERT(cfg_backend_find(cfg, be->name) == be);
		for (k = 0; k < i; k++)
			FUZZ_ASSERT(strcmp(cfg->backends[k].name, be->name)
			    != 0);
	}
	FUZZ_ASSERT(cfg->unknown_os_backend == NULL ||
	    cfg_backend_find(cfg, cfg->unknown_os_backend) != NULL);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cfg	*cfg;
	char		*text, err[1024];

	text = fuzz_strndup((const char *)data, size);
	cfg = cfg_load_string(text, err, sizeof(err));
	if (cfg != NULL)
		check_cfg(cfg);
	else
		FUZZ_ASSERT(err[0] != '\0');
	cfg_free(cfg);
	free(text);
	return 0;
}
