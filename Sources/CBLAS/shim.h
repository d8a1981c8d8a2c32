#ifndef LATENT_CBLAS_SHIM_H
#define LATENT_CBLAS_SHIM_H
// Debian keeps OpenBLAS's cblas.h under a variant folder; its own
// `#include "openblas_config.h"` only resolves when included from there.
#if __has_include(<openblas-pthread/cblas.h>)
#include <openblas-pthread/cblas.h>
#elif __has_include(<openblas-openmp/cblas.h>)
#include <openblas-openmp/cblas.h>
#elif __has_include(<openblas/cblas.h>)
#include <openblas/cblas.h>
#else
#include <cblas.h>
#endif

// glibc's allocator settings (mallopt), which the Glibc module does not export;
// tensor buffers are kept in the heap for reuse (see keepFreedMemoryForReuse).
#if __has_include(<malloc.h>)
#include <malloc.h>
#endif

// LAPACK routines OpenBLAS exports (Fortran calling convention).
void ssyevd_(const char *jobz, const char *uplo, const int *n, float *a, const int *lda,
             float *w, float *work, const int *lwork, int *iwork, const int *liwork, int *info);
void sgelsd_(const int *m, const int *n, const int *nrhs, float *a, const int *lda,
             float *b, const int *ldb, float *s, const float *rcond, int *rank,
             float *work, const int *lwork, int *iwork, int *info);
#endif
