/* A stand-in for libnvidia-ml.so.1 with NVML's C ABI for the calls vrapl makes (types as in
 * NVIDIA's nvml.h). The NVML test compiles it into a shared library and loads it with dlopen, so the
 * binding's symbol names, argument order and struct layouts are exercised without a GPU.
 * Two devices: GPU0 131.52 W, 97 %, energy counter +131520 mJ per read, per-process samples for
 * pids 4242 (80 % then 70 %) and 4343 (15 %); GPU1 11.2 W, 0 %, no energy counter (Not Supported),
 * no process samples (NOT_FOUND). */
#include <stdio.h>
#include <string.h>

typedef int nvmlReturn_t;
typedef struct nvmlDevice_st { int index; } *nvmlDevice_t;
typedef struct { unsigned int gpu; unsigned int memory; } nvmlUtilization_t;
typedef struct {
    unsigned int pid;
    unsigned long long timeStamp;
    unsigned int smUtil, memUtil, encUtil, decUtil;
} nvmlProcessUtilizationSample_t;

static struct nvmlDevice_st devices[2] = {{0}, {1}};
static int initialised = 0;
static unsigned long long energy_mj = 1000000ULL;

nvmlReturn_t nvmlInit_v2(void) { initialised = 1; return 0; }
nvmlReturn_t nvmlShutdown(void) { initialised = 0; return 0; }
const char *nvmlErrorString(nvmlReturn_t r) { return r == 3 ? "Not Supported" : "Fake NVML error"; }
nvmlReturn_t nvmlDeviceGetCount_v2(unsigned int *count) { if (!initialised) return 1; *count = 2; return 0; }
nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned int i, nvmlDevice_t *device) {
    if (i >= 2) return 2;
    *device = &devices[i];
    return 0;
}
nvmlReturn_t nvmlDeviceGetName(nvmlDevice_t d, char *name, unsigned int length) {
    snprintf(name, length, "Fake GPU %d", d->index);
    return 0;
}
nvmlReturn_t nvmlDeviceGetPowerUsage(nvmlDevice_t d, unsigned int *milliwatts) {
    *milliwatts = d->index == 0 ? 131520 : 11200;
    return 0;
}
nvmlReturn_t nvmlDeviceGetTotalEnergyConsumption(nvmlDevice_t d, unsigned long long *millijoules) {
    if (d->index != 0) return 3;
    energy_mj += 131520ULL;
    *millijoules = energy_mj;
    return 0;
}
nvmlReturn_t nvmlDeviceGetUtilizationRates(nvmlDevice_t d, nvmlUtilization_t *u) {
    u->gpu = d->index == 0 ? 97 : 0;
    u->memory = 40;
    return 0;
}
nvmlReturn_t nvmlDeviceGetProcessUtilization(nvmlDevice_t d, nvmlProcessUtilizationSample_t *out,
                                             unsigned int *count, unsigned long long lastSeen) {
    /* Every call has three samples newer than lastSeen (as a GPU under steady load would). */
    const nvmlProcessUtilizationSample_t fresh[3] = {
        {4242, lastSeen + 500, 80, 10, 0, 0}, {4343, lastSeen + 500, 15, 1, 0, 0}, {4242, lastSeen + 1000, 70, 12, 0, 0}};
    const unsigned int n = 3;
    if (d->index != 0) return 6;
    if (out == NULL || *count < n) { *count = n; return 7; }
    memcpy(out, fresh, n * sizeof(fresh[0]));
    *count = n;
    return 0;
}
