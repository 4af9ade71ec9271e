/*
 * The crisis detector's pure parts: normalisation, the lexicon's pattern
 * language and its kinds and flags, on a small lexicon made here (the
 * project's lexicon file is measured by tests/integration/15_crisis_eval.t).
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "crisis.h"
#include "tap.h"

static struct crisis_lexicon *lex;

/* got contains want; "$" at want's end: got ends with the rest. */
#define like(got, want, ...) do {					\
	const char *g_ = (got), *w_ = (want);				\
	size_t wl_ = strlen(w_), gl_ = strlen(g_);			\
	bool end_ = wl_ > 0 && w_[wl_ - 1] == '$';			\
									\
	if (end_)							\
		wl_--;							\
	ok(end_ ? gl_ >= wl_ && memcmp(g_ + gl_ - wl_, w_, wl_) == 0 :	\
	    strstr(g_, w_) != NULL, __VA_ARGS__);			\
	if (!(end_ ? gl_ >= wl_ && memcmp(g_ + gl_ - wl_, w_, wl_) == 0 : \
	    strstr(g_, w_) != NULL))					\
		printf("#   got: \"%s\"\n#  want: \"%s\"\n", g_, w_);	\
} while (0)

static size_t
utf8_put(char *out, uint32_t c)
{
	if (c < 0x80) {
		out[0] = (char)c;
		return 1;
	}
	if (c < 0x800) {
		out[0] = (char)(0xC0 | c >> 6);
		out[1] = (char)(0x80 | (c & 0x3F));
		return 2;
	}
	if (c < 0x10000) {
		out[0] = (char)(0xE0 | c >> 12);
		out[1] = (char)(0x80 | (c >> 6 & 0x3F));
		out[2] = (char)(0x80 | (c & 0x3F));
		return 3;
	}
	out[0] = (char)(0xF0 | c >> 18);
	out[1] = (char)(0x80 | (c >> 12 & 0x3F));
	out[2] = (char)(0x80 | (c >> 6 & 0x3F));
	out[3] = (char)(0x80 | (c & 0x3F));
	return 4;
}

static const char *
norm(const char *s)
{
	static char out[512];

	if (!crisis_normalize_utf8(lex, s, strlen(s), out, sizeof(out)))
		return "(failed)";
	return out;
}

static bool
add(const char *kind, const char *rule, const char *pattern, const char *flags)
{
	char why[256];

	return crisis_lexicon_add(lex, kind, rule, pattern, flags, "test", why,
	    sizeof(why));
}

static const char *
why_not(const char *kind, const char *rule, const char *pattern,
    const char *flags)
{
	static char why[256];

	if (crisis_lexicon_add(lex, kind, rule, pattern, flags, "t", why,
	    sizeof(why)))
		return "(added)";
	return why;
}

static const char *
level(const char *text)
{
	struct crisis_verdict v;

	if (!crisis_check(lex, text, strlen(text), &v))
		return "(failed)";
	return crisis_level_name(v.level);
}

static void
test_normalize(void)
{
	is_str(norm("ｼﾆﾀｲ"), "しにたい", "half-width katakana, as hiragana");
	is_str(norm("シニタイ"), "しにたい", "katakana, as hiragana");
	is_str(norm("し に た い"), "しにたい", "spaces between characters go");
	is_str(norm("死.に.た.い"), "死にたい", "so do symbols");
	is_str(norm("しにたいーーー"), "しにたい", "elongation goes");
	is_str(norm("らくになりたーい"), "らくになりたい", "in the middle too");
	is_str(norm("つらぁい"), "つらい", "a small vowel stretching a sound goes");
	is_str(norm("つらすぎいいい"), "つらすぎい", "runs of one character collapse");
	is_str(norm("ｓｈｉｎｉｔａｉ"), "shinitai", "full-width letters, folded");
	is_str(norm("SHINITAI"), "shinitai", "upper case, folded");
	is_str(norm("ﾛｰﾌﾟ買った"), "ろぷ買つた", "small っ reads as つ; ｰ goes");
	is_str(norm("もう無理😢💊"), "もう無理", "emoji go");
	is_str(norm("ｼﾞｻﾂ"), "じさつ", "half-width voiced marks compose");
	is_str(norm("a\xff\xfe" "b"), "ab", "invalid UTF-8 is read, not trusted");
	is_str(norm(""), "", "empty text is fine");
	/* Text of kana, kanji and lower-case ASCII skips the full fold:
	 * the same text with one character that needs it must agree. */
	is_str(norm("キョウモガッコウ"), norm("ｷｮｳﾓｶﾞｯｺｳ"),
	    "the fast path and the full fold agree on kana");
	is_str(norm("死\xe3\x85\xa4に\xe3\x85\xa4たい"), "死にたい",
	    "the Hangul filler pasted as a blank hides nothing");
	is_str(norm("死\xe2\x80\x8bにたい\xef\xb8\x8f"), "死にたい",
	    "nor do zero-width characters");
	is_str(norm("こ\xe2\x80\x8b\xef\xbe\x9eろして"), "ごろして",
	    "a voiced mark still joins across one");
	is_str(norm("ｳﾁ 4ぬ"), "うち4ぬ", "half-width kana with a digit");
	is_str(norm("ヿ"), "こと", "ヿ is no plain katakana: folded in full");
	is_str(norm("ゟ"), "より", "nor is ゟ");
	is_str(norm("ﬁ①Σ"), "fi1σ", "compatibility forms and capitals");
	is_str(norm("ＯＤした１０錠"), "odした10錠", "full-width letters and digits, simply");
	is_str(norm("人々😭"), "人々", "々 is a letter");
	is_str(norm("は\xe3\x82\x99"), "ば", "a combining voiced mark composes");
}

