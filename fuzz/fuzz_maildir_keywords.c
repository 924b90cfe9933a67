/*
 * fuzz_maildir_keywords - libFuzzer target for the dovecot-keywords
 * reader. Checks that every name read is a valid keyword held by one
 * letter only, that writing the result and reading it again gives the
 * same keywords (the writer's output is a fixed point), and that letters
 * and names convert into each other without loss.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "store/maildir_keywords.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    struct mdkw k, again;
    mdkw_init(&k);
    mdkw_init(&again);
    int n = mdkw_parse(&k, (const char *)data, size);
    if (n < 0 || n > MDKW_MAX) abort();
    buf_t all = BUF_INIT, letters = BUF_INIT, names = BUF_INIT, text = BUF_INIT;
    for (int i = 0; i < MDKW_MAX; i++) {
        if (!k.names[i]) continue;
        size_t l = strlen(k.names[i]);
        if (!mdkw_name_valid(k.names[i], l) || mdkw_find(&k, k.names[i], l) != i) abort();
        if (all.len) buf_append_char(&all, ' ');
        buf_append_str(&all, k.names[i]);
    }
    /* every keyword has its letter, and the letters name them again */
    mdkw_letters(&k, buf_cstr(&all), &letters);
    if ((int)letters.len != n) abort();
    mdkw_names(&k, buf_cstr(&letters), &names);
    if (strcmp(buf_cstr(&names), buf_cstr(&all)) != 0) abort();
    /* written and read back: the same */
    mdkw_format(&k, &text);
    if (mdkw_parse(&again, text.data ? text.data : "", text.len) != n) abort();
    for (int i = 0; i < MDKW_MAX; i++) {
        if (!k.names[i] != !again.names[i]) abort();
        if (k.names[i] && strcmp(k.names[i], again.names[i]) != 0) abort();
    }
    /* adding keeps every existing letter */
    int added = mdkw_add(&again, "fuzz-added", 10);
    if (added >= 0 && mdkw_find(&again, "fuzz-added", 10) != added) abort();
    for (int i = 0; i < MDKW_MAX; i++)
        if (k.names[i] && strcmp(k.names[i], again.names[i]) != 0) abort();
    buf_free(&all);
    buf_free(&letters);
    buf_free(&names);
    buf_free(&text);
    mdkw_free(&k);
    mdkw_free(&again);
    return 0;
}
