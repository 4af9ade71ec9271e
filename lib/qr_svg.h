/*
 * qr_svg.h - a QR code as a small standalone SVG, for the console to show
 * a TOTP enrolment URI without a client-side library or an image file.
 */
#ifndef MADOGUCHI_QR_SVG_H
#define MADOGUCHI_QR_SVG_H

/*
 * text (UTF-8, as bytes) encoded with error correction level M, drawn in
 * module units with a 4-module quiet zone: viewBox "0 0 W W" where W is
 * the symbol's width + 8, a white background, the dark modules as one
 * <path> of horizontal runs "Mx yhnv1h-nz", no width or height (CSS sizes
 * it), role="img" and a <title> holding title XML-escaped for screen
 * readers (none when title is NULL). Malloc'd; NULL when text is NULL or
 * empty, too long for a QR code (about 2,300 bytes at level M), or memory
 * ran out.
 */
char	*qr_svg(const char *text, const char *title);

#endif
