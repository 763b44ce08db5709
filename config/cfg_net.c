/*
 * cfg_net.c: endpoint URLs taken apart: unix:///path, tcp://host:port
 * (IPv6 as [addr]:port) and ssh://[user@]host[:port], the forms the
 * docker CLI takes for DOCKER_HOST.
 */
/* Threads: pure functions; any thread. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/cfg_net.h"
#include "lib/util.h"

static int
fail(char *why, size_t len, const char *msg)
{
	snprintf(why, len, "%s", msg);
	return -1;
}

/* "host[:port]" or "[v6][:port]" at s; port_required for tcp. */
static int
host_port(const char *s, int port_required, struct cfg_endpoint *ep,
    char *why, size_t len)
{
	const char	*colon, *end;
	char		*stop;
	long		 port;

	if (*s == '[') {
		end = strchr(s, ']');
		if (end == NULL || end == s + 1)
			return fail(why, len, "an IPv6 address needs its "
			    "closing ']'");
		ep->host = xstrndup(s + 1, (size_t)(end - s - 1));
		colon = end[1] == ':' ? end + 1 : NULL;
		if (end[1] != '\0' && colon == NULL)
			return fail(why, len, "unexpected text after ']'");
	} else {
		colon = strrchr(s, ':');
		if (colon != NULL && strchr(s, ':') != colon)
			return fail(why, len, "an IPv6 address must be written "
			    "in brackets: [::1]:2376");
		ep->host = colon != NULL ? xstrndup(s, (size_t)(colon - s)) :
		    xstrdup(s);
	}
	if (ep->host[0] == '\0')
		return fail(why, len, "the host is missing");
	if (strspn(ep->host, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuv"
	    "wxyz0123456789.-_:%") != strlen(ep->host))
		return fail(why, len, "the host has characters a host name "
		    "cannot have");
	if (colon == NULL) {
		if (port_required)
			return fail(why, len, "the port is missing "
			    "(tcp://host:2376)");
		return 0;
	}
	port = strtol(colon + 1, &stop, 10);
	if (colon[1] == '\0' || *stop != '\0' || port < 1 || port > 65535)
		return fail(why, len, "the port must be a number from 1 to "
		    "65535");
	ep->port = (int)port;
	return 0;
}

int
cfg_endpoint_parse(const char *url, int allow_ssh, struct cfg_endpoint *ep,
    char *why, size_t len)
{
	const char	*s, *at;

	memset(ep, 0, sizeof(*ep));
	if (strncmp(url, "unix://", 7) == 0) {
		ep->transport = CFG_UNIX;
		s = url + 7;
		if (s[0] != '/')
			return fail(why, len, "the socket path must be "
			    "absolute (unix:///path)");
		if (strlen(s) >= DM_SUN_PATH_MAX) {
			snprintf(why, len, "socket path longer than %zu bytes",
			    DM_SUN_PATH_MAX - 1);
			return -1;
		}
		ep->path = xstrdup(s);
		return 0;
	}
	if (strncmp(url, "tcp://", 6) == 0) {
		ep->transport = CFG_TCP;
		s = url + 6;
		if (strchr(s, '/') != NULL)
			return fail(why, len, "a tcp:// endpoint has no path "
			    "(tcp://host:port)");
		return host_port(s, 1, ep, why, len);
	}
	if (strncmp(url, "ssh://", 6) == 0 && allow_ssh) {
		ep->transport = CFG_SSH;
		s = url + 6;
		if (strchr(s, '/') != NULL)
			return fail(why, len, "an ssh:// endpoint has no path "
			    "(ssh://user@host[:port])");
		if ((at = strchr(s, '@')) != NULL) {
			if (at == s)
				return fail(why, len, "the user before '@' is "
				    "empty");
			ep->user = xstrndup(s, (size_t)(at - s));
			if (ep->user[0] == '-' || strspn(ep->user,
			    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			    "0123456789._-") != strlen(ep->user))
				return fail(why, len, "the user name has "
				    "characters a user name cannot have");
			s = at + 1;
		}
		if (host_port(s, 0, ep, why, len) == -1)
			return -1;
		if (ep->host[0] == '-')
			return fail(why, len, "the host cannot start with '-'");
		return 0;
	}
	return fail(why, len, allow_ssh ? "only unix://, tcp:// and ssh:// "
	    "endpoints are supported" : "only unix:// and tcp:// listeners "
	    "are supported");
}

void
cfg_endpoint_clear(struct cfg_endpoint *ep)
{
	free(ep->path);
	free(ep->host);
	free(ep->user);
	memset(ep, 0, sizeof(*ep));
}

int
cfg_host_is_loopback(const char *host)
{
	return strcmp(host, "localhost") == 0 || strcmp(host, "::1") == 0 ||
	    strncmp(host, "127.", 4) == 0;
}