/*
 * Every character the normaliser folds or drops by itself, without
 * Unicode's tables, must come out as the full fold makes it. A half-width
 * ｶ after it sends the whole text through the full fold.
 */
static void
test_fast_fold(void)
{
	static const uint32_t ranges[][2] = {
		{ 0x20, 0x7E }, { 0x2000, 0x206F }, { 0x2190, 0x21FF },
		{ 0x2500, 0x27BF }, { 0x3000, 0x301F }, { 0x3041, 0x3096 },
		{ 0x30A1, 0x30FE }, { 0x4E00, 0x9FFF }, { 0xFE0E, 0xFE0F },
		{ 0xFF01, 0xFF65 }, { 0x1F300, 0x1FAFF },
	};
	char one[8], two[16], want[520], got[520];
	int differ = 0;
	uint32_t first = 0;

	for (size_t r = 0; r < sizeof(ranges) / sizeof(ranges[0]); r++)
		for (uint32_t c = ranges[r][0]; c <= ranges[r][1]; c++) {
			size_t n = utf8_put(one, c);

			memcpy(two, one, n);
			memcpy(two + n, "\xef\xbd\xb6", 4);	/* ｶ */
			one[n] = '\0';
			snprintf(want, sizeof(want), "%s", norm(one));
			n = strlen(want);
			/* か after か collapses */
			if (n < 3 || strcmp(want + n - 3, "か") != 0)
				strcat(want, "か");
			snprintf(got, sizeof(got), "%s", norm(two));
			if (strcmp(want, got) != 0 && differ++ == 0)
				first = c;
		}
	if (!ok(differ == 0, "every character folded by itself is folded as "
	    "the full fold does"))
		printf("#   %d differ, the first U+%04X\n", differ,
		    (unsigned)first);
}

static void
test_patterns(void)
{
	ok(add("high", "intent", "(死|し|4)にたい", "neg"), "a pattern with choices");
	ok(add("medium", "hopeless", "(もう)?(無理|限界)", "soft"), "an optional group");
	ok(add("high", "means", "(ロープ|縄)*(買|用意)", NULL), "a gap");
	ok(add("except", "idiom", "死ぬ(ほど|気で)", NULL), "an exception");
	ok(add("high", "intent2", "死ぬ", NULL), "a bare term");
	ok(add("lower", "third", "(友達|娘)(が)?*(死にたい)*(って|と)", NULL),
	    "a lowering");
	ok(add("high", "abuse", "殴られ", "firm"), "a firm term");
	ok(add("soften", "laugh", "(w|笑)", NULL), "a laugh marker");
	ok(add("negate", "denial", "(とか|とかは)(思|おも)(わない|ってない)", NULL),
	    "a denial");
	ok(add("context-high", "farewell", "さようなら", NULL), "a context term");

	is_str(why_not("loud", "x", "a", NULL), "t: unknown kind \"loud\"",
	    "an unknown kind is refused");
	like(why_not("high", "Bad Rule", "a", NULL), "a rule name",
	    "a rule name with spaces or capitals is refused");
	like(why_not("high", "x", "a", "soft,loud"), "flags are",
	    "an unknown flag is refused");
	like(why_not("high", "x", "(a|b", NULL), "no closing",
	    "an unclosed group is refused");
	like(why_not("high", "x", "a)", NULL), "outside", "a stray ) is refused");
	like(why_not("high", "x", "a?", NULL), "outside", "a stray ? is refused");
	like(why_not("high", "x", "(a|)", NULL), "empty alternative",
	    "an empty alternative is refused");
	like(why_not("high", "x", "*a", NULL), "starts or ends",
	    "a leading gap is refused");
	like(why_not("high", "x", "a*", NULL), "starts or ends",
	    "a trailing gap is refused");
	like(why_not("high", "x", "！？", NULL), "no letters",
	    "a pattern of symbols only is refused");
	like(why_not("high", "x", "(a(b))", NULL), "inside ( )",
	    "nested groups are refused");
}

