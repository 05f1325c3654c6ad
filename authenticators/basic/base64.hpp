// Standard base64 (RFC 4648 section 4, with padding), decoding only: what the
// HTTP Basic scheme (RFC 7617) carries.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace mantle::authenticators::basic {

// The decoded bytes, or nothing when `text` is not canonical padded base64
// (wrong length, a character outside the alphabet, misplaced '=').
std::optional<std::string> decodeBase64(std::string_view text);

}  // namespace mantle::authenticators::basic
