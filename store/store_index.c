/*
 * store_index.c: routes in memory, by full ID and by name, in two chained
 * hash tables over the same nodes.  An ID prefix walks every node: a few
 * thousand string compares, still cheaper than a SQLite read.
 */
/* Threads: callers hold the store's lock. */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"
#include "store/store_index.h"

#define INDEX_BUCKETS_MIN	256

struct ridx_node {
	struct store_route	 r;
	struct ridx_node	*next_id;	/* same ID bucket */
	struct ridx_node	*next_name;	/* same name bucket */
};

struct store_index {
	struct ridx_node	**by_id;	/* owned: nb buckets */
	struct ridx_node	**by_name;	/* owned: nb buckets */
	size_t			  nb;
	size_t			  n;
};

/* FNV-1a. */
static size_t
hash(const char *s, size_t nb)
{
	uint64_t	h = 1469598103934665603ULL;

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return (size_t)(h % nb);
}

struct store_index *
store_index_new(void)
{
	struct store_index	*x = xcalloc(1, sizeof(*x));

	x->nb = INDEX_BUCKETS_MIN;
	x->by_id = xcalloc(x->nb, sizeof(*x->by_id));
	x->by_name = xcalloc(x->nb, sizeof(*x->by_name));
	return x;
}

void
store_index_free(struct store_index *x)
{
	struct ridx_node	*p, *next;
	size_t			 i;

	if (x == NULL)
		return;
	for (i = 0; i < x->nb; i++)
		for (p = x->by_id[i]; p != NULL; p = next) {
			next = p->next_id;
			free(p);
		}
	free(x->by_id);
	free(x->by_name);
	free(x);
}

static void
link_name(struct store_index *x, struct ridx_node *p)
{
	size_t	b;

	if (p->r.name[0] == '\0')
		return;
	b = hash(p->r.name, x->nb);
	p->next_name = x->by_name[b];
	x->by_name[b] = p;
}

static void
unlink_name(struct store_index *x, struct ridx_node *p)
{
	struct ridx_node	**pp;

	if (p->r.name[0] == '\0')
		return;
	for (pp = &x->by_name[hash(p->r.name, x->nb)]; *pp != NULL;
	    pp = &(*pp)->next_name)
		if (*pp == p) {
			*pp = p->next_name;
			return;
		}
}

/* Twice the buckets once there are twice as many routes. */
static void
grow(struct store_index *x)
{
	struct ridx_node	**old = x->by_id, *p, *next;
	size_t			  i, onb = x->nb, b;

	x->nb *= 2;
	x->by_id = xcalloc(x->nb, sizeof(*x->by_id));
	free(x->by_name);
	x->by_name = xcalloc(x->nb, sizeof(*x->by_name));
	for (i = 0; i < onb; i++)
		for (p = old[i]; p != NULL; p = next) {
			next = p->next_id;
			b = hash(p->r.id, x->nb);
			p->next_id = x->by_id[b];
			x->by_id[b] = p;
			link_name(x, p);
		}
	free(old);
}

static struct ridx_node *
find_id(const struct store_index *x, const char *id)
{
	struct ridx_node	*p;

	for (p = x->by_id[hash(id, x->nb)]; p != NULL; p = p->next_id)
		if (strcmp(p->r.id, id) == 0)
			return p;
	return NULL;
}

void
store_index_put(struct store_index *x, const struct store_route *r)
{
	struct ridx_node	*p = find_id(x, r->id);
	size_t			 b;

	if (p != NULL) {
		unlink_name(x, p);
		p->r = *r;
		link_name(x, p);
		return;
	}
	if (x->n >= x->nb * 2)
		grow(x);
	p = xcalloc(1, sizeof(*p));
	p->r = *r;
	b = hash(p->r.id, x->nb);
	p->next_id = x->by_id[b];
	x->by_id[b] = p;
	link_name(x, p);
	x->n++;
}

void
store_index_del(struct store_index *x, const char *id)
{
	struct ridx_node	**pp, *p;

	for (pp = &x->by_id[hash(id, x->nb)]; (p = *pp) != NULL;
	    pp = &p->next_id)
		if (strcmp(p->r.id, id) == 0) {
			*pp = p->next_id;
			unlink_name(x, p);
			free(p);
			x->n--;
			return;
		}
}

void
store_index_rename(struct store_index *x, const char *id, const char *name)
{
	struct ridx_node	*p = find_id(x, id);

	if (p == NULL)
		return;
	unlink_name(x, p);
	snprintf(p->r.name, sizeof(p->r.name), "%s", name);
	link_name(x, p);
}

/* Container IDs are lower-case hex; only such a ref may be a prefix. */
static int
is_id_prefix(const char *ref)
{
	size_t	n = strspn(ref, "0123456789abcdef");

	return n > 0 && n < STORE_ID_MAX && ref[n] == '\0';
}

int
store_index_resolve(const struct store_index *x, const char *ref,
    struct store_route *out)
{
	const struct ridx_node	*p, *hit = NULL;
	const char		*name = ref[0] == '/' ? ref + 1 : ref;
	size_t			 i, len = strlen(ref);

	if ((p = find_id(x, ref)) != NULL) {
		*out = p->r;
		return 1;
	}
	if (name[0] != '\0')
		for (p = x->by_name[hash(name, x->nb)]; p != NULL;
		    p = p->next_name)
			if (strcmp(p->r.name, name) == 0) {
				*out = p->r;
				return 1;
			}
	if (!is_id_prefix(ref))
		return 0;
	for (i = 0; i < x->nb; i++)
		for (p = x->by_id[i]; p != NULL; p = p->next_id)
			if (strncmp(p->r.id, ref, len) == 0) {
				if (hit != NULL)
					return 2;
				hit = p;
			}
	if (hit == NULL)
		return 0;
	*out = hit->r;
	return 1;
}

size_t
store_index_count(const struct store_index *x)
{
	return x->n;
}
