/*
 * calendar - summary of an iCalendar object, parsed with libical (see
 * calendar.h). libical does the parsing, unfolding, unescaping and the
 * time zone arithmetic; this file only picks the fields.
 */
#include "check/calendar.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <glib.h>
#include <libical/ical.h>

#include "core/xalloc.h"

static void add_str(cJSON *o, const char *name, const char *v) {
    gchar *valid = g_utf8_make_valid(v ? v : "", -1);
    cJSON_AddStringToObject(o, name, valid);
    g_free(valid);
}

/* "mailto:ann@example.com" -> "ann@example.com" */
static const char *cal_address(const char *v) {
    if (!v) return "";
    if (!strncasecmp(v, "mailto:", 7)) return v + 7;
    return v;
}

static const char *param_cn(icalproperty *p) {
    icalparameter *cn = icalproperty_get_first_parameter(p, ICAL_CN_PARAMETER);
    return cn ? icalparameter_get_cn(cn) : "";
}

static void add_time(cJSON *o, const char *name, struct icaltimetype t, bool *floating) {
    char s[40] = "";
    if (icaltime_is_null_time(t) || !icaltime_is_valid_time(t)) {
        /* absent */
    } else if (t.is_date) {
        snprintf(s, sizeof s, "%04d-%02d-%02d", t.year, t.month, t.day);
    } else if (icaltime_is_utc(t) || t.zone) {
        time_t tt = icaltime_as_timet_with_zone(t, t.zone ? t.zone : icaltimezone_get_utc_timezone());
        struct tm tm;
        if (gmtime_r(&tt, &tm)) strftime(s, sizeof s, "%Y-%m-%dT%H:%M:%SZ", &tm);
    } else {
        snprintf(s, sizeof s, "%04d-%02d-%02dT%02d:%02d:%02d", t.year, t.month, t.day, t.hour, t.minute, t.second);
        *floating = true;
    }
    cJSON_AddStringToObject(o, name, s);
}

static const char *tzid_of(icalproperty *p) {
    icalparameter *tz = p ? icalproperty_get_first_parameter(p, ICAL_TZID_PARAMETER) : NULL;
    return tz ? icalparameter_get_tzid(tz) : NULL;
}

static const char *partstat_name(icalproperty *p) {
    icalparameter *ps = icalproperty_get_first_parameter(p, ICAL_PARTSTAT_PARAMETER);
    if (!ps) return "";
    switch (icalparameter_get_partstat(ps)) {
    case ICAL_PARTSTAT_NEEDSACTION: return "NEEDS-ACTION";
    case ICAL_PARTSTAT_ACCEPTED: return "ACCEPTED";
    case ICAL_PARTSTAT_DECLINED: return "DECLINED";
    case ICAL_PARTSTAT_TENTATIVE: return "TENTATIVE";
    case ICAL_PARTSTAT_DELEGATED: return "DELEGATED";
    default: return "";
    }
}

