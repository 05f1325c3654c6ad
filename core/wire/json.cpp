#include "wire/json.hpp"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/message.h>
#include <json/json.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <utility>
#include <vector>

#include <glog/logging.h>

#include "mantle/common/strict_json.hpp"

namespace mantle::wire {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::EnumValueDescriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

constexpr std::string_view kScalarMessage = "mesos.v1.Value.Scalar";

// ---------------------------------------------------------------------------
// Base64 (RFC 4648).

constexpr char kBase64Alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

void appendBase64(std::string_view data, std::string* out) {
  std::size_t i = 0;
  for (; i + 3 <= data.size(); i += 3) {
    std::uint32_t n = (static_cast<unsigned char>(data[i]) << 16) |
                      (static_cast<unsigned char>(data[i + 1]) << 8) | static_cast<unsigned char>(data[i + 2]);
    out->push_back(kBase64Alphabet[(n >> 18) & 63]);
    out->push_back(kBase64Alphabet[(n >> 12) & 63]);
    out->push_back(kBase64Alphabet[(n >> 6) & 63]);
    out->push_back(kBase64Alphabet[n & 63]);
  }
  std::size_t rest = data.size() - i;
  if (rest == 1) {
    std::uint32_t n = static_cast<unsigned char>(data[i]) << 16;
    out->push_back(kBase64Alphabet[(n >> 18) & 63]);
    out->push_back(kBase64Alphabet[(n >> 12) & 63]);
    out->append("==");
  } else if (rest == 2) {
    std::uint32_t n = (static_cast<unsigned char>(data[i]) << 16) | (static_cast<unsigned char>(data[i + 1]) << 8);
    out->push_back(kBase64Alphabet[(n >> 18) & 63]);
    out->push_back(kBase64Alphabet[(n >> 12) & 63]);
    out->push_back(kBase64Alphabet[(n >> 6) & 63]);
    out->push_back('=');
  }
}

int base64Digit(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+' || c == '-') return 62;
  if (c == '/' || c == '_') return 63;
  return -1;
}

// Standard or url-safe alphabet, padding optional.
bool decodeBase64(std::string_view text, std::string* out) {
  while (!text.empty() && text.back() == '=') {
    text.remove_suffix(1);
  }
  if (text.size() % 4 == 1) {
    return false;
  }
  std::uint32_t bits = 0;
  int count = 0;
  for (char c : text) {
    int digit = base64Digit(c);
    if (digit < 0) {
      return false;
    }
    bits = (bits << 6) | static_cast<std::uint32_t>(digit);
    count += 6;
    if (count >= 8) {
      count -= 8;
      out->push_back(static_cast<char>((bits >> count) & 0xff));
    }
  }
  return true;
}

// ---------------------------------------------------------------------------
// Writing.

// A JSON string. Bytes that are not UTF-8 (a string field set from a protobuf
// body may hold any) are written as U+FFFD, so every document is valid JSON.
void appendQuoted(std::string_view text, std::string* out) {
  out->push_back('"');
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    switch (c) {
      case '"': out->append("\\\""); break;
      case '\\': out->append("\\\\"); break;
      case '\b': out->append("\\b"); break;
      case '\f': out->append("\\f"); break;
      case '\n': out->append("\\n"); break;
      case '\r': out->append("\\r"); break;
      case '\t': out->append("\\t"); break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          static constexpr char kHex[] = "0123456789abcdef";
          out->append("\\u00");
          out->push_back(kHex[(c >> 4) & 0xf]);
          out->push_back(kHex[c & 0xf]);
        } else if (static_cast<unsigned char>(c) < 0x80) {
          out->push_back(c);
        } else if (std::size_t length = json::utf8SequenceLength(text.substr(i)); length > 0) {
          out->append(text.substr(i, length));
          i += length - 1;
        } else {
          out->append("\\ufffd");
        }
    }
  }
  out->push_back('"');
}

