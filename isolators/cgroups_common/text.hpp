// Small text and file helpers for kernel interface files (cgroupfs, /proc).
// Errors are values; a missing file is kNotFound.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mantle/result.hpp"

namespace mantle::isolators::cgroups_common {

// The whole file. kNotFound when it does not exist.
Result<std::string> readText(const std::filesystem::path& path);
// One write(2) of `text` (cgroup files take one value per write).
Status writeText(const std::filesystem::path& path, std::string_view text);

std::vector<std::string> split(const std::string& text, char separator);
std::vector<std::string> splitWhitespace(const std::string& text);
std::string join(const std::vector<std::string>& items, const std::string& separator);
std::string trim(const std::string& text);

// "key value" lines (memory.stat, cpu.stat, memory.events, ...). Lines whose
// value is not an unsigned integer are skipped.
std::map<std::string, std::uint64_t> parseFlatKeyed(const std::string& text);
Result<std::map<std::string, std::uint64_t>> readFlatKeyed(const std::filesystem::path& path);
// A file holding one unsigned integer ("max" reads as nullopt).
Result<std::optional<std::uint64_t>> readNumber(const std::filesystem::path& path);

// Numbers one per line (cgroup.procs, tasks, cgroup.threads).
Result<std::vector<int>> readIdList(const std::filesystem::path& path);

// errno as text, for messages.
std::string errnoText(int error);

}  // namespace mantle::isolators::cgroups_common
