/* rules.h: the names of the rules a route records (leaf header). */
#ifndef DOCKMUX_LIB_RULES_H
#define DOCKMUX_LIB_RULES_H

/*
 * Each route, in the store and in GET /_dockmux/routes, names the rule
 * that placed its container: one of disp_rule_name()'s, in the order of
 * enum disp_rule, for a create; "adopted" for a container dockmuxd found
 * on an engine.  `dockmux routes --rule` is checked against this list;
 * check_rules.c holds it equal to disp_rule_name().
 */
#define DM_RULE_ADOPTED	"adopted"
#define DM_RULE_NAMES	{ "pin", "isolation", "marker", "platform", \
			  "image-os", "default", DM_RULE_ADOPTED }

#endif
