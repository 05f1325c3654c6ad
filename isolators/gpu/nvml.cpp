#include "nvml.hpp"

#include <dlfcn.h>

namespace mantle::isolators::gpu {

namespace {

// NVML's C types, declared here so that no NVIDIA header is needed to build.
using NvmlReturn = int;  // nvmlReturn_t; NVML_SUCCESS is 0
using NvmlDevice = struct NvmlDeviceOpaque*;
struct NvmlMemory {
  unsigned long long total;
  unsigned long long free;
  unsigned long long used;
};
constexpr NvmlReturn kSuccess = 0;
constexpr unsigned kUuidLength = 96;  // more than NVML_DEVICE_UUID_V2_BUFFER_SIZE
constexpr unsigned kNameLength = 96;
constexpr unsigned kVersionLength = 96;

template <class F>
Result<F> bind(void* handle, const char* symbol) {
  dlerror();
  void* address = dlsym(handle, symbol);
  if (address == nullptr) {
    const char* why = dlerror();
    return failedPrecondition(std::string("NVML has no symbol ") + symbol +
                              (why != nullptr ? std::string(": ") + why : ""));
  }
  return reinterpret_cast<F>(address);
}

}  // namespace

struct Nvml::Api {
  NvmlReturn (*init)();
  NvmlReturn (*shutdown)();
  const char* (*errorString)(NvmlReturn);
  NvmlReturn (*deviceCount)(unsigned*);
  NvmlReturn (*handleByIndex)(unsigned, NvmlDevice*);
  NvmlReturn (*uuid)(NvmlDevice, char*, unsigned);
  NvmlReturn (*name)(NvmlDevice, char*, unsigned);
  NvmlReturn (*minor)(NvmlDevice, unsigned*);
  NvmlReturn (*memory)(NvmlDevice, NvmlMemory*);
  NvmlReturn (*driverVersion)(char*, unsigned);
};

Result<std::unique_ptr<Nvml>> Nvml::open(const std::string& library) {
  void* handle = dlopen(library.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* why = dlerror();
    return failedPrecondition("cannot load NVML (" + library + "): " + (why != nullptr ? why : "unknown error") +
                              "; is the NVIDIA driver installed?");
  }
  auto api = std::make_unique<Api>();
  Status bound;
  auto get = [&](auto& slot, const char* symbol) {
    if (!bound.ok()) return;
    Result<std::remove_reference_t<decltype(slot)>> f = bind<std::remove_reference_t<decltype(slot)>>(handle, symbol);
    if (f.ok()) {
      slot = *f;
    } else {
      bound = f.error();
    }
  };
  get(api->init, "nvmlInit_v2");
  get(api->shutdown, "nvmlShutdown");
  get(api->errorString, "nvmlErrorString");
  get(api->deviceCount, "nvmlDeviceGetCount_v2");
  get(api->handleByIndex, "nvmlDeviceGetHandleByIndex_v2");
  get(api->uuid, "nvmlDeviceGetUUID");
  get(api->name, "nvmlDeviceGetName");
  get(api->minor, "nvmlDeviceGetMinorNumber");
  get(api->memory, "nvmlDeviceGetMemoryInfo");
  get(api->driverVersion, "nvmlSystemGetDriverVersion");
  if (!bound.ok()) {
    dlclose(handle);
    return bound.error().withContext(library);
  }
  NvmlReturn initialized = api->init();
  if (initialized != kSuccess) {
    const char* text = api->errorString(initialized);
    // The text lives in the library: copy it before closing.
    Error error = failedPrecondition("nvmlInit failed: " + std::string(text != nullptr ? text : "unknown error") +
                                     " (" + std::to_string(initialized) + ")");
    dlclose(handle);
    return error;
  }
  return std::unique_ptr<Nvml>(new Nvml(handle, std::move(api)));
}

Nvml::Nvml(void* handle, std::unique_ptr<Api> api) : handle_(handle), api_(std::move(api)) {}

Nvml::~Nvml() {
  api_->shutdown();
  dlclose(handle_);
}

std::string Nvml::errorText(int code) const {
  const char* text = api_->errorString(code);
  return std::string(text != nullptr ? text : "unknown error") + " (" + std::to_string(code) + ")";
}

Result<std::vector<GpuInfo>> Nvml::gpus() {
  unsigned count = 0;
  if (NvmlReturn r = api_->deviceCount(&count); r != kSuccess)
    return internalError("nvmlDeviceGetCount: " + errorText(r));
  std::vector<GpuInfo> out;
  for (unsigned i = 0; i < count; ++i) {
    NvmlDevice device = nullptr;
    if (NvmlReturn r = api_->handleByIndex(i, &device); r != kSuccess) {
      return internalError("nvmlDeviceGetHandleByIndex(" + std::to_string(i) + "): " + errorText(r));
    }
    GpuInfo gpu;
    gpu.index = i;
    char uuid[kUuidLength] = {};
    if (NvmlReturn r = api_->uuid(device, uuid, kUuidLength); r != kSuccess) {
      return internalError("nvmlDeviceGetUUID(" + std::to_string(i) + "): " + errorText(r));
    }
    gpu.uuid = uuid;
    char name[kNameLength] = {};
    if (api_->name(device, name, kNameLength) == kSuccess) gpu.name = name;
    if (NvmlReturn r = api_->minor(device, &gpu.minor); r != kSuccess) {
      return internalError("nvmlDeviceGetMinorNumber(" + std::to_string(i) + "): " + errorText(r));
    }
    NvmlMemory memory{};
    if (api_->memory(device, &memory) == kSuccess) gpu.memoryBytes = memory.total;
    out.push_back(gpu);
  }
  return out;
}

Result<std::string> Nvml::driverVersion() {
  char version[kVersionLength] = {};
  if (NvmlReturn r = api_->driverVersion(version, kVersionLength); r != kSuccess) {
    return internalError("nvmlSystemGetDriverVersion: " + errorText(r));
  }
  return std::string(version);
}

}  // namespace mantle::isolators::gpu
