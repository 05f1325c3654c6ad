#include "mantle/modules/library.hpp"

#include <cstdio>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>

#include <dlfcn.h>

#include <boost/dll/shared_library.hpp>

namespace mantle::modules {

namespace fs = std::filesystem;

struct Library::Handle {
  boost::dll::shared_library library;
};

namespace {

std::string hex(std::uint32_t value) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08X", value);
  return buf;
}

std::string str(const char* s) {
  return s == nullptr ? std::string() : std::string(s);
}

// Every library opened by this process, by canonical path. Never closed.
std::mutex& cacheMutex() {
  static std::mutex m;
  return m;
}
std::map<std::string, std::shared_ptr<const Library>>& cache() {
  static auto* c = new std::map<std::string, std::shared_ptr<const Library>>();
  return *c;
}

}  // namespace

const char* paramTypeName(mantle_param_type type) {
  switch (type) {
    case MANTLE_PARAM_STRING: return "string";
    case MANTLE_PARAM_INT: return "int";
    case MANTLE_PARAM_DOUBLE: return "double";
    case MANTLE_PARAM_BOOL: return "bool";
    case MANTLE_PARAM_STRING_LIST: return "string list";
  }
  return "unknown";
}

std::string resolveLibrary(const std::string& library, bool isPath, const std::vector<std::string>& searchDirs) {
  if (isPath) return library;
  std::string file = "lib" + library + ".so";
  for (const std::string& dir : searchDirs) {
    fs::path candidate = fs::path(dir) / file;
    std::error_code ec;
    if (fs::exists(candidate, ec)) return candidate.string();
  }
  return file;
}

Result<std::shared_ptr<const Library>> Library::open(const std::string& path) {
  std::error_code ec;
  std::string key = path;
  bool hasSlash = path.find('/') != std::string::npos;
  if (hasSlash) {
    fs::path canonical = fs::canonical(path, ec);
    if (ec) return notFound("cannot open module library '" + path + "': " + ec.message());
    key = canonical.string();
  }
  std::lock_guard<std::mutex> lock(cacheMutex());
  if (auto it = cache().find(key); it != cache().end()) return it->second;

  auto handle = std::make_shared<Handle>();
  boost::dll::load_mode::type mode = boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local;
  if (!hasSlash) mode = mode | boost::dll::load_mode::search_system_folders;
  boost::dll::fs::error_code loadError;
  handle->library.load(key, mode, loadError);
  if (loadError || !handle->library.is_loaded()) {
    const char* detail = dlerror();
    return failedPrecondition("cannot open module library '" + path +
                              "': " + (detail != nullptr ? std::string(detail) : loadError.message()));
  }
  if (!handle->library.has(MANTLE_MODULE_ENTRY_SYMBOL)) {
    return failedPrecondition("module library '" + path +
                              "' has no entry symbol '" MANTLE_MODULE_ENTRY_SYMBOL
                              "' (not a Mantle module, or built without MANTLE_MODULE_LIBRARY)");
  }
  auto entry = handle->library.get<const mantle_library_descriptor*()>(MANTLE_MODULE_ENTRY_SYMBOL);
  const mantle_library_descriptor* descriptor = nullptr;
  try {
    descriptor = entry();
  } catch (...) {
    return failedPrecondition("module library '" + path + "': entry symbol threw an exception");
  }
  std::string where = "module library '" + path + "'";
  if (descriptor == nullptr) return failedPrecondition(where + ": entry symbol returned no descriptor");
  if (descriptor->magic != MANTLE_MODULE_MAGIC) {
    return failedPrecondition(where + ": bad magic " + hex(descriptor->magic) + " (expected " +
                              hex(MANTLE_MODULE_MAGIC) + "): not a Mantle module library");
  }
  if (descriptor->abi_version == 0 || descriptor->abi_version > kHostAbiVersion) {
    return failedPrecondition(
        where + ": built for module ABI version " + std::to_string(descriptor->abi_version) +
        ", but this host supports ABI version " + std::to_string(kHostAbiVersion) +
        (descriptor->abi_version > kHostAbiVersion ? " (the library is newer than the host)" : ""));
  }
  if (descriptor->module_count > 0 && descriptor->modules == nullptr) {
    return failedPrecondition(where + ": declares " + std::to_string(descriptor->module_count) +
                              " modules but no module list");
  }
  std::set<std::string> seen;
  for (size_t i = 0; i < descriptor->module_count; ++i) {
    const mantle_module_descriptor* m = descriptor->modules[i];
    if (m == nullptr || m->name == nullptr || *m->name == '\0') {
      return failedPrecondition(where + ": module #" + std::to_string(i) + " has no descriptor or no name");
    }
    if (!seen.insert(m->name).second) {
      return failedPrecondition(where + ": declares module '" + std::string(m->name) + "' more than once");
    }
  }

  auto library = std::shared_ptr<Library>(new Library());
  library->path_ = key;
  library->name_ = str(descriptor->library_name);
  library->version_ = str(descriptor->library_version);
  library->abiVersion_ = descriptor->abi_version;
  library->descriptor_ = descriptor;
  library->handle_ = std::move(handle);
  cache().emplace(key, library);
  return std::shared_ptr<const Library>(library);
}