template <typename Float>
void appendFloating(Float value, std::string* out) {
  if (std::isnan(value)) {
    out->append("\"NaN\"");
    return;
  }
  if (std::isinf(value)) {
    out->append(value > 0 ? "\"Infinity\"" : "\"-Infinity\"");
    return;
  }
  char buffer[64];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof(buffer), value);
  CHECK(ec == std::errc()) << "to_chars failed for a finite value";
  std::string_view text(buffer, static_cast<std::size_t>(end - buffer));
  out->append(text);
  if (text.find_first_of(".e") == std::string_view::npos) {
    out->append(".0");
  }
}

void appendMessage(const Message& message, const JsonPrintOptions& options, std::string* out);

// One value of `field` (element `index` when repeated, -1 when singular).
void appendValue(const Message& message, const FieldDescriptor* field, int index,
                 const JsonPrintOptions& options, std::string* out) {
  const Reflection* reflection = message.GetReflection();
  const bool repeated = index >= 0;
  switch (field->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
      out->append(std::to_string(repeated ? reflection->GetRepeatedInt32(message, field, index)
                                          : reflection->GetInt32(message, field)));
      break;
    case FieldDescriptor::CPPTYPE_INT64:
      out->append(std::to_string(repeated ? reflection->GetRepeatedInt64(message, field, index)
                                          : reflection->GetInt64(message, field)));
      break;
    case FieldDescriptor::CPPTYPE_UINT32:
      out->append(std::to_string(repeated ? reflection->GetRepeatedUInt32(message, field, index)
                                          : reflection->GetUInt32(message, field)));
      break;
    case FieldDescriptor::CPPTYPE_UINT64:
      out->append(std::to_string(repeated ? reflection->GetRepeatedUInt64(message, field, index)
                                          : reflection->GetUInt64(message, field)));
      break;
    case FieldDescriptor::CPPTYPE_DOUBLE:
      appendFloating(repeated ? reflection->GetRepeatedDouble(message, field, index)
                              : reflection->GetDouble(message, field),
                     out);
      break;
    case FieldDescriptor::CPPTYPE_FLOAT:
      appendFloating(repeated ? reflection->GetRepeatedFloat(message, field, index)
                              : reflection->GetFloat(message, field),
                     out);
      break;
    case FieldDescriptor::CPPTYPE_BOOL:
      out->append((repeated ? reflection->GetRepeatedBool(message, field, index)
                            : reflection->GetBool(message, field))
                      ? "true"
                      : "false");
      break;
    case FieldDescriptor::CPPTYPE_ENUM: {
      const EnumValueDescriptor* value =
          repeated ? reflection->GetRepeatedEnum(message, field, index) : reflection->GetEnum(message, field);
      appendQuoted(value->name(), out);
      break;
    }
    case FieldDescriptor::CPPTYPE_STRING: {
      std::string scratch;
      const std::string& text = repeated ? reflection->GetRepeatedStringReference(message, field, index, &scratch)
                                         : reflection->GetStringReference(message, field, &scratch);
      if (field->type() == FieldDescriptor::TYPE_BYTES) {
        out->push_back('"');
        appendBase64(text, out);
        out->push_back('"');
      } else {
        appendQuoted(text, out);
      }
      break;
    }
    case FieldDescriptor::CPPTYPE_MESSAGE:
      appendMessage(repeated ? reflection->GetRepeatedMessage(message, field, index)
                             : reflection->GetMessage(message, field),
                    options, out);
      break;
  }
}

// The text of a map key, as the JSON object key.
std::string mapKeyText(const Message& entry, const FieldDescriptor* key) {
  const Reflection* reflection = entry.GetReflection();
  switch (key->cpp_type()) {
    case FieldDescriptor::CPPTYPE_STRING: return reflection->GetString(entry, key);
    case FieldDescriptor::CPPTYPE_INT32: return std::to_string(reflection->GetInt32(entry, key));
    case FieldDescriptor::CPPTYPE_INT64: return std::to_string(reflection->GetInt64(entry, key));
    case FieldDescriptor::CPPTYPE_UINT32: return std::to_string(reflection->GetUInt32(entry, key));
    case FieldDescriptor::CPPTYPE_UINT64: return std::to_string(reflection->GetUInt64(entry, key));
    case FieldDescriptor::CPPTYPE_BOOL: return reflection->GetBool(entry, key) ? "true" : "false";
    default: LOG(FATAL) << "map key of unsupported type in " << key->full_name();
  }
  return {};
}

