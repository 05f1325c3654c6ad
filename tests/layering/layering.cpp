#include "layering.hpp"

#include <algorithm>
#include <fstream>
#include <map>
#include <regex>
#include <set>

namespace mantle::layering {

namespace fs = std::filesystem;

namespace {

// Folders whose contents are modules: each is its own area; a module may
// include files anywhere in its area (isolators/ share cgroups_common/).
const std::vector<std::string> kModuleAreas = {"allocators", "isolators", "authenticators", "hooks",
                                               "examples/modules"};

// Inside core/: the core folders each core folder may include besides its
// own (its library's dependencies; "proto" is the generated mesos.v1 and
// master <-> agent protocols). The daemons and tools at the top (agent,
// master, cli, executor, scheduler, dns, lb, services) are included by nobody else; a new
// folder needs a line here.
const std::map<std::string, std::set<std::string>>& coreDependencies() {
  static const std::map<std::string, std::set<std::string>> kTable = {
      {"proto", {}},
      {"process", {}},
      {"flags", {}},
      {"hooks", {}},
      {"wire", {"proto"}},
      {"resources", {"proto"}},
      {"http", {"wire", "proto"}},
      {"zookeeper", {"wire", "proto"}},
      {"auth", {"flags", "http", "wire", "proto"}},
      {"logging", {"flags", "http", "wire", "proto"}},
      {"libprocess", {"http", "wire", "proto"}},
      {"images", {"http"}},
      {"scheduler", {"http", "resources", "wire", "zookeeper", "proto"}},
      {"executor", {"flags", "http", "process", "wire", "proto"}},
      {"agent",
       {"auth", "flags", "hooks", "http", "images", "libprocess", "logging", "process", "resources", "wire",
        "zookeeper", "proto"}},
      {"master",
       {"auth", "flags", "hooks", "http", "libprocess", "logging", "resources", "wire", "zookeeper", "proto"}},
      {"sim", {"resources", "proto"}},
      {"cron", {"flags", "http", "resources", "scheduler", "wire", "zookeeper", "proto"}},
      {"operator_stream", {"http", "wire", "zookeeper", "proto"}},
      {"dns", {"flags", "operator_stream", "wire", "proto"}},
      {"agent_sim", {"flags", "resources", "wire", "zookeeper", "proto"}},
      {"lb", {"flags", "http", "operator_stream", "proto"}},
      {"services", {"http", "resources", "scheduler", "wire", "zookeeper", "auth", "flags", "proto"}},
      {"cli", {"auth", "flags", "http", "process", "resources", "scheduler", "sim", "wire", "zookeeper", "proto"}},
  };
  return kTable;
}

// What an include names, by where it leads.
struct Target {
  std::string layer;            // "module-api", "common", "modules", "core", a module area, or "" (system/third-party)
  std::string coreFolder = {};  // for "core": the folder under core/ ("proto" for generated protocols)
};

// The folder under core/ of a path relative to core/ ("" for a top-level file).
std::string firstComponent(const std::string& relative) {
  const size_t slash = relative.find('/');
  return slash == std::string::npos ? "" : relative.substr(0, slash);
}

bool startsWith(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

bool isSource(const fs::path& path) {
  static const std::set<std::string> kExtensions = {".h", ".hpp", ".c", ".cc", ".cpp"};
  return kExtensions.count(path.extension().string()) > 0;
}

class Checker {
 public:
  explicit Checker(fs::path root) : root_(std::move(root)) {
    for (const std::string& area : kModuleAreas) {
      const fs::path dir = root_ / area;
      if (!fs::is_directory(dir)) continue;
      for (const auto& entry : fs::recursive_directory_iterator(dir)) {
        if (entry.is_regular_file()) areaFiles_[area].push_back(fs::relative(entry.path(), dir).generic_string());
      }
    }
  }

  // The layer a file of the tree belongs to; "" for files not checked.
  std::string layerOf(const std::string& relative) const {
    for (const std::string& area : kModuleAreas) {
      if (startsWith(relative, area + "/")) return area;
    }
    for (const char* layer : {"module-api", "common", "modules", "core"}) {
      if (startsWith(relative, std::string(layer) + "/")) return layer;
    }
    return "";
  }

  Target resolve(const fs::path& includer, const std::string& include, const std::string& includerLayer) const {
    // A file next to the includer (or reached from it by a relative path).
    const fs::path sibling = (includer.parent_path() / include).lexically_normal();
    if (fs::is_regular_file(sibling)) {
      const std::string relative = fs::relative(sibling, root_).generic_string();
      const std::string layer = layerOf(relative);
      if (layer == "core") return {layer, firstComponent(relative.substr(5))};
      return {layer};
    }
    if (include == "mantle/result.hpp" || startsWith(include, "mantle/module_api/") ||
        startsWith(include, "mantle/module/v1/")) {
      return {"module-api"};
    }
    if (startsWith(include, "mantle/common/")) return {"common"};
    if (startsWith(include, "mantle/modules/")) return {"modules"};
    // Generated host protocols (mesos.v1 and the master <-> agent protocol).
    if (startsWith(include, "mesos/") || startsWith(include, "mantle/internal/")) return {"core", "proto"};
    if (fs::is_regular_file(root_ / "core" / include)) return {"core", firstComponent(include)};
    if (fs::is_regular_file(root_ / "modules" / "src" / include)) return {"modules"};
    if (fs::is_regular_file(root_ / "common" / "src" / include)) return {"common"};
    // A module's file through an include directory: its own area first.
    std::string found;
    for (const std::string& area : kModuleAreas) {
      auto it = areaFiles_.find(area);
      if (it == areaFiles_.end()) continue;
      for (const std::string& file : it->second) {
        if (file == include ||
            (file.size() > include.size() && file.compare(file.size() - include.size(), include.size(), include) == 0 &&
             file[file.size() - include.size() - 1] == '/')) {
          if (area == includerLayer) return {area};
          if (found.empty()) found = area;
        }
      }
    }
    if (fs::is_regular_file(root_ / include)) return {layerOf(include)};
    return {found};
  }

  static bool allowed(const std::string& from, const std::string& to) {
    if (to.empty() || to == from) return true;
    if (from == "module-api") return false;
    if (from == "common") return to == "module-api";
    if (from == "modules") return to == "module-api" || to == "common";
    if (from == "core") return to == "module-api" || to == "common" || to == "modules";
    return to == "module-api" || to == "common";  // a module area
  }

  // Why core/<from>/ may not include core/<to>/ ("" when it may).
  static std::string coreRule(const std::string& from, const std::string& to) {
    if (from.empty() || to.empty() || from == to) return "";
    const auto& table = coreDependencies();
    auto it = table.find(from);
    if (it == table.end()) {
      return "core/" + from + "/ has no line in the core dependency table (tests/layering/layering.cpp)";
    }
    if (it->second.count(to) > 0) return "";
    return "core/" + from + "/ may not include core/" + to + "/";
  }

  void check(const fs::path& file, std::vector<Violation>& out) const {
    const std::string relative = fs::relative(file, root_).generic_string();
    const std::string layer = layerOf(relative);
    if (layer.empty()) return;
    static const std::regex kInclude(R"(^\s*#\s*include\s*[<"]([^>"]+)[>"])");
    std::ifstream in(file);
    std::string line;
    int number = 0;
    while (std::getline(in, line)) {
      ++number;
      std::smatch match;
      if (!std::regex_search(line, match, kInclude)) continue;
      const std::string include = match[1];
      const Target target = resolve(file, include, layer);
      if (!allowed(layer, target.layer)) {
        out.push_back({relative, number, include, layer + "/ may not include " + target.layer + "/"});
      } else if (layer == "core" && target.layer == "core") {
        if (std::string why = coreRule(firstComponent(relative.substr(5)), target.coreFolder); !why.empty()) {
          out.push_back({relative, number, include, why});
        }
      }
    }
  }

 private:
  fs::path root_;
  std::map<std::string, std::vector<std::string>> areaFiles_;
};

}  // namespace

std::string Violation::toString() const {
  return file + ":" + std::to_string(line) + ": #include \"" + include + "\": " + why;
}

std::vector<Violation> checkLayers(const fs::path& root) {
  const Checker checker(fs::canonical(root));
  std::vector<Violation> out;
  std::vector<fs::path> files;
  for (const char* top : {"module-api", "common", "modules", "core", "allocators", "isolators", "authenticators",
                          "hooks", "examples/modules"}) {
    const fs::path dir = fs::canonical(root) / top;
    if (!fs::is_directory(dir)) continue;
    for (const auto& entry : fs::recursive_directory_iterator(dir)) {
      if (entry.is_regular_file() && isSource(entry.path())) files.push_back(entry.path());
    }
  }
  std::sort(files.begin(), files.end());
  for (const fs::path& file : files) checker.check(file, out);
  return out;
}

}  // namespace mantle::layering