std::vector<std::string> Library::moduleNames() const {
  std::vector<std::string> names;
  for (size_t i = 0; i < descriptor_->module_count; ++i) names.emplace_back(descriptor_->modules[i]->name);
  return names;
}

Result<ModuleInfo> Library::module(const std::string& moduleName) const {
  const mantle_module_descriptor* d = nullptr;
  for (size_t i = 0; i < descriptor_->module_count; ++i) {
    if (moduleName == descriptor_->modules[i]->name) d = descriptor_->modules[i];
  }
  std::string where = "module '" + moduleName + "' (library '" + path_ + "')";
  if (d == nullptr) {
    std::string names;
    for (const std::string& n : moduleNames()) names += (names.empty() ? "" : ", ") + n;
    return notFound("module library '" + path_ + "' has no module '" + moduleName +
                    "' (it has: " + (names.empty() ? "none" : names) + ")");
  }
  if (d->size < sizeof(mantle_module_descriptor)) {
    return failedPrecondition(where + ": module descriptor is " + std::to_string(d->size) +
                              " bytes, ABI version 1 needs " + std::to_string(sizeof(mantle_module_descriptor)));
  }
  if (d->kind == nullptr) return failedPrecondition(where + ": no kind");
  const KindSpec* kind = findKind(d->kind);
  if (kind == nullptr) {
    return failedPrecondition(where + ": unknown kind '" + std::string(d->kind) +
                              "' (this host knows: " + knownKindNames() + ")");
  }
  std::string declared =
      kind->name + " API " + std::to_string(d->kind_api_major) + "." + std::to_string(d->kind_api_minor);
  std::string host = kind->name + " API " + std::to_string(kind->major) + "." + std::to_string(kind->minor);
  if (d->kind_api_major != kind->major) {
    return failedPrecondition(where + ": built for " + declared + ", but this host supports " + host +
                              " (major versions differ)");
  }
  if (d->kind_api_minor > kind->minor) {
    return failedPrecondition(where + ": needs " + declared + ", newer than this host's " + host +
                              " (it implements methods this host does not know)");
  }
  if (d->create == nullptr) return failedPrecondition(where + ": no create function");
  if (d->destroy == nullptr) return failedPrecondition(where + ": no destroy function");
  if (d->function_table == nullptr) return failedPrecondition(where + ": null " + kind->name + " function table");
  std::uint32_t tableSize = *static_cast<const std::uint32_t*>(d->function_table);
  std::size_t needed = kind->minTableSize(d->kind_api_minor);
  if (tableSize < needed) {
    return failedPrecondition(where + ": " + kind->name + " function table is " + std::to_string(tableSize) +
                              " bytes, too short for " + declared + " (needs " + std::to_string(needed) + ")");
  }
  if (d->param_count > 0 && d->params == nullptr) return failedPrecondition(where + ": parameter list missing");

  ModuleInfo info;
  info.kind = kind->name;
  info.name = moduleName;
  info.apiMajor = d->kind_api_major;
  info.apiMinor = d->kind_api_minor;
  info.description = str(d->description);
  std::set<std::string> paramNames;
  for (size_t i = 0; i < d->param_count; ++i) {
    const mantle_param_descriptor& p = d->params[i];
    if (p.name == nullptr || *p.name == '\0') {
      return failedPrecondition(where + ": parameter #" + std::to_string(i) + " has no name");
    }
    if (!paramNames.insert(p.name).second) {
      return failedPrecondition(where + ": parameter '" + std::string(p.name) + "' declared twice");
    }
    if (p.type < MANTLE_PARAM_STRING || p.type > MANTLE_PARAM_STRING_LIST) {
      return failedPrecondition(where + ": parameter '" + std::string(p.name) + "' has unknown type " +
                                std::to_string(p.type));
    }
    info.params.push_back(ParamInfo{p.name, p.type, p.required != 0,
                                    p.default_value ? std::optional<std::string>(p.default_value) : std::nullopt,
                                    str(p.help)});
  }
  info.kindSpec = kind;
  info.descriptor = d;
  info.tableSize = tableSize;
  return info;
}

}  // namespace mantle::modules