void appendMap(const Message& message, const FieldDescriptor* field, const JsonPrintOptions& options,
               std::string* out) {
  const Reflection* reflection = message.GetReflection();
  const Descriptor* entryType = field->message_type();
  const FieldDescriptor* keyField = entryType->map_key();
  const FieldDescriptor* valueField = entryType->map_value();
  std::vector<std::pair<std::string, const Message*>> entries;
  int size = reflection->FieldSize(message, field);
  entries.reserve(static_cast<std::size_t>(size));
  for (int i = 0; i < size; ++i) {
    const Message& entry = reflection->GetRepeatedMessage(message, field, i);
    entries.emplace_back(mapKeyText(entry, keyField), &entry);
  }
  std::sort(entries.begin(), entries.end(),
            [](const auto& left, const auto& right) { return left.first < right.first; });
  out->push_back('{');
  for (std::size_t i = 0; i < entries.size(); ++i) {
    if (i > 0) out->push_back(',');
    appendQuoted(entries[i].first, out);
    out->push_back(':');
    appendValue(*entries[i].second, valueField, -1, options, out);
  }
  out->push_back('}');
}

void appendMessage(const Message& message, const JsonPrintOptions& options, std::string* out) {
  const Descriptor* descriptor = message.GetDescriptor();
  const Reflection* reflection = message.GetReflection();
  out->push_back('{');
  bool first = true;
  auto key = [&](const FieldDescriptor* field) {
    if (!first) out->push_back(',');
    first = false;
    appendQuoted(field->name(), out);
    out->push_back(':');
  };
  for (int i = 0; i < descriptor->field_count(); ++i) {
    const FieldDescriptor* field = descriptor->field(i);
    if (field->is_map()) {
      if (reflection->FieldSize(message, field) > 0) {
        key(field);
        appendMap(message, field, options, out);
      }
    } else if (field->is_repeated()) {
      int size = reflection->FieldSize(message, field);
      if (size > 0) {
        key(field);
        out->push_back('[');
        for (int j = 0; j < size; ++j) {
          if (j > 0) out->push_back(',');
          appendValue(message, field, j, options, out);
        }
        out->push_back(']');
      }
    } else if (reflection->HasField(message, field) ||
               (options.includeDefaults && field->has_default_value() && !field->options().deprecated() &&
                field->real_containing_oneof() == nullptr)) {
      key(field);
      appendValue(message, field, -1, options, out);
    }
  }
  out->push_back('}');
}

// ---------------------------------------------------------------------------
// Reading.

std::string childPath(const std::string& parent, std::string_view name) {
  if (parent.empty()) return std::string(name);
  std::string path = parent;
  path.push_back('.');
  path.append(name);
  return path;
}

std::string indexPath(const std::string& parent, std::size_t index) {
  return parent + "[" + std::to_string(index) + "]";
}

std::string keyPath(const std::string& parent, const std::string& key) {
  std::string path = parent + "[";
  appendQuoted(key, &path);
  path.push_back(']');
  return path;
}

Error errorAt(const std::string& path, const std::string& message) {
  return invalidArgument(path.empty() ? message : path + ": " + message);
}

// "string 'abc'", "number 1.5", "object", ... for error messages.
std::string describe(const Json::Value& value) {
  switch (value.type()) {
    case Json::nullValue: return "null";
    case Json::booleanValue: return value.asBool() ? "true" : "false";
    case Json::intValue:
    case Json::uintValue:
    case Json::realValue: return "number " + value.asString();
    case Json::stringValue: {
      std::string text = value.asString();
      if (text.size() > 40) {
        text = text.substr(0, 40) + "...";
      }
      return "string '" + text + "'";
    }
    case Json::arrayValue: return "array";
    case Json::objectValue: return "object";
  }
  return "value";
}

