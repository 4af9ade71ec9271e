/*
 * JSON helpers on top of cJSON.  LINE writes every non-ASCII character of a webhook
 * body as a \uXXXX escape (emoji as surrogate pairs); that is exactly
 * what breaks receivers that re-serialise before checking the signature
 * or that decode surrogates naively, so the simulator must do the same.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "linesim.h"

static size_t	 utf8_decode(const unsigned char *, unsigned long *);
static char	*put_u16(char *, unsigned long);

/*
 * Rewrite compact JSON text so that it is pure ASCII.  Non-ASCII bytes
 * can only occur inside strings in valid JSON, so replacing each UTF-8
 * sequence by its escape keeps the document equivalent.  Invalid UTF-8
 * becomes U+FFFD, one per bad byte.
 */
char *
json_ascii_escape(const char *json)
{
	const unsigned char	*p = (const unsigned char *)json;
	char			*out, *o;
	unsigned long		 cp;
	size_t			 n;

	/* Worst case: each byte becomes a 6-byte escape. */
	out = o = xmalloc(strlen(json) * 6 + 1);
	while (*p != '\0') {
		if (*p < 0x80) {
			*o++ = (char)*p++;
			continue;
		}
		n = utf8_decode(p, &cp);
		p += n;
		if (cp > 0xffff) {
			cp -= 0x10000;
			o = put_u16(o, 0xd800 + (cp >> 10));
			o = put_u16(o, 0xdc00 + (cp & 0x3ff));
		} else
			o = put_u16(o, cp);
	}
	*o = '\0';
	return out;
}

/* Compact JSON of item; the caller frees it. */
char *
json_print(const cJSON *item)
{
	char	*s;

	if ((s = cJSON_PrintUnformatted(item)) == NULL)
		abort();	/* only on OOM, which xmalloc already traps */
	return s;
}

/*
 * Length in UTF-16 code units, the unit LINE counts text limits in:
 * characters above U+FFFF count twice.
 */
size_t
utf16_length(const char *utf8)
{
	const unsigned char	*p = (const unsigned char *)utf8;
	size_t			 n = 0;

	for (; *p != '\0'; p++) {
		if ((*p & 0xc0) == 0x80)
			continue;	/* continuation byte */
		n += *p >= 0xf0 ? 2 : 1;
	}
	return n;
}

/* Decode one UTF-8 sequence at p; returns bytes consumed (>= 1). */
static size_t
utf8_decode(const unsigned char *p, unsigned long *cp)
{
	size_t		 len, i;
	unsigned long	 v, min;

	if (p[0] >= 0xf0 && p[0] < 0xf5) {
		len = 4; v = p[0] & 0x07; min = 0x10000;
	} else if (p[0] >= 0xe0 && p[0] < 0xf0) {
		len = 3; v = p[0] & 0x0f; min = 0x800;
	} else if (p[0] >= 0xc2 && p[0] < 0xe0) {
		len = 2; v = p[0] & 0x1f; min = 0x80;
	} else
		goto bad;
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			goto bad;
		v = (v << 6) | (p[i] & 0x3f);
	}
	if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		goto bad;
	*cp = v;
	return len;
bad:
	*cp = 0xfffd;
	return 1;
}

static char *
put_u16(char *o, unsigned long u)
{
	/* Upper-case hex, as in LINE's bodies ("\uD83D\uDE4F"). */
	snprintf(o, 7, "\\u%04lX", u);
	return o + 6;
}

/*
 * True if item is a JSON number holding an integer in [min, max]; the
 * value is stored in *out.  (Avoids floor(): the build links no libm.)
 */
bool
json_int(const cJSON *item, long min, long max, long *out)
{
	double	d;

	if (!cJSON_IsNumber(item))
		return false;
	d = item->valuedouble;
	if (d < (double)min || d > (double)max || (double)(long)d != d)
		return false;
	*out = (long)d;
	return true;
}

/* The string value of key in obj, or NULL if absent or not a string. */
const char *
json_string(const cJSON *obj, const char *key)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(obj, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}
