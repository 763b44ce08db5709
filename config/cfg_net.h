/*
 * cfg_net.h: the addresses in dockmux.json: an engine's or a listener's
 * endpoint URL (unix://, tcp://, ssh://) parsed into parts.
 */
#ifndef DOCKMUX_CONFIG_CFG_NET_H
#define DOCKMUX_CONFIG_CFG_NET_H

#include <stddef.h>

enum cfg_transport {
	CFG_UNIX = 0,		/* unix:///path */
	CFG_TCP,		/* tcp://host:port */
	CFG_SSH			/* ssh://[user@]host[:port] */
};

/* An endpoint's parts.  Strings owned: cfg_endpoint_clear(). */
struct cfg_endpoint {
	enum cfg_transport	 transport;
	char			*path;	/* unix: the socket path */
	char			*host;	/* tcp, ssh: without [] for IPv6 */
	int			 port;	/* tcp; ssh (0: ssh's own default) */
	char			*user;	/* ssh; NULL: ssh's own default */
};

/*
 * Parse url into ep.  0, or -1 with why (a sentence naming what is
 * wrong: "the socket path must be absolute", "tcp:// needs a port").
 * ssh is accepted only when allow_ssh is set (not for listeners).
 */
int	cfg_endpoint_parse(const char *url, int allow_ssh,
	    struct cfg_endpoint *ep, char *why, size_t whylen);
void	cfg_endpoint_clear(struct cfg_endpoint *);

/* 1 when host is a loopback name or address (localhost, 127/8, ::1). */
int	cfg_host_is_loopback(const char *host);

#endif
