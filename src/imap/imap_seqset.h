/*
 * imap_seqset - IMAP sequence sets (RFC 3501 9 "sequence-set"):
 * "1:*,5,7:9". Pure functions over bytes; no mailbox knowledge.
 *
 * A parsed set keeps "*" symbolic (IMAP_SEQSET_STAR) so one parse serves
 * any mailbox size. imap_seqset_contains() takes the value of "*" (the
 * number of messages for sequence numbers, the highest UID for UID sets).
 * imap_seqset_resolve() turns a set into sorted, merged, ordered ranges for
 * iteration. RFC 3501: "n:m" equals "m:n", and in a UID set "*" is the
 * highest UID even if n is larger ("500:*" with max UID 400 means 400:500,
 * so the last message is still returned).
 */
#ifndef DEVMAIL_IMAP_SEQSET_H
#define DEVMAIL_IMAP_SEQSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

/* The symbolic "*" before resolution: outside the 32-bit numbers, so
 * 4294967295, a valid UID and sequence number, stays itself. */
#define IMAP_SEQSET_STAR UINT64_MAX
/* Ranges in one set (a client listing more should use ranges). */
#define IMAP_SEQSET_MAX_RANGES 100000

struct imap_seq_range {
    uint64_t lo, hi; /* inclusive; lo <= hi after resolve (then <= UINT32_MAX) */
};

struct imap_seqset {
    struct imap_seq_range *r;
    size_t n, cap;
};

void imap_seqset_init(struct imap_seqset *s);
void imap_seqset_free(struct imap_seqset *s);
/* Parse text (the same grammar for sequence numbers and UIDs: 0 and
 * leading zeros are rejected, RFC 3501 nz-number). Returns false on a
 * syntax error (s is left empty). */
bool imap_seqset_parse(const char *text, size_t len, struct imap_seqset *s);
/* Append one range (either bound may be IMAP_SEQSET_STAR). */
void imap_seqset_add(struct imap_seqset *s, uint64_t lo, uint64_t hi);
/* Is n in the set, "*" meaning star? (star 0: "*" matches nothing) */
bool imap_seqset_contains(const struct imap_seqset *s, uint32_t n, uint32_t star);
/* Replace "*" by star, order each range, sort and merge. With star 0
 * (empty mailbox) ranges consisting only of "*" are dropped. */
void imap_seqset_resolve(struct imap_seqset *s, uint32_t star);
/* After resolve: drop numbers above max (e.g. sequence numbers beyond
 * EXISTS); returns true if anything was dropped. */
bool imap_seqset_clip(struct imap_seqset *s, uint32_t max);
/* Total numbers in a resolved set. */
uint64_t imap_seqset_count(const struct imap_seqset *s);
/* Append "1:3,5" form of a set (e.g. for COPYUID) to out. */
void imap_seqset_format(const struct imap_seqset *s, buf_t *out);
/* Append numbers as a sequence-set in the order given: only runs that
 * ascend by one become ranges ("1:3,7,5"), so a SORT order survives;
 * ascending input gives the shortest set. */
void imap_seqset_append_list(buf_t *out, const uint32_t *v, size_t n);
/* True if the set uses "*". */
bool imap_seqset_has_star(const struct imap_seqset *s);

#endif
