/* A tiny assertion kit for the C tests: each test is a main() that exits
 * non-zero on the first failed check, naming the file, line and values. */
#ifndef CIO_TESTS_CHECK_H
#define CIO_TESTS_CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond)                                                            \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__,   \
                    #cond);                                                    \
            exit(1);                                                           \
        }                                                                      \
    } while (0)

#define CHECK_EQ(a, b)                                                         \
    do {                                                                       \
        long long check_a_ = (long long)(a), check_b_ = (long long)(b);        \
        if (check_a_ != check_b_) {                                            \
            fprintf(stderr, "%s:%d: %s == %s failed: %lld != %lld\n",          \
                    __FILE__, __LINE__, #a, #b, check_a_, check_b_);           \
            exit(1);                                                           \
        }                                                                      \
    } while (0)

#define CHECK_STREQ(a, b)                                                      \
    do {                                                                       \
        const char *check_a_ = (a), *check_b_ = (b);                           \
        if (strcmp(check_a_, check_b_) != 0) {                                 \
            fprintf(stderr, "%s:%d: \"%s\" != \"%s\"\n", __FILE__, __LINE__,   \
                    check_a_, check_b_);                                       \
            exit(1);                                                           \
        }                                                                      \
    } while (0)

/* UNDER_ASAN is 1 in an AddressSanitizer build (gcc or clang), where
 * frames carry redzones and memory limits do not apply as they do. */
#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

/* Exit status the runner reports as SKIP. */
#define CHECK_SKIP(...)                                                        \
    do {                                                                       \
        fprintf(stderr, "SKIP: " __VA_ARGS__);                                 \
        fputc('\n', stderr);                                                   \
        exit(77);                                                              \
    } while (0)

#endif
