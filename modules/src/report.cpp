#include "mantle/modules/report.hpp"

#include <json/value.h>
#include <json/writer.h>

#include <algorithm>
#include <cctype>
#include <set>

namespace mantle::modules {
namespace {

namespace v1 = ::mantle::module::v1;

constexpr const char* kMasked = "********";

Json::Value configValueJson(const v1::ConfigValue& value) {
  switch (value.value_case()) {
    case v1::ConfigValue::kStringValue: return value.string_value();
    case v1::ConfigValue::kIntValue: return Json::Int64(value.int_value());
    case v1::ConfigValue::kDoubleValue: return value.double_value();
    case v1::ConfigValue::kBoolValue: return value.bool_value();
    case v1::ConfigValue::kStringListValue: {
      Json::Value items(Json::arrayValue);
      for (const std::string& item : value.string_list_value().items()) items.append(item);
      return items;
    }
    case v1::ConfigValue::VALUE_NOT_SET: break;
  }
  return Json::nullValue;
}

}  // namespace

bool isSecretKey(std::string_view key) {
  std::string lower(key);
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  for (const char* word : {"secret", "password", "token", "credential"}) {
    if (lower.find(word) != std::string::npos) return true;
  }
  return false;
}

std::string renderModulesJson(const Registry& registry) {
  std::set<std::string> alive;
  for (const InstanceMetrics& metrics : registry.metrics()) alive.insert(metrics.instance);
  Json::Value modules(Json::arrayValue);
  for (const Registry::Entry* entry : registry.entries()) {
    Json::Value module(Json::objectValue);
    module["instance"] = entry->spec.instance;
    module["kind"] = entry->info.kind;
    module["module"] = entry->info.name;
    module["library"] = entry->library->path();
    module["library_name"] = entry->library->name();
    module["version"] = entry->library->version();
    module["api_version"] = std::to_string(entry->info.apiMajor) + "." + std::to_string(entry->info.apiMinor);
    module["process"] = entry->spec.process == ModuleSpec::Process::kSeparate ? "separate" : "shared";
    module["created"] = alive.count(entry->spec.instance) > 0;
    Json::Value config(Json::objectValue);
    for (const auto& [key, value] : entry->config.values()) {
      config[key] = isSecretKey(key) ? Json::Value(kMasked) : configValueJson(value);
    }
    module["config"] = config;
    modules.append(module);
  }
  Json::Value out(Json::objectValue);
  out["modules"] = modules;
  Json::StreamWriterBuilder builder;
  builder["indentation"] = "";
  return Json::writeString(builder, out);
}

}  // namespace mantle::modules
