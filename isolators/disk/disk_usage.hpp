// Disk usage of a directory tree, the way `du -s` counts it: allocated
// blocks, each hard-linked file once, without following symbolic links or
// crossing into other file systems (mounted volumes have their own size).
#pragma once

#include <cstdint>
#include <filesystem>

#include "mantle/result.hpp"

namespace mantle::isolators::disk {

// Bytes allocated under `root`. kNotFound when `root` does not exist; files
// that vanish during the walk are skipped.
Result<std::uint64_t> diskUsage(const std::filesystem::path& root);

}  // namespace mantle::isolators::disk
