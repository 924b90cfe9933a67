/*
 * caniemail - lookups in the generated caniemail.com tables (see
 * caniemail.h; the tables are build/gen/caniemail_data.c).
 */
#include "check/caniemail.h"

#include <string.h>

const struct cie_feature *cie_find(const char *slug) {
    size_t lo = 0, hi = cie_nfeatures;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(slug, cie_features[mid].slug);
        if (!c) return &cie_features[mid];
        if (c < 0) hi = mid;
        else lo = mid + 1;
    }
    return NULL;
}
