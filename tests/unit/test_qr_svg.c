/*
 * QR codes as SVG: the document's shape, the escaped title, and the path
 * read back module by module against libqrencode's own matrix.
 */
#define _GNU_SOURCE	/* memmem */
#include <stdbool.h>
#include <stdlib.h>

#include <qrencode.h>

#include "qr_svg.h"
#include "tap.h"

static const char uri[] = "otpauth://totp/LINE%E7%9B%B8%E8%AB%87:sato%40"
    "example.jp?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=LINE%E7%9B%B8"
    "%E8%AB%87&algorithm=SHA1&digits=6&period=30";

static bool
ends_with(const char *s, const char *end)
{
	size_t n = strlen(s), m = strlen(end);

	return n >= m && strcmp(s + n - m, end) == 0;
}

static int
count(const char *s, const char *what)
{
	int n = 0;

	while ((s = strstr(s, what)) != NULL) {
		n++;
		s += strlen(what);
	}
	return n;
}

/*
 * Reads the path's "Mx yhnv1h-nz" runs back into a grid of size * size
 * modules; the number of dark modules, or -1 if the path is not in that
 * form, leaves the grid, or paints a module twice.
 */
static int
read_path(const char *svg, int size, unsigned char *grid)
{
	const char *d = strstr(svg, " d=\"");
	int dark = 0;

	if (d == NULL)
		return -1;
	d += 4;
	while (*d != '"') {
		int x, y, n, n2, used = 0;

		if (sscanf(d, "M%d %dh%dv1h-%dz%n", &x, &y, &n, &n2,
		    &used) != 4 || used == 0 || n != n2 || n < 1 || y < 0 || y >= size ||
		    x < 0 || x + n > size)
			return -1;
		for (int i = 0; i < n; i++) {
			if (grid[y * size + x + i])
				return -1;
			grid[y * size + x + i] = 1;
			dark++;
		}
		d += used;
	}
	return dark;
}

/* The SVG of text against QRcode_encodeString's matrix for it. */
static void
check_symbol(const char *text, const char *what)
{
	QRcode *qr = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
	char *svg = qr_svg(text, what);
	unsigned char *grid = NULL;
	int size, vb = 0, dark = 0, got, same = 1;
	char want[64];

	ok(qr != NULL && svg != NULL, "%s: encoded", what);
	if (qr == NULL || svg == NULL)
		goto done;
	size = qr->width + 8;
	snprintf(want, sizeof(want), "viewBox=\"0 0 %d %d\"", size, size);
	ok(strstr(svg, want) != NULL, "%s: %s (width %d + quiet zone)", what,
	    want, qr->width);
	if (sscanf(strstr(svg, "viewBox=\"0 0 ") + 13, "%d", &vb) != 1)
		vb = 0;
	is_int(vb, size, "%s: viewBox size", what);
	for (int i = 0; i < qr->width * qr->width; i++)
		dark += qr->data[i] & 1;
	grid = calloc((size_t)size * (size_t)size, 1);
	got = grid == NULL ? -1 : read_path(svg, size, grid);
	is_int(got, dark, "%s: dark modules in the path", what);
	for (int y = 0; grid != NULL && y < size; y++)
		for (int x = 0; x < size; x++) {
			int qx = x - 4, qy = y - 4, d = 0;

			if (qx >= 0 && qy >= 0 && qx < qr->width &&
			    qy < qr->width)
				d = qr->data[qy * qr->width + qx] & 1;
			if (grid[y * size + x] != d)
				same = 0;
		}
	ok(grid != NULL && same, "%s: every module where libqrencode put it, "
	    "quiet zone white", what);
done:
	free(grid);
	free(svg);
	QRcode_free(qr);
}

static void
test_document(void)
{
	char *svg = qr_svg(uri, "<&>\"' 二段階認証");
	const char *open_end;

	ok(svg != NULL, "TOTP URI encodes");
	if (svg == NULL)
		return;
	ok(strncmp(svg, "<svg ", 5) == 0, "starts with <svg");
	ok(ends_with(svg, "</svg>"), "ends with </svg>");
	ok(strstr(svg, "xmlns=\"http://www.w3.org/2000/svg\"") != NULL,
	    "standalone: SVG namespace");
	open_end = strchr(svg, '>');
	ok(open_end != NULL && memmem(svg, (size_t)(open_end - svg), "width",
	    5) == NULL && memmem(svg, (size_t)(open_end - svg), "height", 6) ==
	    NULL, "no width or height on <svg>");
	ok(strstr(svg, "role=\"img\"") != NULL, "role=img");
	ok(strstr(svg, "shape-rendering=\"crispEdges\"") != NULL, "crispEdges");
	ok(strstr(svg, "<title>&lt;&amp;&gt;&quot;&apos; 二段階認証</title>") !=
	    NULL, "title XML-escaped");
	is_int(count(svg, "<rect"), 1, "one background rect");
	ok(strstr(svg, "fill=\"#fff\"") != NULL, "white background");
	is_int(count(svg, "<path"), 1, "one path");
	is_int(count(svg, "<"), 6, "nothing else (svg, title, rect, path)");
	free(svg);

	svg = qr_svg("x", NULL);
	ok(svg != NULL && strstr(svg, "<title>") == NULL, "no title when NULL");
	free(svg);
	svg = qr_svg("x", "a\x01" "b");
	ok(svg != NULL && strstr(svg, "<title>ab</title>") != NULL,
	    "control characters left out of the title");
	free(svg);
}

int
main(void)
{
	static const char chars[] = "abcdefghijklmnopqrstuvwxyz0123456789"
	    "-._~:/?#[]@!$&'()*";
	char text[401], *big;

	test_document();
	check_symbol(uri, "TOTP URI");
	check_symbol("こんにちは、窓口です", "Japanese text");
	for (size_t i = 0; i < sizeof(text) - 1; i++)
		text[i] = chars[i % (sizeof(chars) - 1)];
	text[sizeof(text) - 1] = '\0';
	check_symbol(text, "400 bytes");
	ok(qr_svg(NULL, "t") == NULL, "NULL text: NULL");
	ok(qr_svg("", "t") == NULL, "empty text: NULL");
	if ((big = malloc(5001)) != NULL) {
		memset(big, 'x', 5000);
		big[5000] = '\0';
		ok(qr_svg(big, "t") == NULL, "5,000 bytes: too long for QR");
		free(big);
	}
	return done_testing();
}
