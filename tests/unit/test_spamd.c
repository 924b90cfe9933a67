/*
 * test_spamd - SpamAssassin's spamd protocol: the REPORT request, and the
 * parse of a real spamd 4.0 answer (score, threshold, rules with their
 * descriptions) and of an error answer; Mailpit's JSON shape.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "check/spamd.h"

/* recorded from Debian 12's spamd 4.0.1 (LF here; spamd sends CRLF in the head) */
static const char answer[] =
    "SPAMD/1.1 0 EX_OK\n"
    "Content-length: 918\n"
    "Spam: True ; 6.0 / 5.0\n"
    "\n"
    "Spam detection software, running on the system \"vm\",\n"
    "has identified this incoming email as possible spam.  The original\n"
    "message has been attached to this so you can view it or label\n"
    "similar future email.  If you have any questions, see\n"
    "@@CONTACT_ADDRESS@@ for details.\n"
    "\n"
    "Content preview:  Buy now!!! $$$$ \n"
    "\n"
    "Content analysis details:   (6.0 points, 5.0 required)\n"
    "\n"
    " pts rule name              description\n"
    "---- ---------------------- --------------------------------------------------\n"
    " 0.6 MISSING_MID            Missing Message-Id: header\n"
    "-0.0 NO_RECEIVED            Informational: message has no Received headers\n"
    " 2.7 MISSING_DATE           Missing Date: header\n"
    " 0.9 MISSING_HEADERS        Missing To: header\n"
    "-0.0 NO_RELAYS              Informational: message was not relayed via SMTP\n"
    " 1.8 DRUGS_ERECTILE         Refers to an erectile drug\n"
    " 0.0 NO_HEADERS_MESSAGE     Message appears to be missing most RFC-822 headers\n"
    "\n"
;

static void test_request(void **state) {
    (void)state;
    buf_t b = BUF_INIT;
    spamd_request("Subject: x\r\n\r\nhi\r\n", 18, &b);
    assert_string_equal(buf_cstr(&b), "REPORT SPAMC/1.5\r\nContent-length: 18\r\n\r\nSubject: x\r\n\r\nhi\r\n");
    buf_free(&b);
}

static void test_report(void **state) {
    (void)state;
    struct spam_result r;
    buf_t err = BUF_INIT;
    assert_int_equal(spamd_parse_response(answer, sizeof answer - 1, &r, &err), 0);
    assert_int_equal(r.code, 0);
    assert_string_equal(r.message, "EX_OK");
    assert_true(r.is_spam);
    assert_true(r.score > 5.9 && r.score < 6.1);
    assert_true(r.threshold > 4.9 && r.threshold < 5.1);
    assert_int_equal(r.nrules, 7);
    assert_string_equal(r.rules[0].name, "MISSING_MID");
    assert_string_equal(r.rules[0].description, "Missing Message-Id: header");
    assert_true(r.rules[2].score > 2.6 && r.rules[2].score < 2.8);
    assert_string_equal(r.rules[5].name, "DRUGS_ERECTILE");
    assert_string_equal(r.rules[6].description, "Message appears to be missing most RFC-822 headers");
    cJSON *j = spam_result_json(&r, NULL);
    char *s = cJSON_PrintUnformatted(j);
    assert_non_null(strstr(s, "\"IsSpam\":true,\"Error\":\"\",\"Score\":6,\"Rules\":[{\"Score\":0.6,\"Name\":\"MISSING_MID\""));
    free(s);
    cJSON_Delete(j);
    spam_result_free(&r);
    buf_free(&err);
}

static void test_errors(void **state) {
    (void)state;
    struct spam_result r;
    buf_t err = BUF_INIT;
    const char *bad = "SPAMD/1.0 76 Bad header line\r\n\r\n";
    assert_int_equal(spamd_parse_response(bad, strlen(bad), &r, &err), 0);
    assert_int_equal(r.code, 76);
    spam_result_free(&r);
    assert_int_equal(spamd_parse_response("HTTP/1.1 200 OK\r\n\r\n", 19, &r, &err), -1);
    assert_int_equal(spamd_parse_response("", 0, &r, &err), -1);
    const char *nospam = "SPAMD/1.1 0 EX_OK\r\nContent-length: 0\r\n\r\n";
    assert_int_equal(spamd_parse_response(nospam, strlen(nospam), &r, &err), -1);
    cJSON *j = spam_result_json(NULL, "no answer");
    char *s = cJSON_PrintUnformatted(j);
    assert_string_equal(s, "{\"IsSpam\":false,\"Error\":\"no answer\",\"Score\":0,\"Rules\":[]}");
    free(s);
    cJSON_Delete(j);
    buf_free(&err);
}

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_request), cmocka_unit_test(test_report),
                                       cmocka_unit_test(test_errors)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
