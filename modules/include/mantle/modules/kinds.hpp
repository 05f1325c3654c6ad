// The module kinds this host knows: their API versions and function tables.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mantle::modules {

struct MethodSpec {
  std::string name;          // "prepare"
  std::size_t offset;        // byte offset of the entry in the kind's table
  std::uint16_t sinceMinor;  // the kind API minor version that added it
};

struct KindSpec {
  std::string name;  // "isolator"
  std::uint16_t major;
  std::uint16_t minor;              // the newest minor this host knows
  std::vector<MethodSpec> methods;  // in table order
  // Deadline for calls when the manifest gives none; 0 calls inline with no
  // deadline (the allocator: its cycle is the master's hot path).
  std::uint32_t defaultTimeoutMs;

  // The smallest table a module declaring `minor` must provide.
  std::size_t minTableSize(std::uint16_t minor) const;
  const MethodSpec* method(std::string_view name) const;
};

// nullptr for an unknown kind.
const KindSpec* findKind(std::string_view name);
const std::vector<KindSpec>& allKinds();
std::string knownKindNames();  // "allocator, authenticator, ..."

}  // namespace mantle::modules
