/*
 * qr_svg.c - libqrencode's module matrix written out as SVG text through a
 * memory stream, row by row, one path segment per run of dark modules.
 */
#include "qr_svg.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include <qrencode.h>

#define QR_SVG_QUIET	4	/* modules of white around the symbol */

/*
 * Text content escaped for XML. Control characters other than tab and
 * newline are not allowed in XML 1.0 at all, so they are left out.
 */
static void
qr_svg_escape(FILE *f, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '&':
			fputs("&amp;", f);
			break;
		case '<':
			fputs("&lt;", f);
			break;
		case '>':
			fputs("&gt;", f);
			break;
		case '"':
			fputs("&quot;", f);
			break;
		case '\'':
			fputs("&apos;", f);
			break;
		default:
			if (*p >= 0x20 || *p == '\t' || *p == '\n')
				fputc(*p, f);
			break;
		}
	}
}

/* Bit 0 of each byte of the matrix is the module's colour: 1 is dark. */
static void
qr_svg_path(FILE *f, const QRcode *qr)
{
	int w = qr->width;

	for (int y = 0; y < w; y++) {
		const unsigned char *row = qr->data + (size_t)y * (size_t)w;

		for (int x = 0; x < w; ) {
			int run = 0;

			while (x + run < w && (row[x + run] & 1))
				run++;
			if (run > 0)
				fprintf(f, "M%d %dh%dv1h-%dz", x + QR_SVG_QUIET,
				    y + QR_SVG_QUIET, run, run);
			x += run > 0 ? run : 1;
		}
	}
}

char *
qr_svg(const char *text, const char *title)
{
	QRcode *qr;
	char *svg = NULL;
	size_t len;
	FILE *f;
	int size;
	bool ok;

	if (text == NULL || text[0] == '\0')
		return NULL;
	if ((qr = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1)) ==
	    NULL)
		return NULL;
	if ((f = open_memstream(&svg, &len)) == NULL) {
		QRcode_free(qr);
		return NULL;
	}
	size = qr->width + 2 * QR_SVG_QUIET;
	fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d "
	    "%d\" role=\"img\" shape-rendering=\"crispEdges\">", size, size);
	if (title != NULL) {
		fputs("<title>", f);
		qr_svg_escape(f, title);
		fputs("</title>", f);
	}
	fprintf(f, "<rect width=\"%d\" height=\"%d\" fill=\"#fff\"/>"
	    "<path fill=\"#000\" d=\"", size, size);
	qr_svg_path(f, qr);
	fputs("\"/></svg>", f);
	QRcode_free(qr);
	ok = !ferror(f);
	if (fclose(f) != 0)
		ok = false;
	if (!ok) {
		free(svg);
		return NULL;
	}
	return svg;
}