struct Parser {
  const JsonParseOptions& options;

  // An integer from a JSON number (integral) or a decimal string, range
  // checked against [min, max].
  template <typename Int>
  Result<Int> integer(const Json::Value& value, const std::string& path) {
    static_assert(std::is_integral_v<Int>);
    constexpr Int kMin = std::numeric_limits<Int>::min();
    constexpr Int kMax = std::numeric_limits<Int>::max();
    auto outOfRange = [&]() {
      return errorAt(path, describe(value) + " is out of range for " + (std::is_signed_v<Int> ? "int" : "uint") +
                               std::to_string(sizeof(Int) * 8));
    };
    if (value.isString()) {
      const std::string text = value.asString();
      const char* begin = text.data();
      const char* end = begin + text.size();
      if (std::is_signed_v<Int>) {
        std::int64_t parsed = 0;
        auto [ptr, ec] = std::from_chars(begin, end, parsed);
        if (ec == std::errc::result_out_of_range) return outOfRange();
        if (ec != std::errc() || ptr != end || text.empty()) {
          return errorAt(path, "expected an integer, got " + describe(value));
        }
        if (parsed < static_cast<std::int64_t>(kMin) || parsed > static_cast<std::int64_t>(kMax)) {
          return outOfRange();
        }
        return static_cast<Int>(parsed);
      }
      if (!text.empty() && text[0] == '-') {
        std::int64_t parsed = 0;
        auto [ptr, ec] = std::from_chars(begin, end, parsed);
        if (ec == std::errc() && ptr == end) return outOfRange();
        return errorAt(path, "expected an integer, got " + describe(value));
      }
      std::uint64_t parsed = 0;
      auto [ptr, ec] = std::from_chars(begin, end, parsed);
      if (ec == std::errc::result_out_of_range) return outOfRange();
      if (ec != std::errc() || ptr != end || text.empty()) {
        return errorAt(path, "expected an integer, got " + describe(value));
      }
      if (parsed > static_cast<std::uint64_t>(kMax)) return outOfRange();
      return static_cast<Int>(parsed);
    }
    if (!value.isNumeric()) {
      return errorAt(path, "expected an integer, got " + describe(value));
    }
    if (value.isInt64()) {
      std::int64_t parsed = value.asInt64();
      if (parsed < 0 && !std::is_signed_v<Int>) return outOfRange();
      if (std::is_signed_v<Int> && (parsed < static_cast<std::int64_t>(kMin) || parsed > static_cast<std::int64_t>(kMax))) {
        return outOfRange();
      }
      if (!std::is_signed_v<Int> && static_cast<std::uint64_t>(parsed) > static_cast<std::uint64_t>(kMax)) {
        return outOfRange();
      }
      return static_cast<Int>(parsed);
    }
    if (value.isUInt64()) {
      std::uint64_t parsed = value.asUInt64();
      if (parsed > static_cast<std::uint64_t>(kMax)) return outOfRange();
      return static_cast<Int>(parsed);
    }
    // A real number: integral but beyond 64 bits, or with a fraction.
    double real = value.asDouble();
    if (std::isfinite(real) && std::floor(real) == real) return outOfRange();
    return errorAt(path, "expected an integer, got " + describe(value));
  }

