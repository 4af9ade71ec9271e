/*
 * crisis.c - `madoguchi crisis`: the crisis detector without the daemon,
 * so a desk can try its lexicon on messages before it goes live.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "crisis.h"

static const char crisis_usage[] =
"usage: madoguchi crisis <subcommand> [--no-desk] [--no-model]\n"
"  check              messages one a line on standard input; prints\n"
"                     LEVEL<TAB>rule<TAB>text for each (none, medium, high)\n"
"  normalize          the same lines as the lexicon sees them\n"
"  eval FILE [--misses] [--min-recall R]\n"
"                     recall and false positives on a labelled set\n"
"                     (label<TAB>category<TAB>text, as tests/crisis/)\n"
"  train SET... [--output FILE] [--cost C] [--high-threshold T]\n"
"        [--risk-floor F]\n"
"                     the second opinion's models from labelled sets\n"
"                     (defaults: C 30, T 0.70, F 0.10)\n"
"  train --cv SET...  leave one set out in turn: how the models do on\n"
"                     wordings they never saw, by threshold\n"
"The lexicon is crisis_lexicon, with the model in crisis_model (model.txt\n"
"beside the lexicon) unless --no-model; the desk's crisis_terms setting is\n"
"added when the database can be reached, unless --no-desk.\n";

/* Adds the desk's terms if the database answers; says what it did. */
static bool
add_desk_terms(const struct cli *cli, struct crisis_lexicon *lex)
{
	static const char *const keys[] = { "dbname", "connect_timeout",
	    "fallback_application_name", NULL };
	const char *values[] = { cli->cfg.database_url, "3", "madoguchi", NULL };
	const char *params[1] = { cli->cfg.channel_name };
	char why[256];
	PGresult *res;
	PGconn *conn;
	bool ok = true;

	if (cli->cfg.database_url[0] == '\0')
		return true;
	conn = PQconnectdbParams(keys, values, 1);
	if (PQstatus(conn) != CONNECTION_OK) {
		fprintf(stderr, "madoguchi: database not reachable: the desk's "
		    "crisis_terms are not applied\n");
		PQfinish(conn);
		return true;
	}
	if ((res = cli_exec(conn, crisis_terms_sql, 1, params)) == NULL)
		ok = false;
	else if (PQntuples(res) > 0 && !crisis_lexicon_add_json(lex,
	    PQgetvalue(res, PQntuples(res) - 1, 0), why, sizeof(why))) {
		fprintf(stderr, "madoguchi: %s\n", why);
		ok = false;
	}
	PQclear(res);
	PQfinish(conn);
	return ok;
}

static struct crisis_lexicon *
lexicon_open(const struct cli *cli, bool desk, bool model)
{
	struct crisis_lexicon *lex;
	char why[512], path[PATH_MAX];

	if (model && !crisis_model_path(cli->cfg.crisis_model,
	    cli->cfg.crisis_lexicon, path, sizeof(path))) {
		if (strcmp(cli->cfg.crisis_model, "none") != 0)
			fprintf(stderr, "madoguchi: no crisis model beside the "
			    "lexicon: the lexicon alone\n");
		model = false;
	}
	if ((lex = crisis_lexicon_new(why, sizeof(why))) == NULL ||
	    !crisis_lexicon_load_file(lex, cli->cfg.crisis_lexicon, why,
	    sizeof(why)) || (model && !crisis_lexicon_load_model(lex, path,
	    why, sizeof(why)))) {
		fprintf(stderr, "madoguchi: %s\n", why);
		crisis_lexicon_free(lex);
		return NULL;
	}
	if (desk && !add_desk_terms(cli, lex)) {
		crisis_lexicon_free(lex);
		return NULL;
	}
	return lex;
}

/* The next line of fp without its line end, or NULL at the end. */
static char *
read_line(FILE *fp, char **buf, size_t *cap)
{
	ssize_t n = getline(buf, cap, fp);

	if (n < 0)
		return NULL;
	while (n > 0 && ((*buf)[n - 1] == '\n' || (*buf)[n - 1] == '\r'))
		(*buf)[--n] = '\0';
	return *buf;
}

static int
crisis_check_lines(struct crisis_lexicon *lex, bool normalize_only)
{
	char *line = NULL, norm[16384];
	size_t cap = 0;
	int rc = 0;

	while (read_line(stdin, &line, &cap) != NULL) {
		struct crisis_verdict v;

		if (normalize_only) {
			if (!crisis_normalize_utf8(lex, line, strlen(line), norm,
			    sizeof(norm)))
				snprintf(norm, sizeof(norm), "(too long)");
			printf("%s\t%s\n", norm, line);
		} else if (crisis_check(lex, line, strlen(line), &v)) {
			printf("%s\t%s\t%s\n", crisis_level_name(v.level),
			    v.rule[0] ? v.rule : "-", line);
		} else {
			fprintf(stderr, "madoguchi: a line could not be "
			    "checked\n");
			rc = 1;
		}
	}
	free(line);
	return rc;
}