static cJSON *event_json(icalcomponent *ev) {
    cJSON *e = cJSON_CreateObject();
    add_str(e, "UID", icalcomponent_get_uid(ev));
    add_str(e, "Summary", icalcomponent_get_summary(ev));
    add_str(e, "Description", icalcomponent_get_description(ev));
    add_str(e, "Location", icalcomponent_get_location(ev));
    icalproperty *url = icalcomponent_get_first_property(ev, ICAL_URL_PROPERTY);
    add_str(e, "URL", url ? icalproperty_get_url(url) : "");
    icalproperty *st = icalcomponent_get_first_property(ev, ICAL_STATUS_PROPERTY);
    const char *status = st ? icalproperty_status_to_string(icalproperty_get_status(st)) : "";
    add_str(e, "Status", status);
    icalproperty *seq = icalcomponent_get_first_property(ev, ICAL_SEQUENCE_PROPERTY);
    cJSON_AddNumberToObject(e, "Sequence", seq ? icalproperty_get_sequence(seq) : 0);
    icalproperty *ps = icalcomponent_get_first_property(ev, ICAL_DTSTART_PROPERTY);
    bool floating = false;
    struct icaltimetype start = ps ? icalcomponent_get_dtstart(ev) : icaltime_null_time();
    struct icaltimetype end = icaltime_null_time();
    if (ps && (icalcomponent_get_first_property(ev, ICAL_DTEND_PROPERTY) ||
               icalcomponent_get_first_property(ev, ICAL_DURATION_PROPERTY)))
        end = icalcomponent_get_dtend(ev);
    add_time(e, "Start", start, &floating);
    add_time(e, "End", end, &floating);
    cJSON_AddBoolToObject(e, "AllDay", ps && start.is_date);
    const char *tzid = tzid_of(ps);
    if (!tzid && ps && icaltime_is_utc(start)) tzid = "UTC";
    add_str(e, "TimeZone", tzid);
    cJSON_AddBoolToObject(e, "Floating", floating);
    cJSON_AddBoolToObject(e, "Recurring", icalcomponent_get_first_property(ev, ICAL_RRULE_PROPERTY) != NULL ||
                                              icalcomponent_get_first_property(ev, ICAL_RDATE_PROPERTY) != NULL);
    cJSON *org = cJSON_AddObjectToObject(e, "Organizer");
    icalproperty *op = icalcomponent_get_first_property(ev, ICAL_ORGANIZER_PROPERTY);
    add_str(org, "Name", op ? param_cn(op) : "");
    add_str(org, "Address", op ? cal_address(icalproperty_get_organizer(op)) : "");
    cJSON *att = cJSON_AddArrayToObject(e, "Attendees");
    int n = 0;
    for (icalproperty *a = icalcomponent_get_first_property(ev, ICAL_ATTENDEE_PROPERTY);
         a && n < CALENDAR_MAX_ATTENDEES; a = icalcomponent_get_next_property(ev, ICAL_ATTENDEE_PROPERTY), n++) {
        cJSON *ao = cJSON_CreateObject();
        add_str(ao, "Name", param_cn(a));
        add_str(ao, "Address", cal_address(icalproperty_get_attendee(a)));
        add_str(ao, "Status", partstat_name(a));
        cJSON_AddItemToArray(att, ao);
    }
    return e;
}

static void add_events(icalcomponent *cal, cJSON *events, int *count) {
    for (icalcomponent *ev = icalcomponent_get_first_component(cal, ICAL_VEVENT_COMPONENT); ev;
         ev = icalcomponent_get_next_component(cal, ICAL_VEVENT_COMPONENT)) {
        if (*count < CALENDAR_MAX_EVENTS) cJSON_AddItemToArray(events, event_json(ev));
        (*count)++;
    }
}

cJSON *calendar_summary(const char *data, size_t len) {
    /* an error is an answer here, never an abort() (libical's default) */
    icalerror_set_errors_are_fatal(0);
    char *text = xstrndup(data ? data : "", len);
    icalcomponent *root = icalparser_parse_string(text);
    free(text);
    icalerror_clear_errno();
    if (!root) return NULL;
    /* one VCALENDAR, or several under an XROOT */
    cJSON *o = NULL, *events = NULL;
    int count = 0;
    const char *method = "";
    if (icalcomponent_isa(root) == ICAL_VCALENDAR_COMPONENT) {
        o = cJSON_CreateObject();
        events = cJSON_CreateArray();
        icalproperty *m = icalcomponent_get_first_property(root, ICAL_METHOD_PROPERTY);
        if (m) method = icalproperty_method_to_string(icalproperty_get_method(m));
        add_events(root, events, &count);
    } else if (icalcomponent_isa(root) == ICAL_XROOT_COMPONENT) {
        for (icalcomponent *c = icalcomponent_get_first_component(root, ICAL_VCALENDAR_COMPONENT); c;
             c = icalcomponent_get_next_component(root, ICAL_VCALENDAR_COMPONENT)) {
            if (!o) {
                o = cJSON_CreateObject();
                events = cJSON_CreateArray();
                icalproperty *m = icalcomponent_get_first_property(c, ICAL_METHOD_PROPERTY);
                if (m) method = icalproperty_method_to_string(icalproperty_get_method(m));
            }
            add_events(c, events, &count);
        }
    }
    if (o) {
        add_str(o, "Method", method);
        cJSON_AddNumberToObject(o, "EventCount", count);
        cJSON_AddItemToObject(o, "Events", events);
    }
    icalcomponent_free(root);
    return o;
}
