#include "process/rootfs.hpp"

#include <sched.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace mantle::process {

const char* enterRootfs(const char* rootfs) {
  if (::unshare(CLONE_NEWNS) != 0) return "unshare of a mount namespace for the root filesystem";
  if (::mount(nullptr, "/", nullptr, MS_SLAVE | MS_REC, nullptr) != 0) return "making the mounts slaves";
  // pivot_root needs the new root to be a mount point: a recursive bind of
  // the rootfs onto itself is one, with the mounts below it.
  if (::mount(rootfs, rootfs, nullptr, MS_BIND | MS_REC, nullptr) != 0) return "binding the root filesystem";
  if (::chdir(rootfs) != 0) return "entering the root filesystem";
  // pivot_root(".", "."): the old root ends up stacked on the new one, and
  // the detaching unmount of "." takes it away.
  if (::syscall(SYS_pivot_root, ".", ".") != 0) return "pivot_root";
  if (::umount2(".", MNT_DETACH) != 0) return "unmounting the old root";
  if (::chdir("/") != 0) return "entering the new root";
  return nullptr;
}

}  // namespace mantle::process
