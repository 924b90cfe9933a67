/*
 * fuzz_search_query - libFuzzer target for the Mailpit search-language
 * parser and the store's compiler of its terms into SQL. Checks the builder's invariants: one
 * parameter per '?' placeholder, no user byte outside parameters beyond
 * the fixed SQL vocabulary, every value non-empty and NUL-free.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/search_query.h"
#include "store/search_compile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    struct search_query q;
    buf_t err = BUF_INIT;
    long tz = size > 0 ? (long)(data[0] % 27) * 3600 - 13 * 3600 : 0;
    if (search_query_parse((const char *)data, size, tz, &q, &err) != 0) {
        if (err.len == 0) abort(); /* every error has a reason */
        buf_free(&err);
        return 0;
    }
    if (q.count > SEARCH_QUERY_MAX_TERMS) abort();
    for (size_t i = 0; i < q.count; i++) {
        const struct search_query_term *t = &q.terms[i];
        if (t->value && (t->value_len == 0 || strlen(t->value) != t->value_len)) abort();
    }
    struct search_sql s;
    search_compile(&q, &s);
    size_t marks = 0;
    for (size_t i = 0; i < s.where.len; i++) {
        if (s.where.data[i] == '?') marks++;
        /* The SQL text is built from fixed fragments only: no quote
         * characters other than the ones in ESCAPE '\' and ' ' / ''. */
        if (s.where.data[i] == '"' || s.where.data[i] == ';') abort();
    }
    if (marks != s.nparams) abort();
    search_sql_free(&s);
    search_query_free(&q);
    buf_free(&err);
    return 0;
}
