#include "mantle/common/strict_json.hpp"

#include <exception>
#include <memory>

namespace mantle::json {
namespace {

// jsoncpp's messages, one line, without its "* " bullet.
std::string oneLine(std::string errors) {
  while (!errors.empty() && (errors.back() == '\n' || errors.back() == ' ')) errors.pop_back();
  if (errors.rfind("* ", 0) == 0) errors.erase(0, 2);
  for (char& c : errors) {
    if (c == '\n') c = ' ';
  }
  return errors;
}

// What jsoncpp must not see: nesting beyond kMaxJsonDepth (its reader
// recurses once per level and throws past its own limit) and invalid UTF-8
// (it copies string bytes as they are). One pass; brackets inside strings do
// not count.
Status checkText(std::string_view text) {
  int depth = 0;
  bool inString = false;
  bool escaped = false;
  std::size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x80) {
      std::size_t length = utf8SequenceLength(text.substr(i));
      if (length == 0) return invalidArgument("invalid UTF-8 at byte " + std::to_string(i));
      i += length;
      escaped = false;
      continue;
    }
    if (inString) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        inString = false;
      }
    } else if (c == '"') {
      inString = true;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxJsonDepth) {
        return invalidArgument("nesting deeper than " + std::to_string(kMaxJsonDepth) + " levels at byte " +
                               std::to_string(i));
      }
    } else if (c == ']' || c == '}') {
      --depth;
    }
    ++i;
  }
  return {};
}

}  // namespace

std::size_t utf8SequenceLength(std::string_view text) {
  if (text.empty()) return 0;
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char lead = byte(0);
  if (lead < 0x80) return 1;
  std::size_t length = 0;
  unsigned char low = 0x80;  // the range of the second byte (RFC 3629 table)
  unsigned char high = 0xbf;
  if (lead >= 0xc2 && lead <= 0xdf) {
    length = 2;
  } else if (lead >= 0xe0 && lead <= 0xef) {
    length = 3;
    if (lead == 0xe0) low = 0xa0;   // overlong
    if (lead == 0xed) high = 0x9f;  // surrogates
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    length = 4;
    if (lead == 0xf0) low = 0x90;   // overlong
    if (lead == 0xf4) high = 0x8f;  // above U+10FFFF
  } else {
    return 0;
  }
  if (text.size() < length || byte(1) < low || byte(1) > high) return 0;
  for (std::size_t i = 2; i < length; ++i) {
    if (byte(i) < 0x80 || byte(i) > 0xbf) return 0;
  }
  return length;
}

bool isUtf8(std::string_view text) {
  while (!text.empty()) {
    std::size_t length = utf8SequenceLength(text);
    if (length == 0) return false;
    text.remove_prefix(length);
  }
  return true;
}

Result<Json::Value> parseWith(const Json::CharReaderBuilder& settings, std::string_view text) {
  if (Status checked = checkText(text); !checked.ok()) return checked.error();
  std::unique_ptr<Json::CharReader> reader(settings.newCharReader());
  Json::Value root;
  std::string errors;
  try {
    if (!reader->parse(text.data(), text.data() + text.size(), &root, &errors)) {
      return invalidArgument(oneLine(std::move(errors)));
    }
  } catch (const std::exception& e) {
    // jsoncpp throws where checkText should have refused first; keep it a
    // value all the same.
    return invalidArgument(oneLine(e.what()));
  }
  return root;
}

Result<Json::Value> parseStrict(std::string_view text, const std::string& source) {
  Json::CharReaderBuilder builder;
  builder["collectComments"] = false;
  builder["allowComments"] = false;
  builder["allowTrailingCommas"] = false;
  builder["strictRoot"] = true;
  builder["rejectDupKeys"] = true;
  builder["failIfExtra"] = true;
  // jsoncpp's messages give positions, not contents: nothing secret leaks.
  Result<Json::Value> root = parseWith(builder, text);
  if (!root.ok()) return invalidArgument(source + ": not valid JSON: " + root.error().message);
  return root;
}

std::string typeName(const Json::Value& value) {
  switch (value.type()) {
    case Json::nullValue: return "null";
    case Json::intValue:
    case Json::uintValue: return "an integer";
    case Json::realValue: return "a number";
    case Json::stringValue: return "a string";
    case Json::booleanValue: return "a boolean";
    case Json::arrayValue: return "an array";
    case Json::objectValue: return "an object";
  }
  return "a value";
}

}  // namespace mantle::json
