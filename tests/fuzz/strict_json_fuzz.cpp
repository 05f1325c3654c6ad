// json::parseStrict, the reader of operator files (manifests, ACLs,
// credentials) and of JWT headers and payloads.
#include <json/writer.h>

#include "fuzz_check.hpp"
#include "mantle/common/strict_json.hpp"

extern "C" int LLVMFuzzerTestOneInput(const unsigned char* data, std::size_t size) {
  std::string_view input = mantle::fuzz::text(data, size);
  mantle::Result<Json::Value> parsed = mantle::json::parseStrict(input, "fuzz.json");
  if (!parsed.ok()) {
    MANTLE_FUZZ_CHECK(parsed.error().message.rfind("fuzz.json: not valid JSON: ", 0) == 0, parsed.error().message);
    return 0;
  }
  MANTLE_FUZZ_CHECK(!mantle::json::typeName(*parsed).empty(), "no type name");
  return 0;
}
