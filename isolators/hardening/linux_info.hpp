// What the hardening isolators read from a task's ContainerInfo, turned into
// what the agent applies: capability masks, rlimits and a compiled seccomp
// filter. Bad input is an error naming the field (or parameter, or profile).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "mantle/module/v1/isolator.pb.h"
#include "mantle/module/v1/mesos.pb.h"
#include "mantle/result.hpp"

namespace mantle::isolators::hardening {

namespace v1 = ::mantle::module::v1;

// Capability names as Mesos' flags write them (NET_RAW, CAP_NET_RAW, any
// case) as a mask of CAP_* bits. `field` names the input in errors.
Result<std::uint64_t> capabilityMask(const std::vector<std::string>& names, const std::string& field);

// Mesos' CapabilityInfo.Capability numbers (CAP_<NAME> + 1000) as a mask.
Result<std::uint64_t> capabilityMask(const v1::ContainerInfo::LinuxInfo::Capabilities& info, const std::string& field);

// "NET_RAW,CHOWN" for messages.
std::string capabilityNames(std::uint64_t mask);

// The rlimits of `info` (Mesos' RLimitInfo) as setrlimit() arguments. Both of
// soft and hard unset: unlimited; one without the other, soft > hard or an
// unknown type: an error naming rlimit_info.rlimits[i].
Result<std::vector<v1::ContainerLaunchInfo::RLimit>> rlimitsOf(const v1::ContainerInfo::RLimitInfo& info);

// Compiles a seccomp profile in Docker's JSON format (defaultAction,
// defaultErrnoRet, syscalls[] with names, action, errnoRet, args, includes and
// excludes) for this machine's architecture into a classic BPF program (the
// bytes of struct sock_filter[]). `source` names the profile in errors.
Result<std::string> compileSeccompProfile(const std::string& json, const std::string& source);

}  // namespace mantle::isolators::hardening
