// --resources text ("cpus:4;mem:1024;ports:[31000-32000];disks(role):{a,b}")
// and the arithmetic on what it accepts: a parsed set contains itself, minus
// itself is empty, and its text reads back to the same set.
#include <cmath>

#include "fuzz_check.hpp"
#include "resources/resources.hpp"

extern "C" int LLVMFuzzerTestOneInput(const unsigned char* data, std::size_t size) {
  using mantle::resources::Resources;
  const std::string input(mantle::fuzz::text(data, size));
  mantle::Result<Resources> parsed = Resources::parse(input);
  if (!parsed.ok()) return 0;
  for (const auto& resource : parsed->items()) {
    MANTLE_FUZZ_CHECK(mantle::resources::validate(resource).ok(), resource.ShortDebugString());
    if (resource.has_scalar()) MANTLE_FUZZ_CHECK(std::isfinite(resource.scalar().value()), resource.ShortDebugString());
  }
  MANTLE_FUZZ_CHECK(parsed->contains(*parsed), parsed->toString());
  mantle::Result<Resources> none = parsed->minus(*parsed);
  MANTLE_FUZZ_CHECK(none.ok() && none->empty(), parsed->toString());
  Resources doubled = *parsed + *parsed;
  MANTLE_FUZZ_CHECK(doubled.contains(*parsed), doubled.toString());
  mantle::Result<Resources> back = Resources::parse(parsed->toString());
  MANTLE_FUZZ_CHECK(back.ok(), parsed->toString() + " -> " + back.error().message);
  MANTLE_FUZZ_CHECK(back->contains(*parsed) && parsed->contains(*back), parsed->toString() + " vs " + back->toString());
  return 0;
}
