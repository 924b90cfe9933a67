/*
 * test_calendar - the summary of an iCalendar invitation (libical): the
 * method, title, times converted to UTC with the object's VTIMEZONE or
 * the system's zone, all-day and floating times, organiser and
 * attendees, a cancellation, several calendars, and junk (NULL).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "check/calendar.h"

static const char *str(cJSON *o, const char *name) {
    cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    assert_true(cJSON_IsString(v));
    return v->valuestring;
}

static cJSON *first_event(cJSON *o) {
    cJSON *ev = cJSON_GetObjectItemCaseSensitive(o, "Events");
    assert_true(cJSON_IsArray(ev));
    cJSON *e = cJSON_GetArrayItem(ev, 0);
    assert_non_null(e);
    return e;
}

static cJSON *summary(const char *ics) {
    return calendar_summary(ics, strlen(ics));
}

/* Outlook's kind of invitation: VTIMEZONE in the object, escaped text,
 * a folded line, CN parameters. */
static const char INVITE[] =
    "BEGIN:VCALENDAR\r\nPRODID:-//Test//EN\r\nVERSION:2.0\r\nMETHOD:REQUEST\r\n"
    "BEGIN:VTIMEZONE\r\nTZID:Europe/Berlin\r\n"
    "BEGIN:STANDARD\r\nDTSTART:19701025T030000\r\nRRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r\n"
    "TZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nTZNAME:CET\r\nEND:STANDARD\r\n"
    "BEGIN:DAYLIGHT\r\nDTSTART:19700329T020000\r\nRRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r\n"
    "TZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\nTZNAME:CEST\r\nEND:DAYLIGHT\r\nEND:VTIMEZONE\r\n"
    "BEGIN:VEVENT\r\nUID:abc-123@example.com\r\nSEQUENCE:2\r\nSTATUS:CONFIRMED\r\n"
    "SUMMARY:Sprint review\\, Q4\r\nLOCATION:Room 4\\; 2nd floor\r\n"
    "DESCRIPTION:Agenda:\\n1. Demo\r\n"
    "DTSTART;TZID=Europe/Berlin:20261210T140000\r\nDTEND;TZID=Europe/Berlin:20261210T153000\r\n"
    "ORGANIZER;CN=\"Ann Organiser\":mailto:ann@example.com\r\n"
    "ATTENDEE;CN=Bob;PARTSTAT=ACCEPTED:mailto:bob@example.com\r\n"
    "ATTENDEE;PARTSTAT=NEEDS-ACTION:MAILTO:carl@example.com\r\n"
    "URL:https://meet.example/r\r\n  oom\r\n"
    "END:VEVENT\r\nEND:VCALENDAR\r\n";

static void test_invitation(void **state) {
    (void)state;
    cJSON *o = summary(INVITE);
    assert_non_null(o);
    assert_string_equal(str(o, "Method"), "REQUEST");
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(o, "EventCount")->valueint, 1);
    cJSON *e = first_event(o);
    assert_string_equal(str(e, "Summary"), "Sprint review, Q4");
    assert_string_equal(str(e, "Location"), "Room 4; 2nd floor");
    assert_string_equal(str(e, "Description"), "Agenda:\n1. Demo");
    assert_string_equal(str(e, "UID"), "abc-123@example.com");
    assert_string_equal(str(e, "Status"), "CONFIRMED");
    assert_string_equal(str(e, "URL"), "https://meet.example/r oom");
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(e, "Sequence")->valueint, 2);
    /* 14:00 CET (UTC+1 in December) */
    assert_string_equal(str(e, "Start"), "2026-12-10T13:00:00Z");
    assert_string_equal(str(e, "End"), "2026-12-10T14:30:00Z");
    assert_string_equal(str(e, "TimeZone"), "Europe/Berlin");
    assert_false(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e, "AllDay")));
    assert_false(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e, "Floating")));
    assert_false(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e, "Recurring")));
    cJSON *org = cJSON_GetObjectItemCaseSensitive(e, "Organizer");
    assert_string_equal(str(org, "Name"), "Ann Organiser");
    assert_string_equal(str(org, "Address"), "ann@example.com");
    cJSON *att = cJSON_GetObjectItemCaseSensitive(e, "Attendees");
    assert_int_equal(cJSON_GetArraySize(att), 2);
    assert_string_equal(str(cJSON_GetArrayItem(att, 0), "Name"), "Bob");
    assert_string_equal(str(cJSON_GetArrayItem(att, 0), "Status"), "ACCEPTED");
    assert_string_equal(str(cJSON_GetArrayItem(att, 1), "Address"), "carl@example.com");
    assert_string_equal(str(cJSON_GetArrayItem(att, 1), "Status"), "NEEDS-ACTION");
    cJSON_Delete(o);
}

