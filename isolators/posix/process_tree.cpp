#include "process_tree.hpp"

#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string_view>

namespace mantle::isolators::posix {

namespace {

// Splits on spaces; /proc/<pid>/stat separates fields by single spaces.
std::vector<std::string_view> fields(std::string_view text) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\n')) ++i;
    std::size_t start = i;
    while (i < text.size() && text[i] != ' ' && text[i] != '\n') ++i;
    if (i > start) out.push_back(text.substr(start, i - start));
  }
  return out;
}

template <class T>
bool toNumber(std::string_view text, T& out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size();
}

}  // namespace

Result<ProcessStat> parseProcStat(const std::string& text) {
  std::size_t open = text.find('(');
  std::size_t close = text.rfind(')');
  if (open == std::string::npos || close == std::string::npos || close < open) {
    return invalidArgument("malformed stat line: no command name in parentheses");
  }
  ProcessStat stat;
  if (!toNumber(std::string_view(text).substr(0, open == 0 ? 0 : open - 1), stat.pid)) {
    return invalidArgument("malformed stat line: bad pid");
  }
  // After the command name: field 3 (state) is rest[0], so field N is rest[N - 3].
  std::vector<std::string_view> rest = fields(std::string_view(text).substr(close + 1));
  constexpr std::size_t kState = 3, kPpid = 4, kUtime = 14, kStime = 15, kThreads = 20, kRss = 24;
  if (rest.size() < kRss - 2) return invalidArgument("malformed stat line: too few fields");
  auto at = [&](std::size_t field) { return rest[field - kState]; };
  std::int64_t rss = 0;
  if (at(kState).size() != 1 || !toNumber(at(kPpid), stat.ppid) || !toNumber(at(kUtime), stat.userTicks) ||
      !toNumber(at(kStime), stat.systemTicks) || !toNumber(at(kThreads), stat.threads) || !toNumber(at(kRss), rss)) {
    return invalidArgument("malformed stat line: bad numeric field");
  }
  stat.state = at(kState)[0];
  stat.rssPages = rss > 0 ? static_cast<std::uint64_t>(rss) : 0;
  return stat;
}

Result<ProcessStat> readProcStat(pid_t pid, const std::string& procRoot) {
  std::string path = procRoot + "/" + std::to_string(pid) + "/stat";
  std::ifstream in(path);
  if (!in) return notFound("process " + std::to_string(pid) + " does not exist (cannot read " + path + ")");
  std::ostringstream text;
  text << in.rdbuf();
  Result<ProcessStat> stat = parseProcStat(text.str());
  if (!stat.ok()) {
    // A process that exits while being read leaves an empty file behind.
    if (text.str().empty()) return notFound("process " + std::to_string(pid) + " exited");
    return stat.error().withContext(path);
  }
  return stat;
}

Result<std::vector<ProcessStat>> processTree(pid_t root, const std::string& procRoot) {
  Result<ProcessStat> rootStat = readProcStat(root, procRoot);
  if (!rootStat.ok()) return rootStat.error();

  std::multimap<pid_t, ProcessStat> byParent;
  std::error_code ec;
  for (std::filesystem::directory_iterator it(procRoot, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    pid_t pid = 0;
    if (!toNumber(std::string_view(name), pid) || pid == root) continue;
    Result<ProcessStat> stat = readProcStat(pid, procRoot);
    if (!stat.ok()) continue;  // exited meanwhile, or not ours to read
    byParent.emplace(stat->ppid, *stat);
  }
  if (ec) return internalError("cannot list " + procRoot + ": " + ec.message());

  std::vector<ProcessStat> tree{*rootStat};
  for (std::size_t i = 0; i < tree.size(); ++i) {
    auto [first, last] = byParent.equal_range(tree[i].pid);
    for (auto it = first; it != last; ++it) tree.push_back(it->second);
  }
  return tree;
}

TreeUsage sumTree(const std::vector<ProcessStat>& tree) {
  static const double ticksPerSecond = static_cast<double>(sysconf(_SC_CLK_TCK));
  static const std::uint64_t pageSize = static_cast<std::uint64_t>(sysconf(_SC_PAGESIZE));
  TreeUsage usage;
  std::uint64_t userTicks = 0, systemTicks = 0;
  for (const ProcessStat& p : tree) {
    ++usage.processes;
    usage.threads += static_cast<std::uint32_t>(p.threads);
    userTicks += p.userTicks;
    systemTicks += p.systemTicks;
    usage.rssBytes += p.rssPages * pageSize;
  }
  usage.userSeconds = static_cast<double>(userTicks) / ticksPerSecond;
  usage.systemSeconds = static_cast<double>(systemTicks) / ticksPerSecond;
  return usage;
}

}  // namespace mantle::isolators::posix
