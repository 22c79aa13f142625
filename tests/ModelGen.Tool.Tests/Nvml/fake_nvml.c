/* A stand-in for the NVIDIA driver's libnvidia-ml.so.1 with the exports ModelGen's MemoryMonitor binds, so the NVML path runs
 * in CI without a GPU. Written for these tests from the signatures in NVIDIA's nvml.h; it reads its devices from a text file
 * (STATE_FILE, fixed at compile time) on every call, one line per device: "<used bytes> <total bytes> <name>".
 * -DINIT_RESULT=n makes nvmlInit_v2 return n; -DONLY_INIT leaves out every export but nvmlInit_v2. */
#include <stdio.h>
#include <string.h>

#ifndef INIT_RESULT
#define INIT_RESULT 0
#endif

typedef struct { unsigned long long total, free, used; } nvmlMemory_t;
typedef void *nvmlDevice_t;

static int initialized;

int nvmlInit_v2(void) { initialized = INIT_RESULT == 0; return INIT_RESULT; }

#ifndef ONLY_INIT
static int read_device(unsigned int index, unsigned long long *used, unsigned long long *total, char *name, unsigned int length)
{
    FILE *file = fopen(STATE_FILE, "r");
    char line[256];
    unsigned int current = 0;
    int found = 0;
    if (!file)
        return 0;
    while (fgets(line, sizeof line, file)) {
        char device_name[128] = "";
        unsigned long long u, t;
        if (sscanf(line, "%llu %llu %127[^\n]", &u, &t, device_name) < 2)
            continue;
        if (current++ == index) {
            *used = u;
            *total = t;
            if (name && length > 0) {
                strncpy(name, device_name, length - 1);
                name[length - 1] = '\0';
            }
            found = 1;
            break;
        }
    }
    fclose(file);
    return found;
}

int nvmlShutdown(void) { initialized = 0; return 0; }

int nvmlDeviceGetCount_v2(unsigned int *count)
{
    unsigned long long used, total;
    unsigned int n = 0;
    if (!initialized)
        return 1; /* NVML_ERROR_UNINITIALIZED */
    while (read_device(n, &used, &total, NULL, 0))
        n++;
    *count = n;
    return 0;
}

int nvmlDeviceGetHandleByIndex_v2(unsigned int index, nvmlDevice_t *device)
{
    unsigned long long used, total;
    if (!initialized)
        return 1;
    if (!read_device(index, &used, &total, NULL, 0))
        return 2; /* NVML_ERROR_INVALID_ARGUMENT */
    *device = (nvmlDevice_t)(unsigned long)(index + 1);
    return 0;
}

int nvmlDeviceGetMemoryInfo(nvmlDevice_t device, nvmlMemory_t *memory)
{
    unsigned long long used, total;
    if (!initialized || !read_device((unsigned int)(unsigned long)device - 1, &used, &total, NULL, 0))
        return 2;
    memory->total = total;
    memory->used = used;
    memory->free = total - used;
    return 0;
}

int nvmlDeviceGetName(nvmlDevice_t device, char *name, unsigned int length)
{
    unsigned long long used, total;
    return read_device((unsigned int)(unsigned long)device - 1, &used, &total, name, length) ? 0 : 2;
}

const char *nvmlErrorString(int result)
{
    switch (result) {
    case 0: return "Success";
    case 1: return "Uninitialized";
    case 2: return "Invalid Argument";
    case 9: return "Driver Not Loaded";
    default: return "Unknown Error";
    }
}
#endif
