/*
 * backend_h1.c: the framing of an engine's HTTP/1.1 answer (RFC 9112):
 * where its head ends, how its body is delimited, and the body's decoder,
 * fed bytes as they come, giving the body back in place.  No sockets here:
 * backend_raw.c reads, this says what the bytes mean.
 */

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "backend_int.h"
#include "lib/limits.h"

enum chunk_state {
	CH_SIZE = 0,		/* the hex digits of a chunk's size */
	CH_EXT,			/* ";name=value" after them, to the line end */
	CH_SIZE_LF,		/* the '\n' ending the size line */
	CH_DATA,
	CH_DATA_CR,		/* the "\r\n" after a chunk's data */
	CH_DATA_LF,
	CH_TRAILER,		/* at a trailer line's start, or the end */
	CH_TRAILER_LINE,	/* inside a trailer line */
	CH_END_LF,		/* the '\n' of the final blank line */
	CH_DONE
};

size_t
h1_head_end(const char *p, size_t n)
{
	const char	*nl = p, *end;

	if (n == 0)
		return 0;	/* p may be NULL: nothing read yet */
	end = p + n;
	while ((nl = memchr(nl, '\n', (size_t)(end - nl))) != NULL) {
		nl++;
		if (nl < end && *nl == '\n')
			return (size_t)(nl + 1 - p);
		if (nl + 1 < end && nl[0] == '\r' && nl[1] == '\n')
			return (size_t)(nl + 2 - p);
	}
	return 0;
}

static int
is_digits3(const char *p)
{
	return p[0] >= '0' && p[0] <= '9' && p[1] >= '0' && p[1] <= '9' &&
	    p[2] >= '0' && p[2] <= '9';
}

int
h1_parse_head(char *p, int *status, int *http10, struct dm_hdrs *h,
    char *why, size_t whylen)
{
	char	*line, *next, *colon, *v, *e;

	for (line = p; (next = strchr(line, '\n')) != NULL; line = next + 1) {
		*next = '\0';
		if (next > line && next[-1] == '\r')
			next[-1] = '\0';
		if (line == p) {
			/* "HTTP/1.x NNN[ reason]", three digits exactly. */
			if (strncmp(line, "HTTP/1.", 7) != 0 ||
			    (line[7] != '0' && line[7] != '1') ||
			    line[8] != ' ' || !is_digits3(line + 9) ||
			    (line[12] != ' ' && line[12] != '\0') ||
			    line[9] == '0')
				break;
			*status = (line[9] - '0') * 100 + (line[10] - '0') * 10 +
			    line[11] - '0';
			*http10 = line[7] == '0';
			continue;
		}
		if (*line == '\0')
			return 0;	/* the blank line: the end */
		colon = strchr(line, ':');
		if (colon == NULL || colon == line)
			continue;	/* not a header: as curl, passed over */
		*colon = '\0';
		v = colon + 1;
		while (*v == ' ' || *v == '\t')
			v++;
		e = v + strlen(v);
		while (e > v && (e[-1] == ' ' || e[-1] == '\t'))
			e--;
		*e = '\0';
		if (dm_hdrs_add(h, line, v) == -1) {
			snprintf(why, whylen, "answer has more than %d header "
			    "lines", DM_MAX_HEADERS);
			return -2;
		}
	}
	if (line == p)
		snprintf(why, whylen, "bad status line: %.60s", p);
	else
		snprintf(why, whylen, "answer head cut short");
	return -1;
}

