#include "mantle/modules/config.hpp"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <sstream>

namespace mantle::modules {

namespace v1 = ::mantle::module::v1;

namespace {

Result<v1::ConfigValue> fromText(const std::string& text, mantle_param_type type) {
  v1::ConfigValue value;
  switch (type) {
    case MANTLE_PARAM_STRING: value.set_string_value(text); return value;
    case MANTLE_PARAM_INT: {
      errno = 0;
      char* end = nullptr;
      long long n = std::strtoll(text.c_str(), &end, 10);
      if (text.empty() || *end != '\0' || errno == ERANGE) return invalidArgument("'" + text + "' is not an integer");
      value.set_int_value(n);
      return value;
    }
    case MANTLE_PARAM_DOUBLE: {
      errno = 0;
      char* end = nullptr;
      double d = std::strtod(text.c_str(), &end);
      if (text.empty() || *end != '\0' || errno == ERANGE || !std::isfinite(d)) {
        return invalidArgument("'" + text + "' is not a number");
      }
      value.set_double_value(d);
      return value;
    }
    case MANTLE_PARAM_BOOL:
      if (text == "true") {
        value.set_bool_value(true);
      } else if (text == "false") {
        value.set_bool_value(false);
      } else {
        return invalidArgument("'" + text + "' is not a boolean (true or false)");
      }
      return value;
    case MANTLE_PARAM_STRING_LIST: {
      auto* list = value.mutable_string_list_value();
      std::stringstream in(text);
      std::string item;
      while (std::getline(in, item, ',')) {
        if (!item.empty()) list->add_items(item);
      }
      return value;
    }
  }
  return invalidArgument("unknown parameter type");
}

Result<v1::ConfigValue> fromJson(const Json::Value& json, mantle_param_type type) {
  v1::ConfigValue value;
  switch (type) {
    case MANTLE_PARAM_STRING:
      if (!json.isString()) return invalidArgument("expected a string");
      value.set_string_value(json.asString());
      return value;
    case MANTLE_PARAM_INT:
      if (!json.isIntegral() || !json.isInt64()) return invalidArgument("expected an integer");
      value.set_int_value(json.asInt64());
      return value;
    case MANTLE_PARAM_DOUBLE:
      if (!json.isNumeric()) return invalidArgument("expected a number");
      value.set_double_value(json.asDouble());
      return value;
    case MANTLE_PARAM_BOOL:
      if (!json.isBool()) return invalidArgument("expected a boolean");
      value.set_bool_value(json.asBool());
      return value;
    case MANTLE_PARAM_STRING_LIST: {
      if (!json.isArray()) return invalidArgument("expected an array of strings");
      auto* list = value.mutable_string_list_value();
      for (const Json::Value& item : json) {
        if (!item.isString()) return invalidArgument("expected an array of strings");
        list->add_items(item.asString());
      }
      return value;
    }
  }
  return invalidArgument("unknown parameter type");
}

}  // namespace

std::string describeValue(const v1::ConfigValue& value) {
  switch (value.value_case()) {
    case v1::ConfigValue::kStringValue: return "\"" + value.string_value() + "\"";
    case v1::ConfigValue::kIntValue: return std::to_string(value.int_value());
    case v1::ConfigValue::kDoubleValue: {
      std::ostringstream out;
      out << value.double_value();
      return out.str();
    }
    case v1::ConfigValue::kBoolValue: return value.bool_value() ? "true" : "false";
    case v1::ConfigValue::kStringListValue: {
      std::string s = "[";
      for (const std::string& item : value.string_list_value().items())
        s += (s.size() > 1 ? ", \"" : "\"") + item + "\"";
      return s + "]";
    }
    case v1::ConfigValue::VALUE_NOT_SET: break;
  }
  return "(unset)";
}

Result<v1::ModuleConfig> buildConfig(const ModuleInfo& module, const ModuleSpec& spec) {
  v1::ModuleConfig config;
  const std::string field = spec.textValues ? "parameters" : "config";
  auto where = [&](const std::string& key) {
    return spec.source + "." + field + (spec.textValues ? "[key=" + key + "]" : "." + key) + " (module '" +
           spec.module + "')";
  };
  for (const std::string& key : spec.config.getMemberNames()) {
    const ParamInfo* param = nullptr;
    for (const ParamInfo& p : module.params) {
      if (p.name == key) param = &p;
    }
    if (param == nullptr) {
      std::string known;
      for (const ParamInfo& p : module.params) known += (known.empty() ? "" : ", ") + p.name;
      return invalidArgument(where(key) +
                             ": unknown parameter (the module declares: " + (known.empty() ? "none" : known) + ")");
    }
    const Json::Value& json = spec.config[key];
    Result<v1::ConfigValue> value =
        spec.textValues ? fromText(json.asString(), param->type) : fromJson(json, param->type);
    if (!value.ok()) {
      return invalidArgument(where(key) + ": " + value.error().message + " for parameter of type " +
                             paramTypeName(param->type));
    }
    (*config.mutable_values())[key] = std::move(*value);
  }
  for (const ParamInfo& p : module.params) {
    if (config.values().count(p.name) > 0) continue;
    if (p.required) {
      return invalidArgument(spec.source + " (module '" + spec.module + "'): missing required parameter '" + p.name +
                             "' (" + paramTypeName(p.type) + (p.help.empty() ? "" : ": " + p.help) + ")");
    }
    if (p.defaultValue) {
      Result<v1::ConfigValue> value = fromText(*p.defaultValue, p.type);
      if (!value.ok()) {
        return failedPrecondition("module '" + spec.module + "' declares an invalid default for parameter '" + p.name +
                                  "': " + value.error().message);
      }
      (*config.mutable_values())[p.name] = std::move(*value);
    }
  }
  return config;
}

}  // namespace mantle::modules
