#include "wire/recordio.hpp"

#include "wire/event_stream.hpp"

#include <algorithm>
#include <cstdio>
#include <utility>

#include <glog/logging.h>

namespace mantle::wire {

std::string encodeRecord(std::string_view record) {
  std::string out;
  appendRecord(record, &out);
  return out;
}

void appendRecord(std::string_view record, std::string* out) {
  CHECK(out != nullptr);
  out->append(std::to_string(record.size()));
  out->push_back('\n');
  out->append(record);
}

RecordDecoder::RecordDecoder(std::size_t maxRecordSize) : maxRecordSize_(maxRecordSize) {}

Status RecordDecoder::fail(std::string message) {
  state_ = State::kFailed;
  error_ = invalidArgument("recordio: " + std::move(message));
  record_.clear();
  record_.shrink_to_fit();
  return error_;
}

Status RecordDecoder::feed(std::string_view data, std::vector<std::string>* records) {
  CHECK(records != nullptr);
  std::size_t i = 0;
  while (i < data.size()) {
    switch (state_) {
      case State::kFailed: return error_;
      case State::kLength: {
        char c = data[i++];
        if (c == '\n') {
          if (lengthDigits_ == 0) {
            return fail("empty record length");
          }
          state_ = State::kRecord;
          record_.clear();
          record_.reserve(static_cast<std::size_t>(length_));
          if (length_ == 0) {
            records->emplace_back();
            state_ = State::kLength;
            lengthDigits_ = 0;
          }
          break;
        }
        if (c < '0' || c > '9') {
          char shown[8];
          std::snprintf(shown, sizeof(shown), "0x%02x", static_cast<unsigned>(static_cast<unsigned char>(c)));
          return fail(std::string("invalid byte ") + shown + " in record length");
        }
        length_ = length_ * 10 + static_cast<std::uint64_t>(c - '0');
        // Leading zeros keep length_ small forever; no length needs more
        // digits than UINT64_MAX has.
        if (++lengthDigits_ > kMaxLengthDigits) {
          return fail("record length has more than " + std::to_string(kMaxLengthDigits) + " digits");
        }
        if (length_ > maxRecordSize_) {
          return fail("record length exceeds the limit of " + std::to_string(maxRecordSize_) + " bytes");
        }
        break;
      }
      case State::kRecord: {
        std::size_t wanted = static_cast<std::size_t>(length_) - record_.size();
        std::size_t take = std::min(wanted, data.size() - i);
        record_.append(data.substr(i, take));
        i += take;
        if (record_.size() == length_) {
          records->push_back(std::move(record_));
          record_ = std::string();
          state_ = State::kLength;
          length_ = 0;
          lengthDigits_ = 0;
        }
        break;
      }
    }
  }
  if (state_ == State::kFailed) {
    return error_;
  }
  return {};
}

Status RecordDecoder::finish() const {
  switch (state_) {
    case State::kFailed: return error_;
    case State::kLength:
      if (lengthDigits_ > 0) {
        return invalidArgument("recordio: stream ended inside a record length");
      }
      return {};
    case State::kRecord:
      return invalidArgument("recordio: stream ended after " + std::to_string(record_.size()) + " of " +
                             std::to_string(length_) + " record bytes");
  }
  return {};
}

std::size_t RecordDecoder::bufferedBytes() const {
  switch (state_) {
    case State::kFailed: return 0;
    case State::kLength: return lengthDigits_;
    case State::kRecord: return lengthDigits_ + 1 + record_.size();
  }
  return 0;
}

void logUndecodableEvent(std::string_view what, const Error& error) {
  LOG(WARNING) << "Undecodable " << what << " event (skipped): " << error.message;
}

}  // namespace mantle::wire
