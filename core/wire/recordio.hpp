// RecordIO framing, as the Mesos v1 streaming APIs use it: every record is its
// length in bytes as ASCII decimal, a '\n', then exactly that many bytes (JSON
// text or a serialized protobuf). No header, no trailer, no separator; the
// chunks a stream arrives in have nothing to do with record boundaries.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "mantle/result.hpp"

namespace mantle::wire {

// "<size>\n<record>".
std::string encodeRecord(std::string_view record);

// Appends "<size>\n<record>" to `out`.
void appendRecord(std::string_view record, std::string* out);

// Decodes a RecordIO stream fed in arbitrary pieces. Not thread-safe; one per
// stream.
class RecordDecoder {
 public:
  // Large enough for a GET_STATE snapshot of a big cluster.
  static constexpr std::size_t kDefaultMaxRecordSize = 256u * 1024 * 1024;
  // Digits a record length may have, leading zeros included.
  static constexpr std::size_t kMaxLengthDigits = 20;

  // Records longer than `maxRecordSize` bytes are malformed input.
  explicit RecordDecoder(std::size_t maxRecordSize = kDefaultMaxRecordSize);

  // Consumes `data`, appending each record it completes to `records`. On
  // malformed input (a length with a non-digit, an empty length, a length
  // above the cap or longer than kMaxLengthDigits digits) returns the error,
  // after appending the records completed before it; the decoder then stays
  // failed and returns the same error for every later call.
  Status feed(std::string_view data, std::vector<std::string>* records);

  // At the end of the stream: ok when it ended between records, an error
  // when it ended inside one (or the decoder had failed).
  Status finish() const;

  bool failed() const { return state_ == State::kFailed; }

  // Bytes of the record being assembled (digits of its length included).
  std::size_t bufferedBytes() const;

 private:
  enum class State { kLength, kRecord, kFailed };

  Status fail(std::string message);

  std::size_t maxRecordSize_;
  State state_ = State::kLength;
  std::size_t lengthDigits_ = 0;
  std::uint64_t length_ = 0;
  std::string record_;
  Error error_;
};

}  // namespace mantle::wire
