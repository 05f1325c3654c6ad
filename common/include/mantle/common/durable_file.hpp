// Files that survive a crash or a power cut: one way to write state to disk
// for every daemon and tool (the agent's checkpoints, the master's registry
// file, mantle-cron's and mantle-services' local state).
#pragma once

#include <string>
#include <string_view>

#include "mantle/result.hpp"

namespace mantle::durable {

// Replaces `path` with `content` atomically and durably: the directories it
// needs are created (and their entries synced), the content goes to
// "<path>.tmp" (mode 0600), is fsynced and renamed over `path`, and the
// directory is synced. A reader sees the old content or the new, never a
// mix; errors name the file and the step.
Status writeFile(const std::string& path, std::string_view content);

// create_directories, with the entries of the directories it made synced.
Status createDirectories(const std::string& dir);

// Makes a rename or a new file in `dir` durable.
Status syncDirectory(const std::string& dir);

}  // namespace mantle::durable
