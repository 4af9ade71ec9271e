/*
 * The crisis detector's second opinion (crisis/model.c): a model file
 * made here, with weights chosen so the probabilities can be worked out
 * by hand; how it overrules the lexicon and where it must not; and the
 * files it refuses. Training is measured on the project's sets by
 * tests/integration/15_crisis_eval.t.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crisis.h"
#include "crisis_internal.h"	/* the length cuts */
#include "tap.h"

static char path[] = "/tmp/madoguchi-model-XXXXXX";

static void
write_model(const char *text)
{
	FILE *fp = fopen(path, "w");

	if (fp == NULL || fputs(text, fp) == EOF || fclose(fp) != 0) {
		perror(path);
		exit(1);
	}
}

/* Unigrams and bigrams. 崖 alone: high 4 (z = -3 + 4 / sqrt(1) = 1). */
static const char good_model[] =
    "# a comment\n"
    "madoguchi-crisis-model\t1\n"
    "ngrams\t1\t2\n"
    "high\t-3\t0.70\n"
    "risk\t-1\t0.10\n"
    "w\t崖\t4\t3\n"
    "w\t崖の\t9\t3\n"
    "w\tねこ\t-2\t-4\n"
    "w\tね\t0\t-2\n"
    "w\tこ\t0\t-2\n"
    "w\tさよ\t12\t0\n"
    "w\tばい\t12\t0\n";

static double
logistic(double z)
{
	return 1 / (1 + exp(-z));
}

static void
check(struct crisis_lexicon *lex, const char *text, struct crisis_verdict *v)
{
	if (!crisis_check(lex, text, strlen(text), v)) {
		printf("Bail out! crisis_check failed\n");
		exit(1);
	}
}

static struct crisis_lexicon *
lexicon(void)
{
	char why[256];
	struct crisis_lexicon *lex = crisis_lexicon_new(why, sizeof(why));

	if (lex == NULL || !crisis_lexicon_add(lex, "medium", "tired", "つかれた",
	    NULL, "test", why, sizeof(why)) || !crisis_lexicon_add(lex,
	    "context-high", "farewell", "さよなら", NULL, "test", why,
	    sizeof(why))) {
		printf("Bail out! %s\n", why);
		exit(1);
	}
	return lex;
}

