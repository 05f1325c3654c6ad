// gpu/nvidia: whole NVIDIA GPUs for containers. GPUs are discovered through
// NVML (loaded at run time); a container asking for `gpus: N` gets N free
// GPUs, may open only those (plus the driver's control devices) through the
// devices cgroup, and sees them in NVIDIA_VISIBLE_DEVICES and
// CUDA_VISIBLE_DEVICES. Assignments are kept in the instance's state
// directory, so they survive an agent restart.
#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "cgroup.hpp"
#include "container.hpp"
#include "device_program.hpp"
#include "devices.hpp"
#include "layout.hpp"
#include "mantle/module_api/sdk/isolator.hpp"
#include "nvml.hpp"
#include "text.hpp"

namespace mantle::isolators::gpu {

namespace {

namespace v1 = ::mantle::module::v1;
namespace cc = ::mantle::isolators::cgroups_common;
namespace fs = std::filesystem;

constexpr unsigned kNvidiaMajor = 195;

class NvidiaGpuIsolator final : public sdk::Isolator {
 public:
  NvidiaGpuIsolator(sdk::Host host, std::unique_ptr<Nvml> nvml, std::vector<GpuInfo> gpus, cc::Hierarchy devices,
                    std::string root, std::vector<cc::DeviceEntry> control, fs::path stateFile,
                    std::chrono::milliseconds cleanupTimeout)
      : host_(host),
        nvml_(std::move(nvml)),
        gpus_(std::move(gpus)),
        devices_(std::move(devices)),
        root_(std::move(root)),
        control_(std::move(control)),
        stateFile_(std::move(stateFile)),
        cleanupTimeout_(cleanupTimeout) {}

  static Result<std::unique_ptr<NvidiaGpuIsolator>> create(const sdk::Context& ctx) {
    Result<std::unique_ptr<Nvml>> nvml = Nvml::open(ctx.config.getString("nvml_library"));
    if (!nvml.ok()) return nvml.error().withContext("gpu/nvidia");
    Result<std::vector<GpuInfo>> found = (*nvml)->gpus();
    if (!found.ok()) return found.error().withContext("gpu/nvidia");
    // Optionally only some of them (Mesos' --nvidia_gpu_devices).
    std::vector<GpuInfo> gpus;
    std::vector<std::string> wanted = ctx.config.getStringList("devices");
    if (wanted.empty()) {
      gpus = *found;
    } else {
      std::set<unsigned> seen;
      for (const std::string& text : wanted) {
        if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos || text.size() > 6) {
          return invalidArgument("gpu/nvidia: 'devices' holds '" + text + "', not a GPU index");
        }
        unsigned index = static_cast<unsigned>(std::stoul(text));
        if (!seen.insert(index).second)
          return invalidArgument("gpu/nvidia: GPU " + text + " is listed twice in 'devices'");
        if (index >= found->size()) {
          return invalidArgument("gpu/nvidia: 'devices' names GPU " + text + ", but NVML found " +
                                 std::to_string(found->size()));
        }
        gpus.push_back((*found)[index]);
      }
    }
    std::vector<cc::DeviceEntry> control;
    for (const std::string& path : ctx.config.getStringList("control_devices")) {
      Result<cc::DeviceEntry> e = cc::parseDeviceEntry(path + " rwm");
      if (e.ok()) {
        control.push_back(*e);
      } else if (e.error().code != StatusCode::kNotFound) {
        return e.error().withContext("gpu/nvidia: 'control_devices'");
      }  // a control device the driver has not created (nvidia-uvm before first use) is skipped
    }
    Result<cc::Layout> layout = cc::Layout::detect();
    if (!layout.ok()) return layout.error();
    // v1: the devices hierarchy; v2: the unified one, with an eBPF program.
    std::string mode = ctx.config.getString("device_control");
    auto v1Devices = layout->v1().find("devices");
    std::optional<cc::Hierarchy> devices;
    if (mode == "v1" || (mode == "auto" && v1Devices != layout->v1().end())) {
      if (v1Devices == layout->v1().end()) {
        return failedPrecondition(
            "gpu/nvidia: device_control 'v1', but no cgroups v1 devices hierarchy is mounted "
            "(hierarchies: " +
            layout->describe() + ")");
      }
      devices = v1Devices->second;
    } else if (mode == "v2" || mode == "auto") {
      if (!layout->unified()) {
        return failedPrecondition("gpu/nvidia: no cgroups v1 devices hierarchy and no cgroup2 mount (hierarchies: " +
                                  layout->describe() + ")");
      }
      devices = layout->unified();
    } else {
      return invalidArgument("gpu/nvidia: 'device_control' must be auto, v1 or v2, not '" + mode + "'");
    }
    std::string root = ctx.config.getString("root");
    if (root.empty() || root == "/" || root.find("..") != std::string::npos) {
      return invalidArgument("gpu/nvidia: bad 'root' '" + root + "'");
    }
    if (Status s = cc::prepareRoot(*devices, root, {}); !s.ok()) return s.error().withContext("gpu/nvidia");
    fs::path stateFile = ctx.config.stateDir().empty() ? fs::path() : fs::path(ctx.config.stateDir()) / "gpus";
    std::string inventory;
    for (const GpuInfo& g : gpus) {
      inventory += (inventory.empty() ? "" : "; ") + std::to_string(g.index) + " " + g.uuid + " minor " +
                   std::to_string(g.minor) + " " + std::to_string(g.memoryBytes >> 20) + " MiB";
    }
    Result<std::string> driver = (*nvml)->driverVersion();
    ctx.host.info("gpu/nvidia: " + std::to_string(gpus.size()) + " GPU(s) for containers (driver " +
                  (driver.ok() ? *driver : std::string("unknown")) + "): " + inventory +
                  "; advertised as gpus:" + std::to_string(gpus.size()) + " unless the agent's --resources names gpus");
    return std::make_unique<NvidiaGpuIsolator>(ctx.host, std::move(*nvml), std::move(gpus), *devices, root,
                                               std::move(control), stateFile,
                                               std::chrono::milliseconds(ctx.config.getInt("cleanup_timeout_ms")));
  }

