// Media-type negotiation of the v1 APIs: Content-Type, Accept,
// Message-Content-Type and Message-Accept from four lines of the input.
#include <cmath>
#include <optional>
#include <vector>

#include "fuzz_check.hpp"
#include "wire/content_type.hpp"

extern "C" int LLVMFuzzerTestOneInput(const unsigned char* data, std::size_t size) {
  namespace wire = mantle::wire;
  std::string_view input = mantle::fuzz::text(data, size);
  std::vector<std::optional<std::string_view>> lines;
  while (lines.size() < 4) {
    std::size_t newline = input.find('\n');
    std::string_view line = input.substr(0, newline);
    // An empty line is an absent header.
    lines.push_back(line.empty() ? std::nullopt : std::optional<std::string_view>(line));
    if (newline == std::string_view::npos) break;
    input.remove_prefix(newline + 1);
  }
  lines.resize(4);
  wire::RequestHeaders headers{lines[0], lines[1], lines[2], lines[3]};
  for (bool recordio : {false, true}) {
    auto request = wire::negotiateRequest(headers, recordio);
    if (!request.ok()) {
      MANTLE_FUZZ_CHECK(request.error().status >= 400 && request.error().status < 500, request.error().message);
      continue;
    }
    for (auto framing :
         {wire::ResponseFraming::kSingle, wire::ResponseFraming::kStream, wire::ResponseFraming::kRecordIO}) {
      auto response = wire::negotiateResponse(headers, *request, framing);
      if (!response.ok()) {
        MANTLE_FUZZ_CHECK(response.error().status == 406, response.error().message);
      }
    }
  }
  double quality = wire::acceptQuality(lines[1], wire::kApplicationJson);
  MANTLE_FUZZ_CHECK(quality >= 0 && quality <= 1, std::to_string(quality));
  return 0;
}
