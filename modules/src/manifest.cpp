#include "mantle/modules/manifest.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <limits>
#include <memory>
#include <set>
#include <sstream>

#include "mantle/common/strict_json.hpp"

namespace mantle::modules {

namespace fs = std::filesystem;

namespace {

using json::typeName;

class Parser {
 public:
  Parser(std::string sourceName, std::string baseDir) : source_(std::move(sourceName)), baseDir_(std::move(baseDir)) {}

  Result<Manifest> parse(const std::string& text) {
    Result<Json::Value> parsed = json::parseStrict(text, source_);
    if (!parsed.ok()) return parsed.error();
    const Json::Value& root = *parsed;
    if (!root.isObject()) return error("", "the manifest must be a JSON object, got " + typeName(root));
    if (Status s = onlyKeys(root, "", {"libraries"}); !s.ok()) return s.error();
    Manifest manifest;
    if (!root.isMember("libraries")) return error("", "missing required key 'libraries'");
    const Json::Value& libraries = root["libraries"];
    if (!libraries.isArray()) return error("libraries", "expected an array, got " + typeName(libraries));
    for (Json::ArrayIndex i = 0; i < libraries.size(); ++i) {
      if (Status s = parseLibrary(libraries[i], "libraries[" + std::to_string(i) + "]", manifest); !s.ok()) {
        return s.error();
      }
    }
    return manifest;
  }

 private:
  Error error(const std::string& path, const std::string& message) const {
    return invalidArgument(source_ + (path.empty() ? "" : ": " + path) + ": " + message);
  }

  Status onlyKeys(const Json::Value& object, const std::string& path,
                  std::initializer_list<const char*> allowed) const {
    for (const std::string& key : object.getMemberNames()) {
      if (std::find_if(allowed.begin(), allowed.end(), [&](const char* a) { return key == a; }) == allowed.end()) {
        std::string known;
        for (const char* a : allowed) known += std::string(known.empty() ? "" : ", ") + a;
        return error(path.empty() ? key : path + "." + key, "unknown key (expected one of: " + known + ")");
      }
    }
    return {};
  }

  Result<std::string> string(const Json::Value& object, const std::string& path, const char* key) const {
    const Json::Value& v = object[key];
    if (!v.isString()) return error(path + "." + key, std::string("expected a string, got ") + typeName(v));
    if (v.asString().empty()) return error(path + "." + key, "must not be empty");
    return v.asString();
  }

  Status parseLibrary(const Json::Value& lib, const std::string& path, Manifest& manifest) {
    if (!lib.isObject()) return error(path, "expected an object, got " + typeName(lib));
    if (Status s = onlyKeys(lib, path, {"file", "name", "modules"}); !s.ok()) return s;
    ModuleSpec base;
    if (lib.isMember("file")) {
      Result<std::string> file = string(lib, path, "file");
      if (!file.ok()) return file.error();
      fs::path p(*file);
      if (p.is_relative() && !baseDir_.empty()) p = fs::path(baseDir_) / p;
      base.library = p.lexically_normal().string();
      base.libraryIsPath = true;
    } else if (lib.isMember("name")) {
      Result<std::string> name = string(lib, path, "name");
      if (!name.ok()) return name.error();
      base.library = *name;
      base.libraryIsPath = false;
    } else {
      return error(path, "a library needs 'file' or 'name'");
    }
    if (!lib.isMember("modules")) return error(path, "missing required key 'modules'");
    const Json::Value& modules = lib["modules"];
    if (!modules.isArray()) return error(path + ".modules", "expected an array, got " + typeName(modules));
    for (Json::ArrayIndex i = 0; i < modules.size(); ++i) {
      std::string mpath = path + ".modules[" + std::to_string(i) + "]";
      Result<ModuleSpec> spec = parseModule(modules[i], mpath, base);
      if (!spec.ok()) return spec.error();
      if (Status s = manifest.add(std::move(*spec)); !s.ok()) return s;
    }
    return {};
  }

