// RecordIO framing (core/wire/recordio.hpp): encoding, decoding a stream cut
// at every byte boundary, and malformed input.
#include "wire/recordio.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "mesos/v1/scheduler/scheduler.pb.h"
#include "wire/content_type.hpp"
#include "wire/event_stream.hpp"
#include "wire/json.hpp"

namespace mantle::wire {
namespace {

std::vector<std::string> decodeAll(const std::vector<std::string_view>& chunks, std::size_t cap = 1 << 20) {
  RecordDecoder decoder(cap);
  std::vector<std::string> records;
  for (std::string_view chunk : chunks) {
    Status status = decoder.feed(chunk, &records);
    EXPECT_TRUE(status.ok()) << status.error().message;
  }
  Status finished = decoder.finish();
  EXPECT_TRUE(finished.ok()) << finished.error().message;
  EXPECT_EQ(decoder.bufferedBytes(), 0u);
  return records;
}

std::string errorOf(std::string_view stream, std::size_t cap = 1 << 20, std::vector<std::string>* records = nullptr) {
  RecordDecoder decoder(cap);
  std::vector<std::string> local;
  Status status = decoder.feed(stream, records != nullptr ? records : &local);
  EXPECT_FALSE(status.ok()) << "accepted: " << stream;
  EXPECT_TRUE(decoder.failed());
  return status.ok() ? "" : status.error().message;
}

TEST(WireRecordIOTest, EncodesLengthNewlineBytes) {
  EXPECT_EQ(encodeRecord(R"({"type":"HEARTBEAT"})"), "20\n{\"type\":\"HEARTBEAT\"}");
  EXPECT_EQ(encodeRecord(std::string("\0\n1", 3)), std::string("3\n\0\n1", 5));
  std::string out = "prefix";
  appendRecord("ab", &out);
  appendRecord("c", &out);
  EXPECT_EQ(out, "prefix2\nab1\nc");
}

TEST(WireRecordIOTest, LengthIsTheUtf8ByteCount) {
  // "é" is two bytes, "✓" three: what JS clients (@dcos/recordio) expect.
  EXPECT_EQ(encodeRecord("é✓"), "5\né✓");
}

TEST(WireRecordIOTest, DecodesEveryRecordInOneChunk) {
  std::string stream;
  const std::vector<std::string> input = {"a", "", std::string(1000, 'x'), "12\n34", std::string("\0\xff", 2)};
  for (const std::string& record : input) appendRecord(record, &stream);
  EXPECT_EQ(decodeAll({stream}), input);
}

TEST(WireRecordIOTest, SplitAtEveryByteBoundary) {
  std::string stream;
  const std::vector<std::string> input = {R"({"type":"SUBSCRIBED"})", "9", std::string(12, '\n'),
                                          R"({"type":"HEARTBEAT"})"};
  for (const std::string& record : input) appendRecord(record, &stream);

  for (std::size_t cut = 0; cut <= stream.size(); ++cut) {
    std::string_view view(stream);
    EXPECT_EQ(decodeAll({view.substr(0, cut), view.substr(cut)}), input) << "cut at " << cut;
  }
  // Every pair of cuts, i.e. three chunks of every size.
  for (std::size_t first = 0; first <= stream.size(); ++first) {
    for (std::size_t second = first; second <= stream.size(); ++second) {
      std::string_view view(stream);
      EXPECT_EQ(decodeAll({view.substr(0, first), view.substr(first, second - first), view.substr(second)}), input)
          << "cuts at " << first << ", " << second;
    }
  }
  // One byte at a time.
  std::vector<std::string_view> bytes;
  for (std::size_t i = 0; i < stream.size(); ++i) bytes.push_back(std::string_view(stream).substr(i, 1));
  EXPECT_EQ(decodeAll(bytes), input);
}

TEST(WireRecordIOTest, RecordsCarryMessagesOfEitherEncoding) {
  mesos::v1::scheduler::Event subscribed;
  subscribed.set_type(mesos::v1::scheduler::Event::SUBSCRIBED);
  subscribed.mutable_subscribed()->mutable_framework_id()->set_value("F1");
  subscribed.mutable_subscribed()->set_heartbeat_interval_seconds(15);
  mesos::v1::scheduler::Event heartbeat;
  heartbeat.set_type(mesos::v1::scheduler::Event::HEARTBEAT);

  for (MediaType type : {MediaType::kJson, MediaType::kProtobuf}) {
    std::string stream;
    appendRecord(encode(subscribed, type), &stream);
    appendRecord(encode(heartbeat, type), &stream);
    if (type == MediaType::kJson) {
      EXPECT_EQ(stream,
                "100\n{\"type\":\"SUBSCRIBED\",\"subscribed\":{\"framework_id\":{\"value\":\"F1\"},"
                "\"heartbeat_interval_seconds\":15.0}}20\n{\"type\":\"HEARTBEAT\"}");
    }
    std::vector<std::string> records = decodeAll({stream});
    ASSERT_EQ(records.size(), 2u);
    auto first = decodeAs<mesos::v1::scheduler::Event>(records[0], type);
    auto second = decodeAs<mesos::v1::scheduler::Event>(records[1], type);
    ASSERT_TRUE(first.ok() && second.ok());
    EXPECT_EQ(first->subscribed().framework_id().value(), "F1");
    EXPECT_EQ(second->type(), mesos::v1::scheduler::Event::HEARTBEAT);
  }
}

TEST(WireRecordIOTest, NonDigitInLength) {
  EXPECT_EQ(errorOf("1a\nx"), "recordio: invalid byte 0x61 in record length");
  EXPECT_EQ(errorOf("-1\nx"), "recordio: invalid byte 0x2d in record length");
  EXPECT_EQ(errorOf(" 1\nx"), "recordio: invalid byte 0x20 in record length");
  EXPECT_EQ(errorOf("1\r\nx"), "recordio: invalid byte 0x0d in record length");
  EXPECT_EQ(errorOf("{\"type\":\"HEARTBEAT\"}"), "recordio: invalid byte 0x7b in record length");
  // A record longer than its length runs into the next length.
  EXPECT_EQ(errorOf("1\nab"), "recordio: invalid byte 0x62 in record length");
}

TEST(WireRecordIOTest, EmptyLength) {
  EXPECT_EQ(errorOf("\n"), "recordio: empty record length");
  EXPECT_EQ(errorOf("1\na\n"), "recordio: empty record length");
}

TEST(WireRecordIOTest, OversizeRecordFailsBeforeItsBytesArrive) {
  EXPECT_EQ(errorOf("101\n", 100), "recordio: record length exceeds the limit of 100 bytes");
  EXPECT_EQ(errorOf("99999999999999999999999999", 100), "recordio: record length exceeds the limit of 100 bytes");
  // Exactly the cap is fine.
  RecordDecoder decoder(3);
  std::vector<std::string> records;
  EXPECT_TRUE(decoder.feed("3\nabc", &records).ok());
  EXPECT_EQ(records, std::vector<std::string>{"abc"});
}

TEST(WireRecordIOTest, EndlessLeadingZerosFailAfterTwentyDigits) {
  // "000...": the length stayed 0 and below every cap, so a peer could send
  // digits forever.
  EXPECT_EQ(errorOf(std::string(21, '0')), "recordio: record length has more than 20 digits");
  RecordDecoder decoder;
  std::vector<std::string> records;
  EXPECT_TRUE(decoder.feed(std::string(17, '0') + "003\nabc", &records).ok());
  EXPECT_EQ(records, std::vector<std::string>{"abc"});
}

TEST(WireRecordIOTest, RecordsBeforeAnErrorAreDeliveredAndTheErrorSticks) {
  std::vector<std::string> records;
  EXPECT_EQ(errorOf("1\na2\nbcX\n", 100, &records), "recordio: invalid byte 0x58 in record length");
  EXPECT_EQ(records, (std::vector<std::string>{"a", "bc"}));

  RecordDecoder decoder;
  records.clear();
  ASSERT_FALSE(decoder.feed("x", &records).ok());
  Status again = decoder.feed("1\na", &records);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().message, "recordio: invalid byte 0x78 in record length");
  EXPECT_TRUE(records.empty());
  ASSERT_FALSE(decoder.finish().ok());
  EXPECT_EQ(decoder.finish().error().message, "recordio: invalid byte 0x78 in record length");
}

TEST(WireRecordIOTest, TruncatedStreamIsReportedAtTheEnd) {
  RecordDecoder decoder;
  std::vector<std::string> records;
  ASSERT_TRUE(decoder.feed("5\nab", &records).ok());
  EXPECT_TRUE(records.empty());
  EXPECT_EQ(decoder.bufferedBytes(), 4u);
  Status finished = decoder.finish();
  ASSERT_FALSE(finished.ok());
  EXPECT_EQ(finished.error().message, "recordio: stream ended after 2 of 5 record bytes");

  RecordDecoder inLength;
  ASSERT_TRUE(inLength.feed("1\na12", &records).ok());
  ASSERT_FALSE(inLength.finish().ok());
  EXPECT_EQ(inLength.finish().error().message, "recordio: stream ended inside a record length");

  RecordDecoder clean;
  EXPECT_TRUE(clean.finish().ok());
}

TEST(WireEventStreamTest, EventsArriveInOrderAnUndecodableOneIsSkippedAndBrokenFramingEndsTheStream) {
  using mesos::v1::scheduler::Event;
  Event heartbeat;
  heartbeat.set_type(Event::HEARTBEAT);
  Event error;
  error.set_type(Event::ERROR);
  error.mutable_error()->set_message("bye");
  std::string stream = encodeRecord(encode(heartbeat, MediaType::kJson)) + encodeRecord("{not json") +
                       encodeRecord(encode(error, MediaType::kJson)) + "x\n";
  RecordDecoder decoder;
  std::vector<Event::Type> seen;
  Status fed = feedEvents<Event>(decoder, stream, MediaType::kJson, "scheduler",
                                 [&](Event&& event) { seen.push_back(event.type()); });
  EXPECT_EQ(seen, (std::vector<Event::Type>{Event::HEARTBEAT, Event::ERROR}));
  ASSERT_FALSE(fed.ok());
  EXPECT_EQ(fed.error().message.rfind("malformed event stream: ", 0), 0u) << fed.error().message;
}

}  // namespace
}  // namespace mantle::wire
