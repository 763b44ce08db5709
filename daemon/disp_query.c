/* disp_query.c: reading and rewriting raw query strings (percent-coded). */
/* Threads: pure functions; any thread. */

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/disp_int.h"
#include "lib/util.h"

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

size_t
disp_url_decode(const char *s, size_t n, char *out, size_t len)
{
	size_t	i, o = 0;
	int	hi, lo;

	for (i = 0; i < n && o + 1 < len; i++) {
		if (s[i] == '%' && i + 2 < n &&
		    (hi = hexval((unsigned char)s[i + 1])) != -1 &&
		    (lo = hexval((unsigned char)s[i + 2])) != -1) {
			out[o++] = (char)(hi * 16 + lo);
			i += 2;
		} else if (s[i] == '+')
			out[o++] = ' ';
		else
			out[o++] = s[i];
	}
	out[o] = '\0';
	return o;
}

/* Owned: free().  Everything but unreserved characters is %-coded. */
static char *
encode(const char *s, const char *keep)
{
	static const char	 hex[] = "0123456789ABCDEF";
	char			*out, *o;

	out = xmalloc(strlen(s) * 3 + 1);
	for (o = out; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (isalnum(c) || (c != '\0' && strchr(keep, c) != NULL))
			*o++ = (char)c;
		else {
			*o++ = '%';
			*o++ = hex[c >> 4];
			*o++ = hex[c & 15];
		}
	}
	*o = '\0';
	return out;
}

char *
disp_url_encode(const char *s)
{
	return encode(s, "-_.~");
}

char *
disp_ref_encode(const char *s)
{
	return encode(s, "-_.~/:@");
}

/*
 * Find key in query; 1 with its decoded value in out (a key without '='
 * gives ""), 0 when absent.
 */
int
disp_query_get(const char *query, const char *key, char *out, size_t len)
{
	const char	*p = query, *amp, *eq;
	size_t		 klen = strlen(key);

	while (p != NULL && *p != '\0') {
		amp = strchr(p, '&');
		if (amp == NULL)
			amp = p + strlen(p);
		eq = memchr(p, '=', (size_t)(amp - p));
		if ((size_t)((eq != NULL ? eq : amp) - p) == klen &&
		    strncmp(p, key, klen) == 0) {
			if (eq == NULL)
				out[0] = '\0';
			else
				disp_url_decode(eq + 1,
				    (size_t)(amp - eq - 1), out, len);
			return 1;
		}
		p = *amp != '\0' ? amp + 1 : amp;
	}
	return 0;
}

/*
 * The query with every key=... removed and, when value is not NULL,
 * key=<encoded value> appended.  Owned: free().
 */
char *
disp_query_set(const char *query, const char *key, const char *value)
{
	const char	*p = query, *amp, *eq;
	size_t		 klen = strlen(key), o = 0, cap;
	char		*out, *enc = NULL;

	if (value != NULL)
		enc = disp_url_encode(value);
	cap = strlen(query) + klen + (enc != NULL ? strlen(enc) : 0) + 4;
	out = xmalloc(cap);
	while (*p != '\0') {
		amp = strchr(p, '&');
		if (amp == NULL)
			amp = p + strlen(p);
		eq = memchr(p, '=', (size_t)(amp - p));
		if (!((size_t)((eq != NULL ? eq : amp) - p) == klen &&
		    strncmp(p, key, klen) == 0) && amp > p) {
			if (o > 0)
				out[o++] = '&';
			memcpy(out + o, p, (size_t)(amp - p));
			o += (size_t)(amp - p);
		}
		p = *amp != '\0' ? amp + 1 : amp;
	}
	if (enc != NULL)
		o += (size_t)snprintf(out + o, cap - o, "%s%s=%s",
		    o > 0 ? "&" : "", key, enc);
	out[o] = '\0';
	free(enc);
	return out;
}