  // A number, or one of the strings "Infinity", "-Infinity", "NaN", or a
  // numeric string.
  Result<double> floating(const Json::Value& value, const std::string& path) {
    if (value.isNumeric()) {
      return value.asDouble();
    }
    if (value.isString()) {
      const std::string text = value.asString();
      if (text == "Infinity") return std::numeric_limits<double>::infinity();
      if (text == "-Infinity") return -std::numeric_limits<double>::infinity();
      if (text == "NaN") return std::numeric_limits<double>::quiet_NaN();
      double parsed = 0;
      const char* end = text.data() + text.size();
      auto [ptr, ec] = std::from_chars(text.data(), end, parsed);
      if (ec == std::errc() && ptr == end && !text.empty()) {
        return parsed;
      }
    }
    return errorAt(path, "expected a number, got " + describe(value));
  }

  // Sets (or, with `repeated`, adds) one non-message value of `field`. An
  // unknown enum name that the options say to ignore leaves `field` alone.
  Status scalar(const Json::Value& value, Message* message, const FieldDescriptor* field, bool repeated,
                const std::string& path) {
    const Reflection* reflection = message->GetReflection();
#define MANTLE_SET(Kind, v)                          \
  do {                                               \
    if (repeated) {                                  \
      reflection->Add##Kind(message, field, v);      \
    } else {                                         \
      reflection->Set##Kind(message, field, v);      \
    }                                                \
  } while (false)
    switch (field->cpp_type()) {
      case FieldDescriptor::CPPTYPE_INT32: {
        auto parsed = integer<std::int32_t>(value, path);
        if (!parsed) return parsed.error();
        MANTLE_SET(Int32, *parsed);
        return {};
      }
      case FieldDescriptor::CPPTYPE_INT64: {
        auto parsed = integer<std::int64_t>(value, path);
        if (!parsed) return parsed.error();
        MANTLE_SET(Int64, *parsed);
        return {};
      }
      case FieldDescriptor::CPPTYPE_UINT32: {
        auto parsed = integer<std::uint32_t>(value, path);
        if (!parsed) return parsed.error();
        MANTLE_SET(UInt32, *parsed);
        return {};
      }
      case FieldDescriptor::CPPTYPE_UINT64: {
        auto parsed = integer<std::uint64_t>(value, path);
        if (!parsed) return parsed.error();
        MANTLE_SET(UInt64, *parsed);
        return {};
      }
      case FieldDescriptor::CPPTYPE_DOUBLE: {
        auto parsed = floating(value, path);
        if (!parsed) return parsed.error();
        MANTLE_SET(Double, *parsed);
        return {};
      }
      case FieldDescriptor::CPPTYPE_FLOAT: {
        auto parsed = floating(value, path);
        if (!parsed) return parsed.error();
        double d = *parsed;
        if (std::isfinite(d) && std::fabs(d) > static_cast<double>(std::numeric_limits<float>::max())) {
          return errorAt(path, describe(value) + " is out of range for float");
        }
        MANTLE_SET(Float, static_cast<float>(d));
        return {};
      }
      case FieldDescriptor::CPPTYPE_BOOL: {
        if (!value.isBool()) {
          return errorAt(path, "expected a boolean, got " + describe(value));
        }
        MANTLE_SET(Bool, value.asBool());
        return {};
      }
      case FieldDescriptor::CPPTYPE_STRING: {
        if (!value.isString()) {
          return errorAt(path, std::string(field->type() == FieldDescriptor::TYPE_BYTES
                                               ? "expected a base64 string, got "
                                               : "expected a string, got ") +
                                   describe(value));
        }
        if (field->type() == FieldDescriptor::TYPE_BYTES) {
          std::string bytes;
          if (!decodeBase64(value.asString(), &bytes)) {
            return errorAt(path, "invalid base64 in " + describe(value));
          }
          MANTLE_SET(String, std::move(bytes));
        } else {
          std::string text = value.asString();
          if (!json::isUtf8(text)) {
            // Raw bytes were checked; an escaped lone surrogate ("\\udc00") gets here.
            return errorAt(path, "string is not valid UTF-8 (an unpaired surrogate escape?)");
          }
          MANTLE_SET(String, std::move(text));
        }
        return {};
      }
      case FieldDescriptor::CPPTYPE_ENUM: {
        const EnumValueDescriptor* enumValue = nullptr;
        std::string shown;
        if (value.isString()) {
          shown = value.asString();
          enumValue = field->enum_type()->FindValueByName(shown);
        } else if (value.isNumeric()) {
          auto number = integer<std::int32_t>(value, path);
          if (!number) {
            return errorAt(path, "expected an enum name, got " + describe(value));
          }
          shown = std::to_string(*number);
          enumValue = field->enum_type()->FindValueByNumber(*number);
        } else {
          return errorAt(path, "expected an enum name, got " + describe(value));
        }
        if (enumValue == nullptr) {
          if (options.ignoreUnknownEnumValues && !field->is_required()) {
            return {};
          }
          return errorAt(path, "unknown enum value '" + shown + "'");
        }
        MANTLE_SET(Enum, enumValue);
        return {};
      }
      case FieldDescriptor::CPPTYPE_MESSAGE: break;
    }
#undef MANTLE_SET
    LOG(FATAL) << "scalar() called for message field " << field->full_name();
    return {};
  }

