// Device access on cgroups v2: v2 has no devices.allow; the kernel asks the
// BPF_PROG_TYPE_CGROUP_DEVICE programs attached to a process's cgroup (and its
// ancestors) whether an access is allowed. This builds such a program from
// an allow-list, loads it and attaches it to a cgroup.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "devices.hpp"
#include "mantle/result.hpp"

namespace mantle::isolators::cgroups_common {

// One eBPF instruction, laid out as the kernel's struct bpf_insn.
struct BpfInstruction {
  std::uint8_t code;
  std::uint8_t registers;  // dst in the low nibble, src in the high one
  std::int16_t offset;
  std::int32_t immediate;
};

// The program: deny (return 0) an access that some entry of `denied`
// covers; else allow (return 1) one that some entry of `allowed` covers; deny
// everything else.
std::vector<BpfInstruction> deviceProgram(const std::vector<DeviceEntry>& allowed,
                                          const std::vector<DeviceEntry>& denied = {});

// Loads the program for `allowed` and attaches it to the v2 cgroup `dir`
// (with BPF_F_ALLOW_MULTI, so programs of other owners and of ancestors keep
// running: every one of them must allow an access). The attachment lives as
// long as the cgroup. kUnimplemented when the kernel lacks cgroup device
// programs; the kernel verifier's log is in the error otherwise.
Status attachDeviceProgram(const std::filesystem::path& dir, const std::vector<DeviceEntry>& allowed);

// The same with deny entries and a program name (at most 15 characters),
// replacing the programs of that name already attached to `dir` (the new one
// is attached first, so the cgroup is never without one).
Status replaceDeviceProgram(const std::filesystem::path& dir, const std::string& name,
                            const std::vector<DeviceEntry>& allowed, const std::vector<DeviceEntry>& denied);

}  // namespace mantle::isolators::cgroups_common
