// cgroups/devices: a container may use only the devices on an allow-list: a
// default list (the memory devices, terminals, tun, mknod), the operator's
// `allowed_devices`, and per-container grants that a task asks for with a
// label, each of which must be covered by the operator's `grantable_devices`.
// cgroups v1: devices.deny / devices.allow. cgroups v2: an eBPF device
// program attached to the container's cgroup.
#include "cgroups_isolator.hpp"
#include "descriptors.hpp"
#include "device_program.hpp"
#include "devices.hpp"
#include "text.hpp"

namespace mantle::isolators::cgroups {

namespace {

class DevicesIsolator final : public CgroupsIsolator {
 public:
  DevicesIsolator(sdk::Host host, CommonOptions options, std::vector<Placement> placements,
                  std::optional<cc::Hierarchy> freezer, std::vector<cc::DeviceEntry> allowed,
                  std::vector<cc::DeviceEntry> grantable, std::string grantLabel)
      : CgroupsIsolator("cgroups/devices", host, std::move(options), std::move(placements), std::move(freezer)),
        allowed_(std::move(allowed)),
        grantable_(std::move(grantable)),
        grantLabel_(std::move(grantLabel)) {}

  static Result<std::unique_ptr<DevicesIsolator>> create(const sdk::Context& ctx) {
    Result<CommonOptions> options = CommonOptions::from(ctx.config);
    if (!options.ok()) return options.error();
    std::vector<cc::DeviceEntry> allowed;
    if (ctx.config.getBool("default_devices")) allowed = cc::defaultDevices();
    for (const std::string& text : ctx.config.getStringList("allowed_devices")) {
      Result<cc::DeviceEntry> e = cc::parseDeviceEntry(text);
      if (!e.ok()) return e.error().withContext("'allowed_devices'");
      allowed.push_back(*e);
    }
    std::vector<cc::DeviceEntry> grantable;
    for (const std::string& text : ctx.config.getStringList("grantable_devices")) {
      Result<cc::DeviceEntry> e = cc::parseDeviceEntry(text);
      if (!e.ok()) return e.error().withContext("'grantable_devices'");
      grantable.push_back(*e);
    }
    Result<cc::Layout> layout = cc::Layout::detect();
    if (!layout.ok()) return layout.error();
    // v1: the devices hierarchy. v2: the unified hierarchy, where device
    // access is decided by eBPF programs rather than a controller.
    std::string control = ctx.config.getString("device_control");
    auto v1Devices = layout->v1().find("devices");
    std::optional<cc::Hierarchy> hierarchy;
    if (control == "v1" || (control == "auto" && v1Devices != layout->v1().end())) {
      if (v1Devices == layout->v1().end()) {
        return failedPrecondition(
            "cgroups/devices: device_control 'v1', but the devices controller is not mounted as "
            "a cgroups v1 hierarchy (hierarchies: " +
            layout->describe() + ")");
      }
      hierarchy = v1Devices->second;
    } else if (control == "v2" || control == "auto") {
      if (!layout->unified()) {
        return failedPrecondition(
            "cgroups/devices: no cgroups v1 devices hierarchy and no cgroup2 mount (hierarchies: " +
            layout->describe() + ")");
      }
      hierarchy = layout->unified();
    } else {
      return invalidArgument("cgroups/devices: 'device_control' must be auto, v1 or v2, not '" + control + "'");
    }
    if (Status s = cc::prepareRoot(*hierarchy, options->root, {}); !s.ok()) {
      return s.error().withContext("cgroups/devices: cannot prepare cgroup root");
    }
    std::vector<Placement> placements = {{"devices", *hierarchy}};
    return std::make_unique<DevicesIsolator>(ctx.host, *options, std::move(placements), layout->find("freezer"),
                                             std::move(allowed), std::move(grantable),
                                             ctx.config.getString("grant_label"));
  }

 protected:
  Status configure(const Container& c) override {
    Result<std::vector<cc::DeviceEntry>> grants = requestedGrants(c.config);
    if (!grants.ok()) return grants.error();
    std::vector<cc::DeviceEntry> entries = allowed_;
    entries.insert(entries.end(), grants->begin(), grants->end());
    if (version("devices") == cc::Version::kV1) return cc::restrictV1(dir("devices", c.key), entries);
    return cc::attachDeviceProgram(dir("devices", c.key), entries);
  }

  // Device access does not follow resources: other modules (gpu/nvidia) add
  // their grants to the same cgroup, and an update must not take them away.
  Status apply(const Container&, const Resources&) override { return {}; }

  Status report(const Container&, v1::ResourceStatistics&) override { return {}; }

 private:
  // The entries of the container's grant label (on its task, else its
  // executor), each covered by a grantable entry.
  Result<std::vector<cc::DeviceEntry>> requestedGrants(const v1::ContainerConfig& config) const {
    std::vector<cc::DeviceEntry> grants;
    const v1::Labels* labels = config.has_task_info() ? &config.task_info().labels() : nullptr;
    std::vector<const v1::Labels*> sources = {labels, &config.executor_info().labels()};
    for (const v1::Labels* source : sources) {
      if (source == nullptr) continue;
      for (const v1::Label& label : source->labels()) {
        if (label.key() != grantLabel_) continue;
        for (const std::string& text : cc::split(label.value(), ',')) {
          if (cc::trim(text).empty()) continue;
          Result<cc::DeviceEntry> e = cc::parseDeviceEntry(cc::trim(text));
          if (!e.ok()) return e.error().withContext("label '" + grantLabel_ + "'");
          bool grantable = false;
          for (const cc::DeviceEntry& g : grantable_) grantable = grantable || g.covers(*e);
          if (!grantable) {
            return Error(StatusCode::kPermissionDenied, "label '" + grantLabel_ + "' asks for device '" + e->format() +
                                                            "', which 'grantable_devices' does not allow");
          }
          grants.push_back(*e);
        }
      }
      if (!grants.empty()) break;  // the task's label wins over the executor's
    }
    return grants;
  }

  std::vector<cc::DeviceEntry> allowed_;
  std::vector<cc::DeviceEntry> grantable_;
  std::string grantLabel_;
};

}  // namespace

const mantle_module_descriptor* devicesDescriptor() {
  return sdk::describe<DevicesIsolator>(
      "cgroups/devices",
      "Restricts a container's device access to an allow-list (defaults, allowed_devices, and per-container grants "
      "from a task label within grantable_devices); v1 devices cgroup or v2 eBPF program",
      {MANTLE_CGROUPS_COMMON_PARAMS,
       sdk::Param::boolean("default_devices",
                           "Start from the default list (null, zero, full, random, urandom, tty, console, ptmx, "
                           "pts, net/tun, mknod)",
                           "true"),
       sdk::Param::stringList("allowed_devices",
                              "More devices every container may use: 'c 10:229 rwm' or '/dev/fuse rwm'", ""),
       sdk::Param::stringList("grantable_devices",
                              "Devices a container may ask for with its grant label; none by default", ""),
       sdk::Param::string("device_control",
                          "auto: the v1 devices hierarchy when mounted, else an eBPF program on the v2 cgroup; or "
                          "force v1 or v2",
                          "auto"),
       sdk::Param::string("grant_label",
                          "The task (or executor) label whose value lists the devices a container asks for",
                          "mantle.devices")});
}

}  // namespace mantle::isolators::cgroups
