#include "linux_info.hpp"

#include <seccomp.h>
#include <sys/capability.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstring>
#include <memory>
#include <sstream>

#include <json/reader.h>
#include <json/value.h>

namespace mantle::isolators::hardening {

namespace {

constexpr std::uint32_t kMesosCapabilityBase = 1000;  // CapabilityInfo.Capability = CAP_<NAME> + 1000

int lastCapability() {
  return std::min(63, static_cast<int>(cap_max_bits()) - 1);
}

// RLimitInfo.RLimit.Type 1..16, in Mesos' order.
constexpr std::array<int, 16> kRLimits = {RLIMIT_AS,     RLIMIT_CORE,   RLIMIT_CPU,        RLIMIT_DATA,
                                          RLIMIT_FSIZE,  RLIMIT_LOCKS,  RLIMIT_MEMLOCK,    RLIMIT_MSGQUEUE,
                                          RLIMIT_NICE,   RLIMIT_NOFILE, RLIMIT_NPROC,      RLIMIT_RSS,
                                          RLIMIT_RTPRIO, RLIMIT_RTTIME, RLIMIT_SIGPENDING, RLIMIT_STACK};

// The names a profile may use for this machine's architecture.
std::vector<std::string> nativeArchNames() {
  switch (seccomp_arch_native()) {
    case SCMP_ARCH_X86_64: return {"amd64", "x86_64", "SCMP_ARCH_X86_64"};
    case SCMP_ARCH_AARCH64: return {"arm64", "aarch64", "SCMP_ARCH_AARCH64"};
    default: return {};
  }
}

bool namesNativeArch(const Json::Value& arches) {
  static const std::vector<std::string> native = nativeArchNames();
  for (const Json::Value& arch : arches) {
    if (arch.isString() && std::find(native.begin(), native.end(), arch.asString()) != native.end()) return true;
  }
  return false;
}

// Rules that apply only to containers holding some capabilities are left
// out (the container is assumed to hold none of those a profile lists), and
// rules for other architectures.
bool ruleApplies(const Json::Value& rule) {
  const Json::Value& includes = rule["includes"];
  const Json::Value& excludes = rule["excludes"];
  if (includes.isObject()) {
    if (includes["caps"].isArray() && !includes["caps"].empty()) return false;
    if (includes["arches"].isArray() && !includes["arches"].empty() && !namesNativeArch(includes["arches"])) {
      return false;
    }
  }
  if (excludes.isObject() && excludes["arches"].isArray() && namesNativeArch(excludes["arches"])) return false;
  return true;
}

Result<std::uint32_t> actionOf(const Json::Value& value, std::uint32_t errnoRet, const std::string& field) {
  const std::string name = value.isString() ? value.asString() : std::string();
  if (name == "SCMP_ACT_ALLOW") return SCMP_ACT_ALLOW;
  if (name == "SCMP_ACT_ERRNO") return SCMP_ACT_ERRNO(errnoRet);
  if (name == "SCMP_ACT_KILL" || name == "SCMP_ACT_KILL_THREAD") return SCMP_ACT_KILL;
  if (name == "SCMP_ACT_KILL_PROCESS") return SCMP_ACT_KILL_PROCESS;
  if (name == "SCMP_ACT_TRAP") return SCMP_ACT_TRAP;
  if (name == "SCMP_ACT_LOG") return SCMP_ACT_LOG;
  if (name == "SCMP_ACT_TRACE") return SCMP_ACT_TRACE(errnoRet);
  return invalidArgument(field + ": unknown action '" + name + "'");
}

Result<scmp_compare> operatorOf(const std::string& name, const std::string& field) {
  static const std::pair<const char*, scmp_compare> ops[] = {{"SCMP_CMP_NE", SCMP_CMP_NE},
                                                             {"SCMP_CMP_LT", SCMP_CMP_LT},
                                                             {"SCMP_CMP_LE", SCMP_CMP_LE},
                                                             {"SCMP_CMP_EQ", SCMP_CMP_EQ},
                                                             {"SCMP_CMP_GE", SCMP_CMP_GE},
                                                             {"SCMP_CMP_GT", SCMP_CMP_GT},
                                                             {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ}};
  for (const auto& [text, op] : ops) {
    if (name == text) return op;
  }
  return invalidArgument(field + ": unknown operator '" + name + "'");
}

Result<std::uint32_t> errnoOf(const Json::Value& value, std::uint32_t fallback, const std::string& field) {
  if (value.isNull()) return fallback;
  if (!value.isUInt() || value.asUInt() > 4095) return invalidArgument(field + " must be an errno (0..4095)");
  return value.asUInt();
}

}  // namespace

Result<std::uint64_t> capabilityMask(const std::vector<std::string>& names, const std::string& field) {
  std::uint64_t mask = 0;
  for (const std::string& name : names) {
    std::string lower;
    for (char c : name) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (lower.rfind("cap_", 0) != 0) lower = "cap_" + lower;
    cap_value_t cap = 0;
    if (cap_from_name(lower.c_str(), &cap) != 0 || cap < 0 || cap > lastCapability()) {
      return invalidArgument(field + ": unknown capability '" + name + "'");
    }
    mask |= 1ULL << cap;
  }
  return mask;
}

Result<std::uint64_t> capabilityMask(const v1::ContainerInfo::LinuxInfo::Capabilities& info, const std::string& field) {
  std::uint64_t mask = 0;
  for (std::uint32_t number : info.capabilities()) {
    const long cap = static_cast<long>(number) - kMesosCapabilityBase;
    if (cap < 0 || cap > lastCapability()) {
      return invalidArgument(field + ": unknown capability " + std::to_string(number));
    }
    mask |= 1ULL << cap;
  }
  return mask;
}

std::string capabilityNames(std::uint64_t mask) {
  std::string out;
  for (int cap = 0; cap < 64; ++cap) {
    if ((mask & (1ULL << cap)) == 0) continue;
    std::unique_ptr<char, int (*)(void*)> name(cap_to_name(cap), cap_free);
    std::string text = name ? name.get() : std::to_string(cap);
    if (text.rfind("cap_", 0) == 0) text = text.substr(4);
    for (char& c : text) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    out += (out.empty() ? "" : ",") + text;
  }
  return out;
}

Result<std::vector<v1::ContainerLaunchInfo::RLimit>> rlimitsOf(const v1::ContainerInfo::RLimitInfo& info) {
  std::vector<v1::ContainerLaunchInfo::RLimit> out;
  for (int i = 0; i < info.rlimits_size(); ++i) {
    const auto& limit = info.rlimits(i);
    const std::string field = "rlimit_info.rlimits[" + std::to_string(i) + "]";
    if (limit.type() < 1 || limit.type() > kRLimits.size()) {
      return invalidArgument(field + ".type: unknown rlimit type " + std::to_string(limit.type()));
    }
    if (limit.has_soft() != limit.has_hard()) {
      return invalidArgument(field + ": soft and hard must both be set, or both unset for unlimited");
    }
    if (limit.has_soft() && limit.soft() > limit.hard()) {
      return invalidArgument(field + ": soft limit " + std::to_string(limit.soft()) + " is above hard limit " +
                             std::to_string(limit.hard()));
    }
    v1::ContainerLaunchInfo::RLimit& applied = out.emplace_back();
    applied.set_resource(static_cast<std::uint32_t>(kRLimits[limit.type() - 1]));
    applied.set_soft(limit.has_soft() ? limit.soft() : RLIM_INFINITY);
    applied.set_hard(limit.has_hard() ? limit.hard() : RLIM_INFINITY);
  }
  return out;
}

Result<std::string> compileSeccompProfile(const std::string& json, const std::string& source) {
  Json::Value root;
  std::string errors;
  Json::CharReaderBuilder builder;
  std::unique_ptr<Json::CharReader> reader(builder.newCharReader());
  if (!reader->parse(json.data(), json.data() + json.size(), &root, &errors)) {
    return invalidArgument(source + ": not JSON: " + errors);
  }
  if (!root.isObject()) return invalidArgument(source + ": not a JSON object");
  Result<std::uint32_t> defaultErrno = errnoOf(root["defaultErrnoRet"], EPERM, source + ": defaultErrnoRet");
  if (!defaultErrno.ok()) return defaultErrno.error();
  Result<std::uint32_t> defaultAction = actionOf(root["defaultAction"], *defaultErrno, source + ": defaultAction");
  if (!defaultAction.ok()) return defaultAction.error();
  std::unique_ptr<void, void (*)(scmp_filter_ctx)> filter(seccomp_init(*defaultAction), seccomp_release);
  if (!filter) return internalError(source + ": seccomp_init failed");
  // The agent loads the program itself and decides about no_new_privs.
  seccomp_attr_set(filter.get(), SCMP_FLTATR_CTL_NNP, 0);
  const Json::Value& rules = root["syscalls"];
  if (!rules.isNull() && !rules.isArray()) return invalidArgument(source + ": syscalls must be an array");
  for (Json::ArrayIndex i = 0; i < rules.size(); ++i) {
    const Json::Value& rule = rules[i];
    const std::string field = source + ": syscalls[" + std::to_string(i) + "]";
    if (!rule.isObject()) return invalidArgument(field + " must be an object");
    if (!ruleApplies(rule)) continue;
    Result<std::uint32_t> ruleErrno = errnoOf(rule["errnoRet"], *defaultErrno, field + ".errnoRet");
    if (!ruleErrno.ok()) return ruleErrno.error();
    Result<std::uint32_t> action = actionOf(rule["action"], *ruleErrno, field + ".action");
    if (!action.ok()) return action.error();
    std::vector<scmp_arg_cmp> comparisons;
    for (Json::ArrayIndex a = 0; a < rule["args"].size(); ++a) {
      const Json::Value& arg = rule["args"][a];
      const std::string argField = field + ".args[" + std::to_string(a) + "]";
      if (!arg.isObject() || !arg["index"].isUInt() || arg["index"].asUInt() > 5) {
        return invalidArgument(argField + ".index must be 0..5");
      }
      Result<scmp_compare> op = operatorOf(arg["op"].isString() ? arg["op"].asString() : "", argField + ".op");
      if (!op.ok()) return op.error();
      comparisons.push_back({arg["index"].asUInt(), *op, arg["value"].asUInt64(), arg["valueTwo"].asUInt64()});
    }
    std::vector<std::string> names;
    if (rule["names"].isArray()) {
      for (const Json::Value& name : rule["names"]) names.push_back(name.asString());
    }
    if (rule["name"].isString()) names.push_back(rule["name"].asString());
    if (names.empty()) return invalidArgument(field + " names no syscall");
    if (*action == *defaultAction) continue;  // libseccomp refuses rules equal to the default
    for (const std::string& name : names) {
      const int number = seccomp_syscall_resolve_name(name.c_str());
      if (number == __NR_SCMP_ERROR) continue;  // not a syscall of this architecture
      const int rc = seccomp_rule_add_array(filter.get(), *action, number, static_cast<unsigned>(comparisons.size()),
                                            comparisons.data());
      if (rc != 0) return invalidArgument(field + " (" + name + "): " + std::strerror(-rc));
    }
  }
  const int fd = ::memfd_create("mantle-seccomp", MFD_CLOEXEC);
  if (fd < 0) return internalError(std::string("memfd_create: ") + std::strerror(errno));
  std::string program;
  if (int rc = seccomp_export_bpf(filter.get(), fd); rc == 0) {
    ::lseek(fd, 0, SEEK_SET);
    char buffer[4096];
    for (ssize_t n; (n = ::read(fd, buffer, sizeof buffer)) > 0;) program.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(fd);
  if (program.empty()) return internalError(source + ": seccomp_export_bpf produced no program");
  return program;
}

}  // namespace mantle::isolators::hardening
