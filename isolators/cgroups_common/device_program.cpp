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
BpfInstruction exitProgram() {
  return {static_cast<std::uint8_t>(BPF_JMP | BPF_EXIT), 0, 0, 0};
}

std::int32_t accessBits(const std::string& access) {
  std::int32_t bits = 0;
  if (access.find('m') != std::string::npos) bits |= BPF_DEVCG_ACC_MKNOD;
  if (access.find('r') != std::string::npos) bits |= BPF_DEVCG_ACC_READ;
  if (access.find('w') != std::string::npos) bits |= BPF_DEVCG_ACC_WRITE;
  return bits;
}

long bpf(int command, bpf_attr& attr) {
  return ::syscall(SYS_bpf, command, &attr, sizeof attr);
}

}  // namespace

std::vector<BpfInstruction> deviceProgram(const std::vector<DeviceEntry>& allowed,
                                          const std::vector<DeviceEntry>& denied) {
  std::vector<BpfInstruction> program = {
      load32(kR2, kR1, offsetof(bpf_cgroup_dev_ctx, access_type)),
      andImmediate(kR2, 0xFFFF),  // the type: BPF_DEVCG_DEV_CHAR or _BLOCK
      load32(kR3, kR1, offsetof(bpf_cgroup_dev_ctx, access_type)),
      shiftRight(kR3, 16),  // the access: BPF_DEVCG_ACC_* bits
      load32(kR4, kR1, offsetof(bpf_cgroup_dev_ctx, major)),
      load32(kR5, kR1, offsetof(bpf_cgroup_dev_ctx, minor)),
  };
  auto entries = denied;
  entries.insert(entries.end(), allowed.begin(), allowed.end());
  for (std::size_t n = 0; n < entries.size(); ++n) {
    const DeviceEntry& e = entries[n];
    const bool deny = n < denied.size();
    // One block per entry; every test jumps past the block's end when it fails.
    std::vector<BpfInstruction> block;
    std::vector<std::size_t> exits;  // tests whose offset is the distance to the end
    if (e.type != 'a') {
      exits.push_back(block.size());
      block.push_back(jumpIfNot(kR2, e.type == 'c' ? BPF_DEVCG_DEV_CHAR : BPF_DEVCG_DEV_BLOCK, 0));
    }
    if (deny) {
      // Any access bit asked for that the entry names.
      block.push_back(move(kR6, kR3));
      block.push_back(andImmediate(kR6, accessBits(e.access)));
      exits.push_back(block.size());
      block.push_back({static_cast<std::uint8_t>(BPF_JMP | BPF_JEQ | BPF_K), kR6, 0, 0});
    } else {
      // Every access bit asked for must be one the entry allows.
      block.push_back(move(kR6, kR3));
      block.push_back(andImmediate(kR6, ~accessBits(e.access) & 0x7));
      exits.push_back(block.size());
      block.push_back(jumpIfNot(kR6, 0, 0));
    }
    if (e.type != 'a' && e.major) {
      exits.push_back(block.size());
      block.push_back(jumpIfNot(kR4, static_cast<std::int32_t>(*e.major), 0));
    }
    if (e.type != 'a' && e.minor) {
      exits.push_back(block.size());
      block.push_back(jumpIfNot(kR5, static_cast<std::int32_t>(*e.minor), 0));
    }
    block.push_back(moveImmediate(kR0, deny ? 0 : 1));
    block.push_back(exitProgram());
    for (std::size_t i : exits) block[i].offset = static_cast<std::int16_t>(block.size() - i - 1);
    program.insert(program.end(), block.begin(), block.end());
  }
  program.push_back(moveImmediate(kR0, 0));
  program.push_back(exitProgram());
  return program;
}

