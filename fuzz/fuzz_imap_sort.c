/*
 * fuzz_imap_sort - libFuzzer target for the SORT / THREAD argument parser
 * (imap/imap_sort.h): the input is framed as one IMAP command line by
 * imap_parser_parse, then its arguments go to imap_sort_parse and
 * imap_thread_parse, and on success the search criteria that follow go to
 * imap_search_parse, as the session does. Checks: errors carry a reason,
 * a successful parse leaves at least one search key, criteria stay within
 * IMAP_SORT_MAX_CRITERIA and RETURN options within the known bits.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_imap_command.h"
#include "imap/imap_parser.h"
#include "imap/imap_search.h"
#include "imap/imap_sort.h"

static void search_rest(const struct imap_arg *args, size_t nargs, size_t first) {
    if (first >= nargs) abort();
    struct imap_search_program prog;
    const char *why;
    if (imap_search_parse(args + first, nargs - first, &prog, &why) == IMAP_SEARCH_OK)
        imap_search_program_free(&prog);
    else if (!why)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    struct imap_command cmd;
    if (!fuzz_imap_command(data, size, &cmd)) return 0;
    struct imap_sort_request req;
    const char *why = NULL;
    enum imap_sort_error e = imap_sort_parse(cmd.args, cmd.nargs, &req, &why);
    if (e == IMAP_SORT_OK) {
        if (req.ncrit == 0 || req.ncrit > IMAP_SORT_MAX_CRITERIA) abort();
        if (req.return_opts & ~IMAP_SEARCH_RET_KNOWN) abort();
        if ((req.return_opts & IMAP_SORT_RET_PARTIAL) && (req.partial_lo == 0 || req.partial_lo > req.partial_hi)) abort();
        if (req.esort != (req.return_opts != 0)) abort();
        search_rest(cmd.args, cmd.nargs, req.search_arg);
    } else if (!why) {
        abort();
    }
    enum imap_thread_alg alg;
    size_t first = 0;
    why = NULL;
    e = imap_thread_parse(cmd.args, cmd.nargs, &alg, &first, &why);
    if (e == IMAP_SORT_OK) search_rest(cmd.args, cmd.nargs, first);
    else if (!why) abort();
    imap_command_free(&cmd);
    return 0;
}
