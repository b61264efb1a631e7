#ifndef VRAPL_COPENBLAS_SHIM_H
#define VRAPL_COPENBLAS_SHIM_H
// OpenBLAS's CBLAS interface (pkg-config `openblas`, which also provides openblas_set_num_threads).
#include <cblas.h>
#endif
