#include "device_program.hpp"

#include <fcntl.h>
#include <linux/bpf.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "text.hpp"

namespace mantle::isolators::cgroups_common {

namespace {

static_assert(sizeof(BpfInstruction) == sizeof(bpf_insn), "BpfInstruction must match struct bpf_insn");

// Registers: r1 the context (struct bpf_cgroup_dev_ctx), r2 the device type,
// r3 the access asked for, r4 the major, r5 the minor, r6 scratch, r0 the
// answer.
constexpr std::uint8_t kR0 = 0, kR1 = 1, kR2 = 2, kR3 = 3, kR4 = 4, kR5 = 5, kR6 = 6;

BpfInstruction load32(std::uint8_t dst, std::uint8_t src, std::int16_t offset) {
  return {static_cast<std::uint8_t>(BPF_LDX | BPF_MEM | BPF_W), static_cast<std::uint8_t>(dst | (src << 4)), offset, 0};
}
BpfInstruction move(std::uint8_t dst, std::uint8_t src) {
  return {static_cast<std::uint8_t>(BPF_ALU64 | BPF_MOV | BPF_X), static_cast<std::uint8_t>(dst | (src << 4)), 0, 0};
}
BpfInstruction moveImmediate(std::uint8_t dst, std::int32_t value) {
  return {static_cast<std::uint8_t>(BPF_ALU64 | BPF_MOV | BPF_K), dst, 0, value};
}
BpfInstruction andImmediate(std::uint8_t dst, std::int32_t value) {
  return {static_cast<std::uint8_t>(BPF_ALU | BPF_AND | BPF_K), dst, 0, value};
}
BpfInstruction shiftRight(std::uint8_t dst, std::int32_t bits) {
  return {static_cast<std::uint8_t>(BPF_ALU | BPF_RSH | BPF_K), dst, 0, bits};
}
BpfInstruction jumpIfNot(std::uint8_t reg, std::int32_t value, std::int16_t skip) {
  return {static_cast<std::uint8_t>(BPF_JMP | BPF_JNE | BPF_K), reg, skip, value};
}
BpfInstruction exitProgram() { return {static_cast<std::uint8_t>(BPF_JMP | BPF_EXIT), 0, 0, 0}; }

std::int32_t accessBits(const std::string& access) {
  std::int32_t bits = 0;
  if (access.find('m') != std::string::npos) bits |= BPF_DEVCG_ACC_MKNOD;
  if (access.find('r') != std::string::npos) bits |= BPF_DEVCG_ACC_READ;
  if (access.find('w') != std::string::npos) bits |= BPF_DEVCG_ACC_WRITE;
  return bits;
}

long bpf(int command, bpf_attr& attr) { return ::syscall(SYS_bpf, command, &attr, sizeof attr); }

}  // namespace

std::vector<BpfInstruction> deviceProgram(const std::vector<DeviceEntry>& allowed) {
  std::vector<BpfInstruction> program = {
      load32(kR2, kR1, offsetof(bpf_cgroup_dev_ctx, access_type)),
      andImmediate(kR2, 0xFFFF),  // the type: BPF_DEVCG_DEV_CHAR or _BLOCK
      load32(kR3, kR1, offsetof(bpf_cgroup_dev_ctx, access_type)),
      shiftRight(kR3, 16),  // the access: BPF_DEVCG_ACC_* bits
      load32(kR4, kR1, offsetof(bpf_cgroup_dev_ctx, major)),
      load32(kR5, kR1, offsetof(bpf_cgroup_dev_ctx, minor)),
  };
  for (const DeviceEntry& e : allowed) {
    // One block per entry; every test jumps past the block's end when it fails.
    std::vector<BpfInstruction> block;
    std::vector<std::size_t> exits;  // tests whose offset is the distance to the end
    if (e.type != 'a') {
      exits.push_back(block.size());
      block.push_back(jumpIfNot(kR2, e.type == 'c' ? BPF_DEVCG_DEV_CHAR : BPF_DEVCG_DEV_BLOCK, 0));
    }
    // Every access bit asked for must be one the entry allows.
    block.push_back(move(kR6, kR3));
    block.push_back(andImmediate(kR6, ~accessBits(e.access) & 0x7));
    exits.push_back(block.size());
    block.push_back(jumpIfNot(kR6, 0, 0));
    if (e.type != 'a' && e.major) {
      exits.push_back(block.size());
      block.push_back(jumpIfNot(kR4, static_cast<std::int32_t>(*e.major), 0));
    }
    if (e.type != 'a' && e.minor) {
      exits.push_back(block.size());
      block.push_back(jumpIfNot(kR5, static_cast<std::int32_t>(*e.minor), 0));
    }
    block.push_back(moveImmediate(kR0, 1));
    block.push_back(exitProgram());
    for (std::size_t i : exits) block[i].offset = static_cast<std::int16_t>(block.size() - i - 1);
    program.insert(program.end(), block.begin(), block.end());
  }
  program.push_back(moveImmediate(kR0, 0));
  program.push_back(exitProgram());
  return program;
}

Status attachDeviceProgram(const std::filesystem::path& dir, const std::vector<DeviceEntry>& allowed) {
  std::vector<BpfInstruction> program = deviceProgram(allowed);
  std::string log(64 * 1024, '\0');
  static const char kLicense[] = "Apache-2.0";
  bpf_attr load;
  std::memset(&load, 0, sizeof load);
  load.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
  load.insns = reinterpret_cast<std::uintptr_t>(program.data());
  load.insn_cnt = static_cast<std::uint32_t>(program.size());
  load.license = reinterpret_cast<std::uintptr_t>(kLicense);
  load.log_buf = reinterpret_cast<std::uintptr_t>(log.data());
  load.log_size = static_cast<std::uint32_t>(log.size());
  load.log_level = 1;
  int prog = static_cast<int>(bpf(BPF_PROG_LOAD, load));
  if (prog < 0) {
    int error = errno;
    if (error == EINVAL && log.c_str()[0] == '\0') {
      return unimplemented("this kernel does not load cgroup device programs (BPF_PROG_LOAD: " + errnoText(error) +
                           ")");
    }
    if (error == ENOSYS) return unimplemented("this kernel has no bpf() system call");
    return internalError("cannot load the device program for " + dir.string() + ": " + errnoText(error) +
                         (log.c_str()[0] != '\0' ? "; verifier: " + std::string(log.c_str()) : ""));
  }
  int cgroup = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (cgroup < 0) {
    int error = errno;
    ::close(prog);
    return internalError("cannot open cgroup " + dir.string() + ": " + errnoText(error));
  }
  bpf_attr attach;
  std::memset(&attach, 0, sizeof attach);
  attach.target_fd = static_cast<std::uint32_t>(cgroup);
  attach.attach_bpf_fd = static_cast<std::uint32_t>(prog);
  attach.attach_type = BPF_CGROUP_DEVICE;
  attach.attach_flags = BPF_F_ALLOW_MULTI;
  long attached = bpf(BPF_PROG_ATTACH, attach);
  int error = errno;
  ::close(cgroup);
  ::close(prog);  // the attachment keeps the program
  if (attached != 0) {
    return internalError("cannot attach the device program to " + dir.string() + ": " + errnoText(error));
  }
  return {};
}

}  // namespace mantle::isolators::cgroups_common
