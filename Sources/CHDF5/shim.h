#ifndef VRAPL_CHDF5_SHIM_H
#define VRAPL_CHDF5_SHIM_H
// Thin accessors for HDF5's function-like macros and `*_g` globals, which Swift cannot import.
// Each expands the real macro (H5open() runs inside them), so values are never stale.
// Debian's serial HDF5 lives under hdf5/serial; elsewhere hdf5.h sits on the default path.
#if __has_include(<hdf5/serial/hdf5.h>)
#include <hdf5/serial/hdf5.h>
#else
#include <hdf5.h>
#endif

static inline hid_t vrapl_H5P_DEFAULT(void) { return H5P_DEFAULT; }
static inline hid_t vrapl_H5P_DATASET_CREATE(void) { return H5P_DATASET_CREATE; }
static inline hid_t vrapl_H5T_NATIVE_FLOAT(void) { return H5T_NATIVE_FLOAT; }
static inline hid_t vrapl_H5T_NATIVE_DOUBLE(void) { return H5T_NATIVE_DOUBLE; }
static inline hid_t vrapl_H5T_NATIVE_INT64(void) { return H5T_NATIVE_INT64; }
static inline hid_t vrapl_H5T_NATIVE_UINT64(void) { return H5T_NATIVE_UINT64; }
static inline hid_t vrapl_H5T_C_S1(void) { return H5T_C_S1; }
static inline unsigned vrapl_H5F_ACC_TRUNC(void) { return H5F_ACC_TRUNC; }
static inline unsigned vrapl_H5F_ACC_RDONLY(void) { return H5F_ACC_RDONLY; }
static inline unsigned vrapl_H5F_ACC_RDWR(void) { return H5F_ACC_RDWR; }
static inline hsize_t vrapl_H5S_UNLIMITED(void) { return H5S_UNLIMITED; }
static inline size_t vrapl_H5T_VARIABLE(void) { return H5T_VARIABLE; }

// Added for the trace store (VraplTrace).
static inline hid_t vrapl_H5E_DEFAULT(void) { return H5E_DEFAULT; }
static inline hid_t vrapl_H5P_GROUP_CREATE(void) { return H5P_GROUP_CREATE; }
static inline hid_t vrapl_H5P_DATASET_ACCESS(void) { return H5P_DATASET_ACCESS; }
/// Turns off HDF5's automatic printing of the error stack for the calling thread (the setting is
/// per thread in thread-safe builds); callers report errors themselves. The first call, before the
/// library initialises, also stops HDF5 from closing files in an atexit handler: after a failed
/// flush (a full disk) that handler dereferences a half-closed file and the process dies of SIGSEGV.
/// vrapl closes every file it writes explicitly. (Later calls of H5dont_atexit change nothing.)
static inline void vrapl_silence_errors(void) { (void)H5dont_atexit(); (void)H5Eset_auto2(H5E_DEFAULT, NULL, NULL); }

#endif