  Result<ModuleSpec> parseModule(const Json::Value& m, const std::string& path, const ModuleSpec& base) {
    if (!m.isObject()) return error(path, "expected an object, got " + typeName(m));
    if (Status s = onlyKeys(m, path,
                            {"name", "instance", "kind", "config", "parameters", "required", "timeout_ms", "process"});
        !s.ok()) {
      return s.error();
    }
    ModuleSpec spec = base;
    spec.source = source_ + ": " + path;
    if (!m.isMember("name")) return error(path, "missing required key 'name'");
    Result<std::string> name = string(m, path, "name");
    if (!name.ok()) return name.error();
    spec.module = *name;
    spec.instance = spec.module;
    auto ctx = [&](const std::string& p) { return p + " (module '" + spec.module + "')"; };
    if (m.isMember("instance")) {
      Result<std::string> instance = string(m, path, "instance");
      if (!instance.ok()) return instance.error().withContext("module '" + spec.module + "'");
      spec.instance = *instance;
    }
    if (m.isMember("kind")) {
      Result<std::string> kind = string(m, path, "kind");
      if (!kind.ok()) return kind.error();
      spec.kind = *kind;
    }
    if (m.isMember("config") && m.isMember("parameters")) {
      return error(ctx(path), "give either 'config' or 'parameters', not both");
    }
    if (m.isMember("config")) {
      const Json::Value& config = m["config"];
      if (!config.isObject()) return error(ctx(path + ".config"), "expected an object, got " + typeName(config));
      spec.config = config;
    }
    if (m.isMember("parameters")) {
      const Json::Value& params = m["parameters"];
      if (!params.isArray()) return error(ctx(path + ".parameters"), "expected an array, got " + typeName(params));
      spec.textValues = true;
      for (Json::ArrayIndex i = 0; i < params.size(); ++i) {
        std::string ppath = path + ".parameters[" + std::to_string(i) + "]";
        const Json::Value& p = params[i];
        if (!p.isObject()) return error(ctx(ppath), "expected an object, got " + typeName(p));
        if (Status s = onlyKeys(p, ppath, {"key", "value"}); !s.ok())
          return s.error().withContext("module '" + spec.module + "'");
        if (!p.isMember("key")) return error(ctx(ppath), "missing required key 'key'");
        Result<std::string> key = string(p, ppath, "key");
        if (!key.ok()) return key.error();
        const Json::Value& value = p["value"];
        if (!p.isMember("value")) return error(ctx(ppath), "missing required key 'value'");
        if (!value.isString()) return error(ctx(ppath + ".value"), "expected a string, got " + typeName(value));
        if (spec.config.isMember(*key)) return error(ctx(ppath + ".key"), "parameter '" + *key + "' given twice");
        spec.config[*key] = value;
      }
    }
    if (m.isMember("required")) {
      if (!m["required"].isBool())
        return error(ctx(path + ".required"), "expected a boolean, got " + typeName(m["required"]));
      spec.required = m["required"].asBool();
    }
    if (m.isMember("timeout_ms")) {
      const Json::Value& t = m["timeout_ms"];
      // isUInt: an integral value within 0..2^32-1 (asInt64 threw on larger
      // ones).
      if (!t.isUInt()) {
        std::string shown = t.isNumeric() ? t.toStyledString() : typeName(t);
        while (!shown.empty() && shown.back() == '\n') shown.pop_back();
        return error(ctx(path + ".timeout_ms"),
                     "expected a non-negative integer of milliseconds up to 4294967295, got " + shown);
      }
      spec.timeoutMs = t.asUInt();
    }
    if (m.isMember("process")) {
      const Json::Value& process = m["process"];
      if (!process.isString()) return error(ctx(path + ".process"), "expected a string, got " + typeName(process));
      if (process.asString() == "shared") {
        spec.process = ModuleSpec::Process::kShared;
      } else if (process.asString() == "separate") {
        spec.process = ModuleSpec::Process::kSeparate;
      } else {
        return error(ctx(path + ".process"),
                     "unknown value '" + process.asString() + "' (expected \"shared\" or \"separate\")");
      }
    }
    return spec;
  }

  std::string source_;
  std::string baseDir_;
};

Result<std::string> readFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return notFound("cannot read manifest '" + path.string() + "'");
  std::ostringstream out;
  out << in.rdbuf();
  if (in.bad()) return internalError("error reading manifest '" + path.string() + "'");
  return out.str();
}

Status loadFile(const fs::path& path, Manifest& into) {
  Result<std::string> text = readFile(path);
  if (!text.ok()) return text.error();
  fs::path absolute = fs::absolute(path);
  Result<Manifest> parsed = parseManifest(*text, path.string(), absolute.parent_path().string());
  if (!parsed.ok()) return parsed.error();
  for (ModuleSpec& spec : parsed->modules) {
    if (Status s = into.add(std::move(spec)); !s.ok()) return s;
  }
  return {};
}

}  // namespace

bool ModuleSpec::sameAs(const ModuleSpec& o) const {
  return library == o.library && libraryIsPath == o.libraryIsPath && module == o.module && instance == o.instance &&
         kind == o.kind && config == o.config && textValues == o.textValues && required == o.required &&
         process == o.process && timeoutMs == o.timeoutMs;
}

Status Manifest::add(ModuleSpec spec) {
  for (const ModuleSpec& existing : modules) {
    if (existing.instance != spec.instance) continue;
    if (existing.sameAs(spec)) return {};
    return invalidArgument(spec.source + ": module instance '" + spec.instance +
                           "' conflicts with its declaration at " + existing.source +
                           " (same name, different library, module or configuration)");
  }
  modules.push_back(std::move(spec));
  return {};
}

const ModuleSpec* Manifest::find(const std::string& instance) const {
  for (const ModuleSpec& spec : modules) {
    if (spec.instance == instance) return &spec;
  }
  return nullptr;
}

Result<Manifest> parseManifest(const std::string& text, const std::string& sourceName, const std::string& baseDir) {
  return Parser(sourceName, baseDir).parse(text);
}

Status loadManifest(const std::string& argument, Manifest& into) {
  std::string arg = argument;
  size_t first = arg.find_first_not_of(" \t\r\n");
  if (first != std::string::npos && arg[first] == '{') {
    Result<Manifest> parsed = parseManifest(arg, "inline manifest", "");
    if (!parsed.ok()) return parsed.error();
    for (ModuleSpec& spec : parsed->modules) {
      if (Status s = into.add(std::move(spec)); !s.ok()) return s;
    }
    return {};
  }
  const std::string kFileScheme = "file://";
  if (arg.rfind(kFileScheme, 0) == 0) arg = arg.substr(kFileScheme.size());
  std::error_code ec;
  fs::file_status status = fs::status(arg, ec);
  if (ec || !fs::exists(status)) return notFound("manifest '" + arg + "' does not exist");
  if (fs::is_directory(status)) {
    std::vector<fs::path> files;
    for (const fs::directory_entry& entry : fs::directory_iterator(arg, ec)) {
      if (entry.is_regular_file() && entry.path().extension() == ".json") files.push_back(entry.path());
    }
    if (ec) return internalError("cannot list manifest directory '" + arg + "': " + ec.message());
    std::sort(files.begin(), files.end());
    for (const fs::path& file : files) {
      if (Status s = loadFile(file, into); !s.ok()) return s;
    }
    return {};
  }
  return loadFile(arg, into);
}

}  // namespace mantle::modules
