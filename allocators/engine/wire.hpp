// Protobuf wire-format writing for the engine's bulk output: the offers of an
// allocation cycle are encoded straight into the response bytes, without
// building a message per offer and per resource. What is written is exactly
// what SerializeAsString() of the equivalent AllocateResponse gives (fields
// in number order, lengths as minimal varints).
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace mantle::allocator_engine::wire {

inline std::size_t varintSize(std::uint64_t v) {
  std::size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

// Size of a length-delimited field with a one-byte tag and `body` bytes.
inline std::size_t fieldSize(std::size_t body) {
  return 1 + varintSize(body) + body;
}

// Writes into a buffer sized beforehand.
class Cursor {
 public:
  explicit Cursor(char* at) : at_(at) {}
  char* position() const { return at_; }
  void byte(std::uint8_t b) { *at_++ = static_cast<char>(b); }
  void varint(std::uint64_t v) {
    while (v >= 0x80) {
      *at_++ = static_cast<char>(static_cast<std::uint8_t>(v) | 0x80);
      v >>= 7;
    }
    *at_++ = static_cast<char>(v);
  }
  void bytes(std::string_view s) {
    if (!s.empty()) std::memcpy(at_, s.data(), s.size());
    at_ += s.size();
  }
  // A length-delimited field: one-byte tag, length, and the length's bytes follow.
  void open(std::uint8_t tag, std::size_t body) {
    byte(tag);
    varint(body);
  }
  void string(std::uint8_t tag, std::string_view s) {
    open(tag, s.size());
    bytes(s);
  }
  void fixed64(double value) {
    std::uint64_t bits;
    std::memcpy(&bits, &value, sizeof bits);
    for (int i = 0; i < 8; ++i) *at_++ = static_cast<char>(static_cast<std::uint8_t>(bits >> (8 * i)));
  }

 private:
  char* at_;
};

// Grows `out` by `size` bytes and returns a cursor at the first of them.
inline Cursor extend(std::string& out, std::size_t size) {
  std::size_t old = out.size();
  out.resize(old + size);
  return Cursor(out.data() + old);
}

// Reads a varint at `at` (bounded by `end`); false when malformed.
inline bool readVarint(const char*& at, const char* end, std::uint64_t* value) {
  if (at < end && (static_cast<std::uint8_t>(*at) & 0x80) == 0) {  // one byte: tags, small lengths
    *value = static_cast<std::uint8_t>(*at++);
    return true;
  }
  std::uint64_t v = 0;
  for (int shift = 0; shift < 64 && at < end; shift += 7) {
    auto b = static_cast<std::uint8_t>(*at++);
    v |= static_cast<std::uint64_t>(b & 0x7f) << shift;
    if ((b & 0x80) == 0) {
      *value = v;
      return true;
    }
  }
  return false;
}

}  // namespace mantle::allocator_engine::wire
