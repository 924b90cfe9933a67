/*
 * test_imap_notify - NOTIFY's argument parser (imap/imap_notify.h): the
 * forms of RFC 5465 section 8 (NONE, SET, SET STATUS, each filter, one or
 * a list of mailboxes, NONE as events, MessageNew's fetch attributes), the
 * corrected examples of errata 1804, what is BAD (section 5 pairing in the
 * selected group, mailbox events or a second group for the selected
 * mailbox, fetch attributes elsewhere, empty lists), events reported as not
 * offered (BADEVENT), and the subtree and event-name helpers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/buf.h"
#include "imap/imap_notify.h"
#include "imap/imap_parser.h"

struct parsed {
    struct imap_command cmd;
    struct imap_notify_request req;
    bool ok;
    const char *why;
};

static void parse(const char *args, struct parsed *p) {
    buf_t b = BUF_INIT;
    buf_printf(&b, "t NOTIFY %s\r\n", args);
    struct imap_parser ps;
    imap_parser_init(&ps, 65536, 65536);
    size_t used;
    assert_int_equal(imap_parser_parse(&ps, buf_cstr(&b), b.len, &p->cmd, &used), IMAP_PARSE_COMPLETE);
    buf_free(&b);
    p->ok = imap_notify_parse(p->cmd.args, p->cmd.nargs, &p->req, &p->why);
    if (!p->ok) assert_non_null(p->why);
}

static void done(struct parsed *p) {
    imap_notify_request_free(&p->req);
    imap_command_free(&p->cmd);
}

static void expect_bad(const char *args) {
    struct parsed p;
    parse(args, &p);
    if (p.ok) fail_msg("NOTIFY %s: accepted, expected BAD", args);
    assert_null(p.req.groups);
    done(&p);
}

static void test_notify_none_and_status(void **state) {
    struct parsed p;
    parse("NONE", &p);
    assert_true(p.ok);
    assert_true(p.req.none);
    done(&p);
    parse("set status (personal (MessageNew MessageExpunge))", &p);
    assert_true(p.ok);
    assert_false(p.req.none);
    assert_true(p.req.status);
    assert_int_equal(p.req.ngroups, 1);
    assert_int_equal(p.req.groups[0].filter, IMAP_NOTIFY_PERSONAL);
    assert_int_equal(p.req.groups[0].events, IMAP_NOTIFY_MESSAGE_NEW | IMAP_NOTIFY_MESSAGE_EXPUNGE);
    assert_false(p.req.selected);
    done(&p);
    expect_bad("NONE extra");
    expect_bad("SET");
    expect_bad("SET STATUS");
    expect_bad("RESET (personal (MessageNew MessageExpunge))");
    expect_bad("");
}

static void test_notify_errata_examples(void **state) {
    /* RFC 5465 3.1 as errata 1804 corrects it */
    struct parsed p;
    parse("set status (selected (MessageNew (uid body.peek[header.fields (from to subject)]) MessageExpunge)) "
          "(subtree Lists (MessageNew)) (mailboxes misc (MessageNew))",
          &p);
    assert_true(p.ok);
    assert_true(p.req.status);
    assert_true(p.req.selected);
    assert_false(p.req.selected_delayed);
    assert_int_equal(p.req.selected_events, IMAP_NOTIFY_MESSAGE_NEW | IMAP_NOTIFY_MESSAGE_EXPUNGE);
    assert_non_null(p.req.fetch);
    assert_int_equal(p.req.fetch->type, IMAP_ARG_LIST);
    assert_int_equal(p.req.fetch->nlist, 2);
    assert_string_equal(p.req.fetch->list[0].str, "uid");
    assert_int_equal(p.req.ngroups, 2);
    assert_int_equal(p.req.groups[0].filter, IMAP_NOTIFY_SUBTREE);
    assert_int_equal(p.req.groups[0].nnames, 1);
    assert_string_equal(p.req.groups[0].names[0].str, "Lists");
    assert_int_equal(p.req.groups[1].filter, IMAP_NOTIFY_MAILBOXES);
    assert_string_equal(p.req.groups[1].names[0].str, "misc");
    assert_int_equal(p.req.unsupported, 0);
    assert_false(p.req.unknown);
    done(&p);
}

static void test_notify_filters(void **state) {
    struct parsed p;
    parse("SET (selected-delayed (MessageNew MessageExpunge FlagChange)) (inboxes (MessageNew MessageExpunge)) "
          "(subscribed (MailboxName SubscriptionChange)) (mailboxes (a \"b c\" {1+}\r\nd) (FlagChange)) "
          "(subtree (x y) NONE)",
          &p);
    assert_true(p.ok);
    assert_true(p.req.selected);
    assert_true(p.req.selected_delayed);
    assert_int_equal(p.req.selected_events,
                     IMAP_NOTIFY_MESSAGE_NEW | IMAP_NOTIFY_MESSAGE_EXPUNGE | IMAP_NOTIFY_FLAG_CHANGE);
    assert_null(p.req.fetch);
    /* a group with NONE asks for nothing and is dropped */
    assert_int_equal(p.req.ngroups, 3);
    assert_int_equal(p.req.groups[0].filter, IMAP_NOTIFY_INBOXES);
    assert_int_equal(p.req.groups[1].filter, IMAP_NOTIFY_SUBSCRIBED);
    assert_int_equal(p.req.groups[1].events, IMAP_NOTIFY_MAILBOX_NAME | IMAP_NOTIFY_SUBSCRIPTION_CHANGE);
    assert_int_equal(p.req.groups[2].filter, IMAP_NOTIFY_MAILBOXES);
    assert_int_equal(p.req.groups[2].nnames, 3);
    assert_string_equal(p.req.groups[2].names[1].str, "b c");
    assert_string_equal(p.req.groups[2].names[2].str, "d");
    /* FlagChange alone outside the selected group: taken, as Dovecot does */
    assert_int_equal(p.req.groups[2].events, IMAP_NOTIFY_FLAG_CHANGE);
    done(&p);
    /* keywords in any case; an event given twice counts once */
    parse("set (PERSONAL (messagenew MESSAGEEXPUNGE MessageNew))", &p);
    assert_true(p.ok);
    assert_int_equal(p.req.groups[0].events, IMAP_NOTIFY_MESSAGE_NEW | IMAP_NOTIFY_MESSAGE_EXPUNGE);
    done(&p);
}

