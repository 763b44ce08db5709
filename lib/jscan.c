/*
 * jscan.c: JSON text read in place (jscan.h).  A validating skipper with
 * a depth bound, and an iterator over one array or object on top of it.
 */
/* Threads: pure functions over the caller's text; any thread. */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/jscan.h"
#include "lib/util.h"

static const char	*value_at(const char *, const char *, int);

const char *
jscan_ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' ||
	    *p == '\r'))
		p++;
	return p;
}

static int
is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
	    (c >= 'A' && c <= 'F');
}

/*
 * p at the opening quote: past the closing one, or NULL.  A raw control
 * character inside is let through, as json-c lets it (RFC 8259 would
 * not): an answer json-c took is taken.  A NUL byte ends json-c's text,
 * so it is refused.
 */
static const char *
string_at(const char *p, const char *end)
{
	int	i;

	for (p++; p < end; p++) {
		unsigned char	c = (unsigned char)*p;

		if (c == '"')
			return p + 1;
		if (c == '\0')
			return NULL;	/* json-c's text ends there */
		if (c != '\\')
			continue;
		if (++p >= end)
			return NULL;
		switch (*p) {
		case '"': case '\\': case '/': case 'b': case 'f': case 'n':
		case 'r': case 't':
			break;
		case 'u':
			for (i = 0; i < 4; i++)
				if (++p >= end || !is_hex(*p))
					return NULL;
			break;
		default:
			return NULL;
		}
	}
	return NULL;
}

static const char *
digits(const char *p, const char *end)
{
	const char	*s = p;

	while (p < end && *p >= '0' && *p <= '9')
		p++;
	return p > s ? p : NULL;
}

/* -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static const char *
number_at(const char *p, const char *end)
{
	if (p < end && *p == '-')
		p++;
	if (p < end && *p == '0')
		p++;
	else if ((p = digits(p, end)) == NULL)
		return NULL;
	if (p < end && *p == '.' && (p = digits(p + 1, end)) == NULL)
		return NULL;
	if (p < end && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < end && (*p == '+' || *p == '-'))
			p++;
		if ((p = digits(p, end)) == NULL)
			return NULL;
	}
	return p;
}

static const char *
literal_at(const char *p, const char *end, const char *lit)
{
	size_t	n = strlen(lit);

	return (size_t)(end - p) >= n && memcmp(p, lit, n) == 0 ? p + n :
	    NULL;
}

/* The members or elements of the container opening at p, to its close. */
static const char *
container_at(const char *p, const char *end, int depth)
{
	struct jscan		it;
	struct jscan_span	k, v;
	int			rc;

	if (depth >= DM_JSCAN_DEPTH)
		return NULL;
	(void)jscan_open(&it, p, end, *p);	/* *p is '[' or '{' */
	it.depth = depth + 1;
	while ((rc = jscan_next(&it, &k, &v)) == 1)
		continue;	/* each value checked whole */
	return rc == 0 ? it.p : NULL;
}

static const char *
value_at(const char *p, const char *end, int depth)
{
	p = jscan_ws(p, end);
	if (p >= end)
		return NULL;
	switch (*p) {
	case '"':
		return string_at(p, end);
	case '[':
	case '{':
		return container_at(p, end, depth);
	case 't':
		return literal_at(p, end, "true");
	case 'f':
		return literal_at(p, end, "false");
	case 'n':
		return literal_at(p, end, "null");
	default:
		return number_at(p, end);
	}
}

const char *
jscan_value(const char *p, const char *end)
{
	return value_at(p, end, 0);
}

int
jscan_open(struct jscan *it, const char *p, const char *end, char open)
{
	p = jscan_ws(p, end);
	if (p >= end || *p != open)
		return -1;
	it->p = p + 1;
	it->end = end;
	it->close = open == '[' ? ']' : '}';
	it->n = 0;
	it->depth = 1;
	return 0;
}

int
jscan_next(struct jscan *it, struct jscan_span *key, struct jscan_span *val)
{
	const char	*p = jscan_ws(it->p, it->end), *e;

	if (p >= it->end)
		return -1;
	if (*p == it->close) {
		it->p = p + 1;
		return 0;
	}
	if (it->n > 0) {
		if (*p != ',')
			return -1;
		p = jscan_ws(p + 1, it->end);
	}
	if (it->close == '}') {
		if (p >= it->end || *p != '"' ||
		    (e = string_at(p, it->end)) == NULL)
			return -1;
		if (key != NULL) {
			key->p = p + 1;
			key->n = (size_t)(e - p) - 2;
		}
		p = jscan_ws(e, it->end);
		if (p >= it->end || *p != ':')
			return -1;
		p++;
	}
	p = jscan_ws(p, it->end);
	if ((e = value_at(p, it->end, it->depth)) == NULL)
		return -1;
	val->p = p;
	val->n = (size_t)(e - p);
	it->p = e;
	it->n++;
	return 1;
}