/* Summer time of the same VTIMEZONE; DURATION instead of DTEND. */
static void test_summer_and_duration(void **state) {
    (void)state;
    char *ics = strdup(INVITE);
    char *p = strstr(ics, "20261210T140000");
    memcpy(p, "20260710T140000", 15);
    p = strstr(ics, "DTEND;TZID=Europe/Berlin:20261210T153000");
    memcpy(p, "DURATION:PT45M                          ", 40);
    cJSON *o = summary(ics);
    assert_non_null(o);
    cJSON *e = first_event(o);
    assert_string_equal(str(e, "Start"), "2026-07-10T12:00:00Z");
    assert_string_equal(str(e, "End"), "2026-07-10T12:45:00Z");
    cJSON_Delete(o);
    free(ics);
}

/* A TZID without VTIMEZONE: the system's zone database (Google sends so). */
static void test_system_zone_utc_allday_floating(void **state) {
    (void)state;
    cJSON *o = summary("BEGIN:VCALENDAR\nVERSION:2.0\nMETHOD:CANCEL\n"
                       "BEGIN:VEVENT\nUID:1\nSUMMARY:NY call\nSTATUS:CANCELLED\n"
                       "DTSTART;TZID=America/New_York:20260115T090000\nEND:VEVENT\n"
                       "BEGIN:VEVENT\nUID:2\nSUMMARY:UTC\nDTSTART:20260115T090000Z\nDTEND:20260115T100000Z\n"
                       "RRULE:FREQ=WEEKLY\nEND:VEVENT\n"
                       "BEGIN:VEVENT\nUID:3\nSUMMARY:Holiday\nDTSTART;VALUE=DATE:20261224\n"
                       "DTEND;VALUE=DATE:20261226\nEND:VEVENT\n"
                       "BEGIN:VEVENT\nUID:4\nSUMMARY:Floating\nDTSTART:20260115T090000\nEND:VEVENT\n"
                       "END:VCALENDAR\n");
    assert_non_null(o);
    assert_string_equal(str(o, "Method"), "CANCEL");
    cJSON *ev = cJSON_GetObjectItemCaseSensitive(o, "Events");
    assert_int_equal(cJSON_GetArraySize(ev), 4);
    cJSON *e = cJSON_GetArrayItem(ev, 0);
    assert_string_equal(str(e, "Start"), "2026-01-15T14:00:00Z");
    assert_string_equal(str(e, "End"), "");
    assert_string_equal(str(e, "Status"), "CANCELLED");
    assert_string_equal(str(e, "TimeZone"), "America/New_York");
    e = cJSON_GetArrayItem(ev, 1);
    assert_string_equal(str(e, "Start"), "2026-01-15T09:00:00Z");
    assert_string_equal(str(e, "TimeZone"), "UTC");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e, "Recurring")));
    e = cJSON_GetArrayItem(ev, 2);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e, "AllDay")));
    assert_string_equal(str(e, "Start"), "2026-12-24");
    assert_string_equal(str(e, "End"), "2026-12-26");
    e = cJSON_GetArrayItem(ev, 3);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e, "Floating")));
    assert_string_equal(str(e, "Start"), "2026-01-15T09:00:00");
    cJSON_Delete(o);
}

static void test_many_events_and_junk(void **state) {
    (void)state;
    char big[20000] = "BEGIN:VCALENDAR\nVERSION:2.0\n";
    for (int i = 0; i < CALENDAR_MAX_EVENTS + 5; i++)
        snprintf(big + strlen(big), sizeof big - strlen(big), "BEGIN:VEVENT\nUID:%d\nSUMMARY:E%d\nEND:VEVENT\n", i, i);
    strcat(big, "END:VCALENDAR\n");
    cJSON *o = summary(big);
    assert_non_null(o);
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(o, "EventCount")->valueint, CALENDAR_MAX_EVENTS + 5);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(o, "Events")), CALENDAR_MAX_EVENTS);
    cJSON_Delete(o);
    assert_null(summary(""));
    assert_null(summary("hello, this is no calendar\n"));
    assert_null(calendar_summary(NULL, 0));
    /* a NUL inside and invalid UTF-8: no crash, valid strings */
    static const char nul[] = "BEGIN:VCALENDAR\nBEGIN:VEVENT\nSUMMARY:a\xff\xfe b\nEND:VEVENT\nEND:VCALENDAR\n\0junk";
    o = calendar_summary(nul, sizeof nul - 1);
    assert_non_null(o);
    const char *s = str(first_event(o), "Summary");
    assert_non_null(strstr(s, "b"));
    assert_null(strchr(s, '\xff'));
    cJSON_Delete(o);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_invitation),
        cmocka_unit_test(test_summer_and_duration),
        cmocka_unit_test(test_system_zone_utc_allday_floating),
        cmocka_unit_test(test_many_events_and_junk),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