  Result<v1::Empty> recover(const v1::IsolatorRecoverRequest& request) override {
    std::map<std::string, std::vector<unsigned>> saved = load();
    assigned_.clear();
    std::set<std::string> live;
    for (const v1::ContainerState& state : request.states()) {
      std::string key = cc::containerKey(state.container_id());
      live.insert(key);
      auto it = saved.find(key);
      std::vector<unsigned> positions;
      if (it != saved.end()) {
        positions = it->second;
      } else {
        // No state file (the host has no work dir): the devices cgroup's
        // allow-list, when it is one, says which GPUs the container has.
        positions = fromDeviceList(key);
      }
      for (unsigned p : positions) {
        if (p >= gpus_.size())
          return internalError("gpu/nvidia: recovered GPU position " + std::to_string(p) + " of '" + key +
                               "' is unknown");
        for (const auto& [other, mine] : assigned_) {
          if (std::find(mine.gpus.begin(), mine.gpus.end(), p) != mine.gpus.end()) {
            return internalError("gpu/nvidia: GPU " + gpus_[p].uuid + " is recorded for both '" + other + "' and '" +
                                 key + "'");
          }
        }
      }
      Entry& e = assigned_[key];
      e.id = state.container_id();
      e.gpus = positions;
      if (state.pid() > 0) e.pid = static_cast<pid_t>(state.pid());
    }
    // GPUs of containers that did not survive go back to the pool; their
    // devices cgroups are removed.
    std::set<std::string> gone;
    for (const auto& [key, positions] : saved) {
      if (live.count(key) == 0) gone.insert(key);
    }
    for (const v1::ContainerID& id : request.orphans()) gone.insert(cc::containerKey(id));
    for (const std::string& key : gone) {
      if (live.count(key) == 0) (void)destroyCgroup(key);
    }
    if (Status s = save(); !s.ok()) return s.error();
    return v1::Empty();
  }

  // The GPUs this isolator hands out, as the agent's `gpus` resource (the
  // agent keeps an operator's --resources=gpus:N instead).
  Result<v1::IsolatorResourcesResponse> resources(const v1::IsolatorResourcesRequest&) override {
    v1::IsolatorResourcesResponse response;
    if (gpus_.empty()) return response;
    v1::Resource* gpus = response.add_resources();
    gpus->set_name("gpus");
    gpus->set_type(v1::Value::SCALAR);
    gpus->mutable_scalar()->set_value(static_cast<double>(gpus_.size()));
    return response;
  }

