/* clock - the monotonic clock in milliseconds, for deadlines and durations. */
#ifndef DEVMAIL_CLOCK_H
#define DEVMAIL_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline int64_t clock_mono_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The same clock in microseconds (for costs shorter than a millisecond). */
static inline int64_t clock_mono_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

#endif