static void test_notify_bad(void **state) {
    /* RFC 5465 5: the pairing rules in the selected group */
    expect_bad("SET (selected (MessageNew))");
    expect_bad("SET (selected (MessageExpunge))");
    expect_bad("SET (selected (FlagChange))");
    expect_bad("SET (selected (MessageNew FlagChange))");
    /* 6.1: only message events, one selected group */
    expect_bad("SET (selected (MailboxName))");
    expect_bad("SET (selected (MessageNew MessageExpunge SubscriptionChange))");
    expect_bad("SET (selected (MessageNew MessageExpunge)) (selected-delayed (MessageNew MessageExpunge))");
    expect_bad("SET (selected (MessageNew MessageExpunge)) (selected NONE)");
    /* 8: fetch attributes only for the selected mailbox, never empty */
    expect_bad("SET (personal (MessageNew (UID) MessageExpunge))");
    expect_bad("SET (selected (MessageNew () MessageExpunge))");
    /* empty lists, missing parts, unknown filters */
    expect_bad("SET (personal ())");
    expect_bad("SET (personal)");
    expect_bad("SET (subtree (MessageNew))");
    expect_bad("SET (subtree () (MessageNew MessageExpunge))");
    expect_bad("SET (mailboxes a b (MessageNew MessageExpunge))");
    expect_bad("SET (everything (MessageNew MessageExpunge))");
    expect_bad("SET personal (MessageNew MessageExpunge)");
    expect_bad("SET (personal (\"MessageNew\" MessageExpunge))");
    expect_bad("SET (selected (MessageNew MessageExpunge) extra)");
    expect_bad("SET (personal (MessageNew MessageExpunge)) NONE");
}

static void test_notify_badevent(void **state) {
    struct parsed p;
    /* well formed but not offered: the session answers NO [BADEVENT] */
    parse("SET (personal (AnnotationChange))", &p);
    assert_true(p.ok);
    assert_int_equal(p.req.unsupported, IMAP_NOTIFY_ANNOTATION_CHANGE);
    done(&p);
    parse("SET (personal (MailboxMetadataChange)) (inboxes (ServerMetadataChange))", &p);
    assert_true(p.ok);
    assert_int_equal(p.req.unsupported, IMAP_NOTIFY_MAILBOX_METADATA_CHANGE | IMAP_NOTIFY_SERVER_METADATA_CHANGE);
    done(&p);
    parse("SET (selected (MessageNew MessageExpunge AnnotationChange))", &p);
    assert_true(p.ok);
    assert_int_equal(p.req.unsupported, IMAP_NOTIFY_ANNOTATION_CHANGE);
    done(&p);
    parse("SET (personal (MessageNew MessageExpunge X-Future))", &p);
    assert_true(p.ok);
    assert_true(p.req.unknown);
    assert_int_equal(p.req.unsupported, 0);
    done(&p);
}

static void test_notify_helpers(void **state) {
    char names[256];
    imap_notify_event_names(IMAP_NOTIFY_SUPPORTED, names, sizeof names);
    assert_string_equal(names, "MessageNew MessageExpunge FlagChange MailboxName SubscriptionChange");
    imap_notify_event_names(0, names, sizeof names);
    assert_string_equal(names, "");
    char tiny[12];
    imap_notify_event_names(IMAP_NOTIFY_SUPPORTED, tiny, sizeof tiny);
    assert_true(strlen(tiny) < sizeof tiny);
    assert_true(imap_notify_in_subtree("Lists", "Lists"));
    assert_true(imap_notify_in_subtree("Lists", "Lists.imap"));
    assert_true(imap_notify_in_subtree("Lists", "Lists.imap.deep"));
    assert_false(imap_notify_in_subtree("Lists", "Listserv"));
    assert_false(imap_notify_in_subtree("Lists", "lists"));
    assert_false(imap_notify_in_subtree("Lists.imap", "Lists"));
    assert_true(imap_notify_in_subtree("inbox", "INBOX"));
    assert_true(imap_notify_in_subtree("INBOX", "INBOX.sub"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_notify_none_and_status), cmocka_unit_test(test_notify_errata_examples),
        cmocka_unit_test(test_notify_filters),         cmocka_unit_test(test_notify_bad),
        cmocka_unit_test(test_notify_badevent),        cmocka_unit_test(test_notify_helpers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
