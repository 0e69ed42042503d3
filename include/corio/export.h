/* CIO_API marks the public functions of corio: the shared library is built
 * with hidden visibility by default and exports exactly these. */
#ifndef CORIO_EXPORT_H
#define CORIO_EXPORT_H

#if defined(__GNUC__) || defined(__clang__)
#define CIO_API __attribute__((visibility("default")))
#else
#define CIO_API
#endif

#endif