struct eval_counts {
	int	total[3];		/* by label */
	int	found[3][3];		/* [label][level found] */
};

static void
eval_report(const struct eval_counts *c)
{
	const int *h = c->found[CRISIS_HIGH], *m = c->found[CRISIS_MEDIUM],
	    *n = c->found[CRISIS_NONE];
	int th = c->total[CRISIS_HIGH] ? c->total[CRISIS_HIGH] : 1,
	    tm = c->total[CRISIS_MEDIUM] ? c->total[CRISIS_MEDIUM] : 1,
	    tn = c->total[CRISIS_NONE] ? c->total[CRISIS_NONE] : 1;

	printf("high\t%d\trecall %.3f\t(%d high, %d medium, %d none)\n",
	    c->total[CRISIS_HIGH], (double)h[CRISIS_HIGH] / th, h[CRISIS_HIGH],
	    h[CRISIS_MEDIUM], h[CRISIS_NONE]);
	printf("medium\t%d\trecall %.3f\t(%d high, %d medium, %d none)\n",
	    c->total[CRISIS_MEDIUM],
	    (double)(m[CRISIS_MEDIUM] + m[CRISIS_HIGH]) / tm, m[CRISIS_HIGH],
	    m[CRISIS_MEDIUM], m[CRISIS_NONE]);
	printf("none\t%d\tfalse positives %.3f\t(%d high, %d medium, %d none)"
	    "\n", c->total[CRISIS_NONE],
	    (double)(n[CRISIS_HIGH] + n[CRISIS_MEDIUM]) / tn, n[CRISIS_HIGH],
	    n[CRISIS_MEDIUM], n[CRISIS_NONE]);
}

/* Reads one "label<TAB>category<TAB>text" line; false if malformed. */
static bool
eval_line(char *line, int *label, char **text)
{
	char *tab1 = strchr(line, '\t'), *tab2;

	if (tab1 == NULL || (tab2 = strchr(tab1 + 1, '\t')) == NULL)
		return false;
	*tab1 = '\0';
	*text = tab2 + 1;
	return (*label = crisis_level_parse(line)) >= 0;
}

static int
crisis_eval(struct crisis_lexicon *lex, const char *path, bool misses,
    double min_recall)
{
	struct eval_counts c = { { 0 }, { { 0 } } };
	FILE *fp = fopen(path, "r");
	char *line = NULL, *text;
	size_t cap = 0;
	int label, lineno = 0, rc = 0;

	if (fp == NULL) {
		perror(path);
		return 1;
	}
	while (read_line(fp, &line, &cap) != NULL) {
		struct crisis_verdict v;

		if (++lineno == 1 && strncmp(line, "label\t", 6) == 0)
			continue;
		if (!eval_line(line, &label, &text) ||
		    !crisis_check(lex, text, strlen(text), &v)) {
			fprintf(stderr, "%s:%d: not label<TAB>category<TAB>"
			    "text\n", path, lineno);
			rc = 1;
			break;
		}
		c.total[label]++;
		c.found[label][v.level]++;
		if (misses && (int)v.level != label)
			printf("miss\t%s as %s\t%s\t%s\n", crisis_level_name(label),
			    crisis_level_name(v.level), v.rule[0] ? v.rule : "-",
			    text);
	}
	free(line);
	fclose(fp);
	if (rc == 0)
		eval_report(&c);
	if (rc == 0 && c.total[CRISIS_HIGH] > 0 &&
	    (double)c.found[CRISIS_HIGH][CRISIS_HIGH] / c.total[CRISIS_HIGH] <
	    min_recall) {
		fprintf(stderr, "madoguchi: recall on high below %.2f\n",
		    min_recall);
		rc = 1;
	}
	return rc;
}

/* A number for flag in [lo, hi] (lo itself only if lo_ok); false: said. */
static bool
train_number(const char *flag, const char *text, double lo, bool lo_ok,
    double hi, double *out)
{
	char *end;

	errno = 0;
	*out = strtod(text, &end);
	if (errno == 0 && end != text && *end == '\0' && isfinite(*out) &&
	    (*out > lo || (lo_ok && *out == lo)) && *out <= hi)
		return true;
	fprintf(stderr, "madoguchi: %s: a number %s %g, up to %g\n", flag,
	    lo_ok ? "from" : "above", lo, hi);
	return false;
}

