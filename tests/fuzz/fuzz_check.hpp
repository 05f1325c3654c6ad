// What a fuzz target asserts beyond "does not crash": a broken invariant
// prints what broke and aborts, so the driver (or libFuzzer) keeps the input.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#define MANTLE_FUZZ_CHECK(condition, what)                                                           \
  do {                                                                                               \
    if (!(condition)) {                                                                              \
      std::fprintf(stderr, "fuzz check failed at %s:%d: %s\n  %s\n", __FILE__, __LINE__, #condition, \
                   std::string(what).c_str());                                                       \
      std::abort();                                                                                  \
    }                                                                                                \
  } while (false)

namespace mantle::fuzz {

inline std::string_view text(const unsigned char* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

}  // namespace mantle::fuzz