  Result<v1::IsolatorPrepareResponse> prepare(const v1::IsolatorPrepareRequest& request) override {
    std::string key = cc::containerKey(request.container_id());
    if (key.empty() || key.find('/') != std::string::npos || key.front() == '.') {
      return invalidArgument("gpu/nvidia: container id '" + key + "' cannot name a cgroup");
    }
    if (assigned_.count(key) > 0) {
      return Error(StatusCode::kAlreadyExists, "gpu/nvidia: container '" + key + "' has already been prepared");
    }
    Result<unsigned> count = gpuCount(request.config().resources());
    if (!count.ok()) return count.error();
    Result<std::vector<unsigned>> taken = take(*count);
    if (!taken.ok()) return taken.error();
    Entry& e = assigned_[key];
    e.id = request.container_id();
    e.gpus = *taken;
    Status done = cc::makeDirs(cgroupDir(key));
    if (done.ok()) done = applyDevices(key);
    if (done.ok()) done = save();
    if (!done.ok()) {
      assigned_.erase(key);
      (void)destroyCgroup(key);
      (void)save();
      return done.error().withContext("gpu/nvidia: prepare '" + key + "'");
    }
    v1::IsolatorPrepareResponse response;
    if (!e.gpus.empty()) {
      std::string uuids = uuidList(e.gpus);
      v1::Environment* env = response.mutable_launch_info()->mutable_environment();
      for (const char* name : {"NVIDIA_VISIBLE_DEVICES", "CUDA_VISIBLE_DEVICES"}) {
        v1::Environment::Variable* var = env->add_variables();
        var->set_name(name);
        var->set_value(uuids);
      }
    }
    return response;
  }

  Result<v1::Empty> isolate(const v1::IsolatorIsolateRequest& request) override {
    std::string key = cc::containerKey(request.container_id());
    auto it = assigned_.find(key);
    if (it == assigned_.end()) return notFound("gpu/nvidia: unknown container '" + key + "'");
    if (request.pid() <= 0) return invalidArgument("gpu/nvidia: isolate '" + key + "' without a valid pid");
    if (Status s = cc::addProcess(cgroupDir(key), static_cast<pid_t>(request.pid())); !s.ok()) return s.error();
    // Again now: cgroups/devices may have replaced the rules at its prepare.
    if (Status s = applyDevices(key); !s.ok()) return s.error();
    it->second.pid = static_cast<pid_t>(request.pid());
    return v1::Empty();
  }

  Result<v1::Empty> update(const v1::IsolatorUpdateRequest& request) override {
    std::string key = cc::containerKey(request.container_id());
    auto it = assigned_.find(key);
    if (it == assigned_.end()) return notFound("gpu/nvidia: unknown container '" + key + "'");
    Result<unsigned> count = gpuCount(request.resources());
    if (!count.ok()) return count.error();
    std::vector<unsigned>& mine = it->second.gpus;
    if (*count > mine.size()) {
      Result<std::vector<unsigned>> more = take(*count - static_cast<unsigned>(mine.size()));
      if (!more.ok()) return more.error();
      mine.insert(mine.end(), more->begin(), more->end());
    } else {
      mine.resize(*count);  // the last ones given go back first
    }
    if (Status s = applyDevices(key); !s.ok()) return s.error();
    if (Status s = save(); !s.ok()) return s.error();
    return v1::Empty();
  }

  Result<v1::IsolatorStatusResponse> status(const v1::IsolatorStatusRequest& request) override {
    std::string key = cc::containerKey(request.container_id());
    auto it = assigned_.find(key);
    if (it == assigned_.end()) return notFound("gpu/nvidia: unknown container '" + key + "'");
    v1::IsolatorStatusResponse response;
    auto add = [&](const std::string& k, const std::string& v) {
      v1::Label* label = response.mutable_labels()->add_labels();
      label->set_key(k);
      label->set_value(v);
    };
    std::vector<std::string> indices, minors;
    for (unsigned p : it->second.gpus) {
      indices.push_back(std::to_string(gpus_[p].index));
      minors.push_back(std::to_string(gpus_[p].minor));
    }
    add("gpu/nvidia.gpus", cc::join(indices, ","));
    add("gpu/nvidia.uuids", uuidList(it->second.gpus));
    add("gpu/nvidia.minors", cc::join(minors, ","));
    add("gpu/nvidia.cgroup", cgroupDir(key).string());
    return response;
  }

