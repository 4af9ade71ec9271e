/*
 * log.h - one line per event on stderr, as key=value pairs.
 *
 * Callers pass an event name and their own key=value text. Never pass message
 * text, names, LINE user ids, tokens or secrets: log ids, sizes and statuses.
 */
#ifndef MADOGUCHI_LOG_H
#define MADOGUCHI_LOG_H

#include <stdbool.h>

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

bool	log_set_level_name(const char *name);
bool	log_enabled(enum log_level level);
void	log_event(enum log_level level, const char *event, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));

#define log_debug(ev, ...)	log_event(LOG_DEBUG, ev, __VA_ARGS__)
#define log_info(ev, ...)	log_event(LOG_INFO, ev, __VA_ARGS__)
#define log_warn(ev, ...)	log_event(LOG_WARN, ev, __VA_ARGS__)
#define log_error(ev, ...)	log_event(LOG_ERROR, ev, __VA_ARGS__)

#endif