int
h1_body_start(struct h1_body *b, int status, int head_req, int http10,
    const struct dm_hdrs *h, long long *clen, int *keep)
{
	const char	*te = dm_hdrs_get(h, "Transfer-Encoding");
	const char	*conn = dm_hdrs_get(h, "Connection");
	const char	*cl = dm_hdrs_get(h, "Content-Length");
	char		*end;
	size_t		 n;

	memset(b, 0, sizeof(*b));
	*clen = -1;
	if (conn != NULL && dm_hdr_has_token(conn, "close"))
		*keep = 0;
	if (http10 && (conn == NULL || !dm_hdr_has_token(conn, "keep-alive")))
		*keep = 0;
	if (cl != NULL) {
		if (*cl < '0' || *cl > '9')
			return -1;
		*clen = strtoll(cl, &end, 10);
		if (*end != '\0' || *clen == LLONG_MAX)
			return -1;
	}
	if (head_req || status < 200 || status == 204 || status == 304) {
		b->frame = H1_NONE;
		b->done = 1;
		if (status == 101)
			*keep = 0;	/* the socket is the upgrade's now */
		return 0;
	}
	/* A transfer coding overrides any length (RFC 9112 6.3). */
	if (te != NULL)
		*clen = -1;
	if (te != NULL && (n = strlen(te)) >= 7 &&
	    strcasecmp(te + n - 7, "chunked") == 0)
		b->frame = H1_CHUNKED;
	else if (te == NULL && *clen >= 0) {
		b->frame = H1_LENGTH;
		b->left = *clen;
		b->done = b->left == 0;
	} else {
		b->frame = H1_CLOSE;
		*keep = 0;
	}
	return 0;
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

size_t
h1_decode(struct h1_body *b, char *p, size_t n)
{
	char	*w = p, *r = p, *end = p + n;
	size_t	 k;
	int	 v;

	switch (b->frame) {
	case H1_NONE:
		b->extra = n > 0;
		return 0;
	case H1_CLOSE:
		return n;
	case H1_LENGTH:
		k = (long long)n < b->left ? n : (size_t)b->left;
		b->left -= (long long)k;
		b->done = b->left == 0;
		b->extra = k < n;
		return k;
	case H1_CHUNKED:
		break;
	}
	while (r < end && b->ch != CH_DONE && !b->bad) {
		switch (b->ch) {
		case CH_SIZE:
			if ((v = hexval(*r)) >= 0) {
				if (b->left > (LLONG_MAX >> 4)) {
					b->bad = 1;	/* past any size */
					break;
				}
				b->left = b->left * 16 + v;
				b->digits++;
			} else if (b->digits == 0)
				b->bad = 1;
			else if (*r == ';' || *r == ' ' || *r == '\t')
				b->ch = CH_EXT;
			else if (*r == '\r')
				b->ch = CH_SIZE_LF;
			else if (*r == '\n')
				b->ch = b->left == 0 ? CH_TRAILER : CH_DATA;
			else
				b->bad = 1;
			r++;
			break;
		case CH_EXT:
			if (*r == '\r')
				b->ch = CH_SIZE_LF;
			else if (*r == '\n')
				b->ch = b->left == 0 ? CH_TRAILER : CH_DATA;
			r++;
			break;
		case CH_SIZE_LF:
			if (*r++ != '\n')
				b->bad = 1;
			b->ch = b->left == 0 ? CH_TRAILER : CH_DATA;
			break;
		case CH_DATA:
			k = (size_t)(end - r);
			if ((long long)k > b->left)
				k = (size_t)b->left;
			memmove(w, r, k);
			w += k;
			r += k;
			b->left -= (long long)k;
			if (b->left == 0)
				b->ch = CH_DATA_CR;
			break;
		case CH_DATA_CR:
		case CH_DATA_LF:
			if (b->ch == CH_DATA_CR && *r == '\r') {
				b->ch = CH_DATA_LF;
				r++;
				break;
			}
			if (*r++ != '\n')
				b->bad = 1;
			b->ch = CH_SIZE;
			b->digits = 0;
			break;
		case CH_TRAILER:
			b->ch = *r == '\r' ? CH_END_LF : *r == '\n' ? CH_DONE :
			    CH_TRAILER_LINE;
			r++;
			break;
		case CH_TRAILER_LINE:
			if (*r++ == '\n')
				b->ch = CH_TRAILER;
			break;
		case CH_END_LF:
			if (*r++ != '\n')
				b->bad = 1;
			b->ch = CH_DONE;
			break;
		}
	}
	if (b->ch == CH_DONE && !b->bad) {
		b->done = 1;
		b->extra = r < end;
	}
	return (size_t)(w - p);
}
