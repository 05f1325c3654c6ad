// Entering a container's root filesystem, for a process that has just been
// forked (async-signal-safe only: the parent has many threads). Used by the
// agent's launcher for an executor that runs in an image and by
// mantle-executor for a command task that does.
#pragma once

namespace mantle::process {

// In a mount namespace of the caller's own (unshared here, every mount a
// slave of the one it came from), makes `rootfs` the root with pivot_root and
// lazily unmounts the old root, so nothing of the host's filesystem stays
// reachable; the working directory becomes "/". The mounts already made
// below `rootfs` (the sandbox, /proc, /dev) come along. Returns the step that
// failed (errno says why), or null.
const char* enterRootfs(const char* rootfs);

}  // namespace mantle::process
