#include "mantle/common/uuid.hpp"

#include <cstdint>
#include <random>

namespace mantle::uuid {

std::string randomBytes() {
  thread_local std::mt19937_64 random{std::random_device{}()};
  std::string bytes(16, '\0');
  for (int word = 0; word < 2; ++word) {
    const std::uint64_t bits = random();
    for (int i = 0; i < 8; ++i) bytes[8 * word + i] = static_cast<char>((bits >> (8 * i)) & 0xff);
  }
  bytes[6] = static_cast<char>((bytes[6] & 0x0f) | 0x40);  // version 4
  bytes[8] = static_cast<char>((bytes[8] & 0x3f) | 0x80);  // RFC 4122 variant
  return bytes;
}

std::string toText(const std::string& bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * bytes.size() + 4);
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
    const auto c = static_cast<unsigned char>(bytes[i]);
    out += kHex[c >> 4];
    out += kHex[c & 0xf];
  }
  return out;
}

std::string randomText() {
  return toText(randomBytes());
}

}  // namespace mantle::uuid
