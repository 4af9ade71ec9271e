/*
 * crisis.c - `madoguchi crisis`: the crisis detector without the daemon,
 * so a desk can try its lexicon on messages before it goes live.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
"The lexicon is crisis_lexicon, with the model in crisis_model unless\n"
"--no-model; the desk's crisis_terms setting is added when the database\n"
"can be reached, unless --no-desk.\n";

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
	char why[512];

	if ((lex = crisis_lexicon_new(why, sizeof(why))) == NULL ||
	    !crisis_lexicon_load_file(lex, cli->cfg.crisis_lexicon, why,
	    sizeof(why)) || (model && cli->cfg.crisis_model[0] != '\0' &&
	    !crisis_lexicon_load_model(lex, cli->cfg.crisis_model, why,
	    sizeof(why)))) {
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

/* `crisis train`: the model file, or with --cv the cross-validation. */
static int
crisis_train(struct cli *cli)
{
	const char *output = NULL, *cost = "30", *high = "0.70", *floor = "0.10";
	bool cv = cli_take_flag(cli, "--cv", false, NULL);
	struct crisis_train_options o;
	struct crisis_lexicon *lex;
	char why[512];
	FILE *out = stdout;
	bool ok;

	(void)cli_take_flag(cli, "--output", true, &output);
	(void)cli_take_flag(cli, "--cost", true, &cost);
	(void)cli_take_flag(cli, "--high-threshold", true, &high);
	(void)cli_take_flag(cli, "--risk-floor", true, &floor);
	o.cost = atof(cost);
	o.high_threshold = atof(high);
	o.risk_floor = atof(floor);
	if (cli->argc < 3 || o.cost <= 0 || o.high_threshold <= 0 ||
	    o.high_threshold > 1 || o.risk_floor < 0 || o.risk_floor >= 1) {
		fputs(crisis_usage, stderr);
		return 2;
	}
	if ((lex = crisis_lexicon_new(why, sizeof(why))) == NULL) {
		fprintf(stderr, "madoguchi: %s\n", why);
		return 1;
	}
	if (!cv && output != NULL && (out = fopen(output, "w")) == NULL) {
		perror(output);
		crisis_lexicon_free(lex);
		return 1;
	}
	ok = cv ? crisis_model_cross_validate(lex,
	    (const char *const *)cli->argv + 2, cli->argc - 2, &o, out, why,
	    sizeof(why)) : crisis_model_train(lex,
	    (const char *const *)cli->argv + 2, cli->argc - 2, &o, out, why,
	    sizeof(why));
	if (out != stdout && fclose(out) != 0)
		ok = false, snprintf(why, sizeof(why), "%s: not written", output);
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