static void
test_scores_and_verdicts(void)
{
	struct crisis_lexicon *lex = lexicon();
	struct crisis_verdict v;
	char why[256];

	write_model(good_model);
	ok(crisis_lexicon_load_model(lex, path, why, sizeof(why)),
	    "a model file loads");
	check(lex, "崖", &v);
	ok(v.model_high == -1 && v.level == CRISIS_NONE,
	    "under four characters, the model gives no opinion");
	check(lex, "崖崖崖崖", &v);
	ok(v.model_high == -1, "counted after normalising (runs collapse)");
	/* 崖でした: 崖 4, the other six n-grams nothing. */
	check(lex, "崖でした", &v);
	ok(fabs(v.model_high - logistic(-3 + 4 / sqrt(7))) < 1e-6,
	    "P(high) is the logistic of bias + weights / sqrt(n-grams)");
	ok(fabs(v.model_risk - logistic(-1 + 3 / sqrt(7))) < 1e-6,
	    "and so is P(risk)");
	is_int(v.level, CRISIS_NONE, "below the threshold: none");
	check(lex, "崖だよね", &v);
	is_int(v.level, CRISIS_NONE, "ね and こ weigh nothing for high");

	/* 崖の上へ: 崖 4 and 崖の 9 of seven n-grams. */
	check(lex, "崖の上へ", &v);
	ok(fabs(v.model_high - logistic(-3 + 13 / sqrt(7))) < 1e-6,
	    "each distinct n-gram counts once, over sqrt of how many");
	ok(v.model_high >= 0.70 && v.model_high < CRISIS_MODEL_SHORT_CUT,
	    "above the model's threshold, below the cut for short messages");
	is_int(v.level, CRISIS_NONE, "under eight characters that is not "
	    "enough: none");
	/* 崖の上へ崖の上へ: the same 13 over eight n-grams (へ崖 is new). */
	check(lex, "崖の上へ崖の上へ", &v);
	ok(fabs(v.model_high - logistic(-3 + 13 / sqrt(8))) < 1e-6 &&
	    v.model_high < CRISIS_MODEL_SHORT_CUT, "longer, a little less sure");
	is_int(v.level, CRISIS_HIGH, "but eight characters: at or above the "
	    "model's threshold is high");
	ok(strncmp(v.rule, "model@madoguchi-model-", 22) == 0,
	    "the rule says the model found it");
	/* ねこねこ: n-grams ね, こ, ねこ, こね: risk -1 + (-2 - 2 - 4) / 2. */
	check(lex, "ねこねこ", &v);
	ok(fabs(v.model_risk - logistic(-1 - 8 / 2.0)) < 1e-6,
	    "n-grams the model does not know count in the root too");
	is_int(v.level, CRISIS_NONE, "below the threshold: the lexicon's "
	    "verdict stands");

	check(lex, "つかれた", &v);
	is_int(v.level, CRISIS_MEDIUM, "a medium the model does not find "
	    "ordinary stays (P(risk) = logistic(-1) is above the floor)");
	check(lex, "ねこつかれた", &v);
	ok(v.model_risk < 0.10, "ねこ makes P(risk) fall below the floor");
	is_int(v.level, CRISIS_NONE, "then the lexicon's medium is dropped");
	is_str(v.rule, "", "with its rule");

	check(lex, "ねこつかれた崖崖", &v);
	ok(v.model_high < 0.70, "diluted among other n-grams, 崖 is not enough");
	check(lex, "ばいばい", &v);
	ok(v.model_high >= 0.70, "ばい weighs enough for high");
	is_int(v.level, CRISIS_HIGH, "so a goodbye no line knows is high");
	check(lex, "さよなら", &v);
	ok(v.model_high >= 0.70, "さよ weighs as much");
	is_int(v.level, CRISIS_NONE, "but where a context line matched, the "
	    "model defers: only the conversation before can make it high");
	is_int(v.context_level, CRISIS_HIGH, "as the context line says");
	check(lex, "", &v);
	is_int(v.level, CRISIS_NONE, "an empty message is none");
	crisis_lexicon_free(lex);
}

static void
test_desk_lines_stand(void)
{
	struct crisis_lexicon *lex = lexicon();
	struct crisis_verdict v;
	char why[256];

	write_model(good_model);
	ok(crisis_lexicon_load_model(lex, path, why, sizeof(why)) &&
	    crisis_lexicon_add_json(lex, "[{\"kind\":\"medium\","
	    "\"rule\":\"cat\",\"pattern\":\"ねこ\"}]", why, sizeof(why)),
	    "a desk's line beside the model");
	check(lex, "ねこねこ", &v);
	is_int(v.level, CRISIS_MEDIUM, "the model never drops a desk's own line");
	is_str(v.rule, "cat@crisis_terms[0]", "which keeps its rule");
	check(lex, "つかれたねこ", &v);
	ok(v.model_risk < 0.10, "P(risk) below the floor with ねこ");
	is_int(v.level, CRISIS_MEDIUM, "a desk's line stands even where the "
	    "project's lexicon matched the same level first");

	crisis_lexicon_free(lex);
}

static void
refused(const char *text, const char *want, const char *what)
{
	struct crisis_lexicon *lex = lexicon();
	char why[256] = "";

	write_model(text);
	ok(!crisis_lexicon_load_model(lex, path, why, sizeof(why)) &&
	    strstr(why, want) != NULL, "refused: %s", what);
	if (strstr(why, want) == NULL)
		printf("#   got \"%s\", want \"%s\"\n", why, want);
	crisis_lexicon_free(lex);
}

