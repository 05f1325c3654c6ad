#include "base64.hpp"

#include <array>
#include <cstdint>

namespace mantle::authenticators::basic {

namespace {

constexpr std::int8_t kInvalid = -1;

constexpr std::array<std::int8_t, 256> makeTable() {
  std::array<std::int8_t, 256> table{};
  for (auto& entry : table) entry = kInvalid;
  constexpr std::string_view alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (std::size_t i = 0; i < alphabet.size(); ++i) {
    table[static_cast<unsigned char>(alphabet[i])] = static_cast<std::int8_t>(i);
  }
  return table;
}

constexpr std::array<std::int8_t, 256> kTable = makeTable();

}  // namespace

std::optional<std::string> decodeBase64(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  std::size_t padding = 0;
  if (!text.empty() && text.back() == '=') padding = text.size() >= 2 && text[text.size() - 2] == '=' ? 2 : 1;
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (std::size_t i = 0; i < text.size(); i += 4) {
    bool last = i + 4 == text.size();
    std::uint32_t group = 0;
    for (std::size_t j = 0; j < 4; ++j) {
      char c = text[i + j];
      std::int8_t value = kTable[static_cast<unsigned char>(c)];
      if (value == kInvalid) {
        // '=' only as the final one or two characters.
        if (c != '=' || !last || j < 4 - padding) return std::nullopt;
        value = 0;
      }
      group = (group << 6) | static_cast<std::uint32_t>(value);
    }
    std::size_t bytes = last ? 3 - padding : 3;
    // Canonical form: the bits the padding drops must be zero.
    if (last && padding > 0 && (group & ((1u << (8 * padding)) - 1)) != 0) return std::nullopt;
    for (std::size_t k = 0; k < bytes; ++k) out.push_back(static_cast<char>((group >> (16 - 8 * k)) & 0xff));
  }
  return out;
}

}  // namespace mantle::authenticators::basic
