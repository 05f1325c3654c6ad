#include "mantle/common/prometheus.hpp"

#include <cctype>
#include <charconv>
#include <cmath>

namespace mantle::prometheus {

void TextWriter::family(std::string_view name, std::string_view type, std::string_view help) {
  if (!help.empty()) {
    text_ += "# HELP ";
    text_ += name;
    text_ += ' ';
    for (char c : help) {  // HELP text escapes '\' and newlines
      if (c == '\\') {
        text_ += "\\\\";
      } else if (c == '\n') {
        text_ += "\\n";
      } else {
        text_ += c;
      }
    }
    text_ += '\n';
  }
  text_ += "# TYPE ";
  text_ += name;
  text_ += ' ';
  text_ += type;
  text_ += '\n';
}

void TextWriter::sample(std::string_view name, const Labels& labels, double value) {
  labelsAndValue(name, labels, formatNumber(value));
}

void TextWriter::sample(std::string_view name, const Labels& labels, std::uint64_t value) {
  labelsAndValue(name, labels, std::to_string(value));
}

void TextWriter::single(std::string_view name, std::string_view type, double value, std::string_view help) {
  family(name, type, help);
  sample(name, {}, value);
}

void TextWriter::labelsAndValue(std::string_view name, const Labels& labels, std::string_view value) {
  text_ += name;
  if (!labels.empty()) {
    text_ += '{';
    for (std::size_t i = 0; i < labels.size(); ++i) {
      if (i > 0) text_ += ',';
      text_ += labels[i].first;
      text_ += "=\"";
      text_ += escapeLabelValue(labels[i].second);
      text_ += '"';
    }
    text_ += '}';
  }
  text_ += ' ';
  text_ += value;
  text_ += '\n';
}

std::string metricName(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') c = '_';
  }
  return out;
}

std::string escapeLabelValue(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string formatNumber(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  char buffer[32];
  const std::to_chars_result result = std::to_chars(buffer, buffer + sizeof(buffer), value);
  return std::string(buffer, result.ptr);
}

}  // namespace mantle::prometheus
