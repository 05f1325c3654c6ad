// The user a container's process runs as, looked up where the process will
// run: in its image's /etc/passwd when it runs in a root filesystem (as
// Mesos does), else in the host's user database.
#pragma once

#include <sys/types.h>

#include <string>

#include "mantle/result.hpp"

namespace mantle::process {

struct UserIds {
  uid_t uid = 0;
  gid_t gid = 0;  // the user's primary group
};

// `user` as "uid[:gid]" in digits (the gid defaults to the uid), or a name:
// of `rootfs`'s /etc/passwd when `rootfs` is not empty, else of the host's.
// Errors: a name that is not there (NotFound, naming the user and where it
// was looked up).
Result<UserIds> resolveUser(const std::string& rootfs, const std::string& user);

}  // namespace mantle::process
