/*
 * calendar - the summary card of an iCalendar object (RFC 5545, a
 * text/calendar part or an .ics attachment: an invitation, its update or
 * cancellation), parsed by libical: the METHOD and, of each VEVENT, what
 * a mail client shows of an invitation (the fields Mailpit's page reads
 * with ical.js). Times are converted to UTC with the VTIMEZONE of the
 * object, else the system's zone of that TZID; a floating or an unknown
 * zone's time is given as it is written.
 */
#ifndef DEVMAIL_CALENDAR_H
#define DEVMAIL_CALENDAR_H

#include <stddef.h>

#include <cjson/cJSON.h>

/* events listed at most; the rest only counted (EventCount) */
#define CALENDAR_MAX_EVENTS 20
/* attendees listed per event at most */
#define CALENDAR_MAX_ATTENDEES 100

/* The summary of data (not NUL-terminated, any bytes) as JSON:
 *   {"Method": "REQUEST", "EventCount": 1, "Events": [{"UID", "Summary",
 *    "Description", "Location", "URL", "Status", "Sequence", "Start",
 *    "End", "AllDay", "TimeZone", "Floating", "Recurring",
 *    "Organizer": {"Name", "Address"}, "Attendees": [{"Name", "Address",
 *    "Status"}]}]}
 * Start/End are RFC 3339 UTC ("2026-12-10T14:00:00Z"), or a date
 * ("2026-12-10") for an all-day event, or local time without a zone
 * ("2026-12-10T14:00:00") when floating; "" when absent. Strings are
 * valid UTF-8. NULL when data holds no VCALENDAR. Caller frees. */
cJSON *calendar_summary(const char *data, size_t len);

#endif