static void
test_matching(void)
{
	struct crisis_verdict v;
	const char *t = "明日、もう死ぬ";

	is_str(level("死にたい"), "high", "a term");
	is_str(level("ｼ ﾆ ﾀ ｲ"), "high", "the same, normalised");
	is_str(level("4にたい"), "high", "a choice in the pattern");
	is_str(level("今日の夕飯なに"), "none", "an ordinary message");
	is_str(level("死ぬほど眠い"), "none", "an exception hides the term");
	is_str(level("死ぬ気で頑張る、でも死にたい"), "high",
	    "but only what it covers");
	is_str(level("死にたいとかは思ってない"), "none",
	    "a denial after a neg term cancels it");
	is_str(level("もう無理"), "medium", "a medium term");
	is_str(level("もう無理ｗ"), "none", "a soft term beside a laugh");
	is_str(level("ロープをネットで買った"), "high",
	    "a gap of a few characters");
	is_str(level("ロープ、それとあと色々なものをまとめて買った"), "none",
	    "but not of more than ten");
	is_str(level("娘が最近死にたいって言います"), "medium",
	    "a lowering makes a high term medium");
	is_str(level("娘が彼氏に殴られてるって"), "high",
	    "but not a firm one");
	ok(crisis_check(lex, t, strlen(t), &v), "check succeeds");
	is_str(v.rule, "intent2@test", "the rule is its name and where it is");
	ok(crisis_check(lex, "さようなら", strlen("さようなら"), &v) &&
	    v.level == CRISIS_NONE && v.context_level == CRISIS_HIGH,
	    "a context term: none alone, high in context");
	is_str(v.context_rule, "farewell@test", "with its rule");
}

static void
test_rule_labels(void)
{
	char source[200], why[256];
	struct crisis_verdict v;

	memset(source, 'x', sizeof(source) - 1);
	source[sizeof(source) - 1] = '\0';
	memcpy(source, "長い名前", strlen("長い名前"));
	ok(crisis_lexicon_add(lex, "high", "long", "あいうえお", NULL, source,
	    why, sizeof(why)), "a line from a long-named source");
	ok(crisis_check(lex, "あいうえお", strlen("あいうえお"), &v), "matches");
	ok(strlen(v.rule) < CRISIS_RULE_MAX, "its label fits");
	like(v.rule, "…$", "and ends in …, cut at a character boundary");
	like(v.rule, "long@", "naming the rule, not the words");
}

/* What an independent review found (2026-11-23), kept found. */
static void
test_review_cases(void)
{
	ok(add("high", "two", "き(え|く)え(る|た)", NULL), "choices after a shared letter");
	is_str(level("きえた"), "high", "every choice is spelled right (a "
	    "collapse once rewrote the others)");
	is_str(level("きくえた"), "high", "each of them");
	ok(add("except", "game", "(げえむ)*(死)", NULL), "an exception with a gap");
	is_str(level("げえむで負けた。死にたい"), "none",
	    "what the exception names is hidden");
	ok(add("except", "prefix", "(彼氏)*(さようなら)", NULL),
	    "an exception whose gap spans a term");
	is_str(level("彼氏と別れた。死にたい。さようなら"), "high",
	    "what its gap skipped still counts");
	is_str(level("もう笑えない。もう無理"), "medium",
	    "a laugh before a soft term does not cancel it");
	is_str(level("wifi止められた。もう無理"), "medium",
	    "nor does a w inside a word");
	is_str(level("もう無理www"), "none", "a laugh right after it does");
	like(why_not("high", "x", "あ*い*う*え*お", NULL), "more than 3 gaps",
	    "more than three gaps are refused: matching would crawl");
	is_str(level("👍"), "none", "a message of emoji only is none");
}

static void
test_json(void)
{
	char why[256];

	ok(crisis_terms_valid(NULL, "[]", why, sizeof(why)), "no desk lines");
	ok(crisis_terms_valid(NULL, "[{\"kind\":\"high\",\"rule\":\"desk\","
	    "\"pattern\":\"ほげ\",\"flags\":\"soft\"}]", why, sizeof(why)),
	    "one desk line");
	ok(!crisis_terms_valid(NULL, "{}", why, sizeof(why)), "an object is refused");
	ok(!crisis_terms_valid(NULL, "[{\"kind\":\"high\"}]", why, sizeof(why)),
	    "a line without pattern is refused");
	is_str(why, "crisis_terms[0]: kind, rule and pattern are strings",
	    "saying which");
	ok(!crisis_terms_valid(NULL, "[{\"kind\":\"high\",\"rule\":\"x\","
	    "\"pattern\":\"(a|b\"}]", why, sizeof(why)),
	    "a broken pattern is refused");
}

int
main(void)
{
	char why[256];

	lex = crisis_lexicon_new(why, sizeof(why));
	ok(lex != NULL, "a lexicon");
	if (lex == NULL)
		return done_testing();
	test_normalize();
	test_fast_fold();
	test_patterns();
	test_matching();
	test_rule_labels();
	test_review_cases();
	test_json();
	crisis_lexicon_free(lex);
	return done_testing();
}
