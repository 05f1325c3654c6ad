#include "layout.hpp"

#include <fstream>
#include <sstream>

#include "text.hpp"

namespace mantle::isolators::cgroups_common {

namespace fs = std::filesystem;

namespace {

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string unescapeMountField(const std::string& field) {
  std::string out;
  for (std::size_t i = 0; i < field.size(); ++i) {
    if (field[i] == '\\' && i + 3 < field.size()) {
      const std::string octal = field.substr(i + 1, 3);
      if (octal.size() == 3 && octal.find_first_not_of("01234567") == std::string::npos) {
        out.push_back(static_cast<char>(std::stoi(octal, nullptr, 8)));
        i += 3;
        continue;
      }
    }
    out.push_back(field[i]);
  }
  return out;
}

// The cgroup path relative to a mount whose root (inside the hierarchy) is
// `mountRoot`. With cgroup namespaces both are already relative.
std::string relativeTo(const std::string& path, const std::string& mountRoot) {
  if (mountRoot.empty() || mountRoot == "/") return path.empty() ? "/" : path;
  if (path == mountRoot) return "/";
  if (path.rfind(mountRoot + "/", 0) == 0) return path.substr(mountRoot.size());
  return path.empty() ? "/" : path;
}

struct Mount {
  std::string root;
  fs::path point;
  std::string type;
  std::vector<std::string> superOptions;
};

std::vector<Mount> cgroupMounts(const std::string& mountinfo) {
  std::vector<Mount> mounts;
  std::istringstream lines(mountinfo);
  std::string line;
  while (std::getline(lines, line)) {
    // id parent major:minor root mountpoint options [optional...] - type source superoptions
    std::vector<std::string> fields = splitWhitespace(line);
    std::size_t dash = 0;
    for (std::size_t i = 6; i < fields.size(); ++i) {
      if (fields[i] == "-") {
        dash = i;
        break;
      }
    }
    if (dash == 0 || dash + 3 > fields.size()) continue;
    const std::string& type = fields[dash + 1];
    if (type != "cgroup" && type != "cgroup2") continue;
    Mount m;
    m.root = unescapeMountField(fields[3]);
    m.point = unescapeMountField(fields[4]);
    m.type = type;
    if (dash + 3 < fields.size()) m.superOptions = split(fields[dash + 3], ',');
    mounts.push_back(std::move(m));
  }
  return mounts;
}

}  // namespace

fs::path Hierarchy::ownDir() const {
  fs::path dir = mountPoint;
  if (!ownPath.empty() && ownPath != "/") dir /= ownPath.substr(1);
  return dir;
}

fs::path Hierarchy::baseDir(const std::string& root) const {
  return !root.empty() && root.front() == '/' ? mountPoint : ownDir();
}

fs::path Hierarchy::rootDir(const std::string& root) const {
  std::string relative = root;
  while (!relative.empty() && relative.front() == '/') relative.erase(0, 1);
  return relative.empty() ? baseDir(root) : baseDir(root) / relative;
}

Result<Layout> Layout::detect() {
  Result<std::string> mountinfo = readText("/proc/self/mountinfo");
  if (!mountinfo.ok()) return mountinfo.error();
  Result<std::string> cgroup = readText("/proc/self/cgroup");
  if (!cgroup.ok()) return cgroup.error();
  return parse(*mountinfo, *cgroup, [](const fs::path& path) {
    Result<std::string> text = readText(path);
    return text.ok() ? *text : std::string();
  });
}

Result<Layout> Layout::parse(const std::string& mountinfo, const std::string& procSelfCgroup,
                             const std::function<std::string(const fs::path&)>& readFile) {
  // This process's cgroup per hierarchy: "id:controllers:path"; v2 is "0::path".
  std::map<std::string, std::string> ownPaths;  // controller -> path; "" key: unified
  std::istringstream lines(procSelfCgroup);
  std::string line;
  while (std::getline(lines, line)) {
    std::size_t first = line.find(':');
    std::size_t second = first == std::string::npos ? std::string::npos : line.find(':', first + 1);
    if (second == std::string::npos) continue;
    std::string controllers = line.substr(first + 1, second - first - 1);
    std::string path = line.substr(second + 1);
    if (controllers.empty()) {
      ownPaths[""] = path;
      continue;
    }
    for (const std::string& c : split(controllers, ',')) ownPaths[c] = path;
  }

  Layout layout;
  for (const Mount& m : cgroupMounts(mountinfo)) {
    if (m.type == "cgroup2") {
      if (layout.unified_) continue;  // a bind mount of the same hierarchy
      Hierarchy h;
      h.version = Version::kV2;
      h.mountPoint = m.point;
      h.ownPath = relativeTo(ownPaths.count("") ? ownPaths[""] : "/", m.root);
      layout.unified_ = h;
      layout.v2Controllers_ = splitWhitespace(readFile(m.point / "cgroup.controllers"));
      continue;
    }
    for (const std::string& option : m.superOptions) {
      if (option.empty() || option == "rw" || option == "ro" || layout.v1_.count(option) > 0) continue;
      if (option.find('=') != std::string::npos && option.rfind("name=", 0) != 0) continue;
      auto own = ownPaths.find(option);
      if (own == ownPaths.end()) continue;  // not a controller of this mount
      Hierarchy h;
      h.version = Version::kV1;
      h.mountPoint = m.point;
      h.ownPath = relativeTo(own->second, m.root);
      layout.v1_[option] = h;
    }
  }
  if (layout.v1_.empty() && !layout.unified_) {
    return failedPrecondition("no cgroup hierarchy is mounted (neither cgroup nor cgroup2 in /proc/self/mountinfo)");
  }
  return layout;
}

std::optional<Hierarchy> Layout::find(const std::string& controller) const {
  auto it = v1_.find(controller);
  if (it != v1_.end()) return it->second;
  if (!unified_) return std::nullopt;
  for (const std::string& c : v2Controllers_) {
    if (c == controller) return unified_;
  }
  return std::nullopt;
}

std::string Layout::describe() const {
  std::string out;
  for (const auto& [controller, h] : v1_) {
    if (!out.empty()) out += ' ';
    out += controller + "=v1:" + h.mountPoint.string();
  }
  if (unified_) {
    if (!out.empty()) out += ' ';
    out += "unified=v2:" + unified_->mountPoint.string() + "[" + join(v2Controllers_, " ") + "]";
  }
  return out.empty() ? "none" : out;
}

}  // namespace mantle::isolators::cgroups_common
