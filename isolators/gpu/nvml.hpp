// NVML, the NVIDIA management library, opened at run time with dlopen so
// that the module loads (and the agent starts) on hosts without the driver.
// Only the few C entry points the isolator needs are bound; their signatures
// are those of NVML's public C API.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "mantle/result.hpp"

namespace mantle::isolators::gpu {

struct GpuInfo {
  unsigned index = 0;  // NVML's index
  std::string uuid;    // "GPU-..."
  std::string name;
  unsigned minor = 0;  // /dev/nvidia<minor>, character device 195:<minor>
  std::uint64_t memoryBytes = 0;
};

class Nvml {
 public:
  // dlopen()s `library` (a soname or a path) and calls nvmlInit_v2.
  static Result<std::unique_ptr<Nvml>> open(const std::string& library);
  ~Nvml();  // nvmlShutdown, dlclose
  Nvml(const Nvml&) = delete;
  Nvml& operator=(const Nvml&) = delete;

  Result<std::vector<GpuInfo>> gpus();
  Result<std::string> driverVersion();

 private:
  struct Api;
  Nvml(void* handle, std::unique_ptr<Api> api);
  std::string errorText(int code) const;

  void* handle_;
  std::unique_ptr<Api> api_;
};

}  // namespace mantle::isolators::gpu
