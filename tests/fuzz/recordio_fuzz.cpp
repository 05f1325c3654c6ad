// The RecordIO decoder of every event stream (scheduler, executor, operator,
// agent-master link): hostile length prefixes, any chunking. Feeding the
// stream in pieces must give the records and error of feeding it whole, and
// re-encoded records must decode to themselves.
#include <vector>

#include "fuzz_check.hpp"
#include "wire/recordio.hpp"

namespace {

constexpr std::size_t kLimit = 4096;

struct Outcome {
  std::vector<std::string> records;
  bool ok = true;
  std::string error;
};

Outcome decode(std::string_view stream, const std::vector<std::size_t>& cuts) {
  mantle::wire::RecordDecoder decoder(kLimit);
  Outcome outcome;
  std::size_t from = 0;
  for (std::size_t cut : cuts) {
    cut = std::min(std::max(cut, from), stream.size());
    mantle::Status fed = decoder.feed(stream.substr(from, cut - from), &outcome.records);
    from = cut;
    if (!fed.ok()) {
      outcome.ok = false;
      outcome.error = fed.error().message;
      MANTLE_FUZZ_CHECK(decoder.failed(), "an error but the decoder did not fail");
      return outcome;
    }
    MANTLE_FUZZ_CHECK(decoder.bufferedBytes() <= kLimit + 32, "buffered past the record limit");
  }
  mantle::Status finished = decoder.finish();
  if (!finished.ok()) {
    outcome.ok = false;
    outcome.error = finished.error().message;
  }
  return outcome;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const unsigned char* data, std::size_t size) {
  std::string_view stream = mantle::fuzz::text(data, size);
  Outcome whole = decode(stream, {stream.size()});
  // Cut points from the bytes themselves: every 1 + (byte % 7) bytes.
  std::vector<std::size_t> cuts;
  for (std::size_t at = 0; at < stream.size();) {
    at += 1 + static_cast<unsigned char>(stream[at]) % 7;
    cuts.push_back(at);
  }
  cuts.push_back(stream.size());
  Outcome pieces = decode(stream, cuts);
  MANTLE_FUZZ_CHECK(whole.ok == pieces.ok && whole.error == pieces.error,
                    "whole: '" + whole.error + "' pieces: '" + pieces.error + "'");
  MANTLE_FUZZ_CHECK(whole.records == pieces.records, "different records in pieces");
  std::string encoded;
  for (const std::string& record : whole.records) mantle::wire::appendRecord(record, &encoded);
  Outcome again = decode(encoded, {encoded.size()});
  MANTLE_FUZZ_CHECK(again.ok && again.records == whole.records, "re-encoded records: " + again.error);
  return 0;
}