/*
 * The model into a new file beside output, renamed over it only when
 * whole: a failed training never leaves the daemon's model empty.
 */
static bool
train_to_file(struct crisis_lexicon *lex, const char *const *sets, int n,
    const struct crisis_train_options *o, const char *output, char *why,
    size_t whylen)
{
	char tmp[PATH_MAX];
	FILE *out;
	bool ok;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.new", output) >=
	    sizeof(tmp) || (out = fopen(tmp, "w")) == NULL) {
		snprintf(why, whylen, "%.300s: %s", tmp, strerror(errno));
		return false;
	}
	ok = crisis_model_train(lex, sets, n, o, out, why, whylen);
	if (fclose(out) != 0 && ok) {
		snprintf(why, whylen, "%.300s: not written", tmp);
		ok = false;
	}
	if (ok && rename(tmp, output) != 0) {
		snprintf(why, whylen, "%.300s: %s", output, strerror(errno));
		ok = false;
	}
	if (!ok)
		unlink(tmp);
	return ok;
}

/* `crisis train`: the model file, or with --cv the cross-validation. */
static int
crisis_train(struct cli *cli)
{
	const char *output = NULL, *cost = "30", *high = "0.70", *floor = "0.10";
	bool cv = cli_take_flag(cli, "--cv", false, NULL);
	const char *const *sets = (const char *const *)cli->argv + 2;
	struct crisis_train_options o;
	struct crisis_lexicon *lex;
	char why[512];
	bool ok;

	(void)cli_take_flag(cli, "--output", true, &output);
	(void)cli_take_flag(cli, "--cost", true, &cost);
	(void)cli_take_flag(cli, "--high-threshold", true, &high);
	(void)cli_take_flag(cli, "--risk-floor", true, &floor);
	if (cli->argc < 3 || (cv && output != NULL)) {
		fputs(crisis_usage, stderr);
		return 2;
	}
	for (int i = 2; i < cli->argc; i++)
		if (cli->argv[i][0] == '-') {
			fprintf(stderr, "madoguchi: %s: not a flag of crisis "
			    "train (or it lacks its value)\n", cli->argv[i]);
			return 2;
		}
	if (!train_number("--cost", cost, 0, false, 1e6, &o.cost) ||
	    !train_number("--high-threshold", high, 0, false, 1,
	    &o.high_threshold) ||
	    !train_number("--risk-floor", floor, 0, true, 0.99, &o.risk_floor))
		return 2;
	if ((lex = crisis_lexicon_new(why, sizeof(why))) == NULL) {
		fprintf(stderr, "madoguchi: %s\n", why);
		return 1;
	}
	if (cv)
		ok = crisis_model_cross_validate(lex, sets, cli->argc - 2, &o,
		    stdout, why, sizeof(why));
	else if (output != NULL)
		ok = train_to_file(lex, sets, cli->argc - 2, &o, output, why,
		    sizeof(why));
	else
		ok = crisis_model_train(lex, sets, cli->argc - 2, &o, stdout,
		    why, sizeof(why));
	if (ok && (fflush(stdout) != 0 || ferror(stdout))) {
		snprintf(why, sizeof(why), "standard output: not written");
		ok = false;
	}
	if (!ok)
		fprintf(stderr, "madoguchi: %s\n", why);
	crisis_lexicon_free(lex);
	return ok ? 0 : 1;
}

int
cli_crisis(struct cli *cli)
{
	bool desk = !cli_take_flag(cli, "--no-desk", false, NULL);
	bool model = !cli_take_flag(cli, "--no-model", false, NULL);
	bool misses = cli_take_flag(cli, "--misses", false, NULL);
	const char *min = "0";
	struct crisis_lexicon *lex;
	const char *sub = cli->argc > 1 ? cli->argv[1] : "";
	int rc;

	if (strcmp(sub, "train") == 0)
		return crisis_train(cli);
	if (cli_take_flag(cli, "--min-recall", true, &min))
		sub = cli->argc > 1 ? cli->argv[1] : "";
	if (!((strcmp(sub, "check") == 0 || strcmp(sub, "normalize") == 0) &&
	    cli->argc == 2) && !(strcmp(sub, "eval") == 0 && cli->argc == 3)) {
		fputs(crisis_usage, strcmp(sub, "help") == 0 ? stdout : stderr);
		return strcmp(sub, "help") == 0 ? 0 : 2;
	}
	if ((lex = lexicon_open(cli, desk, model)) == NULL)
		return 1;
	if (strcmp(sub, "eval") == 0)
		rc = crisis_eval(lex, cli->argv[2], misses, atof(min));
	else
		rc = crisis_check_lines(lex, strcmp(sub, "normalize") == 0);
	crisis_lexicon_free(lex);
	return rc;
}