  Result<v1::Empty> cleanup(const v1::IsolatorCleanupRequest& request) override {
    std::string key = cc::containerKey(request.container_id());
    if (Status s = destroyCgroup(key); !s.ok()) return s.error().withContext("gpu/nvidia: cleanup '" + key + "'");
    if (assigned_.erase(key) > 0) {
      if (Status s = save(); !s.ok()) return s.error();
    }
    return v1::Empty();
  }

 private:
  struct Entry {
    v1::ContainerID id;
    std::vector<unsigned> gpus;  // positions in gpus_
    std::optional<pid_t> pid;
  };

  static Result<unsigned> gpuCount(const cc::Resources& resources) {
    double asked = cc::scalar(resources, "gpus").value_or(0);
    if (asked < 0 || std::floor(asked) != asked || asked > 1024) {
      return invalidArgument("gpu/nvidia: gpus must be a whole number, not " + std::to_string(asked));
    }
    return static_cast<unsigned>(asked);
  }

  Result<std::vector<unsigned>> take(unsigned count) {
    std::set<unsigned> used;
    for (const auto& [key, e] : assigned_) used.insert(e.gpus.begin(), e.gpus.end());
    std::vector<unsigned> out;
    for (unsigned p = 0; p < gpus_.size() && out.size() < count; ++p) {
      if (used.count(p) == 0) out.push_back(p);
    }
    if (out.size() < count) {
      return Error(StatusCode::kResourceExhausted, "gpu/nvidia: " + std::to_string(count) + " GPU(s) asked, " +
                                                       std::to_string(out.size()) + " of " +
                                                       std::to_string(gpus_.size()) + " free");
    }
    return out;
  }

  fs::path cgroupDir(const std::string& key) const { return devices_.rootDir(root_) / key; }

  std::string uuidList(const std::vector<unsigned>& positions) const {
    std::vector<std::string> uuids;
    for (unsigned p : positions) uuids.push_back(gpus_[p].uuid);
    return cc::join(uuids, ",");
  }

  // The container may open its own GPUs and the control devices, and none of
  // the other GPUs. Written as both allow and deny rules, so that it holds
  // whether cgroups/devices made the cgroup an allow-list or left it open.
  Status applyDevices(const std::string& key) {
    const std::vector<unsigned>& mine = assigned_.at(key).gpus;
    std::vector<cc::DeviceEntry> allow = control_, deny;
    for (unsigned p = 0; p < gpus_.size(); ++p) {
      cc::DeviceEntry e{'c', kNvidiaMajor, gpus_[p].minor, "rwm"};
      (std::find(mine.begin(), mine.end(), p) != mine.end() ? allow : deny).push_back(e);
    }
    const fs::path d = cgroupDir(key);
    if (devices_.version == cc::Version::kV2) {
      // A program of its own next to cgroups/devices' (every attached program
      // must allow an access): it denies the other GPUs and allows the rest.
      return cc::replaceDeviceProgram(d, "mantle_gpu", {cc::DeviceEntry{'a', std::nullopt, std::nullopt, "rwm"}}, deny);
    }
    if (Status s = cc::denyV1(d, deny); !s.ok()) return s;
    return cc::allowV1(d, allow);
  }

  std::vector<unsigned> fromDeviceList(const std::string& key) const {
    std::vector<unsigned> positions;
    if (devices_.version != cc::Version::kV1) return positions;  // a v2 program cannot be read back
    Result<std::vector<cc::DeviceEntry>> list = cc::listV1(cgroupDir(key));
    if (!list.ok()) return positions;
    for (const cc::DeviceEntry& e : *list) {
      if (e.type == 'a') return {};  // an open cgroup lists nothing useful
      if (e.type != 'c' || e.major != kNvidiaMajor || !e.minor) continue;
      for (unsigned p = 0; p < gpus_.size(); ++p) {
        if (gpus_[p].minor == *e.minor) positions.push_back(p);
      }
    }
    return positions;
  }