static void
test_bad_files(void)
{
	struct crisis_lexicon *lex = lexicon();
	char why[256];

	ok(!crisis_lexicon_load_model(lex, "/nonexistent/model.txt", why,
	    sizeof(why)) && strstr(why, "/nonexistent/model.txt") != NULL,
	    "a missing file is named");
	crisis_lexicon_free(lex);
	refused("w\t崖\t1\t1\n", ":1: not a crisis model", "no first line");
	refused("madoguchi-crisis-model\t2\n", ":1: not a crisis model",
	    "another version");
	refused("madoguchi-crisis-model\t1\nngrams\t1\t4\n", ":2: expected "
	    "ngrams", "n-grams longer than 3");
	refused("madoguchi-crisis-model\t1\nngrams\t1\t2\nhigh\t-3\t1.5\n",
	    ":3: expected high", "a threshold above 1");
	refused("madoguchi-crisis-model\t1\nngrams\t1\t2\nhigh\t-3\t0.7\n"
	    "risk\tx\t0.1\n", ":4: expected risk", "a bias that is no number");
	refused("madoguchi-crisis-model\t1\nngrams\t1\t2\nhigh\t-3\t0.7\n"
	    "risk\t-1\t0.1\nw\t崖\t1\t1\nw\t崖\t2\t2\n", ":6: the n-gram is "
	    "there twice", "an n-gram twice");
	refused("madoguchi-crisis-model\t1\nngrams\t1\t2\nhigh\t-3\t0.7\n"
	    "risk\t-1\t0.1\nw\tねこだ\t1\t1\n", ":5: the n-gram is not",
	    "an n-gram longer than the file says");
	refused("madoguchi-crisis-model\t1\nngrams\t2\t2\nhigh\t-3\t0.7\n"
	    "risk\t-1\t0.1\nw\tね\t1\t1\n", ":5: the n-gram is shorter",
	    "an n-gram shorter than the file says");
	refused("madoguchi-crisis-model\t1\nngrams\t1\t2\nhigh\t-3\t0.7\n"
	    "risk\t-1\t0.1\nw\t崖\t1\n", ":5: expected w", "a weight missing");
	refused("madoguchi-crisis-model\t1\nngrams\t1\t2\nhigh\t-3\t0.7\n"
	    "risk\t-1\t0.1\nw\t崖\t1\t1\textra\n", ":5: expected w",
	    "a field too many");
	refused("madoguchi-crisis-model\t1\nngrams\t1\t2\nhigh\t-3\t0.7\n"
	    "risk\t-1\t0.1\nw\t\xff\t1\t1\n", ":5: the n-gram is not",
	    "broken UTF-8");
	refused("madoguchi-crisis-model\t1\nngrams\t1\t2\nhigh\t-3\t0.7\n",
	    "incomplete crisis model", "the end before the weights");
}

static void
test_model_path(void)
{
	char out[256], dir[] = "/tmp/madoguchi-lexicon-XXXXXX", lexicon[64],
	    model[64];

	ok(!crisis_model_path("none", "crisis/lexicon.txt", out, sizeof(out)),
	    "crisis_model none: no model");
	ok(crisis_model_path("/x/m.txt", "crisis/lexicon.txt", out,
	    sizeof(out)) && strcmp(out, "/x/m.txt") == 0,
	    "a configured path is taken as it is");
	ok(!crisis_model_path("", "/nonexistent/lexicon.txt", out, sizeof(out)),
	    "empty, and no model.txt beside the lexicon: none");
	if (mkdtemp(dir) == NULL) {
		ok(0, "a directory for a lexicon and its model");
		return;
	}
	snprintf(lexicon, sizeof(lexicon), "%s/lexicon.txt", dir);
	snprintf(model, sizeof(model), "%s/model.txt", dir);
	write_model(good_model);
	ok(rename(path, model) == 0 && crisis_model_path("", lexicon, out,
	    sizeof(out)) && strcmp(out, model) == 0,
	    "empty: the model.txt beside the lexicon");
	unlink(model);
	rmdir(dir);
}

int
main(void)
{
	int fd = mkstemp(path);

	if (fd < 0) {
		perror("mkstemp");
		return 1;
	}
	close(fd);
	test_scores_and_verdicts();
	test_desk_lines_stand();
	test_bad_files();
	test_model_path();
	unlink(path);
	return done_testing();
}
