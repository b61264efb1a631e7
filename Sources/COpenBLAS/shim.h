#ifndef VRAPL_COPENBLAS_SHIM_H
#define VRAPL_COPENBLAS_SHIM_H
// OpenBLAS's CBLAS interface (pkg-config `openblas`, which also provides openblas_set_num_threads).
#include <cblas.h>
// OpenBLAS DYNAMIC_ARCH internals (exported by Debian's libopenblas): the name of the kernel set in use and
// re-selection of it (honours OPENBLAS_CORETYPE). VraplNN uses them to pick the AVX-512 kernels on CPUs that
// OpenBLAS 0.3.21 does not recognise (it takes AMD Zen 4/5 for Haswell, AVX2 only).
char *openblas_get_corename(void);
void gotoblas_dynamic_init(void);
void gotoblas_dynamic_quit(void);
#endif
