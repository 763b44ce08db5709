/*
 * fuzz.h: what the libFuzzer harnesses share: an input cut into parts,
 * scripted engines standing in for backends/ and real dispatchers built
 * over them (fuzz_engines.c), the merge harnesses' main (fuzz_serve.c).
 */
#ifndef DOCKMUX_TESTS_FUZZ_FUZZ_H
#define DOCKMUX_TESTS_FUZZ_FUZZ_H

#include <stddef.h>
#include <stdint.h>

#include "daemon/disp_int.h"

/*
 * Parts of an input are separated by one byte, ASCII's record separator,
 * which no Docker answer or request carries: "GET /images/json" 0x1e
 * "[...]" 0x1e "[...]" is a request and two engines' answers.
 */
#define FUZZ_SEP		0x1e
#define FUZZ_MAX_PARTS		8
#define FUZZ_MAX_ENGINES	3	/* dispatchers over 1, 2 or 3 engines */

/* The client every harness request comes from: root on a Unix socket,
 * as the front end always sets one (no "access" in the harness configs). */
static const struct disp_peer fuzz_peer = { .known = 1 };

struct fuzz_part {
	const char	*p;		/* borrowed from the input */
	size_t		 len;
};

/* Cut data at each FUZZ_SEP; the last of max parts takes the rest.
 * Returns how many parts (at least 1, maybe empty). */
size_t		 fuzz_split(const uint8_t *data, size_t size,
		    struct fuzz_part *parts, size_t max);
/* A NUL-terminated copy.  Owned: free(). */
char		*fuzz_strndup(const char *, size_t);
/* Crash loudly (abort) when cond is 0: a property the code broke. */
#define FUZZ_ASSERT(cond)	fuzz_assert((cond) != 0, #cond, __FILE__, \
				    __LINE__)
void		 fuzz_assert(int ok, const char *what, const char *file,
		    int line);

struct json_object;
/* Every entry of the JSON array list has a string member key, each value
 * once (a merge keeps the first entry of each). */
void		 fuzz_check_unique(struct json_object *list, const char *key);

/* A directory of this process's own, removed at exit. */
const char	*fuzz_scratch(void);

/* ---- an engine on a socket (fuzz_wire.c), for backends/ itself ---- */

/* Start it; its socket's path (static). */
const char	*fuzz_wire_start(void);
/* The next connection gets these bytes (borrowed until fuzz_wire_wait()
 * returns). */
void		 fuzz_wire_answer(const uint8_t *data, size_t size);
/* Until that connection was served. */
void		 fuzz_wire_wait(void);

/* ---- scripted engines (fuzz_engines.c replaces backends/) ---- */

struct fuzz_answer {
	int		 status;	/* 0: unreachable */
	const char	*body;		/* borrowed */
	size_t		 len;
};

/*
 * An engine's answer as an input part: "NNN " then the body gives status
 * NNN, 200 to 599 ("000 ": the engine cannot be reached); anything else
 * is a 200 with the whole part as its body.
 */
void		 fuzz_answer_parse(const struct fuzz_part *,
		    struct fuzz_answer *);

/* What engine i (config order) answers method and path. */
typedef void	 fuzz_engine_fn(size_t i, const char *method,
		    const char *path, struct fuzz_answer *out);
/* Answer with fn; NULL: with the scripted answers below (the default). */
void		 fuzz_engines_route(fuzz_engine_fn *fn);
/* Every request to engine i gets a (copied; body borrowed) until the
 * next call; engines never scripted answer 404. */
void		 fuzz_engines_script(size_t i, const struct fuzz_answer *a);

/* The last request an engine was sent (what dockmux would put on the
 * wire), kept until fuzz_engines_forget(). */
struct fuzz_sent {
	int		 any;
	int		 streamed;	/* by backend_xfer_start() */
	char		 method[16];
	char		*path;		/* owned */
	struct dm_hdrs	 hdrs;		/* owned */
};
const struct fuzz_sent *fuzz_engines_sent(size_t i);
/* Forget what was sent and scripted. */
void		 fuzz_engines_forget(void);

/* ---- dispatchers over scripted engines (fuzz_engines.c) ---- */

/*
 * The dispatcher over engines "a", "b", ... (n of them, 1 to
 * FUZZ_MAX_ENGINES), built on first use and kept: every engine up and
 * reporting linux/amd64, the store in a scratch directory removed at
 * exit.  down, when not NULL, names an engine found down when it is
 * built (later calls for the same n get that same dispatcher).
 */
struct dispatcher *fuzz_dispatcher(size_t n, const char *down);
/* Routes the store knows, for harnesses that resolve containers: "web"
 * on a, "db" on b, "old" on a backend no longer configured, and exec
 * FUZZ_EXEC_ID in "web". */
#define FUZZ_WEB_ID \
	"4f1c5e2a9b7d3c6e8f0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f6a"
#define FUZZ_DB_ID \
	"9b7d3c6e8f0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f6a4f1c5e2a"
#define FUZZ_OLD_ID \
	"0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f6a4f1c5e2a9b7d3c6e8f"
#define FUZZ_EXEC_ID \
	"e5a1f00d2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6"
void		 fuzz_seed_routes(struct dispatcher *);

/* One row a merge harness serves, and what its answers must be. */
struct fuzz_row {
	disp_serve_fn	*serve;
	int		 json_out;	/* a 200 is JSON dockmux built */
	/* More checks on a reply (may be NULL). */
	void		(*check)(const struct disp_req *,
			    const struct disp_reply *, size_t nengines);
};

/*
 * What a merge harness defines; fuzz_serve.c is its main.  Each input:
 * part 0 is the request ("GET /containers/json?all=1"; a target alone
 * means GET), the next parts are the engines' answers, one part each (1
 * to FUZZ_MAX_ENGINES engines).  A request the front end would refuse,
 * or whose row is none of v, is skipped.
 */
struct fuzz_rows {
	const struct fuzz_row	*v;
	size_t			 n;
	int			 routes;	/* fuzz_seed_routes() first */
};
extern const struct fuzz_rows	fuzz_rows;

#endif