static unsigned int
hex4(const char *p)
{
	unsigned int	v = 0;
	int		i;

	for (i = 0; i < 4; i++)
		v = v * 16 + (unsigned int)(p[i] <= '9' ? p[i] - '0' :
		    (p[i] | 0x20) - 'a' + 10);
	return v;
}

/* c as UTF-8 at out + n, the bytes past len - 1 dropped: the new n. */
static size_t
put_utf8(char *out, size_t len, size_t n, unsigned int c)
{
	unsigned char	b[4];
	size_t		k, i;

	if (c < 0x80) {
		b[0] = (unsigned char)c;
		k = 1;
	} else if (c < 0x800) {
		b[0] = (unsigned char)(0xc0 | c >> 6);
		b[1] = (unsigned char)(0x80 | (c & 0x3f));
		k = 2;
	} else if (c < 0x10000) {
		b[0] = (unsigned char)(0xe0 | c >> 12);
		b[1] = (unsigned char)(0x80 | (c >> 6 & 0x3f));
		b[2] = (unsigned char)(0x80 | (c & 0x3f));
		k = 3;
	} else {
		b[0] = (unsigned char)(0xf0 | c >> 18);
		b[1] = (unsigned char)(0x80 | (c >> 12 & 0x3f));
		b[2] = (unsigned char)(0x80 | (c >> 6 & 0x3f));
		b[3] = (unsigned char)(0x80 | (c & 0x3f));
		k = 4;
	}
	for (i = 0; i < k; i++, n++)
		if (n + 1 < len)
			out[n] = (char)b[i];
	return n;
}

size_t
jscan_str(const struct jscan_span *s, char *out, size_t len)
{
	const char	*p = s->p, *end = s->p + s->n;
	unsigned int	 c, lo;
	size_t		 n = 0;

	while (p < end) {
		if (*p != '\\') {
			c = (unsigned char)*p++;
			if (n + 1 < len)
				out[n] = (char)c;
			n++;
			continue;
		}
		p++;
		switch (*p++) {
		case 'b': c = '\b'; break;
		case 'f': c = '\f'; break;
		case 'n': c = '\n'; break;
		case 'r': c = '\r'; break;
		case 't': c = '\t'; break;
		case 'u':
			c = hex4(p);
			p += 4;
			if (c >= 0xd800 && c < 0xdc00 && end - p >= 6 &&
			    p[0] == '\\' && p[1] == 'u' &&
			    (lo = hex4(p + 2)) >= 0xdc00 && lo < 0xe000) {
				c = 0x10000 + ((c - 0xd800) << 10) +
				    (lo - 0xdc00);
				p += 6;
			} else if (c >= 0xd800 && c < 0xe000)
				c = 0xfffd;
			break;
		default: c = (unsigned char)p[-1]; break;	/* " \ / */
		}
		n = put_utf8(out, len, n, c);
	}
	if (len > 0)
		out[n < len ? n : len - 1] = '\0';
	return n;
}

int
jscan_is(const struct jscan_span *s, const char *lit)
{
	char	buf[256];
	size_t	n = strlen(lit);

	if (memchr(s->p, '\\', s->n) == NULL)
		return s->n == n && memcmp(s->p, lit, n) == 0;
	return n < sizeof(buf) && jscan_str(s, buf, sizeof(buf)) == n &&
	    memcmp(buf, lit, n) == 0;
}

long long
jscan_int(const struct jscan_span *s)
{
	char		 buf[64], *t;
	double		 d;
	int		 neg;

	if (s->n == 0 || number_at(s->p, s->p + s->n) != s->p + s->n)
		return 0;
	neg = s->p[0] == '-';
	if (memchr(s->p, '.', s->n) == NULL && memchr(s->p, 'e', s->n) ==
	    NULL && memchr(s->p, 'E', s->n) == NULL) {
		if (s->n - (size_t)neg > 19)	/* past int64 either way */
			return neg ? INT64_MIN : INT64_MAX;
		memcpy(buf, s->p, s->n);
		buf[s->n] = '\0';
		return strtoll(buf, NULL, 10);	/* held at the bounds */
	}
	t = s->n < sizeof(buf) ? buf : xmalloc(s->n + 1);
	memcpy(t, s->p, s->n);
	t[s->n] = '\0';
	d = strtod(t, NULL);
	if (t != buf)
		free(t);
	if (d >= 9.2233720368547758e18)
		return INT64_MAX;
	if (d <= -9.2233720368547758e18)
		return INT64_MIN;
	return (long long)d;	/* toward zero */
}
