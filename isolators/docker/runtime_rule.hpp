// docker/runtime's rules, pure: the command, environment and user a container
// in a Docker/OCI image gets from its CommandInfo and the image's config, with
// Mesos' precedence (docs/CONTAINERS.md has the table).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "mantle/module/v1/isolator.pb.h"
#include "mantle/result.hpp"

namespace mantle::isolators::docker {

namespace v1 = ::mantle::module::v1;

// The command to run instead of `command`, or nullopt to keep it:
//  * shell: `command` as it is (its value is required);
//  * not shell, with a value: `command` as it is;
//  * not shell, no value: the image's Entrypoint[0] is the program, argv the
//    whole Entrypoint followed by `command.arguments` when there are any, else
//    by the image's Cmd; without an Entrypoint, Cmd[0] is the program and argv
//    Cmd[0] followed by `command.arguments`, or else by the rest of Cmd;
//    neither: an error.
// The result keeps `command`'s environment, uris and user.
Result<std::optional<v1::CommandInfo>> launchCommand(const v1::CommandInfo& command, const v1::ImageConfig& image);

// The image's Env ("NAME=value"; entries without '=' are skipped) less the
// variables `command` sets itself, which win.
std::vector<std::pair<std::string, std::string>> imageEnvironment(const v1::ImageConfig& image,
                                                                  const v1::CommandInfo& command);

// The image's User ("user", "uid", "user:group", "uid:gid") as "uid:gid" in
// digits, names looked up in `rootfs`/etc/passwd and /etc/group; without a
// group, the user's primary group. Errors name the user.
Result<std::string> imageUser(const std::string& user, const std::string& rootfs);

}  // namespace mantle::isolators::docker
