// Reading a Mesos v1 event stream: RecordIO records, each one event encoded
// as the stream's media type. One reader for every client that follows such
// a stream (the scheduler library, the operator-stream follower).
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mantle/result.hpp"
#include "wire/content_type.hpp"
#include "wire/recordio.hpp"

namespace mantle::wire {

// Logs a record of a `what` stream that does not decode (it is skipped).
void logUndecodableEvent(std::string_view what, const Error& error);

// Feeds a piece of the stream to `decoder` and hands each event it completes
// to `onEvent` in order; a record that does not decode as an `Event` is
// logged and skipped. Returns the framing error ("malformed event stream:
// ...") once the stream is malformed, after the events completed before it.
template <typename Event, typename OnEvent>
Status feedEvents(RecordDecoder& decoder, std::string_view data, MediaType type, std::string_view what,
                  OnEvent&& onEvent) {
  std::vector<std::string> records;
  Status fed = decoder.feed(data, &records);
  for (const std::string& record : records) {
    Event event;
    if (Status decoded = decode(record, type, &event); !decoded.ok()) {
      logUndecodableEvent(what, decoded.error());
      continue;
    }
    onEvent(std::move(event));
  }
  if (!fed.ok()) return fed.error().withContext("malformed event stream");
  return fed;
}

}  // namespace mantle::wire
