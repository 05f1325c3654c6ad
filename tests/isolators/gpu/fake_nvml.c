/* A stand-in for libnvidia-ml.so.1 exporting the NVML C entry points that
 * gpu/nvidia binds, so the module's real loading, discovery and allocation
 * code runs on machines without a GPU. Its GPUs come from the environment,
 * read at nvmlInit_v2:
 *   FAKE_NVML_GPUS        number of GPUs (default 4)
 *   FAKE_NVML_MINOR_BASE  minor number of GPU 0 (default 0; GPU i has base+i)
 *   FAKE_NVML_INIT_ERROR  when set, nvmlInit_v2 fails with this code
 * GPU i has UUID GPU-fa4e0000-0000-0000-0000-00000000000i and 16 GiB. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FAKE_SUCCESS 0
#define FAKE_ERROR_INVALID_ARGUMENT 2
#define FAKE_ERROR_UNINITIALIZED 1
#define FAKE_ERROR_INSUFFICIENT_SIZE 7
#define FAKE_MAX_GPUS 64

typedef struct FakeDevice {
  unsigned index;
} FakeDevice;

typedef struct FakeMemory {
  unsigned long long total;
  unsigned long long free;
  unsigned long long used;
} FakeMemory;

static FakeDevice devices[FAKE_MAX_GPUS];
static unsigned gpuCount = 0;
static unsigned minorBase = 0;
static int initialized = 0;

static unsigned envNumber(const char* name, unsigned fallback) {
  const char* value = getenv(name);
  return value != NULL && *value != '\0' ? (unsigned)strtoul(value, NULL, 10) : fallback;
}

int nvmlInit_v2(void) {
  const char* error = getenv("FAKE_NVML_INIT_ERROR");
  if (error != NULL && *error != '\0') return atoi(error);
  gpuCount = envNumber("FAKE_NVML_GPUS", 4);
  if (gpuCount > FAKE_MAX_GPUS) gpuCount = FAKE_MAX_GPUS;
  minorBase = envNumber("FAKE_NVML_MINOR_BASE", 0);
  for (unsigned i = 0; i < gpuCount; ++i) devices[i].index = i;
  initialized = 1;
  return FAKE_SUCCESS;
}

int nvmlShutdown(void) {
  initialized = 0;
  return FAKE_SUCCESS;
}

const char* nvmlErrorString(int result) {
  switch (result) {
    case FAKE_SUCCESS: return "Success";
    case FAKE_ERROR_UNINITIALIZED: return "Uninitialized";
    case FAKE_ERROR_INVALID_ARGUMENT: return "Invalid Argument";
    case FAKE_ERROR_INSUFFICIENT_SIZE: return "Insufficient Size";
    case 9: return "Driver Not Loaded";
    default: return "Unknown Error";
  }
}

int nvmlSystemGetDriverVersion(char* version, unsigned length) {
  if (!initialized) return FAKE_ERROR_UNINITIALIZED;
  if (version == NULL || length < 16) return FAKE_ERROR_INSUFFICIENT_SIZE;
  snprintf(version, length, "%s", "999.99-fake");
  return FAKE_SUCCESS;
}

int nvmlDeviceGetCount_v2(unsigned* count) {
  if (!initialized) return FAKE_ERROR_UNINITIALIZED;
  if (count == NULL) return FAKE_ERROR_INVALID_ARGUMENT;
  *count = gpuCount;
  return FAKE_SUCCESS;
}

int nvmlDeviceGetHandleByIndex_v2(unsigned index, FakeDevice** device) {
  if (!initialized) return FAKE_ERROR_UNINITIALIZED;
  if (device == NULL || index >= gpuCount) return FAKE_ERROR_INVALID_ARGUMENT;
  *device = &devices[index];
  return FAKE_SUCCESS;
}

int nvmlDeviceGetUUID(FakeDevice* device, char* uuid, unsigned length) {
  if (device == NULL || uuid == NULL) return FAKE_ERROR_INVALID_ARGUMENT;
  if (length < 41) return FAKE_ERROR_INSUFFICIENT_SIZE;
  snprintf(uuid, length, "GPU-fa4e0000-0000-0000-0000-%012u", device->index);
  return FAKE_SUCCESS;
}

int nvmlDeviceGetName(FakeDevice* device, char* name, unsigned length) {
  if (device == NULL || name == NULL) return FAKE_ERROR_INVALID_ARGUMENT;
  snprintf(name, length, "Fake GPU %u", device->index);
  return FAKE_SUCCESS;
}

int nvmlDeviceGetMinorNumber(FakeDevice* device, unsigned* minor) {
  if (device == NULL || minor == NULL) return FAKE_ERROR_INVALID_ARGUMENT;
  *minor = minorBase + device->index;
  return FAKE_SUCCESS;
}

int nvmlDeviceGetMemoryInfo(FakeDevice* device, FakeMemory* memory) {
  if (device == NULL || memory == NULL) return FAKE_ERROR_INVALID_ARGUMENT;
  memory->total = 16ULL << 30;
  memory->used = 0;
  memory->free = memory->total;
  return FAKE_SUCCESS;
}
