/*
 * store_internal - the members of struct store, for src/store/ only:
 * outside the store it is opaque (store.h), so that no protocol sees the
 * index or its schema.
 */
#ifndef DEVMAIL_STORE_INTERNAL_H
#define DEVMAIL_STORE_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "store/index.h"
#include "store/store.h"

struct store {
    char *data_dir;
    char *hostname;
    struct index *idx;        /* the event loop's connection */
    struct index *commit_idx; /* the commit thread's connection (same file) */
    struct maildir_committer *committer;
    struct store_observer *observers;
    struct store_dircache *dircache; /* Maildir mtimes as last synced */
    struct store_kwcache *kwcache;   /* each folder's dovecot-keywords */
    struct store_watches *watches;   /* waiting requests' searches (api_query_watch) */
    struct store_warmup *warmup;     /* start-up indexing under way (store_warmup.c) */
    _Atomic bool warming;            /* the same, for the commit thread */
    struct event *maintain;   /* gives freed index pages back, now and then */
    struct event *maintain_step; /* the next step of a full-text merge */
    const void *origin;       /* of the changes being made (store_origin_begin) */
    struct tag_rule *tag_rules; /* Mailpit's tag filters for new mail (store_set_tag_rules) */
    size_t ntag_rules;
    uint64_t delivered;       /* messages stored since start */
    uint64_t delivered_bytes;
    bool fts_bulk;            /* the full-text queue was flushed in full batches since the last drain (commit thread) */
};

#endif
