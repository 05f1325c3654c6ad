// Reading a process tree from /proc: the processes rooted at one pid and the
// counters the posix isolators report for them.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "mantle/result.hpp"

namespace mantle::isolators::posix {

// One process, from /proc/<pid>/stat.
struct ProcessStat {
  pid_t pid = 0;
  pid_t ppid = 0;
  char state = '?';
  std::uint64_t userTicks = 0;    // utime, in clock ticks
  std::uint64_t systemTicks = 0;  // stime, in clock ticks
  std::uint64_t threads = 0;      // num_threads
  std::uint64_t rssPages = 0;     // rss, in pages
};

// Parses the text of a /proc/<pid>/stat file. The command name (field 2) is
// in parentheses and may itself contain spaces and parentheses, so fields are
// counted from the last ')'.
Result<ProcessStat> parseProcStat(const std::string& text);

// Reads /proc/<pid>/stat under `procRoot`. kNotFound when the process is gone.
Result<ProcessStat> readProcStat(pid_t pid, const std::string& procRoot = "/proc");

// The sums over a process tree.
struct TreeUsage {
  std::uint32_t processes = 0;
  std::uint32_t threads = 0;
  double userSeconds = 0;
  double systemSeconds = 0;
  std::uint64_t rssBytes = 0;
};

// The processes rooted at `root` (the root first), found by scanning every
// /proc/<pid>/stat for its parent. kNotFound when `root` does not exist.
Result<std::vector<ProcessStat>> processTree(pid_t root, const std::string& procRoot = "/proc");

// Sums a tree's counters (ticks and pages converted with sysconf).
TreeUsage sumTree(const std::vector<ProcessStat>& tree);

}  // namespace mantle::isolators::posix