  Status object(const Json::Value& value, Message* message, const std::string& path) {
    if (!value.isObject()) {
      return errorAt(path, "expected an object, got " + describe(value));
    }
    const Descriptor* descriptor = message->GetDescriptor();
    for (auto it = value.begin(); it != value.end(); ++it) {
      const std::string name = it.name();
      const FieldDescriptor* field = descriptor->FindFieldByName(name);
      if (field == nullptr || it->isNull()) {
        continue;  // unknown keys are ignored; null means absent
      }
      Status status = this->field(*it, message, field, childPath(path, name));
      if (!status.ok()) return status;
    }
    return {};
  }

  Status field(const Json::Value& value, Message* message, const FieldDescriptor* field, const std::string& path) {
    const Reflection* reflection = message->GetReflection();
    if (field->is_map()) {
      return map(value, message, field, path);
    }
    if (field->is_repeated()) {
      if (!value.isArray()) {
        return errorAt(path, "expected an array, got " + describe(value));
      }
      for (Json::ArrayIndex i = 0; i < value.size(); ++i) {
        std::string elementPath = indexPath(path, i);
        if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
          if (!value[i].isObject()) {
            return errorAt(elementPath, "expected an object, got " + describe(value[i]));
          }
          Status status = object(value[i], reflection->AddMessage(message, field), elementPath);
          if (!status.ok()) return status;
        } else {
          Status status = scalar(value[i], message, field, /*repeated=*/true, elementPath);
          if (!status.ok()) return status;
        }
      }
      return {};
    }
    if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      return object(value, reflection->MutableMessage(message, field), path);
    }
    return scalar(value, message, field, /*repeated=*/false, path);
  }

  Status map(const Json::Value& value, Message* message, const FieldDescriptor* field, const std::string& path) {
    if (!value.isObject()) {
      return errorAt(path, "expected an object, got " + describe(value));
    }
    const Reflection* reflection = message->GetReflection();
    const Descriptor* entryType = field->message_type();
    const FieldDescriptor* keyField = entryType->map_key();
    const FieldDescriptor* valueField = entryType->map_value();
    for (auto it = value.begin(); it != value.end(); ++it) {
      const std::string key = it.name();
      const std::string entryPath = keyPath(path, key);
      Message* entry = reflection->AddMessage(message, field);
      // Map keys arrive as object keys; reuse the scalar reader on them.
      Status keyStatus = scalar(Json::Value(key), entry, keyField, /*repeated=*/false, entryPath);
      if (!keyStatus.ok()) {
        return errorAt(entryPath, "invalid map key");
      }
      const Json::Value& item = *it;
      if (valueField->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
        Message* target = entry->GetReflection()->MutableMessage(entry, valueField);
        if (valueField->message_type()->full_name() == kScalarMessage && (item.isNumeric() || item.isString())) {
          // Bare-value form: "limits": {"cpus": 2}.
          Status status = scalar(item, target, target->GetDescriptor()->FindFieldByName("value"),
                                 /*repeated=*/false, entryPath);
          if (!status.ok()) return status;
          continue;
        }
        Status status = object(item, target, entryPath);
        if (!status.ok()) return status;
      } else {
        Status status = scalar(item, entry, valueField, /*repeated=*/false, entryPath);
        if (!status.ok()) return status;
      }
    }
    return {};
  }
};