  Status destroyCgroup(const std::string& key) {
    if (key.empty() || key.find('/') != std::string::npos || key.front() == '.') return {};
    cc::DestroyOptions options;
    options.timeout = cleanupTimeout_;
    return cc::destroy(devices_.version, cgroupDir(key), options);
  }

  // The state file: one line per container, "key uuid,uuid". UUIDs, not
  // indices, so that a reordered or changed inventory is noticed.
  Status save() const {
    if (stateFile_.empty()) return {};
    std::ostringstream out;
    for (const auto& [key, e] : assigned_) out << key << ' ' << uuidList(e.gpus) << '\n';
    fs::path temporary = stateFile_;
    temporary += ".tmp";
    {
      std::ofstream file(temporary, std::ios::trunc);
      file << out.str();
      file.flush();
      if (!file) return internalError("gpu/nvidia: cannot write " + temporary.string());
    }
    std::error_code error;
    fs::rename(temporary, stateFile_, error);
    if (error) return internalError("gpu/nvidia: cannot write " + stateFile_.string() + ": " + error.message());
    return {};
  }

  std::map<std::string, std::vector<unsigned>> load() const {
    std::map<std::string, std::vector<unsigned>> out;
    if (stateFile_.empty()) return out;
    Result<std::string> text = cc::readText(stateFile_);
    if (!text.ok()) return out;
    std::istringstream lines(*text);
    std::string line;
    while (std::getline(lines, line)) {
      std::vector<std::string> fields = cc::splitWhitespace(line);
      if (fields.empty()) continue;
      std::vector<unsigned>& positions = out[fields[0]];
      if (fields.size() < 2) continue;
      for (const std::string& uuid : cc::split(fields[1], ',')) {
        bool known = false;
        for (unsigned p = 0; p < gpus_.size(); ++p) {
          if (gpus_[p].uuid == uuid) {
            positions.push_back(p);
            known = true;
          }
        }
        if (!known) host_.warning("gpu/nvidia: GPU " + uuid + " of container '" + fields[0] + "' is no longer present");
      }
    }
    return out;
  }

  sdk::Host host_;
  std::unique_ptr<Nvml> nvml_;
  std::vector<GpuInfo> gpus_;
  cc::Hierarchy devices_;
  std::string root_;
  std::vector<cc::DeviceEntry> control_;
  fs::path stateFile_;
  std::chrono::milliseconds cleanupTimeout_;
  std::map<std::string, Entry> assigned_;
};

}  // namespace

}  // namespace mantle::isolators::gpu

MANTLE_MODULE_LIBRARY(
    "mantle_gpu_nvidia", "0.1.0",
    mantle::sdk::describe<mantle::isolators::gpu::NvidiaGpuIsolator>(
        "gpu/nvidia",
        "Gives containers whole NVIDIA GPUs (discovered through NVML, loaded at run time): only their /dev/nvidiaN "
        "and the control devices through the devices cgroup, NVIDIA_VISIBLE_DEVICES and CUDA_VISIBLE_DEVICES",
        {mantle::sdk::Param::string("nvml_library", "The NVML library to dlopen (a soname or a path)",
                                    "libnvidia-ml.so.1"),
         mantle::sdk::Param::stringList("devices",
                                        "NVML indices of the GPUs to give to containers; empty: every GPU found", ""),
         mantle::sdk::Param::stringList("control_devices",
                                        "Driver devices every container with this isolator may open (those that exist)",
                                        "/dev/nvidiactl,/dev/nvidia-uvm,/dev/nvidia-uvm-tools,/dev/nvidia-modeset"),
         mantle::sdk::Param::string("root", "The cgroup root, as for the cgroups isolators", "mantle"),
         mantle::sdk::Param::string("device_control",
                                    "auto: the v1 devices hierarchy when mounted, else an eBPF program on the v2 "
                                    "cgroup; or force v1 or v2",
                                    "auto"),
         mantle::sdk::Param::integer("cleanup_timeout_ms",
                                     "How long cleanup keeps killing processes left in the devices cgroup", "10000")}))
