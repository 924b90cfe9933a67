/*
 * html_check_time - in-process time of the HTML compatibility check on
 * a file of HTML: html_check() plus the JSON printed, the median of RUNS
 * runs, in milliseconds. Built by `make build/bench/html_check_time`;
 * run by bench/html_check_bench.py. Usage: html_check_time FILE [RUNS]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check/html_check.h"

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    FILE *f = fopen(argv[1], "rb");
    if (!f) return 2;
    static char buf[64 << 20];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    int runs = argc > 2 ? atoi(argv[2]) : 21;
    if (runs < 1 || runs > 1000) runs = 21;
    double *t = calloc((size_t)runs, sizeof *t);
    size_t out = 0, warnings = 0, nodes = 0;
    for (int i = 0; i < runs; i++) {
        struct timespec a, b;
        clock_gettime(CLOCK_MONOTONIC, &a);
        struct html_check_report r;
        html_check(buf, n, 10000, &r); /* html_check_max_nodes' default */
        cJSON *j = html_check_report_json(&r);
        char *s = cJSON_PrintUnformatted(j);
        clock_gettime(CLOCK_MONOTONIC, &b);
        out = strlen(s);
        warnings = r.n;
        nodes = r.nodes;
        free(s);
        cJSON_Delete(j);
        html_check_free(&r);
        t[i] = (double)(b.tv_sec - a.tv_sec) * 1e3 + (double)(b.tv_nsec - a.tv_nsec) / 1e6;
    }
    qsort(t, (size_t)runs, sizeof *t, cmp);
    printf("%.2f ms median of %d (min %.2f, max %.2f); %zu bytes in, %zu elements, %zu warnings, %zu bytes of JSON\n",
           t[runs / 2], runs, t[0], t[runs - 1], n, nodes, warnings, out);
    free(t);
    return 0;
}
