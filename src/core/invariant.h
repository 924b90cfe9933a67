/*
 * invariant - one check for what the code relies on but cannot prove to
 * the compiler: INVARIANT(cond) logs the failed condition with its place;
 * in sanitizer and fuzz builds (DEVMAIL_DEBUG) it then aborts, so tests
 * and fuzzers stop at the first broken invariant. A release build logs
 * and carries on: a development mail server should keep serving.
 */
#ifndef DEVMAIL_INVARIANT_H
#define DEVMAIL_INVARIANT_H

#include <stdlib.h>

#include "core/log.h"

#ifdef DEVMAIL_DEBUG
#define INVARIANT_FAILED_() abort()
#else
#define INVARIANT_FAILED_() ((void)0)
#endif

#define INVARIANT(cond)                                                                                                \
    do {                                                                                                               \
        if (!(cond)) {                                                                                                 \
            log_error("invariant failed: %s (%s:%d, %s)", #cond, __FILE__, __LINE__, __func__);                       \
            INVARIANT_FAILED_();                                                                                       \
        }                                                                                                              \
    } while (0)

#endif
