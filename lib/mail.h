/*
 * mail.h - composing a plain-text e-mail (RFC 5322 with MIME, UTF-8) for
 * submission through http_client_send_mail.
 *
 * Headers other than addresses are encoded words (RFC 2047) and the body is
 * base64, so Japanese text arrives intact through any relay.
 */
#ifndef MADOGUCHI_MAIL_H
#define MADOGUCHI_MAIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MAIL_ADDRESS_MAX	254

struct mail_message {
	const char	*from;		/* address */
	const char	*from_name;	/* UTF-8 display name, or NULL */
	const char *const *to;		/* n_to addresses */
	size_t		 n_to;
	const char	*subject;	/* UTF-8 */
	const char	*body;		/* UTF-8, lines ending in \n */
	int64_t		 date_us;	/* microseconds since the epoch (UTC) */
};

/*
 * A plain address (local@domain, no display name, no spaces or controls,
 * at most MAIL_ADDRESS_MAX bytes): all the desk's settings may hold.
 */
bool	mail_address_valid(const char *addr);

/*
 * The message with CRLF line ends, NUL-terminated, its length in *len; NULL
 * when out of memory or an address is not valid. Free with free().
 */
char	*mail_compose(const struct mail_message *m, size_t *len);

#endif
