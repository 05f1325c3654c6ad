// Media-type negotiation (core/wire/content_type.hpp): request Content-Type,
// response Accept with q-values, RecordIO with Message-Content-Type and
// Message-Accept, and the status codes Mesos answers with.
#include "wire/content_type.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "mesos/v1/master/master.pb.h"

namespace mantle::wire {
namespace {

constexpr std::optional<std::string_view> kAbsent = std::nullopt;

struct RequestCase {
  std::optional<std::string_view> contentType;
  std::optional<std::string_view> messageContentType;
  bool allowRecordIO;
  // Expected outcome: a status code, or 0 with the format.
  int status;
  MediaType message;
  bool recordio;
  std::string_view error;
};

TEST(WireContentTypeTest, RequestContentTypeTable) {
  const RequestCase cases[] = {
      {kAbsent, kAbsent, false, 400, {}, false, "Expecting 'Content-Type' to be present"},
      {"", kAbsent, false, 400, {}, false, "Expecting 'Content-Type' to be present"},
      {"application/json", kAbsent, false, 0, MediaType::kJson, false, ""},
      {"application/x-protobuf", kAbsent, false, 0, MediaType::kProtobuf, false, ""},
      {"APPLICATION/JSON", kAbsent, false, 0, MediaType::kJson, false, ""},
      {"Application/X-Protobuf", kAbsent, true, 0, MediaType::kProtobuf, false, ""},
      // Mesos answers 415 to parameters; Mantle accepts them.
      {"application/json; charset=utf-8", kAbsent, false, 0, MediaType::kJson, false, ""},
      {"application/json;charset=UTF-8", kAbsent, false, 0, MediaType::kJson, false, ""},
      {"text/plain", kAbsent, false, 415, {}, false,
       "Expecting 'Content-Type' of application/json or application/x-protobuf"},
      {"application/xml", kAbsent, false, 415, {}, false,
       "Expecting 'Content-Type' of application/json or application/x-protobuf"},
      {"application/jsonx", kAbsent, false, 415, {}, false,
       "Expecting 'Content-Type' of application/json or application/x-protobuf"},
      {"application/protobuf", kAbsent, false, 415, {}, false,
       "Expecting 'Content-Type' of application/json or application/x-protobuf"},
      {"application/recordio", "application/json", false, 415, {}, false,
       "Expecting 'Content-Type' of application/json or application/x-protobuf"},
      {"application/recordio", kAbsent, true, 400, {}, false, "Expecting 'Message-Content-Type' to be present"},
      {"application/recordio", "application/json", true, 0, MediaType::kJson, true, ""},
      {"application/recordio", "application/x-protobuf", true, 0, MediaType::kProtobuf, true, ""},
      {"application/recordio", "text/plain", true, 415, {}, false,
       "Expecting 'Message-Content-Type' of application/json or application/x-protobuf"},
      {"application/json", "application/json", true, 415, {}, false,
       "Expecting 'Message-Content-Type' to be set only for application/recordio requests"},
      {"application/x-protobuf", "application/x-protobuf", false, 415, {}, false,
       "Expecting 'Message-Content-Type' to be set only for application/recordio requests"},
  };
  for (const RequestCase& c : cases) {
    RequestHeaders headers;
    headers.contentType = c.contentType;
    headers.messageContentType = c.messageContentType;
    HttpResult<RequestFormat> result = negotiateRequest(headers, c.allowRecordIO);
    const std::string label = std::string("Content-Type ") + std::string(c.contentType.value_or("<absent>")) +
                              ", Message-Content-Type " + std::string(c.messageContentType.value_or("<absent>"));
    if (c.status == 0) {
      ASSERT_TRUE(result.ok()) << label << ": " << result.error().status << " " << result.error().message;
      EXPECT_EQ(result->message, c.message) << label;
      EXPECT_EQ(result->recordio, c.recordio) << label;
    } else {
      ASSERT_FALSE(result.ok()) << label;
      EXPECT_EQ(result.error().status, c.status) << label;
      EXPECT_EQ(result.error().message, c.error) << label;
    }
  }
}

struct ResponseCase {
  std::optional<std::string_view> accept;
  MediaType request;
  int status;  // 0: ok
  MediaType response;
};

TEST(WireContentTypeTest, ResponseAcceptTable) {
  constexpr MediaType kJ = MediaType::kJson;
  constexpr MediaType kP = MediaType::kProtobuf;
  const ResponseCase cases[] = {
      // No Accept: answer in the request's encoding.
      {kAbsent, kJ, 0, kJ},
      {kAbsent, kP, 0, kP},
      {"", kP, 0, kP},
      {"   ", kJ, 0, kJ},
      // Explicit single types.
      {"application/json", kP, 0, kJ},
      {"application/x-protobuf", kJ, 0, kP},
      {"APPLICATION/X-PROTOBUF", kJ, 0, kP},
      {"application/json; charset=utf-8", kP, 0, kJ},
      // Wildcards: both acceptable, the request's encoding wins the tie.
      {"*/*", kJ, 0, kJ},
      {"*/*", kP, 0, kP},
      {"application/*", kP, 0, kP},
      {"application/*", kJ, 0, kJ},
      {"application/json, application/x-protobuf", kP, 0, kP},
      {"text/html, */*;q=0.1", kP, 0, kP},
      // q-values.
      {"application/x-protobuf;q=0.5, application/json;q=0.9", kP, 0, kJ},
      {"application/json;q=0.1, application/x-protobuf", kJ, 0, kP},
      {"application/json ; q=0.8 , text/html", kP, 0, kJ},
      {"application/json;q=0, */*", kJ, 0, kP},
      {"application/x-protobuf;q=0, application/*;q=0.3", kP, 0, kJ},
      {"application/json; level=1; q=0.4, application/x-protobuf; q=0.3", kP, 0, kJ},
      {"application/json;Q=0.2, application/x-protobuf;q=0.1", kP, 0, kJ},
      // Nothing acceptable.
      {"text/html", kJ, 406, kJ},
      {"text/*", kJ, 406, kJ},
      {"application/xml", kP, 406, kJ},
      {"application/json;q=0", kJ, 406, kJ},
      {"*/*;q=0", kJ, 406, kJ},
      {"application/json;q=0, application/x-protobuf;q=0.000", kJ, 406, kJ},
      // Malformed ranges are skipped.
      {"application/json;q=abc", kJ, 406, kJ},
      {"application/json;q=2", kJ, 406, kJ},
      {"json", kJ, 406, kJ},
      {"*/json", kJ, 406, kJ},
      {"application/json;q=abc, application/x-protobuf", kJ, 0, kP},
  };
  for (const ResponseCase& c : cases) {
    for (ResponseFraming framing : {ResponseFraming::kSingle, ResponseFraming::kStream}) {
      RequestHeaders headers;
      headers.contentType = mediaTypeName(c.request);
      headers.accept = c.accept;
      HttpResult<ResponseFormat> result = negotiateResponse(headers, RequestFormat{c.request, false}, framing);
      const std::string label = std::string("Accept ") + std::string(c.accept.value_or("<absent>")) + ", request " +
                                std::string(mediaTypeName(c.request));
      if (c.status == 0) {
        ASSERT_TRUE(result.ok()) << label << ": " << result.error().message;
        EXPECT_EQ(result->message, c.response) << label;
        EXPECT_EQ(result->framing, framing);
        // Streams of events carry the records' type as Content-Type.
        EXPECT_EQ(result->contentType(), mediaTypeName(c.response)) << label;
        EXPECT_FALSE(result->messageContentType().has_value()) << label;
      } else {
        ASSERT_FALSE(result.ok()) << label;
        EXPECT_EQ(result.error().status, c.status) << label;
        EXPECT_EQ(result.error().message, "Expecting 'Accept' to allow application/json or application/x-protobuf");
      }
    }
  }
}

TEST(WireContentTypeTest, MessageAcceptOnlyForRecordIOResponses) {
  RequestHeaders headers;
  headers.contentType = kApplicationJson;
  headers.accept = kApplicationJson;
  headers.messageAccept = kApplicationJson;
  HttpResult<ResponseFormat> result = negotiateResponse(headers, RequestFormat{MediaType::kJson, false});
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().status, 406);
  EXPECT_EQ(result.error().message, "Expecting 'Message-Accept' to be set only for application/recordio responses");
}

struct RecordIOCase {
  std::optional<std::string_view> accept;
  std::optional<std::string_view> messageAccept;
  MediaType request;
  int status;
  MediaType response;
  std::string_view error;
};

TEST(WireContentTypeTest, RecordIOResponseTable) {
  constexpr MediaType kJ = MediaType::kJson;
  constexpr MediaType kP = MediaType::kProtobuf;
  const RecordIOCase cases[] = {
      {kAbsent, kAbsent, kJ, 0, kJ, ""},
      {kAbsent, kAbsent, kP, 0, kP, ""},
      {"application/recordio", kAbsent, kP, 0, kP, ""},
      {"application/recordio", "application/json", kP, 0, kJ, ""},
      {"application/recordio", "application/x-protobuf", kJ, 0, kP, ""},
      {"application/*", "*/*", kP, 0, kP, ""},
      {"*/*", "application/json;q=0.2, application/x-protobuf;q=0.1", kP, 0, kJ, ""},
      {"application/json", kAbsent, kJ, 406, kJ, "Expecting 'Accept' to allow application/recordio"},
      {"application/recordio;q=0, */*", kAbsent, kJ, 406, kJ, "Expecting 'Accept' to allow application/recordio"},
      {"application/recordio", "text/plain", kJ, 406, kJ,
       "Expecting 'Message-Accept' to allow application/json or application/x-protobuf"},
      {"application/recordio", "application/json;q=0", kJ, 406, kJ,
       "Expecting 'Message-Accept' to allow application/json or application/x-protobuf"},
  };
  for (const RecordIOCase& c : cases) {
    RequestHeaders headers;
    headers.contentType = mediaTypeName(c.request);
    headers.accept = c.accept;
    headers.messageAccept = c.messageAccept;
    HttpResult<ResponseFormat> result =
        negotiateResponse(headers, RequestFormat{c.request, false}, ResponseFraming::kRecordIO);
    const std::string label = std::string("Accept ") + std::string(c.accept.value_or("<absent>")) +
                              ", Message-Accept " + std::string(c.messageAccept.value_or("<absent>"));
    if (c.status == 0) {
      ASSERT_TRUE(result.ok()) << label << ": " << result.error().message;
      EXPECT_EQ(result->message, c.response) << label;
      EXPECT_EQ(result->contentType(), kApplicationRecordIO) << label;
      EXPECT_EQ(result->messageContentType(), std::optional<std::string_view>(mediaTypeName(c.response))) << label;
    } else {
      ASSERT_FALSE(result.ok()) << label;
      EXPECT_EQ(result.error().status, c.status) << label;
      EXPECT_EQ(result.error().message, c.error) << label;
    }
  }
}

TEST(WireContentTypeTest, AcceptQualityUsesTheMostSpecificRange) {
  EXPECT_EQ(acceptQuality(std::nullopt, kApplicationJson), 1.0);
  EXPECT_EQ(acceptQuality("", kApplicationJson), 1.0);
  EXPECT_EQ(acceptQuality("*/*;q=0.1, application/*;q=0.5, application/json;q=0.9", kApplicationJson), 0.9);
  EXPECT_EQ(acceptQuality("*/*;q=0.1, application/*;q=0.5, application/json;q=0.9", kApplicationProtobuf), 0.5);
  EXPECT_EQ(acceptQuality("*/*;q=0.1, application/*;q=0.5, application/json;q=0.9", "text/plain"), 0.1);
  EXPECT_EQ(acceptQuality("application/json;q=0, */*", kApplicationJson), 0.0);
  EXPECT_EQ(acceptQuality("text/html", kApplicationJson), 0.0);
}

TEST(WireContentTypeTest, QualitiesThatAreNotNumbersFromZeroToOneMakeTheRangeMalformed) {
  // from_chars reads "nan": a NaN quality passed the 0..1 check and won.
  EXPECT_EQ(acceptQuality("application/json;q=nan", kApplicationJson), 0.0);
  EXPECT_EQ(acceptQuality("application/json;q=inf", kApplicationJson), 0.0);
  EXPECT_EQ(acceptQuality("application/json;q=1.5", kApplicationJson), 0.0);
  RequestHeaders headers;
  headers.contentType = "application/json";
  headers.accept = "application/x-protobuf;q=nan, application/json;q=0.1";
  auto response = negotiateResponse(headers, RequestFormat{});
  ASSERT_TRUE(response.ok());
  EXPECT_EQ(response->message, MediaType::kJson);
}

TEST(WireContentTypeTest, MediaTypeNames) {
  EXPECT_EQ(mediaTypeName(MediaType::kJson), "application/json");
  EXPECT_EQ(mediaTypeName(MediaType::kProtobuf), "application/x-protobuf");
  EXPECT_EQ(parseMediaType("application/json; charset=utf-8"), MediaType::kJson);
  EXPECT_EQ(parseMediaType(" application/x-protobuf "), MediaType::kProtobuf);
  EXPECT_EQ(parseMediaType("application/recordio"), std::nullopt);
}

TEST(WireContentTypeTest, EncodeDecodeInTheNegotiatedType) {
  mesos::v1::master::Call call;
  call.set_type(mesos::v1::master::Call::GET_METRICS);
  call.mutable_get_metrics()->mutable_timeout()->set_nanoseconds(5000000000);

  EXPECT_EQ(encode(call, MediaType::kJson), R"({"type":"GET_METRICS","get_metrics":{"timeout":{"nanoseconds":5000000000}}})");
  EXPECT_EQ(encode(call, MediaType::kProtobuf), call.SerializeAsString());

  for (MediaType type : {MediaType::kJson, MediaType::kProtobuf}) {
    Result<mesos::v1::master::Call> back = decodeAs<mesos::v1::master::Call>(encode(call, type), type);
    ASSERT_TRUE(back.ok()) << back.error().message;
    EXPECT_EQ(back->get_metrics().timeout().nanoseconds(), 5000000000);
  }
  // An empty body is an empty message in both encodings... except that JSON
  // needs an object.
  EXPECT_TRUE(decodeAs<mesos::v1::master::Call>("", MediaType::kProtobuf).ok());
  EXPECT_TRUE(decodeAs<mesos::v1::master::Call>("{}", MediaType::kJson).ok());
  EXPECT_FALSE(decodeAs<mesos::v1::master::Call>("", MediaType::kJson).ok());
}

}  // namespace
}  // namespace mantle::wire
