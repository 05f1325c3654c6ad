#include "modules_command.hpp"

#include <filesystem>
#include <iostream>

#include "mantle/modules/config.hpp"
#include "mantle/modules/conformance.hpp"
#include "mantle/modules/defaults.hpp"
#include "mantle/modules/library.hpp"
#include "mantle/modules/manifest.hpp"
#include "mantle/modules/registry.hpp"

namespace mantle::cli {

namespace {

constexpr const char* kUsage =
    "Usage: mantle modules check [MANIFEST...]\n"
    "       mantle modules list LIBRARY...\n"
    "       mantle modules test LIBRARY.so [--module=NAME] [--config=JSON] [--json]\n"
    "                           [--not-applicable=CASE:WHY]...\n"
    "\n"
    "check  Loads each manifest (a file, a directory of *.json files read in sorted\n"
    "       order, or inline JSON) the way mantle-master and mantle-agent do: opens\n"
    "       every library, checks ABI and kind API versions and validates each\n"
    "       module's configuration against the parameters it declares. Prints\n"
    "       every instance with its kind, versions and configuration. Nothing is\n"
    "       created. Exits 1 at the first error, which names the file, the JSON\n"
    "       path, the module and the library. Without MANIFEST: the default\n"
    "       manifest, which lists the built-in modules.\n"
    "list   Prints the modules a library provides: kind, name, kind API version,\n"
    "       description and declared parameters. Exits 1 if the library or one of\n"
    "       its modules is refused by this host.\n"
    "test   Runs the conformance kit of the module's kind against it (docs/MODULES.md):\n"
    "       for isolators the container lifecycle in Mesos' order, cleanup of unknown\n"
    "       containers, calls after cleanup, concurrency; for hooks, authenticators\n"
    "       and authorizers their contracts; for every kind no crash, deadlines kept\n"
    "       (2 s per call), no exception escaping, garbage refused, no threads left\n"
    "       after destroy. The module runs in a mantle-module-host process, so a\n"
    "       crash is a failed case. For allocators Mesos' allocator contract (offers,\n"
    "       filters, suppression, reservations, quota, fairness, determinism), each\n"
    "       case on a fresh instance in the kit's own process (allocators run only\n"
    "       in process). --module picks one of several modules, --config gives its\n"
    "       configuration (a JSON object), --not-applicable declares a case the\n"
    "       module does not promise (reported as skipped with WHY), --json prints\n"
    "       the report as JSON. Exits 0 when every promise holds, 1 otherwise.\n"
    "\n"
    "Libraries given by short name (\"name\": \"foo\") are looked for as libfoo.so in\n";

std::string version(const modules::ModuleInfo& info) {
  return std::to_string(info.apiMajor) + "." + std::to_string(info.apiMinor);
}

void printParams(const modules::ModuleInfo& info, const std::string& indent) {
  for (const modules::ParamInfo& p : info.params) {
    std::cout << indent << p.name << " (" << modules::paramTypeName(p.type) << (p.required ? ", required" : "")
              << (p.defaultValue ? ", default \"" + *p.defaultValue + "\"" : "") << ")"
              << (p.help.empty() ? "" : ": " + p.help) << "\n";
  }
}

int check(const std::vector<std::string>& manifests) {
  int status = 0;
  for (const std::string& argument : manifests) {
    modules::Manifest manifest;
    if (Status s = modules::loadManifest(argument, manifest); !s.ok()) {
      std::cerr << "mantle: error: " << s.error().message << "\n";
      status = 1;
      continue;
    }
    modules::Registry registry(modules::RegistryOptions{{modules::builtinModuleDir()}, ""});
    if (Status s = registry.load(manifest); !s.ok()) {
      std::cerr << "mantle: error: " << s.error().message << "\n";
      status = 1;
      continue;
    }
    std::string label = argument.find('{') != std::string::npos ? "inline manifest" : argument;
    std::cout << label << ": OK, " << registry.entries().size() << " module instance(s)\n";
    for (const std::string& warning : registry.warnings()) std::cout << "  warning: " << warning << "\n";
    for (const modules::Registry::Entry* e : registry.entries()) {
      std::cout << "  " << e->info.kind << " '" << e->spec.instance << "': module '" << e->info.name << "' "
                << e->info.kind << " API " << version(e->info) << ", library " << e->library->name() << " "
                << e->library->version() << " (ABI " << e->library->abiVersion() << ", " << e->library->path() << ")"
                << (e->spec.required ? "" : ", optional");
      if (e->spec.timeoutMs) std::cout << ", timeout " << *e->spec.timeoutMs << " ms";
      if (e->spec.process == modules::ModuleSpec::Process::kSeparate) std::cout << ", out of process";
      std::cout << "\n";
      if (e->config.values().empty()) std::cout << "    config: (none)\n";
      for (const modules::ParamInfo& p : e->info.params) {
        auto it = e->config.values().find(p.name);
        if (it != e->config.values().end()) {
          std::cout << "    config " << p.name << " = " << modules::describeValue(it->second) << "\n";
        }
      }
    }
  }
  return status;
}

int list(const std::vector<std::string>& libraries) {
  int status = 0;
  for (const std::string& path : libraries) {
    std::string resolved =
        modules::resolveLibrary(path, path.find('/') != std::string::npos, {modules::builtinModuleDir()});
    Result<std::shared_ptr<const modules::Library>> library = modules::Library::open(resolved);
    if (!library.ok()) {
      std::cerr << "mantle: error: " << library.error().message << "\n";
      status = 1;
      continue;
    }
    const modules::Library& lib = **library;
    std::cout << "library " << lib.name() << " " << lib.version() << " (ABI " << lib.abiVersion() << ", " << lib.path()
              << ")\n";
    for (const std::string& name : lib.moduleNames()) {
      Result<modules::ModuleInfo> info = lib.module(name);
      if (!info.ok()) {
        std::cerr << "mantle: error: " << info.error().message << "\n";
        status = 1;
        continue;
      }
      std::cout << "  " << info->kind << " '" << info->name << "' (" << info->kind << " API " << version(*info) << ")"
                << (info->description.empty() ? "" : ": " + info->description) << "\n";
      printParams(*info, "    param ");
    }
  }
  return status;
}

int test(const std::vector<std::string>& args) {
  modules::conformance::Options options;
  bool json = false;
  for (const std::string& arg : args) {
    if (arg.starts_with("--module=")) {
      options.module = arg.substr(9);
    } else if (arg.starts_with("--config=")) {
      options.configJson = arg.substr(9);
    } else if (arg.starts_with("--not-applicable=")) {
      std::string value = arg.substr(17);
      std::size_t colon = value.find(':');
      if (colon == 0 || colon == std::string::npos || colon + 1 == value.size()) {
        std::cerr << "mantle: error: 'modules test': --not-applicable takes CASE:WHY, got '" << value << "'\n";
        return 2;
      }
      options.notApplicable[value.substr(0, colon)] = value.substr(colon + 1);
    } else if (arg == "--json") {
      json = true;
    } else if (arg.starts_with("--")) {
      std::cerr << "mantle: error: 'modules test': unknown option '" << arg << "'\n" << kUsage;
      return 2;
    } else if (options.library.empty()) {
      // A file name without a directory: the built-in module directory's, if
      // it has one; a short name: as in a manifest.
      std::filesystem::path builtin = std::filesystem::path(modules::builtinModuleDir()) / arg;
      bool file = arg.find('/') != std::string::npos || arg.ends_with(".so");
      options.library = file && arg.find('/') == std::string::npos && std::filesystem::exists(builtin)
                            ? builtin.string()
                            : modules::resolveLibrary(arg, file, {modules::builtinModuleDir()});
    } else {
      std::cerr << "mantle: error: 'modules test' takes one library\n" << kUsage;
      return 2;
    }
  }
  if (options.library.empty()) {
    std::cerr << "mantle: error: 'modules test' needs a library\n" << kUsage;
    return 2;
  }
  Result<modules::conformance::Report> report = modules::conformance::run(options);
  if (!report.ok()) {
    std::cerr << "mantle: error: " << report.error().message << "\n";
    return 1;
  }
  std::cout << (json ? report->json() : report->text());
  return report->passed() ? 0 : 1;
}

}  // namespace

int modulesCommand(const std::vector<std::string>& args) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    (args.empty() ? std::cerr : std::cout)
        << kUsage << modules::builtinModuleDir() << ", then by the dynamic loader's search.\n";
    return args.empty() ? 2 : 0;
  }
  std::vector<std::string> rest(args.begin() + 1, args.end());
  if (args[0] == "check" && rest.empty()) rest.push_back(modules::defaultManifestPath());
  if (rest.empty()) {
    std::cerr << "mantle: error: 'modules " << args[0] << "' needs at least one argument\n" << kUsage;
    return 2;
  }
  if (args[0] == "check") return check(rest);
  if (args[0] == "list") return list(rest);
  if (args[0] == "test") return test(rest);
  std::cerr << "mantle: error: unknown subcommand 'modules " << args[0] << "'\n" << kUsage;
  return 2;
}

}  // namespace mantle::cli