void findMissing(const Message& message, const std::string& prefix, std::vector<std::string>* missing) {
  const Descriptor* descriptor = message.GetDescriptor();
  const Reflection* reflection = message.GetReflection();
  for (int i = 0; i < descriptor->field_count(); ++i) {
    const FieldDescriptor* field = descriptor->field(i);
    const std::string path = childPath(prefix, field->name());
    if (field->is_required() && !reflection->HasField(message, field)) {
      missing->push_back(path);
      continue;
    }
    if (field->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE) {
      continue;
    }
    if (field->is_map()) {
      const FieldDescriptor* keyField = field->message_type()->map_key();
      const FieldDescriptor* valueField = field->message_type()->map_value();
      if (valueField->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE) continue;
      int size = reflection->FieldSize(message, field);
      for (int j = 0; j < size; ++j) {
        const Message& entry = reflection->GetRepeatedMessage(message, field, j);
        const Message& entryValue = entry.GetReflection()->GetMessage(entry, valueField);
        if (!entryValue.IsInitialized()) {
          findMissing(entryValue, keyPath(path, mapKeyText(entry, keyField)), missing);
        }
      }
    } else if (field->is_repeated()) {
      int size = reflection->FieldSize(message, field);
      for (int j = 0; j < size; ++j) {
        const Message& element = reflection->GetRepeatedMessage(message, field, j);
        if (!element.IsInitialized()) {
          findMissing(element, indexPath(path, static_cast<std::size_t>(j)), missing);
        }
      }
    } else if (reflection->HasField(message, field)) {
      const Message& child = reflection->GetMessage(message, field);
      if (!child.IsInitialized()) {
        findMissing(child, path, missing);
      }
    }
  }
}

}  // namespace

std::string toJson(const Message& message, const JsonPrintOptions& options) {
  std::string out;
  appendMessage(message, options, &out);
  return out;
}

void appendJson(const Message& message, std::string* out, const JsonPrintOptions& options) {
  appendMessage(message, options, out);
}

Status checkRequiredFields(const Message& message) {
  if (message.IsInitialized()) {
    return {};
  }
  std::vector<std::string> missing;
  findMissing(message, "", &missing);
  CHECK(!missing.empty()) << "IsInitialized() is false but no required field is missing in "
                          << message.GetDescriptor()->full_name();
  std::string text = "missing required fields: ";
  for (std::size_t i = 0; i < missing.size(); ++i) {
    if (i > 0) text.append(", ");
    text.append(missing[i]);
  }
  return invalidArgument(std::move(text));
}

Status fromJson(std::string_view json, Message* message, const JsonParseOptions& options) {
  CHECK(message != nullptr);
  message->Clear();

  Json::CharReaderBuilder builder;
  builder["collectComments"] = false;
  builder["allowComments"] = false;
  builder["allowTrailingCommas"] = false;
  builder["strictRoot"] = true;
  builder["allowDroppedNullPlaceholders"] = false;
  builder["allowNumericKeys"] = false;
  builder["allowSingleQuotes"] = false;
  builder["failIfExtra"] = true;
  builder["rejectDupKeys"] = false;
  builder["allowSpecialFloats"] = false;
  Result<Json::Value> root = json::parseWith(builder, json);
  if (!root.ok()) {
    return invalidArgument("invalid JSON: " + root.error().message);
  }

  Parser parser{options};
  Status status = parser.object(*root, message, "");
  if (!status.ok()) {
    return status;
  }
  if (!options.allowPartial) {
    return checkRequiredFields(*message);
  }
  return {};
}

}  // namespace mantle::wire
