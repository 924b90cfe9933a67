/*
 * caniemail - the caniemail.com support tables (HTML and CSS features by
 * email client), generated at build time by scripts/gen_caniemail.py from
 * the committed data/caniemail/caniemail.json into build/gen/. Read-only,
 * process lifetime; features are sorted by slug.
 */
#ifndef DEVMAIL_CANIEMAIL_H
#define DEVMAIL_CANIEMAIL_H

#include <stddef.h>
#include <stdint.h>

enum cie_support { CIE_YES = 0, CIE_NO = 1, CIE_PARTIAL = 2 };

/* One tested client version: indexes into the name tables below. */
struct cie_cell {
    uint8_t family, platform;
    uint8_t support; /* enum cie_support */
    uint8_t note;    /* the note number of a partial result, 0: none */
    uint16_t version;
};

struct cie_note {
    const char *num;  /* "1" */
    const char *html; /* the note, Markdown made HTML */
};

struct cie_feature {
    const char *slug, *title, *description, *url, *category;
    const char *tags; /* joined by '\n', "" for none */
    uint32_t first_cell, ncells;
    uint32_t first_note, nnotes;
};

extern const char cie_api_version[], cie_last_update[];
extern const char *const cie_family_slug[], *const cie_family_name[];
extern const char *const cie_platform_slug[], *const cie_platform_name[];
extern const size_t cie_nfamilies, cie_nplatforms;
extern const char *const cie_versions[];
extern const struct cie_cell cie_cells[];
extern const struct cie_note cie_notes[];
extern const struct cie_feature cie_features[];
extern const size_t cie_nfeatures;

/* The feature with this slug, or NULL. */
const struct cie_feature *cie_find(const char *slug);

#endif