namespace {

// Loads a program; its fd, or the error.
Result<int> loadProgram(const std::filesystem::path& dir, const std::vector<BpfInstruction>& program,
                        const std::string& name) {
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
  std::strncpy(load.prog_name, name.c_str(), sizeof load.prog_name - 1);
  int prog = static_cast<int>(bpf(BPF_PROG_LOAD, load));
  if (prog >= 0) return prog;
  int error = errno;
  if (error == EINVAL && log.c_str()[0] == '\0') {
    return unimplemented("this kernel does not load cgroup device programs (BPF_PROG_LOAD: " + errnoText(error) + ")");
  }
  if (error == ENOSYS) return unimplemented("this kernel has no bpf() system call");
  return internalError("cannot load the device program for " + dir.string() + ": " + errnoText(error) +
                       (log.c_str()[0] != '\0' ? "; verifier: " + std::string(log.c_str()) : ""));
}

Status attachOrDetach(int command, int cgroup, int prog, const std::filesystem::path& dir) {
  bpf_attr attr;
  std::memset(&attr, 0, sizeof attr);
  attr.target_fd = static_cast<std::uint32_t>(cgroup);
  attr.attach_bpf_fd = static_cast<std::uint32_t>(prog);
  attr.attach_type = BPF_CGROUP_DEVICE;
  if (command == BPF_PROG_ATTACH) attr.attach_flags = BPF_F_ALLOW_MULTI;
  if (bpf(command, attr) != 0) {
    return internalError(std::string("cannot ") + (command == BPF_PROG_ATTACH ? "attach" : "detach") +
                         " a device program on " + dir.string() + ": " + errnoText(errno));
  }
  return {};
}

// The fds of the device programs named `name` attached to the cgroup.
std::vector<int> programsNamed(int cgroup, const std::string& name) {
  std::vector<std::uint32_t> ids(64);
  bpf_attr query;
  std::memset(&query, 0, sizeof query);
  query.query.target_fd = static_cast<std::uint32_t>(cgroup);
  query.query.attach_type = BPF_CGROUP_DEVICE;
  query.query.prog_ids = reinterpret_cast<std::uintptr_t>(ids.data());
  query.query.prog_cnt = static_cast<std::uint32_t>(ids.size());
  std::vector<int> out;
  if (bpf(BPF_PROG_QUERY, query) != 0) return out;
  for (std::uint32_t i = 0; i < query.query.prog_cnt && i < ids.size(); ++i) {
    bpf_attr byId;
    std::memset(&byId, 0, sizeof byId);
    byId.prog_id = ids[i];
    int fd = static_cast<int>(bpf(BPF_PROG_GET_FD_BY_ID, byId));
    if (fd < 0) continue;
    bpf_prog_info info;
    std::memset(&info, 0, sizeof info);
    bpf_attr get;
    std::memset(&get, 0, sizeof get);
    get.info.bpf_fd = static_cast<std::uint32_t>(fd);
    get.info.info_len = sizeof info;
    get.info.info = reinterpret_cast<std::uintptr_t>(&info);
    if (bpf(BPF_OBJ_GET_INFO_BY_FD, get) == 0 && name == info.name) {
      out.push_back(fd);
    } else {
      ::close(fd);
    }
  }
  return out;
}

}  // namespace

Status attachDeviceProgram(const std::filesystem::path& dir, const std::vector<DeviceEntry>& allowed) {
  Result<int> prog = loadProgram(dir, deviceProgram(allowed), "mantle_devices");
  if (!prog.ok()) return prog.error();
  int cgroup = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (cgroup < 0) {
    int error = errno;
    ::close(*prog);
    return internalError("cannot open cgroup " + dir.string() + ": " + errnoText(error));
  }
  Status attached = attachOrDetach(BPF_PROG_ATTACH, cgroup, *prog, dir);
  ::close(cgroup);
  ::close(*prog);  // the attachment keeps the program
  return attached;
}

Status replaceDeviceProgram(const std::filesystem::path& dir, const std::string& name,
                            const std::vector<DeviceEntry>& allowed, const std::vector<DeviceEntry>& denied) {
  int cgroup = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (cgroup < 0) return internalError("cannot open cgroup " + dir.string() + ": " + errnoText(errno));
  std::vector<int> old = programsNamed(cgroup, name);
  Result<int> prog = loadProgram(dir, deviceProgram(allowed, denied), name);
  Status status = prog.ok() ? attachOrDetach(BPF_PROG_ATTACH, cgroup, *prog, dir) : Status(prog.error());
  if (prog.ok()) ::close(*prog);
  for (int fd : old) {
    if (status.ok()) status = attachOrDetach(BPF_PROG_DETACH, cgroup, fd, dir);
    ::close(fd);
  }
  ::close(cgroup);
  return status;
}

}  // namespace mantle::isolators::cgroups_common
